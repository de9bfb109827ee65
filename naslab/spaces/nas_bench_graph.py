"""The NAS-Bench-Graph space: 4 computing nodes, each one GNN operation on one input.

NAS-Bench-Graph (Qin et al., NeurIPS 2022 Datasets & Benchmarks; THUMNLab/NAS-Bench-Graph)
describes a network as a DAG in which every computing node has exactly one input:
node ``i`` (1..4) reads the raw input (0) or an earlier node (``1 .. i-1``), applies
one operation, and every node without successors feeds the output. Operations:
``gat gcn gin cheb sage arma graph fc skip`` (9; the proteins dataset uses only
``gcn sage arma fc skip``).

Decisions, in order: ``op1, in2, op2, in3, op3, in4, op4`` (node 1 always reads the
input), so 9 x 2 x 9 x 3 x 9 x 4 x 9 = 157,464 vectors (5 ops: 15,000). The string
lists the inputs then the ops, as the package's ``Arch(link, ops)`` does::

    "0,1,2,1|gcn,gin,fc,cheb"    node 1 = gcn(x), 2 = gin(1), 3 = fc(2), 4 = cheb(1)

Index order = the mixed-radix rank of the vector (row 0 = ``0,0,0,0|gat,gat,gat,gat``).

Canonical key
-------------
Many vectors describe the same network: the inputs may be listed in any order
(siblings commute), a ``skip`` node is an identity, and the benchmark trained one
network per class. The key is the rooted tree of the non-skip nodes, children
sorted, where

* a ``skip`` with successors is contracted (its successors read its input);
* a node's output reaches the network output once per ``skip`` chain that ends at
  a leaf below it, or once if it has no successors at all; this count is part of
  the node's label (``arma**`` = arma's output summed into the output twice);
* a skip chain from the raw input straight to the output is not counted (the
  benchmark's own rule: it trained ``x + sage(x) + arma(x)`` and ``sage(x) + arma(x)``
  as one network).

Over the 157,464 vectors this gives exactly **26,206** classes (5 ops: **2,021**),
the published number of unique architectures, and the classes coincide one to one
with the published table's keys (``nas_bench_graph.architecture.Arch.valid_hash``;
checked in the tests). The all-``skip`` cell is no network: the benchmark has no
entry for it, and its 24 vectors answer as failed.
"""

from __future__ import annotations

import itertools
from functools import cache, cached_property

from naslab.spaces.base import Arch, CategoricalSpace

OPS: tuple[str, ...] = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")
PROTEINS_OPS: tuple[str, ...] = ("gcn", "sage", "arma", "fc", "skip")
NUM_NODES = 4
SKIP = "skip"


