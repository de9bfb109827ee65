"""NASWOT (Mellor et al., "Neural architecture search without training", ICML 2021,
second version): the log-determinant of the ReLU-pattern kernel.

Every ReLU's input is binarised per image (``c = [x > 0]``, flattened); the kernel
``K_H = sum over ReLUs of c c^T + (1 - c)(1 - c)^T`` counts, for each pair of images,
the units on the same side of zero (``N_A - Hamming distance``). Score =
``log |det K_H|``. The batch is 128 images, NASWOT's default.
Reference read: automl/NASLib ``naslib/predictors/utils/pruners/measures/nwot.py``
(from BayesWatch/nas-without-training, second version).
"""

from __future__ import annotations

from typing import Any

from naslab.zero_cost.base import Batch, ProxySpec

SPEC = ProxySpec("nwot", data_independent=False, batch_size=128,
                 reference="automl/NASLib naslib/predictors/utils/pruners/measures/nwot.py")


def compute(net: Any, batch: Batch) -> float:
    import torch
    from torch import nn

    n = batch.inputs.shape[0]
    kernel = torch.zeros(n, n, dtype=torch.float64)

    def count(module: Any, inputs: Any, output: Any) -> None:
        nonlocal kernel
        codes = (inputs[0].detach().reshape(n, -1) > 0).double()
        kernel = kernel + codes @ codes.T + (1.0 - codes) @ (1.0 - codes).T

    handles = [m.register_forward_hook(count) for m in net.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            net(batch.inputs)
    finally:
        for handle in handles:
            handle.remove()
    sign, logdet = torch.linalg.slogdet(kernel)
    return float(logdet) if float(sign) != 0.0 else float("-inf")
