"""Parameter count in millions: the baseline every proxy must beat (ZiCo, Li et al.,
ICLR 2023, shows it ranks NB201 cells about as well as most proxies).

Counts every trainable parameter of the scoring network (convs, BN affine, classifier),
as NB201 and :func:`naslab.training.models.count_params` count them. Data-independent.
Reference read: automl/NASLib ``naslib/predictors/utils/pruners/measures/model_stats.py``
(``parameters / 1e6``).
"""

from __future__ import annotations

from typing import Any

from naslab.zero_cost.base import Batch, ProxySpec

SPEC = ProxySpec("params", data_independent=True, batch_size=1,
                 reference="automl/NASLib naslib/predictors/utils/pruners/measures/model_stats.py")


def compute(net: Any, batch: Batch) -> float:
    return sum(p.numel() for p in net.parameters() if p.requires_grad) / 1e6
