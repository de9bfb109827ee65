"""Grouped convolutions on a CPU as compiled direct loops (the fast trainer's main kernel).

NB201's replicated networks spent two thirds of a digits training in grouped 3x3 convs of
8 to 16 channels per group on 8x8 and 4x4 maps, where oneDNN reaches about a quarter of a
float32 matmul's FLOP rate (issue 18). ``grouped_conv.c`` computes them as
register-blocked loops compiled for each layer shape (:mod:`naslab.training.native`);
the forward loops alone run at 68-89 GFLOP/s on one thread, near the matmul's peak.
Measured beside oneDNN in the same run (``python perf/trainer_speed.py --kernels``):
forward+backward 1.4-3.9x faster at NB201's shapes (stride-2 reductions the most).

It serves :class:`naslab.training.models.ReplicaConv2d` where it applies (:func:`applies`):
a float32 CPU tensor, stride 1 or 2, a square odd kernel with "same" zero padding, output
channels per group a multiple of 8 (input channels too when the input needs a gradient;
with stride 2 also a row of at most 12 pixels), no bias, no autocast. Elsewhere, and where
the loops are unavailable, the layer is torch's conv as before. The forward and weight
gradients at stride 1 sum in oneDNN's order (bitwise its numbers on this machine); the
input gradients at stride 2 sum in another, so trainings agree with oneDNN's up to float
rounding; each is deterministic.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from naslab.training import native

MAX_ACCUMULATORS = 12  # of AVX2's 16 vector registers: the rest hold weights and a broadcast value
# the weight gradient's tile of images: a quarter of a 1 MiB L2 cache (the groups are a run-time
# argument, so the tile is sized for 8 of them; NB201 trains 6 seeds)
TILE_BYTES = 256 * 1024
# (function, pointer arguments, int arguments) of grouped_conv.c
SIGNATURES = (("conv_relu_copy", 2, 2), ("conv_relu_mask", 2, 2), ("conv_forward", 5, 2),
              ("conv_weight_grad", 3, 2), ("conv_input_grad", 3, 2))


def _largest_divisor(n: int, at_most: int) -> int:
    return max(d for d in range(1, min(n, at_most) + 1) if n % d == 0)


@dataclass(frozen=True)
class Shape:
    """One layer's compile-time constants (groups and batch size stay run-time arguments)."""

    ci: int
    co: int
    k: int
    s: int
    h: int
    w: int

    @classmethod
    def of(cls, weight: Any, groups: int, stride: int, x: Any) -> Shape:
        """The shape of a conv of ``x`` by ``weight`` (``[G*CO, CI, K, K]``) in ``groups`` groups."""
        return cls(weight.shape[1], weight.shape[0] // groups, weight.shape[2], stride, x.shape[2], x.shape[3])

    @property
    def p(self) -> int:
        return self.k // 2

    @property
    def out_size(self) -> tuple[int, int]:
        return (self.h + 2 * self.p - self.k) // self.s + 1, (self.w + 2 * self.p - self.k) // self.s + 1

    def constants(self) -> dict[str, int]:
        """The ``-D`` constants of ``grouped_conv.c`` for this shape (read-only: computed once)."""
        return _constants(self)

    def bytes_per_image(self, groups: int) -> int:
        """What one image's input and output gradient take (float32), for ``groups`` groups."""
        ho, wo = self.out_size
        return 4 * groups * (self.h * self.w * self.ci + ho * wo * self.co)

    def input_grad_shape(self) -> Shape | None:
        """The shape whose library computes this layer's input gradient (None: not by these kernels).

        Stride 1: the forward loops with channels swapped (see GroupedConv.backward); any other
        stride: ``conv_input_grad``, whose register block is a whole row of 8-channel vectors.
        """
        if self.ci % 8:
            return None
        if self.s == 1:
            return Shape(self.co, self.ci, self.k, 1, self.h, self.w)
        return self if self.w <= MAX_ACCUMULATORS else None


# once per shape: every conv call looks its library up about five times (applies, forward,
# backward), and building these cost ~14 us a time (too little to show in a whole training's
# CPU time on this noisy machine, but work with no reason to be repeated)
@functools.cache
def _constants(shape: Shape) -> dict[str, int]:
    cob = _largest_divisor(shape.co // 8, 4)  # 8-channel output vectors per register block
    ho, wo = shape.out_size
    return {
        "CI": shape.ci, "CO": shape.co, "K": shape.k, "S": shape.s, "P": shape.p, "H": shape.h, "W": shape.w,
        "HO": ho, "WO": wo, "COB": cob,
        "OXB": _largest_divisor(wo, MAX_ACCUMULATORS // cob),
        "CIB": _largest_divisor(shape.ci, MAX_ACCUMULATORS // cob),
        "CIV": _largest_divisor(max(shape.ci // 8, 1), max(MAX_ACCUMULATORS // shape.w, 1)),
        "BT": max(1, TILE_BYTES // shape.bytes_per_image(groups=8)),
    }


def _library(shape: Shape) -> Any:
    return native.library("grouped_conv.c", shape.constants(), SIGNATURES)


def applies(conv: Any, x: Any) -> bool:
    """Does the compiled kernel compute ``conv(x)``? (Otherwise the caller uses torch's conv.)"""
    import torch

    k, s = conv.kernel_size[0], conv.stride[0]
    co = conv.out_channels // conv.groups
    if not (
        x.device.type == "cpu" and x.dtype == torch.float32 and x.dim() == 4
        and conv.weight.dtype == torch.float32 and conv.bias is None
        and conv.kernel_size == (k, k) and k % 2 == 1 and conv.padding == (k // 2, k // 2)
        and conv.stride == (s, s) and s in (1, 2) and conv.dilation == (1, 1) and conv.padding_mode == "zeros"
        and co % 8 == 0 and not torch.is_autocast_enabled("cpu") and native.available()
    ):
        return False
    shape = Shape.of(conv.weight, conv.groups, s, x)
    if _library(shape) is None:
        return False
    if not x.requires_grad:
        return True
    backward = shape.input_grad_shape()
    return backward is not None and _library(backward) is not None


def _input(library: Any, x: Any, groups: int, relu: bool) -> Any:
    """What the loops read: ``x`` (channels-last), or its ReLU'd copy if ``relu``."""
    import torch

    x = x.contiguous(memory_format=torch.channels_last)
    if not relu:
        return x
    out = torch.empty_like(x, memory_format=torch.channels_last)
    library.conv_relu_copy(x.data_ptr(), out.data_ptr(), x.shape[0], groups)
    return out


def _forward(library: Any, shape: Shape, x: Any, w: Any, groups: int, batch: int,
             scale: Any = None, shift: Any = None) -> Any:
    import torch

    y = torch.empty((batch, groups * shape.co, *shape.out_size), dtype=x.dtype, memory_format=torch.channels_last)
    affine = (scale.data_ptr(), shift.data_ptr()) if scale is not None else (None, None)
    library.conv_forward(x.data_ptr(), w.data_ptr(), y.data_ptr(), *affine, batch, groups)
    return y


def _loop_weights(weight: Any, groups: int) -> Any:
    """``[G*CO, CI, K, K]`` -> ``[G, K, K, CI, CO]``: output channels innermost, as the loops read them."""
    co, ci, k = weight.shape[0] // groups, weight.shape[1], weight.shape[2]
    return weight.detach().view(groups, co, ci, k, k).permute(0, 3, 4, 2, 1).contiguous()


@functools.cache
def _function() -> Any:
    """The autograd Function, defined at first use (torch is imported only then)."""
    import torch

    class GroupedConv(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any, weight: Any, groups: int, stride: int, relu_input: bool) -> Any:
            shape = Shape.of(weight, groups, stride, x)
            library = _library(shape)
            w_loops = _loop_weights(weight, groups)
            xin = _input(library, x, groups, relu_input)
            ctx.save_for_backward(xin, w_loops)
            ctx.shape, ctx.groups, ctx.relu_input = shape, groups, relu_input
            ctx.weight_channels_last = not weight.is_contiguous() and weight.is_contiguous(memory_format=torch.channels_last)
            return _forward(library, shape, xin, w_loops, groups, x.shape[0])

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            xin, w_loops = ctx.saved_tensors
            shape, groups = ctx.shape, ctx.groups
            grad = grad.contiguous(memory_format=torch.channels_last)
            b = grad.shape[0]
            grad_x = grad_w = None
            if ctx.needs_input_grad[1]:
                gw = torch.empty_like(w_loops)
                _library(shape).conv_weight_grad(xin.data_ptr(), grad.data_ptr(), gw.data_ptr(), b, groups)
                if ctx.weight_channels_last:  # the parameter's own layout: autograd stores it without a copy
                    grad_w = gw.permute(0, 4, 1, 2, 3).reshape(groups * shape.co, shape.k, shape.k, shape.ci)
                    grad_w = grad_w.permute(0, 3, 1, 2)
                else:
                    grad_w = gw.permute(0, 4, 3, 1, 2).reshape(groups * shape.co, shape.ci, shape.k, shape.k)
            if ctx.needs_input_grad[0]:
                back = shape.input_grad_shape()
                library = _library(back)
                if shape.s == 1:
                    # "same" padding: the input's gradient is the output's gradient convolved with the
                    # kernel flipped in space and transposed in channels
                    w_back = w_loops.flip(1, 2).transpose(3, 4).contiguous()
                    grad_x = _forward(library, back, grad, w_back, groups, b)
                else:
                    grad_x = torch.empty((b, groups * shape.ci, shape.h, shape.w), dtype=grad.dtype,
                                         memory_format=torch.channels_last)
                    w_back = w_loops.transpose(3, 4).contiguous()
                    library.conv_input_grad(grad.data_ptr(), w_back.data_ptr(), grad_x.data_ptr(), b, groups)
                if ctx.relu_input:
                    _library(shape).conv_relu_mask(xin.data_ptr(), grad_x.data_ptr(), b, groups)
            return grad_x, grad_w, None, None, None

    return GroupedConv


def conv2d(x: Any, weight: Any, groups: int, stride: int = 1, relu_input: bool = False) -> Any:
    """``F.conv2d(x, weight, stride=stride, padding=k // 2, groups=groups)`` by the compiled loops (see
    :func:`applies`); of ``F.relu(x)`` instead of ``x`` if ``relu_input`` (the same numbers, one pass fewer)."""
    return _function().apply(x, weight, groups, stride, relu_input)


def conv2d_bn_inference(x: Any, weight: Any, groups: int, stride: int, relu_input: bool, bn: Any) -> Any:
    """Without gradients: ``bn(conv2d(x, ...))`` for an evaluation-mode ``bn``, its affine map applied as
    the loops store each output (equal up to float rounding to running the two one after the other)."""
    import torch

    shape = Shape.of(weight, groups, stride, x)
    library = _library(shape)
    scale = (bn.weight * torch.rsqrt(bn.running_var + bn.eps)).contiguous()
    shift = (bn.bias - bn.running_mean * scale).contiguous()
    xin = _input(library, x, groups, relu_input)
    # evaluation runs several batches with the same weights: their loop layout is kept on the tensor
    # until the optimizer changes it (weight._version)
    cached = getattr(weight, "_naslab_loop_weights", None)
    if cached is None or cached[0] != (weight._version, groups):
        cached = ((weight._version, groups), _loop_weights(weight, groups))
        weight._naslab_loop_weights = cached
    return _forward(library, shape, xin, cached[1], groups, x.shape[0], scale, shift)
