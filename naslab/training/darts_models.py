"""The DARTS network of a genotype, optionally as R independent replicas in one module.

Follows DARTS's evaluation network (quark0/darts ``cnn/model.py`` ``NetworkCIFAR`` and
``Cell``, ``cnn/operations.py``; NASLib's ``naslib/search_spaces/darts/`` builds the
same): a 3x3 stem conv + BN with ``3C`` channels, then ``3N + 2`` cells (``N`` =
``cells_per_stage``) with reduction cells at 1/3 and 2/3 depth (positions ``N`` and
``2N + 1``), where the channels double and the resolution halves; global average
pooling and a linear classifier. Every cell reads the two previous cells' outputs,
preprocessed by ReLU-Conv1x1-BN (``FactorizedReduce`` for the older one when the
previous cell reduced), and concatenates its four nodes (``4C`` channels out).

Ops, as DARTS's ``OPS`` with ``affine=True`` (its evaluation network):

* ``sep_conv_kxk``: two blocks of (ReLU, depthwise kxk, pointwise 1x1, BN); the first
  block carries the stride;
* ``dil_conv_kxk``: ReLU, depthwise kxk with dilation 2, pointwise 1x1, BN;
* ``max_pool_3x3`` / ``avg_pool_3x3`` (no BN: DARTS adds one only in its search
  network's mixed op, ``model_search.py``);
* ``skip_connect``: identity, or ``FactorizedReduce`` (ReLU, two 1x1 stride-2 convs on
  pixel grids offset by one, concatenated, BN) on a reduction cell's inputs.

Left out on purpose: drop-path and the auxiliary head. Both regularise DARTS's
600-epoch CIFAR-10 training of a 20-cell network; naslab's recipes are a few epochs on
small images (digits: 8x8, so the auxiliary head's 8x8 input at 2/3 depth would be
2x2), where they only add noise and, for drop-path, randomness outside the seeded
generators.

**Replicas** work as in :mod:`naslab.training.models`: every conv is grouped
``groups=R`` over a replica-major channel axis, BN is per channel, the classifier is
:class:`~naslab.training.models.ReplicaLinear`, and every concatenation (cell outputs,
``FactorizedReduce``) concatenates *within* each replica's block of channels, so the R
networks never mix; :func:`~naslab.training.models.init_replicas` gives replica ``r``
the weights a one-replica network gets from ``seeds[r]``. Input ``[B, R * in_channels,
H, W]``, output ``[B, R, num_classes]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from naslab.spaces.darts import OPS
from naslab.training.models import ReplicaLinear

Arch = tuple[int, ...]
STEM_MULTIPLIER = 3  # DARTS's NetworkCIFAR


def _conv(c_in: int, c_out: int, kernel: int, stride: int, replicas: int, dilation: int = 1,
          depthwise: bool = False) -> nn.Conv2d:
    """A bias-free conv of ``replicas`` independent networks (depthwise: per channel)."""
    cls = DepthwiseConv2d if depthwise else nn.Conv2d
    return cls(
        c_in * replicas, c_out * replicas, kernel, stride, padding=dilation * (kernel // 2), dilation=dilation,
        bias=False, groups=c_in * replicas if depthwise else replicas,
    )


class DepthwiseConv2d(nn.Conv2d):
    """A depthwise conv computed on CPU as one batched matmul per channel: same function and gradients.

    On one CPU thread torch's depthwise convs are slow on the small maps these networks
    use: fwd+bwd at batch 128 takes 2.6 ms for a 3x3 on ``[32, 2x2]`` maps and 6.4 ms for
    a dilated 5x5 on ``[8, 8x8]`` (17.8 ms on 2x2). A depthwise conv is linear in each
    channel's map, so ``out[b, c] = M_c @ x[b, c]`` with ``M_c = sum_t weight[c, t] * S_t``,
    where the 0/1 matrix ``S_t`` of tap ``t`` says which input pixel feeds which output
    pixel (stride, dilation and zero padding included); for maps of at most 8x8 that is
    one small batched matmul: 0.7-1.7 ms for every kernel and dilation, and a whole DARTS
    training step (C=8, digits) 1.7-2.2x faster (119 vs 244 ms median over 4 archs;
    ``python perf/darts_depthwise_speed.py``, both measured in one run). The ``S_t`` are
    built once per map size and cached. On other devices, bigger maps and for undilated
    3x3 kernels above 2x2 maps (0.9 ms either way), torch's own kernel runs.
    """

    max_pixels = 64

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        undilated_3x3 = self.kernel_size == (3, 3) and self.dilation == (1, 1)
        if x.device.type != "cpu" or h * w > self.max_pixels or (undilated_3x3 and h * w > 4):
            return super().forward(x)  # torch's kernel is as fast or faster there
        taps, (ho, wo) = _tap_matrices(h, w, self.kernel_size, self.stride, self.dilation, self.padding)
        b, c = x.shape[:2]
        per_channel = (self.weight.flatten(1) @ taps.to(dtype=x.dtype)).view(c, ho * wo, h * w)  # [C, P, Q]
        # contiguous [C, B, Q]: bmm on strided operands falls back to a slow per-matrix loop
        columns = x.transpose(0, 1).reshape(c, b, h * w).contiguous()
        out = torch.bmm(columns, per_channel.transpose(1, 2))  # [C, B, P]
        return out.transpose(0, 1).reshape(b, c, ho, wo)


_TAPS: dict[tuple[object, ...], tuple[torch.Tensor, tuple[int, int]]] = {}


def _tap_matrices(h: int, w: int, kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...],
                  padding: tuple[int, ...] | str) -> tuple[torch.Tensor, tuple[int, int]]:
    """``[taps, out pixels * in pixels]`` 0/1 matrices of a conv's taps on an ``h x w`` map, and the output size."""
    key = (h, w, tuple(kernel), tuple(stride), tuple(dilation), tuple(padding))
    if key not in _TAPS:
        (kh, kw), (sh, sw), (dh, dw), (ph, pw) = kernel, stride, dilation, padding
        ho, wo = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        taps = torch.zeros(kh * kw, ho * wo * h * w)
        for i in range(kh):
            for j in range(kw):
                for oy in range(ho):
                    y = oy * sh + i * dh - ph
                    for ox in range(wo):
                        xx = ox * sw + j * dw - pw
                        if 0 <= y < h and 0 <= xx < w:
                            taps[i * kw + j, (oy * wo + ox) * h * w + y * w + xx] = 1.0
        _TAPS[key] = (taps, (ho, wo))
    return _TAPS[key]


