"""The two TransNAS-Bench-101 spaces (Duan et al., CVPR 2021; yawen-d/TransNASBench).

Codes below are TransNAS-Bench-101's own, as its README's example encodings spell them
out (``64-1234-basic``: m1 normal, m2 channel x2, m3 resolution / 2, m4 both;
``64-41414-1_02_333``: node1 = Skip(node0), node2 = None(node0) + Conv1x1(node1), ...).

Micro (4,096 cells)
-------------------
NAS-Bench-201's cell (4 nodes, 6 edges, same edge order) with four operations,
``0 none, 1 skip_connect, 2 conv_1x1, 3 conv_3x3``, inside the fixed skeleton
``64-41414``. String: TNB101's own, ``64-41414-{e1}_{e2}{e3}_{e4}{e5}{e6}``. Index order:
the mixed-radix rank (``0_00_000`` = 0). Canonical key: NAS-Bench-201's
(:meth:`naslab.spaces.nb201.NB201Space.canonical`) of the same cell: the operations
are NB201's ``none, skip_connect, nor_conv_1x1, nor_conv_3x3`` and the cell sums its
edges as NB201's does.

Macro (3,256 networks)
----------------------
A chain of 4 to 6 residual modules of the basic block, each ``1`` normal, ``2``
channels x2, ``3`` resolution / 2 or ``4`` both, with 1 to 4 modules that halve the
resolution and 1 to 3 that double the channels (exactly the 3,256 chains in the
published data). As decisions: six slots, each ``0`` (no module) or a module code,
so 5**6 = 15,625 vectors; the network is the chain of non-empty slots in order, and
the canonical key is that chain (``(1, 0, 2, 3, 4, 0)`` and ``(1, 2, 3, 4, 0, 0)`` are
``1234``). Vectors whose chain breaks the rules are no network of the benchmark and
answer as failed. String: the six slot digits, e.g. ``123400``; TNB101's own string is
:meth:`TNB101MacroSpace.tnb101_string`.
"""

from __future__ import annotations

import itertools
from functools import cached_property

from naslab.spaces.base import Arch, CategoricalSpace
from naslab.spaces.nb201 import NB201Space

MICRO_OPS: tuple[str, ...] = ("none", "skip_connect", "conv_1x1", "conv_3x3")
_AS_NB201 = (0, 1, 2, 3)  # NB201's none, skip_connect, nor_conv_1x1, nor_conv_3x3
MACRO_MODULES: tuple[str, ...] = ("empty", "normal", "channel_x2", "resolution_half", "channel_x2_resolution_half")
MICRO_PREFIX = "64-41414-"


class TNB101MicroSpace(CategoricalSpace):
    name = "tnb101_micro"
    cardinalities = (len(MICRO_OPS),) * 6
    ops = MICRO_OPS

    def to_string(self, arch: Arch) -> str:
        a = [str(int(v)) for v in arch]
        return f"{MICRO_PREFIX}{a[0]}_{a[1]}{a[2]}_{a[3]}{a[4]}{a[5]}"

    @cached_property
    def all_strings(self) -> list[str]:
        return [self.to_string(a) for a in itertools.product(range(4), repeat=6)]

    @cached_property
    def _by_string(self) -> dict[str, Arch]:
        return {s: tuple(a) for s, a in zip(self.all_strings, itertools.product(range(4), repeat=6))}

    def from_string(self, text: str) -> Arch:
        arch = self._by_string.get(text) if isinstance(text, str) else None
        if arch is None:
            raise ValueError(
                f"{text!r} is not a TransNAS-Bench-101 micro cell; expected '64-41414-A_BC_DEF' with "
                "digits 0 (none), 1 (skip), 2 (conv 1x1), 3 (conv 3x3) on the edges in NB201 order, e.g. 64-41414-1_02_333"
            )
        return arch

    @cached_property
    def _nb201(self) -> NB201Space:
        return NB201Space()

    def canonical(self, arch: Arch) -> str:
        return self._nb201.canonical(tuple(_AS_NB201[int(v)] for v in arch))


class TNB101MacroSpace(CategoricalSpace):
    name = "tnb101_macro"
    cardinalities = (len(MACRO_MODULES),) * 6
    modules = MACRO_MODULES

    def to_string(self, arch: Arch) -> str:
        return "".join(str(int(v)) for v in arch)

    def from_string(self, text: str) -> Arch:
        if not isinstance(text, str) or len(text) != 6 or any(c not in "01234" for c in text):
            raise ValueError(
                f"{text!r} is not a TransNAS-Bench-101 macro network; expected six slot digits, each 0 (empty) "
                "or a module 1 (normal), 2 (channels x2), 3 (resolution / 2), 4 (both), e.g. 123400"
            )
        return tuple(int(c) for c in text)

    @staticmethod
    def chain(arch: Arch) -> tuple[int, ...]:
        return tuple(int(v) for v in arch if int(v))

    def canonical(self, arch: Arch) -> str:
        return "".join(map(str, self.chain(arch)))

    @staticmethod
    def is_network(chain: tuple[int, ...]) -> bool:
        """TNB101's rules: 4-6 modules, 1-4 halve the resolution, 1-3 double the channels."""
        halve = sum(1 for m in chain if m in (3, 4))
        double = sum(1 for m in chain if m in (2, 4))
        return 4 <= len(chain) <= 6 and 1 <= halve <= 4 and 1 <= double <= 3

    def tnb101_string(self, arch: Arch) -> str:
        """TransNAS-Bench-101's own encoding, e.g. ``64-1234-basic``."""
        return f"64-{self.canonical(arch)}-basic"
