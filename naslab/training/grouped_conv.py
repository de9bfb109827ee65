"""Grouped stride-1 convolutions on a CPU as compiled direct loops (the fast trainer's main kernel).

NB201's replicated networks spend two thirds of a digits training in grouped 3x3 convs of
8 to 16 channels per group on 8x8 and 4x4 maps, where oneDNN reaches about a quarter of a
float32 matmul's FLOP rate (issue 18). ``grouped_conv.c`` computes them as plain
register-blocked loops, compiled by the system's C compiler once per layer shape with the
shape as constants (about 0.7 s each, cached on disk and shared by processes). Measured on
one thread beside oneDNN in the same run (``python perf/trainer_speed.py --kernels``):
forward 2x faster at 8 channels on 8x8 maps, 3x at 16 channels on 4x4, 7x for the 1-channel
stem; the backward passes likewise.

It serves :class:`naslab.training.models.ReplicaConv2d` where it applies (:func:`applies`):
a float32 CPU tensor, stride 1, a square kernel with "same" zero padding, output channels
per group a multiple of 8 (and input channels too when the input needs a gradient), no
bias. Everywhere else, and where it is unavailable (no AVX2/FMA, no C compiler, a failed
compile: one warning, then oneDNN), the layer is ``torch.nn.Conv2d`` as before.
``NASLAB_CONV_KERNELS=0`` switches it off. The sums run in another order than oneDNN's,
so results agree with it up to float rounding; each is deterministic.

Cache: ``$NASLAB_KERNEL_CACHE``, else ``$XDG_CACHE_HOME/naslab/kernels`` (``~/.cache``);
a library's name is the hash of the source, the flags and the shape, so an edited source
or another shape never loads a stale one.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("grouped_conv.c")
FLAGS = ("-O3", "-mavx2", "-mfma", "-std=gnu11", "-shared", "-fPIC")
ENV_SWITCH = "NASLAB_CONV_KERNELS"
MAX_ACCUMULATORS = 12  # of AVX2's 16 vector registers: the rest hold weights and a broadcast value

_state: dict[str, Any] = {"available": None}
_libraries: dict[tuple, Any] = {}


def _cpu_has_avx2_fma() -> bool:
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return False
    words = set(flags.split())
    return {"avx2", "fma"} <= words


def _compiler() -> str | None:
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")


def available() -> bool:
    """Can this process use the compiled kernels? (Checked once; a failed compile turns them off.)"""
    if os.environ.get(ENV_SWITCH, "1") == "0":
        return False
    if _state["available"] is None:
        _state["available"] = _cpu_has_avx2_fma() and _compiler() is not None
    return bool(_state["available"])


def _cache_dir() -> Path:
    if os.environ.get("NASLAB_KERNEL_CACHE"):
        return Path(os.environ["NASLAB_KERNEL_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "naslab" / "kernels"


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

    @property
    def p(self) -> int:
        return self.k // 2

    @property
    def out_size(self) -> tuple[int, int]:
        return (self.h + 2 * self.p - self.k) // self.s + 1, (self.w + 2 * self.p - self.k) // self.s + 1

    def constants(self) -> dict[str, int]:
        cob = _largest_divisor(self.co // 8, 4)  # 8-channel output vectors per register block
        ho, wo = self.out_size
        return {
            "CI": self.ci, "CO": self.co, "K": self.k, "S": self.s, "P": self.p, "H": self.h, "W": self.w,
            "HP": self.h + 2 * self.p, "WP": self.w + 2 * self.p, "HO": ho, "WO": wo, "COB": cob,
            "OXB": _largest_divisor(wo, MAX_ACCUMULATORS // cob),
            "CIB": _largest_divisor(self.ci, MAX_ACCUMULATORS // cob),
            "CIV": _largest_divisor(max(self.ci // 8, 1), max(MAX_ACCUMULATORS // self.w, 1)),
        }

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


def _compile(shape: Shape) -> ctypes.CDLL:
    defines = [f"-D{name}={value}" for name, value in shape.constants().items()]
    source = SOURCE.read_bytes()
    digest = hashlib.sha256(source + " ".join(FLAGS + tuple(defines)).encode()).hexdigest()[:20]
    target = _cache_dir() / f"grouped_conv-{digest}.so"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        # compile beside the target, then rename: concurrent build workers never load a half-written file
        fd, partial = tempfile.mkstemp(suffix=".so", dir=target.parent)
        os.close(fd)
        try:
            subprocess.run([_compiler(), *FLAGS, *defines, "-o", partial, str(SOURCE)],
                           check=True, capture_output=True, text=True)
            os.replace(partial, target)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
    library = ctypes.CDLL(str(target))
    for name, pointers, ints in (("conv_pad", 2, 3), ("conv_relu_mask", 2, 2), ("conv_forward", 3, 2),
                                 ("conv_weight_grad", 3, 2), ("conv_input_grad", 3, 2)):
        function = getattr(library, name)
        function.argtypes = [ctypes.c_void_p] * pointers + [ctypes.c_int] * ints
        function.restype = None
    return library


def _library(shape: Shape) -> Any:
    library = _libraries.get(shape)
    if library is None:
        try:
            library = _compile(shape)
        except (OSError, subprocess.CalledProcessError) as error:
            detail = getattr(error, "stderr", "") or str(error)
            log.warning("naslab: compiling the grouped-conv kernel failed, using torch's convolution "
                        "instead (%s)", detail.strip().splitlines()[-1] if detail.strip() else error)
            _state["available"] = False
            return None
        _libraries[shape] = library
    return library


def applies(conv: Any, x: Any) -> bool:
    """Does the compiled kernel compute ``conv(x)``? (Otherwise the caller uses torch's conv.)"""
    import torch

    k, s = conv.kernel_size[0], conv.stride[0]
    ci, co = conv.in_channels // conv.groups, conv.out_channels // conv.groups
    if not (
        x.device.type == "cpu" and x.dtype == torch.float32 and x.dim() == 4
        and conv.weight.dtype == torch.float32 and conv.bias is None
        and conv.kernel_size == (k, k) and k % 2 == 1 and conv.padding == (k // 2, k // 2)
        and conv.stride == (s, s) and s in (1, 2) and conv.dilation == (1, 1) and conv.padding_mode == "zeros"
        and co % 8 == 0 and not torch.is_autocast_enabled("cpu") and available()
    ):
        return False
    shape = Shape(ci, co, k, s, x.shape[2], x.shape[3])
    if _library(shape) is None:
        return False
    if not x.requires_grad:
        return True
    backward = shape.input_grad_shape()
    return backward is not None and _library(backward) is not None


def _padded(library: Any, shape: Shape, x: Any, groups: int, relu: bool = False) -> Any:
    """``x`` zero-padded for the loops (``[B, HP, WP, G*CI]``), ReLU'd first if ``relu``."""
    import torch

    if shape.p == 0 and not relu:
        return x
    b = x.shape[0]
    out = torch.empty((b, shape.h + 2 * shape.p, shape.w + 2 * shape.p, groups * shape.ci), dtype=x.dtype)
    library.conv_pad(x.data_ptr(), out.data_ptr(), b, groups, int(relu))
    return out


def _forward(library: Any, shape: Shape, xp: Any, w: Any, groups: int, batch: int) -> Any:
    import torch

    y = torch.empty((batch, groups * shape.co, *shape.out_size), dtype=xp.dtype, memory_format=torch.channels_last)
    library.conv_forward(xp.data_ptr(), w.data_ptr(), y.data_ptr(), batch, groups)
    return y


def _function() -> Any:
    import torch

    class GroupedConv(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any, weight: Any, groups: int, stride: int, relu_input: bool) -> Any:
            b, _, h, w = x.shape
            co = weight.shape[0] // groups
            ci, k = weight.shape[1], weight.shape[2]
            shape = Shape(ci, co, k, stride, h, w)
            library = _library(shape)
            x = x.contiguous(memory_format=torch.channels_last)
            # [G*CO, CI, K, K] -> [G, K, K, CI, CO]: output channels innermost, as the loops read them
            w_loops = weight.detach().view(groups, co, ci, k, k).permute(0, 3, 4, 2, 1).contiguous()
            xp = _padded(library, shape, x, groups, relu_input)
            ctx.save_for_backward(xp, w_loops)
            ctx.shape, ctx.groups, ctx.relu_input = shape, groups, relu_input
            return _forward(library, shape, xp, w_loops, groups, b)

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            xp, w_loops = ctx.saved_tensors
            shape, groups = ctx.shape, ctx.groups
            grad = grad.contiguous(memory_format=torch.channels_last)
            b = grad.shape[0]
            grad_x = grad_w = None
            if ctx.needs_input_grad[1]:
                gw = torch.empty_like(w_loops)
                _library(shape).conv_weight_grad(xp.data_ptr(), grad.data_ptr(), gw.data_ptr(), b, groups)
                grad_w = gw.permute(0, 4, 3, 1, 2).reshape(groups * shape.co, shape.ci, shape.k, shape.k)
            if ctx.needs_input_grad[0]:
                back = shape.input_grad_shape()
                library = _library(back)
                if shape.s == 1:
                    # "same" padding: the input's gradient is the output's gradient convolved with the
                    # kernel flipped in space and transposed in channels
                    w_back = w_loops.flip(1, 2).transpose(3, 4).contiguous()
                    grad_x = _forward(library, back, _padded(library, back, grad, groups), w_back, groups, b)
                else:
                    grad_x = torch.empty((b, groups * shape.ci, shape.h, shape.w), dtype=grad.dtype,
                                         memory_format=torch.channels_last)
                    w_back = w_loops.transpose(3, 4).contiguous()
                    library.conv_input_grad(grad.data_ptr(), w_back.data_ptr(), grad_x.data_ptr(), b, groups)
                if ctx.relu_input:
                    _library(shape).conv_relu_mask(xp.data_ptr(), grad_x.data_ptr(), b, groups)
            return grad_x, grad_w, None, None, None

    return GroupedConv


_GROUPED_CONV: list[Any] = []


def conv2d(x: Any, weight: Any, groups: int, stride: int = 1, relu_input: bool = False) -> Any:
    """``F.conv2d(x, weight, stride=stride, padding=k // 2, groups=groups)`` by the compiled loops (see
    :func:`applies`); of ``F.relu(x)`` instead of ``x`` if ``relu_input`` (the same numbers, one pass fewer)."""
    if not _GROUPED_CONV:
        _GROUPED_CONV.append(_function())
    return _GROUPED_CONV[0].apply(x, weight, groups, stride, relu_input)
