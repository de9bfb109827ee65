"""Gradient norm: sum over weight layers of ``||dL/dW||_2`` for the cross-entropy loss
of one minibatch at initialisation (Abdelfattah et al. 2021, Sec. 3).

Reference read: automl/NASLib ``naslib/predictors/utils/pruners/measures/grad_norm.py``
(a copy of SamsungLabs/zero-cost-nas ``foresight/pruners/measures/grad_norm.py``).
"""

from __future__ import annotations

from typing import Any

from naslab.zero_cost._gradients import backward_loss
from naslab.zero_cost.base import Batch, ProxySpec, weight_layers

SPEC = ProxySpec("grad_norm", data_independent=False,
                 reference="automl/NASLib naslib/predictors/utils/pruners/measures/grad_norm.py")


def compute(net: Any, batch: Batch) -> float:
    backward_loss(net, batch)
    return float(sum(float(layer.weight.grad.double().norm()) for layer in weight_layers(net)
                     if layer.weight.grad is not None))
