"""FLOPs of one forward pass of one image, in millions of multiply-accumulates.

Counted from layer shapes as NB201 counts them (and as
:func:`naslab.training.models.count_flops` does): every convolution
``output elements * in_channels / groups * kernel area`` and every weight layer with
a >= 2-D weight applied to features (the classifier) ``inputs * outputs`` per image;
BN, activations, pooling and additions are free. Data-independent (a zero image).
Reference read: automl/NASLib ``naslib/predictors/utils/pruners/measures/model_stats.py``.
"""

from __future__ import annotations

from typing import Any

from naslab.zero_cost.base import Batch, ProxySpec, weight_layers

SPEC = ProxySpec("flops", data_independent=True, batch_size=1,
                 reference="automl/NASLib naslib/predictors/utils/pruners/measures/model_stats.py")


def compute(net: Any, batch: Batch) -> float:
    import torch
    from torch import nn

    total = 0

    def count(module: Any, inputs: tuple[Any, ...], output: Any) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            total += output.numel() * (module.in_channels // module.groups) * k
        else:  # linear-like, applied once to the one image: a multiply-accumulate per weight
            total += module.weight.numel()

    handles = [layer.register_forward_hook(count) for layer in weight_layers(net)]
    try:
        with torch.no_grad():
            net.eval()
            net(torch.zeros(1, batch.in_channels, batch.image_size, batch.image_size))
    finally:
        for handle in handles:
            handle.remove()
    return total / 1e6
