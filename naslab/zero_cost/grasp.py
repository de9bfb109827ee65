"""GraSP (Wang et al., "Picking winning tickets before training by preserving gradient
flow", ICLR 2020), as a NAS proxy (Abdelfattah et al. 2021).

Score = sum over weight layers of ``-W * (H g)``, where ``g = dL/dW`` and ``H g`` is the
Hessian-gradient product, computed by differentiating ``g_detached . dL/dW`` a second
time (double backward) on the same minibatch. The sign follows the reference (its
comment: accuracy correlates negatively with ``+W * Hg``).
Reference read: automl/NASLib ``naslib/predictors/utils/pruners/measures/grasp.py``
(SamsungLabs/zero-cost-nas ``foresight/pruners/measures/grasp.py``; ``T=1``, one iteration).
"""

from __future__ import annotations

from typing import Any

from naslab.zero_cost.base import Batch, ProxySpec, weight_layers

SPEC = ProxySpec("grasp", data_independent=False,
                 reference="automl/NASLib naslib/predictors/utils/pruners/measures/grasp.py")


def compute(net: Any, batch: Batch) -> float:
    import torch
    import torch.nn.functional as F

    layers = weight_layers(net)
    weights = [layer.weight for layer in layers]
    net.zero_grad()
    first = torch.autograd.grad(F.cross_entropy(net(batch.inputs), batch.targets), weights, allow_unused=True)
    second = torch.autograd.grad(
        F.cross_entropy(net(batch.inputs), batch.targets), weights, create_graph=True, allow_unused=True
    )
    z = sum((g.detach() * h).sum() for g, h in zip(first, second) if g is not None and h is not None)
    if not torch.is_tensor(z) or not z.requires_grad:
        return 0.0  # no weight influences the loss (a cell that outputs zeros)
    hg = torch.autograd.grad(z, weights, allow_unused=True)
    return float(sum(float((-w.detach() * h).double().sum()) for w, h in zip(weights, hg) if h is not None))
