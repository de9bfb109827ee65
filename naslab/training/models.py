"""The NAS-Bench-201 cell network, optionally as R independent replicas in one module.

Macro skeleton (NB201's ``TinyNetwork``): a 3x3 stem conv + BN, three stages of
``cells_per_stage`` cells with C, 2C and 4C channels, a residual reduction block
(stride 2) between stages, BN + ReLU, global average pooling, a linear classifier.

Cell ops: ``none`` (not computed at all), ``skip_connect`` (identity),
``nor_conv_1x1`` / ``nor_conv_3x3`` (ReLU-Conv-BN), ``avg_pool_3x3``. Only the space's
live edges (:meth:`NB201Space.live_edges`) are built, so isomorphic cells are the
same network, and a cell whose output node gets no signal outputs zeros.

**Replicas.** ``replicas=R`` builds R networks of identical topology side by side:
every conv is grouped with ``groups=R`` over a channel axis laid out replica-major
(``[replica0 channels, replica1 channels, ...]``), BatchNorm is per channel and
therefore per replica, and the classifier is a batched matmul. The replicas never
mix, so training R seeds at once equals training them one by one (the fast
trainer's trick; a CPU pays its per-op overhead once instead of R times). With
``replicas=1`` this is the plain network, and :func:`init_replicas` gives replica
``r`` exactly the weights a one-replica network gets from seed ``r``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from naslab.spaces.nb201 import EDGES, NUM_NODES, OPS
from naslab.training import avg_pool, grouped_conv

Arch = tuple[int, ...]


class ReplicaConv2d(nn.Conv2d):
    """A conv with one group per replica, computed by the fastest of three ways for its shape.

    * On a CPU, :mod:`naslab.training.grouped_conv`'s compiled loops where they apply (stride 1
      or 2, "same" padding, 8k output channels per group): 1.4-3.9x oneDNN at NB201's shapes.
    * Otherwise, a map the kernel covers whole (NB201's last stage: 2x2 maps of 4C channels,
      where every output pixel of a 3x3 conv sees every input pixel) is a dense linear map of
      the flattened map: per replica a ``[Ci*H*W, Co*Ho*Wo]`` matrix built from the kernel
      (zeros where a tap falls on padding), applied as one batched matmul; oneDNN's grouped
      conv spends 2.7x longer there. Used where the dense map has no more multiplies than the
      conv nominally does (``H*W <= kH*kW``).
    * Otherwise ``nn.Conv2d``.

    All three do the same arithmetic in another order (equal up to float rounding, ~1e-6
    relative); ``perf/trainer_speed.py --kernels`` times them side by side.
    """

    def compiled(self, x: torch.Tensor) -> bool:
        """Does :mod:`~naslab.training.grouped_conv` compute this conv of ``x``?"""
        return grouped_conv.applies(self, x)

    def forward(self, x: torch.Tensor, relu_input: bool = False, compiled: bool | None = None,
                then_bn: nn.BatchNorm2d | None = None) -> torch.Tensor:
        """The conv of ``x`` (of ``relu(x)`` if ``relu_input``: the compiled loops ReLU in the copy they keep).

        ``then_bn``: an evaluation-mode BN to apply to the output, only with the compiled loops and
        no gradients (they apply its affine map as they store each output).
        """
        if compiled if compiled is not None else self.compiled(x):
            if then_bn is not None:
                return grouped_conv.conv2d_bn_inference(x, self.weight, self.groups, self.stride[0], relu_input,
                                                        then_bn)
            return grouped_conv.conv2d(x, self.weight, self.groups, self.stride[0], relu_input)
        if relu_input:
            x = torch.relu(x)
        h, w = x.shape[-2:]
        kh, kw = self.kernel_size
        if h * w > kh * kw or self.dilation != (1, 1) or self.padding_mode != "zeros":
            return super().forward(x)
        r = self.groups
        kernel = self._dense_kernel(h, w, x.device)
        flat = x.reshape(x.shape[0], r, -1).transpose(0, 1)  # [R, B, Ci*H*W]
        out = torch.bmm(flat, kernel).transpose(0, 1)  # [B, R, Co*Ho*Wo]
        ho, wo = _output_size(self, h, w)
        out = out.reshape(x.shape[0], self.out_channels, ho, wo)
        if x.is_contiguous(memory_format=torch.channels_last):
            out = out.contiguous(memory_format=torch.channels_last)
        return out

    def _dense_kernel(self, h: int, w: int, device: torch.device) -> torch.Tensor:
        """Per replica the ``[Ci*H*W, Co*Ho*Wo]`` matrix of the conv: the weights times a 0/1 tap matrix.

        A matmul rather than a gather, because autograd's backward of a gather (index_put with
        accumulation) cost 5x its forward. The entries are exact (each is one weight times 1 plus
        zeros). Without gradients (evaluation, the precise-BN pass) the matrix is kept until the
        optimizer changes the weights (``weight._version``): those passes run several batches.
        """
        key = (self.weight._version, h, w, str(device))
        cached = self.__dict__.get("_cached_dense")
        if not torch.is_grad_enabled() and cached is not None and cached[0] == key:
            return cached[1]
        r, co, ci = self.groups, self.out_channels // self.groups, self.in_channels // self.groups
        taps = _tap_matrix(self, h, w, device, self.weight.dtype)  # [kh*kw, H*W * Ho*Wo]
        ho, wo = _output_size(self, h, w)
        kernel = (self.weight.reshape(r * co * ci, -1) @ taps).view(r, co, ci, h * w, ho * wo)
        kernel = kernel.permute(0, 2, 3, 1, 4).reshape(r, ci * h * w, co * ho * wo)
        if not torch.is_grad_enabled():
            self.__dict__["_cached_dense"] = (key, kernel)
        return kernel


def _output_size(conv: nn.Conv2d, h: int, w: int) -> tuple[int, int]:
    (kh, kw), (sh, sw), (ph, pw) = conv.kernel_size, conv.stride, conv.padding
    return (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


_TAPS: dict[tuple, torch.Tensor] = {}


def _tap_matrix(conv: nn.Conv2d, h: int, w: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """``[kh*kw, H*W*Ho*Wo]``: 1 where kernel tap t links input pixel p to output pixel q."""
    key = (conv.kernel_size, conv.stride, conv.padding, h, w, str(device), dtype)
    taps = _TAPS.get(key)
    if taps is None:
        (kh, kw), (sh, sw), (ph, pw) = conv.kernel_size, conv.stride, conv.padding
        ho, wo = _output_size(conv, h, w)
        taps = torch.zeros(kh, kw, h, w, ho, wo)
        for oy in range(ho):
            for ox in range(wo):
                for ky in range(kh):
                    for kx in range(kw):
                        iy, ix = oy * sh + ky - ph, ox * sw + kx - pw
                        if 0 <= iy < h and 0 <= ix < w:
                            taps[ky, kx, iy, ix, oy, ox] = 1.0
        taps = taps.reshape(kh * kw, h * w * ho * wo).to(device=device, dtype=dtype)
        _TAPS[key] = taps
    return taps


class ReLUConvBN(nn.Sequential):
    """ReLU, conv, BN (NB201's op); the ReLU runs inside the conv where the compiled loops compute it."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, replicas: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            ReplicaConv2d(
                c_in * replicas, c_out * replicas, kernel, stride, padding=kernel // 2,
                bias=False, groups=replicas,
            ),
            nn.BatchNorm2d(c_out * replicas),
        )

    def forward(self, x: torch.Tensor, compiled: bool | None = None) -> torch.Tensor:
        conv, bn = self[1], self[2]
        compiled = conv.compiled(x) if compiled is None else compiled
        if compiled and not bn.training and bn.track_running_stats and not torch.is_grad_enabled():
            return conv(x, relu_input=True, compiled=True, then_bn=bn)  # the BN applied as the loops store
        return bn(conv(x, relu_input=True, compiled=compiled))


