"""The NAS-Bench-201 weight-sharing supernet: every edge holds all five operations.

Macro skeleton as the benchmark's network (:mod:`naslab.training.models`, NB201's
``TinyNetwork``): a 3x3 stem conv + BN, three stages of ``cells_per_stage`` cells with
C, 2C and 4C channels, a residual reduction block between stages, BN + ReLU, global
average pooling and a linear classifier. The cells differ: each of the 6 edges holds
one module per operation (``none`` needs none, ``skip_connect`` and ``avg_pool_3x3``
have no weights, the two convolutions have their own), shared by every architecture
that picks that operation on that edge.

As in the NB201/NATS search code (D-X-Y/AutoDL-Projects
``xautodl/models/cell_searchs/search_cells.py`` ``NAS201SearchCell`` and
``exps/NATS-algos/search-cell.py``, defaults ``--affine 0 --track_running_stats 0``),
the BatchNorms inside the searched cells have no affine parameters and keep no
running statistics: they always normalise with the statistics of the batch at hand,
because a running average over many sampled sub-networks describes none of them. The
stem, the reduction blocks and the classifier are those of the benchmark's network.

Three ways to run a cell, one per family of methods:

* :meth:`Supernet.forward_arch` — one discrete architecture (RSPS, SETN, ENAS and
  every evaluation): only the chosen op of each edge runs, ``none`` edges and nodes
  fed only zeros are skipped (their output is exactly zero);
* :meth:`Supernet.forward_weighted` — the DARTS continuous relaxation: each edge
  outputs ``sum_k w[e, k] * op_k(x)`` (``none`` contributes zero and is not computed);
* :meth:`Supernet.forward_gdas` — GDAS: only the sampled op runs, multiplied by its
  straight-through one-hot weight; the other ops' weights are added as (zero-valued)
  scalars so that every architecture weight gets the node's gradient, as
  ``NAS201SearchCell.forward_gdas`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import torch
from torch import nn

from naslab.spaces.nb201 import EDGES, NONE, NUM_NODES, OPS
from naslab.training.models import ResidualReduction

Arch = tuple[int, ...]
Contribution = Callable[[int, "MixedEdge", "torch.Tensor | None"], "torch.Tensor | None"]
NUM_EDGES, NUM_OPS = len(EDGES), len(OPS)


class SearchReLUConvBN(nn.Sequential):
    """ReLU-Conv-BN of a searched cell (BN without affine weights or running statistics by default)."""

    def __init__(self, channels: int, kernel: int, affine: bool, track_running_stats: bool) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(channels, channels, kernel, 1, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(channels, affine=affine, track_running_stats=track_running_stats),
        )


class MixedEdge(nn.Module):
    """All operations of one edge; ``ops[k]`` is ``OPS[k]`` (``ops[0]``, ``none``, is never run)."""

    def __init__(self, channels: int, affine: bool, track_running_stats: bool) -> None:
        super().__init__()
        built: list[nn.Module] = []
        for name in OPS:
            if name in ("none", "skip_connect"):
                built.append(nn.Identity())  # 'none' is a placeholder: its output is zero, never computed
            elif name == "nor_conv_1x1":
                built.append(SearchReLUConvBN(channels, 1, affine, track_running_stats))
            elif name == "nor_conv_3x3":
                built.append(SearchReLUConvBN(channels, 3, affine, track_running_stats))
            elif name == "avg_pool_3x3":
                built.append(nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False))
            else:  # pragma: no cover - OPS is fixed
                raise AssertionError(name)
        self.ops = nn.ModuleList(built)


class SearchCell(nn.Module):
    """A cell of the supernet; how each edge contributes is passed in per call."""

    def __init__(self, channels: int, affine: bool, track_running_stats: bool) -> None:
        super().__init__()
        self.edges = nn.ModuleList(MixedEdge(channels, affine, track_running_stats) for _ in EDGES)

    def forward(self, x: torch.Tensor, contribution: Contribution) -> torch.Tensor:
        # None stands for a node that is exactly zero (discrete mode skips its edges)
        nodes: list[torch.Tensor | None] = [x]
        for node in range(1, NUM_NODES):
            total: torch.Tensor | None = None
            for d, (dst, src) in enumerate(EDGES):
                if dst != node:
                    continue
                term = contribution(d, cast(MixedEdge, self.edges[d]), nodes[src])
                if term is not None:
                    total = term if total is None else total + term
            if total is not None and total.dim() == 0:  # GDAS, only 'none' sampled: zeros carrying a gradient
                total = torch.zeros_like(x) + total
            nodes.append(total)
        return torch.zeros_like(x) if nodes[-1] is None else nodes[-1]


class Supernet(nn.Module):
    """The NB201 supernet for images ``[B, in_channels, H, W]``; outputs logits ``[B, classes]``."""

    def __init__(
        self,
        channels: int = 16,
        cells_per_stage: int = 5,
        num_classes: int = 10,
        in_channels: int = 3,
        affine: bool = False,
        track_running_stats: bool = False,
    ) -> None:
        super().__init__()
        c = channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        self.layers = nn.ModuleList()
        for stage, width in enumerate((c, 2 * c, 4 * c)):
            if stage > 0:
                self.layers.append(ResidualReduction(width // 2, width, 1))
            self.layers.extend(SearchCell(width, affine, track_running_stats) for _ in range(cells_per_stage))
        self.last_act = nn.Sequential(
            nn.BatchNorm2d(4 * c, affine=affine, track_running_stats=track_running_stats), nn.ReLU(inplace=False)
        )
        self.classifier = nn.Linear(4 * c, num_classes)

    def _forward(self, x: torch.Tensor, contribution: Contribution) -> torch.Tensor:
        h = self.stem(x)
        for layer in self.layers:
            h = layer(h, contribution) if isinstance(layer, SearchCell) else layer(h)
        return self.classifier(self.last_act(h).mean(dim=(2, 3)))

    def forward_arch(self, x: torch.Tensor, arch: Sequence[int]) -> torch.Tensor:
        """The sub-network of one architecture (its ops only, weights inherited)."""
        arch = tuple(int(v) for v in arch)

        def contribution(d: int, edge: MixedEdge, h: torch.Tensor | None) -> torch.Tensor | None:
            if h is None or arch[d] == NONE:
                return None
            return edge.ops[arch[d]](h)

        return self._forward(x, contribution)

    def forward_weighted(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """DARTS: every op of every edge, weighted by ``weights [6, 5]`` (rows sum to 1)."""

        def contribution(d: int, edge: MixedEdge, h: torch.Tensor | None) -> torch.Tensor | None:
            assert h is not None
            total = None
            for k in range(NUM_OPS):
                if k == NONE:
                    continue  # w * 0 = 0: no output, no gradient to w through this term
                term = weights[d, k] * edge.ops[k](h)
                total = term if total is None else total + term
            return total

        return self._forward(x, contribution)

    def forward_gdas(self, x: torch.Tensor, hard: torch.Tensor, index: Sequence[int]) -> torch.Tensor:
        """GDAS: the sampled op ``index[e]`` of each edge times its straight-through weight ``hard[e]``."""
        index = [int(i) for i in index]

        def contribution(d: int, edge: MixedEdge, h: torch.Tensor | None) -> torch.Tensor | None:
            assert h is not None
            chosen = index[d]
            # the other ops' one-hot entries are 0 in value but carry the gradient
            # of the node to their logits (NAS201SearchCell.forward_gdas)
            others = hard[d].sum() - hard[d, chosen]
            if chosen == NONE:
                return others
            return hard[d, chosen] * edge.ops[chosen](h) + others

        return self._forward(x, contribution)


def build_supernet(
    channels: int, cells_per_stage: int, num_classes: int, in_channels: int, seed: int,
    affine: bool = False, track_running_stats: bool = False,
) -> Supernet:
    """A supernet whose initial weights depend on ``seed`` alone.

    PyTorch's default initialisation draws from the global generator; building inside
    :func:`torch.random.fork_rng` seeded with ``seed`` makes it reproducible without
    changing the caller's global random state.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return Supernet(channels, cells_per_stage, num_classes, in_channels, affine, track_running_stats)
