"""Plain: sum over weight layers of ``dL/dW * W`` without the absolute value (the signed
first-order Taylor term; a baseline of Abdelfattah et al. 2021).

Reference read: automl/NASLib ``naslib/predictors/utils/pruners/measures/plain.py``.
"""

from __future__ import annotations

from typing import Any

from naslab.zero_cost._gradients import backward_loss
from naslab.zero_cost.base import Batch, ProxySpec, sum_over_layers

SPEC = ProxySpec("plain", data_independent=False,
                 reference="automl/NASLib naslib/predictors/utils/pruners/measures/plain.py")


def compute(net: Any, batch: Batch) -> float:
    backward_loss(net, batch)
    return sum_over_layers(
        net, lambda layer: layer.weight.grad * layer.weight if layer.weight.grad is not None else None
    )
