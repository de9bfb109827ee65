"""NB201's ``avg_pool_3x3`` on a CPU as compiled loops (``avg_pool.c``, built by :mod:`naslab.training.native`).

torch's channels-last CPU average pooling took 5.5 % of a digits build's time (forward)
and 1.7 % (backward) once the convolutions were compiled; these loops do the same
arithmetic in the same order (the same numbers) in a fraction of that
(``python perf/trainer_speed.py --kernels``). They serve a float32 CPU map in
channels-last memory with a multiple of 8 channels; anything else is torch's pooling.
"""

from __future__ import annotations

import functools
from typing import Any

from naslab.training import native

SIGNATURES = (("avg_pool_forward", 2, 1), ("avg_pool_backward", 2, 1))


def _library(x: Any) -> Any:
    _, c, h, w = x.shape
    return native.library("avg_pool.c", {"H": h, "W": w, "C": c}, SIGNATURES)


def applies(x: Any) -> bool:
    """Do the compiled loops pool ``x``? (Otherwise the caller uses torch's pooling.)"""
    import torch

    return (
        x.device.type == "cpu" and x.dtype == torch.float32 and x.dim() == 4 and x.shape[1] % 8 == 0
        and x.is_contiguous(memory_format=torch.channels_last) and not torch.is_autocast_enabled("cpu")
        and native.available() and _library(x) is not None
    )


@functools.cache
def _function() -> Any:
    """The autograd Function, defined at first use (torch is imported only then)."""
    import torch

    class AvgPool3x3(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            y = torch.empty_like(x, memory_format=torch.channels_last)
            _library(x).avg_pool_forward(x.data_ptr(), y.data_ptr(), x.shape[0])
            return y

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            grad = grad.contiguous(memory_format=torch.channels_last)
            out = torch.empty_like(grad, memory_format=torch.channels_last)
            _library(grad).avg_pool_backward(grad.data_ptr(), out.data_ptr(), grad.shape[0])
            return out

    return AvgPool3x3


def avg_pool_3x3(x: Any) -> Any:
    """``F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)`` by the compiled loops (see :func:`applies`)."""
    return _function().apply(x)
