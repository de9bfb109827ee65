"""naslab: a lab for neural architecture search research.

From Python (docs/api.md)::

    import naslab
    run = naslab.search("evolution", benchmark="digits", seed=0, budget=300)
    run.incumbent, run.regret, run.to_pandas(), run.save("runs/evolution_seed0")
    naslab.strategies.available(), naslab.benchmarks.get("digits"), naslab.load_runs("runs")
"""

__version__ = "0.1.0"

# the public API, imported on first use so that `import naslab` stays cheap
_LAZY = {
    "search": "naslab.api",
    "Run": "naslab.run_folder",
    "Summary": "naslab.run_folder",
    "load_run": "naslab.run_folder",
    "load_runs": "naslab.run_folder",
    "Result": "naslab.results",
    "TrajectoryRow": "naslab.results",
    "NaslabError": "naslab.errors",
}
_SUBPACKAGES = ("benchmarks", "evaluators", "spaces", "strategies")
__all__ = ["__version__", *_LAZY, *_SUBPACKAGES]


def __getattr__(name: str):
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBPACKAGES:
        return importlib.import_module(f"naslab.{name}")
    raise AttributeError(f"module 'naslab' has no attribute {name!r}")


def _apply_thread_policy() -> None:
    # before anything numeric loads: one thread per library (naslab.threads says why)
    import warnings

    from naslab import threads

    try:
        threads.apply_policy()
    except ValueError as exc:  # a bad NASLAB_THREADS must not make `import naslab` fail
        warnings.warn(f"{exc}; using {threads.DEFAULT_THREADS} thread", stacklevel=3)
        threads.set_threads(threads.DEFAULT_THREADS)


_apply_thread_policy()
