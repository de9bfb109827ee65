"""Weight-sharing (one-shot) NAS on NAS-Bench-201, judged by a tabular benchmark.

``python -m naslab.one_shot method=<name>`` trains one supernet
(:mod:`~naslab.one_shot.supernet`) with one method and writes a run folder of the same
form as a black-box search (:mod:`~naslab.one_shot.search`). Methods, one module each:
:mod:`~naslab.one_shot.rsps`, :mod:`~naslab.one_shot.darts` (V1 and V2),
:mod:`~naslab.one_shot.gdas`, :mod:`~naslab.one_shot.setn`, :mod:`~naslab.one_shot.enas`;
what they share is in :mod:`~naslab.one_shot.base`, the ranking diagnostic in
:mod:`~naslab.one_shot.ranking`. Configs: ``naslab/conf/one_shot/``. Needs torch.
"""
