"""Zen-score (Lin et al., "Zen-NAS: a zero-shot NAS for high-performance image
recognition", ICCV 2021). Data-independent.

Every conv/linear weight is redrawn from N(0, 1) (BN: weight 1, bias 0); two Gaussian
batches ``x`` and ``x + gamma * eps`` (``gamma = 0.01``) go through the network in
training mode; ``Delta = mean_n sum |f(x) - f(x + gamma eps)|`` over the pre-pooling
feature map ``f`` (the last 4-D activation before global average pooling). Score =
``log Delta + sum over BN layers of log sqrt(mean_channels var)``, the variance being
each BN layer's batch variance of ``x`` (the paper's sigma). Batch 16 as in Zen-NAS;
``repeat`` draws averaged (Zen-NAS: 32; NASLib and NAS-Bench-Suite-Zero: 1, our default).
Reference read: idstcv/ZenNAS ``ZeroShotProxy/compute_zen_score.py`` (which reads BN's
``running_var`` after the two forwards; we use the batch variance the paper defines)
and automl/NASLib ``naslib/predictors/utils/pruners/measures/zen.py``.
"""

from __future__ import annotations

import math
from typing import Any

from naslab.zero_cost.base import Batch, ProxySpec, weight_layers

SPEC = ProxySpec("zen", data_independent=True, batch_size=16,
                 reference="idstcv/ZenNAS ZeroShotProxy/compute_zen_score.py")
MIXUP_GAMMA = 1e-2


def compute(net: Any, batch: Batch, repeat: int = 1, batch_size: int | None = None) -> float:
    import torch
    from torch import nn

    g = batch.generator
    size = int(batch_size or SPEC.batch_size)
    shape = (size, batch.in_channels, batch.image_size, batch.image_size)
    features: list[Any] = []
    variances: list[float] = []
    record_bn = [True]

    def last_4d(module: Any, inputs: Any, output: Any) -> None:
        if torch.is_tensor(output) and output.dim() == 4:
            features.append(output)

    def bn_variance(module: Any, inputs: Any) -> None:
        if record_bn[0]:
            variances.append(float(inputs[0].double().var(dim=(0, 2, 3), unbiased=False).mean()))

    leaves = [m for m in net.modules() if not list(m.children())]
    handles = [m.register_forward_hook(last_4d) for m in leaves]
    handles += [m.register_forward_pre_hook(bn_variance) for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    scores = []
    try:
        with torch.no_grad():
            for _ in range(int(repeat)):
                for layer in weight_layers(net):
                    layer.weight.copy_(torch.randn(layer.weight.shape, generator=g))
                    if getattr(layer, "bias", None) is not None:
                        layer.bias.zero_()
                for m in net.modules():
                    if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
                        m.weight.fill_(1.0)
                        m.bias.zero_()
                x = torch.randn(shape, generator=g)
                eps = torch.randn(shape, generator=g)
                features.clear()
                variances.clear()
                record_bn[0] = True
                net(x)
                base = features[-1]
                record_bn[0] = False
                features.clear()
                net(x + MIXUP_GAMMA * eps)
                mixed = features[-1]
                delta = float((base - mixed).abs().sum(dim=(1, 2, 3)).mean())
                scores.append(math.log(delta) + sum(0.5 * math.log(v) for v in variances))
    finally:
        for handle in handles:
            handle.remove()
    return float(sum(scores) / len(scores))
