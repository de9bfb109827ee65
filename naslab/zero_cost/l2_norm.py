"""L2 norm of the initial weights: sum over weight layers of ``||W||_2`` (the Frobenius
norm of each layer's weight tensor), a baseline of Abdelfattah et al. 2021.

Touches neither data nor gradients. Reference read: SamsungLabs/zero-cost-nas
``foresight/pruners/measures/l2_norm.py`` via its NASLib copy
automl/NASLib ``naslib/predictors/utils/pruners/measures/l2_norm.py``.
"""

from __future__ import annotations

from typing import Any

from naslab.zero_cost.base import Batch, ProxySpec, weight_layers

SPEC = ProxySpec("l2_norm", data_independent=True, batch_size=1,
                 reference="automl/NASLib naslib/predictors/utils/pruners/measures/l2_norm.py")


def compute(net: Any, batch: Batch) -> float:
    return float(sum(float(layer.weight.detach().double().norm()) for layer in weight_layers(net)))