class NASBenchGraphSpace(CategoricalSpace):
    """One input and one operation per computing node; see the module docstring."""

    def __init__(self, name: str = "nas_bench_graph", ops: tuple[str, ...] = OPS) -> None:
        self.name = name
        self.ops = ops
        k = len(ops)
        # op1, in2, op2, in3, op3, in4, op4
        self.cardinalities = (k, 2, k, 3, k, 4, k)
        self._format_help = (
            f"'I1,I2,I3,I4|O1,O2,O3,O4' with I1 = 0 and Ii in 0..i-1 (the input of node i, 0 = the raw input) "
            f"and Oi in {', '.join(ops)}, e.g. '0,1,2,1|{ops[1]},{ops[2]},{ops[3]},{ops[0]}'"
        )

    # ----- vectors <-> (link, ops) -------------------------------------------------------
    @staticmethod
    def link_and_ops(arch: Arch) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """``((0, in2, in3, in4), (op1, op2, op3, op4))`` of a decision vector."""
        return (0, arch[1], arch[3], arch[5]), (arch[0], arch[2], arch[4], arch[6])

    @staticmethod
    def from_link_and_ops(link: tuple[int, ...], ops: tuple[int, ...]) -> Arch:
        return (ops[0], link[1], ops[1], link[2], ops[2], link[3], ops[3])

    def to_string(self, arch: Arch) -> str:
        link, ops = self.link_and_ops(arch)
        return ",".join(map(str, link)) + "|" + ",".join(self.ops[o] for o in ops)

    @cached_property
    def _op_index(self) -> dict[str, int]:
        return {op: i for i, op in enumerate(self.ops)}

    def from_string(self, text: str) -> Arch:
        try:
            links_text, ops_text = text.split("|")
            link = tuple(int(v) for v in links_text.split(","))
            ops = tuple(self._op_index[o] for o in ops_text.split(","))
        except (AttributeError, ValueError, KeyError):
            raise ValueError(f"{text!r} is not a {self.name} architecture; expected {self._format_help}") from None
        if len(link) != NUM_NODES or len(ops) != NUM_NODES or link[0] != 0 or any(
            not 0 <= v < i + 1 for i, v in enumerate(link)
        ):
            raise ValueError(f"{text!r} is not a {self.name} architecture; expected {self._format_help}")
        return self.from_link_and_ops(link, ops)

    # ----- canonical key -------------------------------------------------------------------
    def is_valid(self, arch: Arch) -> bool:
        """False for the all-skip cell, which computes no network."""
        skip = self._op_index.get(SKIP)
        return any(o != skip for o in self.link_and_ops(arch)[1])

    @cached_property
    def all_strings(self) -> list[str]:
        # rank order = itertools.product over the decisions (op1, in2, op2, in3, op3, in4, op4)
        return [
            f"0,{i2},{i3},{i4}|{o1},{o2},{o3},{o4}"
            for o1, i2, o2, i3, o3, i4, o4 in itertools.product(
                self.ops, range(2), self.ops, range(3), self.ops, range(4), self.ops
            )
        ]

    @cached_property
    def canonical_keys(self) -> list[str]:
        """The canonical key of every vector, in index order."""
        return [
            self.canonical_of((0, i2, i3, i4), (o1, o2, o3, o4))
            for o1, i2, o2, i3, o3, i4, o4 in itertools.product(
                self.ops, range(2), self.ops, range(3), self.ops, range(4), self.ops
            )
        ]

    def canonical(self, arch: Arch) -> str:
        link, ops = self.link_and_ops(arch)
        return self.canonical_of(link, tuple(self.ops[o] for o in ops))

    @staticmethod
    def canonical_of(link: tuple[int, ...], ops: tuple[str, ...]) -> str:
        """The key of the network with node inputs ``link`` and operations ``ops`` (names)."""
        labels, reached = _structure(link, tuple(op == SKIP for op in ops))

        def key(node: int) -> str:
            label = "x" if node == 0 else ops[node - 1] + labels[node]
            inner = reached[node]
            if not inner:
                return label
            if len(inner) == 1:
                return f"{label}({key(inner[0])})"
            return f"{label}({','.join(sorted([key(c) for c in inner]))})"

        return key(0)


@cache
def _structure(link: tuple[int, ...], skips: tuple[bool, ...]) -> tuple[list[str], list[list[int]]]:
    """Per node: its output multiplicity mark and the non-skip nodes reading it through skips.

    Depends only on the links and which nodes are skips (384 combinations), so the
    per-vector work of :meth:`NASBenchGraphSpace.canonical_of` is formatting only.
    """
    children: list[list[int]] = [[] for _ in range(NUM_NODES + 1)]
    for node, parent in enumerate(link, start=1):
        children[parent].append(node)

    def through_skips(node: int) -> tuple[list[int], int]:
        # (non-skip nodes reading node's output through skip chains, skip chains ending at a leaf)
        reached: list[int] = []
        to_output = 0
        for child in children[node]:
            if not skips[child - 1]:
                reached.append(child)
            elif children[child]:
                more, outs = through_skips(child)
                reached += more
                to_output += outs
            else:
                to_output += 1
        return reached, to_output

    labels, reached_by = [""] * (NUM_NODES + 1), [[] for _ in range(NUM_NODES + 1)]
    for node in range(NUM_NODES + 1):
        reached, to_output = through_skips(node)
        if node and not children[node]:
            to_output = 1  # a leaf feeds the output
        labels[node], reached_by[node] = "*" * to_output, reached
    return labels, reached_by
