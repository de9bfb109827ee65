"""Fisher (Theis et al. 2018, "Faster gaze prediction with dense networks and Fisher
pruning"; Turner et al. 2020, BlockSwap), as a NAS proxy (Abdelfattah et al. 2021).

For every weight layer's output activation ``a`` (channels ``k``) and its loss gradient
``g``: ``Delta_k = 0.5 * mean_n (sum_spatial a * g)^2``; the reference gives that value
to every weight of channel ``k`` and sums, so the score is
``sum_layers sum_k Delta_k * (weights per output channel)``. BatchNorm in training mode.
Reference read: automl/NASLib ``naslib/predictors/utils/pruners/measures/fisher.py``
(SamsungLabs/zero-cost-nas ``foresight/pruners/measures/fisher.py``: the hooked identity
after each conv/linear, ``reshape_elements`` broadcasting the channel values).
"""

from __future__ import annotations

from typing import Any

from naslab.zero_cost.base import Batch, ProxySpec, weight_layers

SPEC = ProxySpec("fisher", data_independent=False,
                 reference="automl/NASLib naslib/predictors/utils/pruners/measures/fisher.py")


def compute(net: Any, batch: Batch) -> float:
    import torch.nn.functional as F

    records: list[tuple[Any, Any]] = []  # (layer, activation) in forward order

    def keep(layer: Any, inputs: Any, output: Any) -> None:
        if output.requires_grad:
            output.retain_grad()
            records.append((layer, output))

    handles = [layer.register_forward_hook(keep) for layer in weight_layers(net)]
    try:
        net.zero_grad()
        F.cross_entropy(net(batch.inputs), batch.targets).backward()
    finally:
        for handle in handles:
            handle.remove()
    total = 0.0
    for layer, act in records:
        if act.grad is None:
            continue
        prod = (act.detach() * act.grad).double()
        # conv: [N, K, H, W] -> sum over space; linear-like: [N, ..., K] -> one channel per output
        g_nk = prod.sum(dim=(2, 3)) if prod.dim() == 4 else prod.reshape(prod.shape[0], -1)
        delta = 0.5 * g_nk.pow(2).mean(0)
        per_channel = layer.weight.numel() / delta.numel()
        total += float(delta.sum()) * per_channel
    return total