class AvgPool3x3(nn.AvgPool2d):
    """NB201's 3x3 average pooling (padding not counted); :mod:`~naslab.training.avg_pool`'s loops where they apply."""

    def __init__(self) -> None:
        super().__init__(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return avg_pool.avg_pool_3x3(x) if avg_pool.applies(x) else super().forward(x)


def _make_op(name: str, channels: int, replicas: int) -> nn.Module:
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, replicas)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, replicas)
    if name == "avg_pool_3x3":
        return AvgPool3x3()
    raise ValueError(f"op {name!r} cannot be built; expected one of {OPS[1:]}")


class Cell(nn.Module):
    """One NB201 cell computing only its live edges (channels in = channels out)."""

    def __init__(self, arch: Arch, live: Sequence[bool], channels: int, replicas: int) -> None:
        super().__init__()
        self.edge_ids = [d for d in range(len(EDGES)) if live[d]]
        self.ops = nn.ModuleList(_make_op(OPS[arch[d]], channels, replicas) for d in self.edge_ids)
        # node -> [(position in self.ops, source node)], only for nodes with live inputs
        self.incoming: dict[int, list[tuple[int, int]]] = {}
        for position, d in enumerate(self.edge_ids):
            to_node, from_node = EDGES[d]
            self.incoming.setdefault(to_node, []).append((position, from_node))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.edge_ids:  # the output node receives no signal: NB201 outputs zeros
            return torch.zeros_like(x)
        nodes: dict[int, torch.Tensor] = {0: x}
        # a node read by several convs is ReLU'd once for all of them (the same numbers, forward and
        # backward: ReLU was 9 % of a training's time, and node 0 feeds up to three convs)
        activated: dict[int, torch.Tensor] = {}

        def apply(position: int, src: int) -> torch.Tensor:
            op = self.ops[position]
            if not isinstance(op, ReLUConvBN):
                return op(nodes[src])
            if op[1].compiled(nodes[src]):  # the ReLU happens in the copy the conv keeps for its backward
                return op(nodes[src], compiled=True)
            if src not in activated:
                activated[src] = op[0](nodes[src])
            return op[2](op[1](activated[src], compiled=False))

        for node in range(1, NUM_NODES):
            terms = self.incoming.get(node)
            if not terms:
                continue  # dead node: nothing live reads it
            total = apply(*terms[0])
            for position, src in terms[1:]:
                total = total + apply(position, src)
            nodes[node] = total
        return nodes[NUM_NODES - 1]


