"""SNIP (Lee et al., "SNIP: single-shot network pruning based on connection
sensitivity", ICLR 2019), as a NAS proxy (Abdelfattah et al. 2021).

Score = sum over weight layers of ``|dL/dm|`` for a multiplicative mask ``m = 1`` on
every weight, i.e. ``|dL/dW * W|`` (the two are equal at ``m = 1``, so no mask is built),
for the cross-entropy of one minibatch, BatchNorm in training mode.
Reference read: automl/NASLib ``naslib/predictors/utils/pruners/measures/snip.py``
(SamsungLabs/zero-cost-nas ``foresight/pruners/measures/snip.py``: ``weight_mask``).
"""

from __future__ import annotations

from typing import Any

from naslab.zero_cost._gradients import backward_loss
from naslab.zero_cost.base import Batch, ProxySpec, sum_over_layers

SPEC = ProxySpec("snip", data_independent=False,
                 reference="automl/NASLib naslib/predictors/utils/pruners/measures/snip.py")


def compute(net: Any, batch: Batch) -> float:
    backward_loss(net, batch)
    return sum_over_layers(
        net, lambda layer: (layer.weight.grad * layer.weight).abs() if layer.weight.grad is not None else None
    )
