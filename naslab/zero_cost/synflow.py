"""SynFlow (Tanaka et al., "Pruning neural networks without any data by iteratively
conserving synaptic flow", NeurIPS 2020), used as a NAS proxy by Abdelfattah et al. 2021.

Score = sum over weight layers of ``|theta * dR/dtheta|`` where ``R`` is the sum of the
network's outputs for a single all-ones input, with every weight replaced by its absolute
value and BatchNorm bypassed, in float64 (the product of many weights overflows float32).
Data-independent: only the input's shape is used.

Reference read: SamsungLabs/zero-cost-nas ``foresight/pruners/measures/synflow.py`` and
automl/NASLib ``naslib/predictors/utils/pruners/measures/synflow.py`` (``bn=False``,
``double()``, ``torch.ones([1] + input_dim)``).
"""

from __future__ import annotations

from typing import Any

from naslab.zero_cost.base import Batch, ProxySpec, sum_over_layers

SPEC = ProxySpec("synflow", data_independent=True, batch_size=1, batch_norm=False, float64=True,
                 reference="SamsungLabs/zero-cost-nas foresight/pruners/measures/synflow.py")


def compute(net: Any, batch: Batch) -> float:
    import torch

    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    net.zero_grad()
    ones = torch.ones(1, batch.in_channels, batch.image_size, batch.image_size, dtype=torch.float64)
    net(ones).sum().backward()
    return sum_over_layers(
        net, lambda layer: (layer.weight * layer.weight.grad).abs() if layer.weight.grad is not None else None
    )
