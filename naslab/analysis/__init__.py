"""Paper plots and tables from run folders (``python analysis/<script>.py RUN_OR_SWEEP_DIR...``).

``runs`` reads run folders, ``style`` fixes the look; each other module is one script:
``anytime`` (regret and accuracy over queries and simulated time), ``final_table``
(Markdown + LaTeX), ``average_rank`` (across benchmarks), ``pareto_fronts`` (fronts and
hypervolume over time), ``ecdf`` (of final regret) and ``report`` (all of them).
"""