def cat_replicas(tensors: Sequence[torch.Tensor], replicas: int) -> torch.Tensor:
    """Concatenate channels replica by replica: ``[r0 of each tensor, r1 of each, ...]``."""
    if len(tensors) == 1:
        return tensors[0]
    if replicas == 1:
        return torch.cat(list(tensors), dim=1)
    blocks = [t.unflatten(1, (replicas, -1)) for t in tensors]
    return torch.cat(blocks, dim=2).flatten(1, 2)


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, replicas: int) -> None:
        super().__init__(nn.ReLU(inplace=False), _conv(c_in, c_out, kernel, stride, replicas),
                         nn.BatchNorm2d(c_out * replicas))


class DilConv(nn.Sequential):
    def __init__(self, channels: int, kernel: int, stride: int, dilation: int, replicas: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            _conv(channels, channels, kernel, stride, replicas, dilation=dilation, depthwise=True),
            _conv(channels, channels, 1, 1, replicas),
            nn.BatchNorm2d(channels * replicas),
        )


class SepConv(nn.Sequential):
    def __init__(self, channels: int, kernel: int, stride: int, replicas: int) -> None:
        super().__init__(DilConv(channels, kernel, stride, 1, replicas), DilConv(channels, kernel, 1, 1, replicas))


class FactorizedReduce(nn.Module):
    """Halve the resolution without losing every other pixel: two 1x1 stride-2 convs, offset by one."""

    def __init__(self, c_in: int, c_out: int, replicas: int) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even number of output channels, got {c_out}")
        self.replicas = replicas
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = _conv(c_in, c_out // 2, 1, 2, replicas)
        self.conv_2 = _conv(c_in, c_out // 2, 1, 2, replicas)
        self.bn = nn.BatchNorm2d(c_out * replicas)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(cat_replicas([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], self.replicas))


def make_op(name: str, channels: int, stride: int, replicas: int) -> nn.Module:
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(channels, channels, replicas)
    if name == "max_pool_3x3":
        return nn.MaxPool2d(3, stride=stride, padding=1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
    if name.startswith(("sep_conv_", "dil_conv_")):
        kernel = int(name[-1])
        if name.startswith("sep"):
            return SepConv(channels, kernel, stride, replicas)
        return DilConv(channels, kernel, stride, 2, replicas)
    raise ValueError(f"op {name!r} cannot be built; expected one of {OPS}")


class DartsCell(nn.Module):
    """One cell of a genotype: 4 nodes, each the sum of two ops on earlier states."""

    def __init__(self, nodes: Sequence[tuple[int, int, int, int]], c_prev_prev: int, c_prev: int, channels: int,
                 reduction: bool, reduction_prev: bool, replicas: int) -> None:
        super().__init__()
        self.replicas = replicas
        self.preprocess0 = (FactorizedReduce(c_prev_prev, channels, replicas) if reduction_prev
                            else ReLUConvBN(c_prev_prev, channels, 1, 1, replicas))
        self.preprocess1 = ReLUConvBN(c_prev, channels, 1, 1, replicas)
        self.inputs = [(a, b) for a, _, b, _ in nodes]
        # a reduction cell's ops on its two inputs carry the stride (model.py's _compile)
        self.ops = nn.ModuleList(
            make_op(OPS[op], channels, 2 if reduction and src < 2 else 1, replicas)
            for a, op_a, b, op_b in nodes for src, op in ((a, op_a), (b, op_b))
        )
        self.out_channels = len(nodes) * channels

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for i, (a, b) in enumerate(self.inputs):
            states.append(self.ops[2 * i](states[a]) + self.ops[2 * i + 1](states[b]))
        return cat_replicas(states[2:], self.replicas)


class DartsNetwork(nn.Module):
    """The DARTS network of one genotype, as ``replicas`` independent copies."""

    def __init__(self, arch: Arch, channels: int = 16, cells_per_stage: int = 1, num_classes: int = 10,
                 in_channels: int = 3, replicas: int = 1) -> None:
        super().__init__()
        from naslab.spaces import get_space

        normal, reduce = get_space("darts").cells(arch)
        self.arch, self.replicas, self.in_channels = tuple(arch), replicas, in_channels
        r, c = replicas, channels
        stem = STEM_MULTIPLIER * c
        self.stem = nn.Sequential(nn.Conv2d(in_channels * r, stem * r, 3, padding=1, bias=False, groups=r),
                                  nn.BatchNorm2d(stem * r))
        layers = 3 * cells_per_stage + 2
        c_prev_prev, c_prev, c_curr = stem, stem, c
        reduction_prev = False
        cells = []
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_curr *= 2
            cell = DartsCell(reduce if reduction else normal, c_prev_prev, c_prev, c_curr, reduction,
                             reduction_prev, r)
            cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, cell.out_channels
        self.cells = nn.ModuleList(cells)
        self.classifier = ReplicaLinear(c_prev, num_classes, r)
        self.features = c_prev

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        pooled = s1.mean(dim=(2, 3)).view(s1.shape[0], self.replicas, self.features)
        return self.classifier(pooled)


def build_network(arch: Arch, channels: int = 16, cells_per_stage: int = 1, num_classes: int = 10,
                  in_channels: int = 3, replicas: int = 1) -> DartsNetwork:
    """The network of a valid DARTS decision vector (not initialised; see ``init_replicas``)."""
    from naslab.spaces import get_space

    arch = get_space("darts").validate(arch)
    return DartsNetwork(arch, channels, cells_per_stage, num_classes, in_channels, replicas)