class ResidualReduction(nn.Module):
    """NB201's ResNet basic block with stride 2, between stages."""

    def __init__(self, c_in: int, c_out: int, replicas: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, replicas)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, replicas)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(2, stride=2),
            ReplicaConv2d(c_in * replicas, c_out * replicas, 1, bias=False, groups=replicas),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_b(self.conv_a(x)) + self.shortcut(x)


class ReplicaLinear(nn.Module):
    """R independent linear classifiers: ``[B, R, in] -> [B, R, out]``."""

    def __init__(self, c_in: int, c_out: int, replicas: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(replicas, c_in, c_out))
        self.bias = nn.Parameter(torch.zeros(replicas, c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bri,rio->bro", x, self.weight) + self.bias


class NB201Network(nn.Module):
    """The NB201 network for one cell, as ``replicas`` independent copies.

    Input ``[B, replicas * in_channels, H, W]`` (replica-major channels: replica r
    reads channels ``r*in_channels:(r+1)*in_channels``); output ``[B, replicas, classes]``.
    """

    def __init__(
        self,
        arch: Arch,
        live: Sequence[bool],
        channels: int = 16,
        cells_per_stage: int = 1,
        num_classes: int = 10,
        in_channels: int = 3,
        replicas: int = 1,
    ) -> None:
        super().__init__()
        self.arch, self.replicas, self.in_channels = tuple(arch), replicas, in_channels
        r, c = replicas, channels
        self.stem = nn.Sequential(
            ReplicaConv2d(in_channels * r, c * r, 3, padding=1, bias=False, groups=r),
            nn.BatchNorm2d(c * r),
        )
        layers: list[nn.Module] = []
        for stage, width in enumerate((c, 2 * c, 4 * c)):
            if stage > 0:
                layers.append(ResidualReduction(width // 2, width, r))
            layers.extend(Cell(arch, live, width, r) for _ in range(cells_per_stage))
        self.cells = nn.Sequential(*layers)
        self.last_act = nn.Sequential(nn.BatchNorm2d(4 * c * r), nn.ReLU(inplace=False))
        self.classifier = ReplicaLinear(4 * c, num_classes, r)
        self.features = 4 * c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.last_act(self.cells(self.stem(x)))
        pooled = h.mean(dim=(2, 3)).view(h.shape[0], self.replicas, self.features)
        return self.classifier(pooled)


def build_network(
    arch: Arch,
    channels: int = 16,
    cells_per_stage: int = 1,
    num_classes: int = 10,
    in_channels: int = 3,
    replicas: int = 1,
) -> NB201Network:
    """The network of a valid NB201 decision vector, live edges only (not initialised)."""
    from naslab.spaces import get_space

    space = get_space("nb201")
    arch = space.validate(arch)
    return NB201Network(
        arch, space.live_edges(arch), channels, cells_per_stage, num_classes, in_channels, replicas
    )


def network_of(
    space: Any, arch: Sequence[int], channels: int, cells_per_stage: int, num_classes: int, in_channels: int,
    replicas: int = 1,
) -> nn.Module:
    """The network ``space`` builds for ``arch`` (:meth:`CategoricalSpace.build_network`); NB201's for None."""
    if space is None:
        return build_network(tuple(arch), channels, cells_per_stage, num_classes, in_channels, replicas)
    return space.build_network(tuple(arch), channels=channels, cells_per_stage=cells_per_stage,
                               num_classes=num_classes, in_channels=in_channels, replicas=replicas)


@torch.no_grad()
def init_replicas(model: NB201Network, seeds: Sequence[int]) -> None:
    """Initialise replica r from ``torch.Generator().manual_seed(seeds[r])`` alone.

    Every parameter is split into its per-replica slices, and each slice is drawn in
    module order from its own generator, so replica r of an R-replica network gets
    the very weights a 1-replica network gets from ``seeds[r]``.
    """
    if len(seeds) != model.replicas:
        raise ValueError(f"init_replicas: {len(seeds)} seeds for a network of {model.replicas} replicas")
    generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
    r = model.replicas
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            per = module.weight.shape[0] // r
            for i, g in enumerate(generators):
                part = module.weight[i * per : (i + 1) * per]
                # He init for ReLU nets (fan_out, as NB201/torchvision ResNets do)
                std = math.sqrt(2.0 / (part.shape[0] * part.shape[2] * part.shape[3]))
                part.copy_(torch.randn(part.shape, generator=g) * std)
        elif isinstance(module, nn.BatchNorm2d):
            module.weight.fill_(1.0)
            module.bias.zero_()
            module.reset_running_stats()
        elif isinstance(module, ReplicaLinear):
            for i, g in enumerate(generators):
                fan_in = module.weight.shape[1]
                bound = 1.0 / math.sqrt(fan_in)
                module.weight[i].copy_(torch.rand(module.weight[i].shape, generator=g) * 2 * bound - bound)
            module.bias.zero_()


def count_params(
    arch: Arch, channels: int, cells_per_stage: int, num_classes: int, in_channels: int, space: Any = None
) -> float:
    """Trainable parameters of one network (one replica; ``space``'s, NB201 for None), in millions."""
    model = network_of(space, arch, channels, cells_per_stage, num_classes, in_channels)
    return sum(p.numel() for p in model.parameters()) / 1e6


def count_flops(
    arch: Arch,
    channels: int,
    cells_per_stage: int,
    num_classes: int,
    in_channels: int,
    image_size: int,
    space: Any = None,
) -> float:
    """Multiply-accumulates of one forward pass of one image, in millions.

    Counted from the layer shapes (convs and the classifier, as NB201 counts them);
    BN, ReLU, pooling and additions are not counted. ``space`` as in :func:`count_params`.
    """
    model = network_of(space, arch, channels, cells_per_stage, num_classes, in_channels)
    total = 0

    def conv_hook(module: nn.Conv2d, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        k = module.kernel_size[0] * module.kernel_size[1]
        total += output.numel() * (module.in_channels // module.groups) * k

    handles = [m.register_forward_hook(conv_hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model.eval()
        model(torch.zeros(1, in_channels, image_size, image_size))
    for h in handles:
        h.remove()
    total += model.features * num_classes
    return total / 1e6
