"""The DARTS cell space (Liu et al., ICLR 2019): a normal and a reduction cell, about 1.08e18 pairs.

Each cell has two inputs, ``c_{k-2}`` and ``c_{k-1}`` (states 0 and 1), and four
intermediate nodes (states 2..5). Node ``i`` (state ``2 + i``) adds two operations,
each applied to a *different* earlier state; the cell's output concatenates the four
intermediate nodes. Operations: DARTS's ``PRIMITIVES`` without ``none`` (quark0/darts
``cnn/genotypes.py``; NASLib's ``naslib/predictors/utils/encodings_darts.py`` and
NAS-Bench-301 use the same seven in the same order)::

    max_pool_3x3  avg_pool_3x3  skip_connect  sep_conv_3x3  sep_conv_5x5  dil_conv_3x3  dil_conv_5x5

Decision vector (22 decisions, 11 per cell, normal cell first)
---------------------------------------------------------------
Per cell, per node ``i``: the *unordered* pair of inputs (``C(2+i, 2)`` = 1, 3, 6, 10
choices, pairs in lexicographic order ``(0,1), (0,2), (1,2), (0,3) ...``), then the op
on the lower input, then the op on the higher input (7 each). Node 0's pair has one
choice, ``(0, 1)``, so it is not a decision: the cell is ``op op | pair op op | pair op op
| pair op op`` with cardinalities ``7 7 3 7 7 6 7 7 10 7 7``. Every vector is a valid
genotype, so sampling, mutation, crossover and neighbours (128 per architecture) need no
rejection, and the two orders in which the DARTS code may list a node's inputs are one
vector. Size: ``(7**8 * 3 * 6 * 10) ** 2 = 1,076,746,950,455,072,400`` (~1.08e18), far too
many to enumerate (:attr:`CategoricalSpace.enumerable` is false).

Strings are the ``repr`` of DARTS's ``Genotype`` namedtuple, e.g. the normal cell of
DARTS-V2 (``cnn/genotypes.py``)::

    Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ...], normal_concat=[2, 3, 4, 5],
             reduce=[...], reduce_concat=[2, 3, 4, 5])

:meth:`DartsSpace.from_string` accepts a node's two inputs in either order and
``range(2, 6)`` for the concat lists (what DARTS's ``model_search.py`` prints); it never
evaluates the text (it reads the literal syntax tree). :meth:`DartsSpace.to_string`
writes the lower input first, so ``to_string(from_string(s))`` is the normalised form.
"""

from __future__ import annotations

import ast
import itertools

import numpy as np

from naslab.spaces.base import Arch, CategoricalSpace, InvalidArchError

OPS: tuple[str, ...] = (
    "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
)
PARAMETRIC = frozenset({"sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"})
NUM_NODES = 4
NUM_INPUTS = 2
CELLS = ("normal", "reduce")
CONCAT = list(range(NUM_INPUTS, NUM_INPUTS + NUM_NODES))
# PAIRS[i]: the input pairs of node i in the order of its pair decision
PAIRS: tuple[tuple[tuple[int, int], ...], ...] = tuple(
    tuple(itertools.combinations(range(NUM_INPUTS + i), 2)) for i in range(NUM_NODES)
)
# every (input, node) edge a cell can have: node i reads states 0 .. i+1 (14 edges per cell)
EDGES: tuple[tuple[int, int], ...] = tuple((j, i) for i in range(NUM_NODES) for j in range(NUM_INPUTS + i))
_EDGE_POSITION = {edge: k for k, edge in enumerate(EDGES)}

_CELL_CARDINALITIES: tuple[int, ...] = (len(OPS), len(OPS)) + tuple(
    c for i in range(1, NUM_NODES) for c in (len(PAIRS[i]), len(OPS), len(OPS))
)
DECISIONS_PER_CELL = len(_CELL_CARDINALITIES)  # 11
_FORMAT = (
    "Genotype(normal=[(op, input), ...8 pairs], normal_concat=[2, 3, 4, 5], reduce=[...8 pairs], "
    "reduce_concat=[2, 3, 4, 5]) where pairs 2i and 2i+1 feed node i from two different states "
    f"below 2+i and op is one of {', '.join(OPS)}"
)

Cell = tuple[tuple[int, int, int, int], ...]
"""A cell as 4 nodes ``(lower input, op on it, higher input, op on it)``."""


def _cell_of(decisions: Arch) -> Cell:
    nodes = [(0, decisions[0], 1, decisions[1])]
    for i in range(1, NUM_NODES):
        pair, op_lo, op_hi = decisions[2 + 3 * (i - 1) : 5 + 3 * (i - 1)]
        lo, hi = PAIRS[i][pair]
        nodes.append((lo, op_lo, hi, op_hi))
    return tuple(nodes)


def _decisions_of(cell: Cell) -> Arch:
    out = [cell[0][1], cell[0][3]]
    for i in range(1, NUM_NODES):
        lo, op_lo, hi, op_hi = cell[i]
        out.extend((PAIRS[i].index((lo, hi)), op_lo, op_hi))
    return tuple(out)


# vectorised decoding: per node i >= 1, the (lower, higher) input of each pair decision
_PAIR_LO = [np.array([p[0] for p in PAIRS[i]]) for i in range(NUM_NODES)]
_PAIR_HI = [np.array([p[1] for p in PAIRS[i]]) for i in range(NUM_NODES)]
# _EDGE_TABLE[i, j]: position of edge j -> node i in EDGES (-1 where node i cannot read j)
_EDGE_TABLE = np.full((NUM_NODES, NUM_INPUTS + NUM_NODES), -1, dtype=np.int64)
for (_j, _i), _k in _EDGE_POSITION.items():
    _EDGE_TABLE[_i, _j] = _k


def _node_arrays(archs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(lower input, its op, higher input, its op) of every node, each ``[n, cells, nodes]``."""
    n = len(archs)
    cells = archs.reshape(n, len(CELLS), DECISIONS_PER_CELL)
    lo = np.zeros((n, len(CELLS), NUM_NODES), dtype=np.int64)
    hi = np.ones_like(lo)
    op_lo, op_hi = np.empty_like(lo), np.empty_like(lo)
    op_lo[:, :, 0], op_hi[:, :, 0] = cells[:, :, 0], cells[:, :, 1]
    for i in range(1, NUM_NODES):
        pair = cells[:, :, 2 + 3 * (i - 1)]
        lo[:, :, i], hi[:, :, i] = _PAIR_LO[i][pair], _PAIR_HI[i][pair]
        op_lo[:, :, i], op_hi[:, :, i] = cells[:, :, 3 + 3 * (i - 1)], cells[:, :, 4 + 3 * (i - 1)]
    return lo, op_lo, hi, op_hi


def _relabellings() -> list[tuple[int, ...]]:
    """Every permutation of the intermediate states 2..5, as a map old state -> new state."""
    base = tuple(range(NUM_INPUTS))
    return [base + perm for perm in itertools.permutations(range(NUM_INPUTS, NUM_INPUTS + NUM_NODES))]


_PERMUTATIONS = _relabellings()


def _relabelled(cell: Cell, new: tuple[int, ...]) -> Cell | None:
    """The cell with state ``s`` renamed ``new[s]``, or None if a node would read a later one."""
    nodes: list[tuple[int, int, int, int] | None] = [None] * NUM_NODES
    for i, (a, op_a, b, op_b) in enumerate(cell):
        target, a, b = new[NUM_INPUTS + i], new[a], new[b]
        if a >= target or b >= target:
            return None
        nodes[target - NUM_INPUTS] = (a, op_a, b, op_b) if a < b else (b, op_b, a, op_a)
    return tuple(nodes)  # type: ignore[arg-type]


def cell_orbit(cell: Cell) -> set[Cell]:
    """Every cell that renames ``cell``'s intermediate nodes consistently (``cell`` included)."""
    return {c for c in (_relabelled(cell, p) for p in _PERMUTATIONS) if c is not None}


class DartsSpace(CategoricalSpace):
    """The DARTS (NAS-Bench-301) cell space: normal + reduction cell, 4 nodes, 7 ops."""

    name = "darts"
    cardinalities = _CELL_CARDINALITIES * len(CELLS)
    ops = OPS
    network_builder = "naslab.training.darts_models:build_network"
    encodings = ("onehot", "adjacency", "computed")
    # NASLib's XGBoost predictor on DARTS reads its adjacency + op encoding
    # (naslib/predictors/utils/encodings_darts.py, encode_adj; ours is `adjacency`), but on
    # naslab's DARTS x digits sample onehot+computed predicts better: held-out Kendall tau of
    # the surrogate benchmark 0.543 / 0.543 / 0.495 vs 0.486 / 0.532 / 0.445 for
    # adjacency+computed (python -m naslab.surrogate_benchmark fit ... encoding=E seed=0|1|2)
    default_encoding = "onehot+computed"

    # ----- strings ----------------------------------------------------------------------
    def cells(self, arch: Arch) -> tuple[Cell, Cell]:
        """The (normal, reduce) cells of a decision vector."""
        return _cell_of(arch[:DECISIONS_PER_CELL]), _cell_of(arch[DECISIONS_PER_CELL:])

    def to_string(self, arch: Arch) -> str:
        parts = []
        for name, cell in zip(CELLS, self.cells(arch)):
            pairs = ", ".join(f"('{OPS[op_a]}', {a}), ('{OPS[op_b]}', {b})" for a, op_a, b, op_b in cell)
            parts.append(f"{name}=[{pairs}], {name}_concat={CONCAT}")
        return f"Genotype({', '.join(parts)})"

    def from_string(self, text: str) -> Arch:
        fields = _parse_genotype(text)
        decisions: list[int] = []
        for name in CELLS:
            decisions.extend(_decisions_of(_read_cell(text, name, fields[name])))
            concat = fields[f"{name}_concat"]
            if concat != CONCAT:
                raise _bad(text, f"{name}_concat is {concat}, but this space concatenates every intermediate node")
        return tuple(decisions)

    def choice_labels(self, decision: int) -> tuple[str, ...]:
        position = decision % DECISIONS_PER_CELL
        if position >= 2 and (position - 2) % 3 == 0:  # a pair decision
            node = 1 + (position - 2) // 3
            return tuple(f"{a}+{b}" for a, b in PAIRS[node])
        return OPS

    # ----- canonical key ----------------------------------------------------------------
    def canonical_arch(self, arch: Arch) -> Arch:
        """The smallest decision vector of ``arch``'s class (see :meth:`canonical`)."""
        normal, reduce = self.cells(arch)
        return min(_decisions_of(c) for c in cell_orbit(normal)) + min(_decisions_of(c) for c in cell_orbit(reduce))

    def canonical(self, arch: Arch) -> str:
        """The genotype string of the smallest decision vector computing the same network.

        What it merges:

        * the order in which a node's two inputs are listed (the decision vector has
          one value for both orders already);
        * renamings of the intermediate nodes. The cell's output concatenates all
          four, so renaming them (any permutation that still has every node read only
          earlier states) gives the same network up to the order of the output
          channels, which the next layers' independently initialised 1x1 convolutions
          (and the classifier) do not see. Normal and reduction cells are renamed
          independently. The key is the smallest decision vector over the renamings
          (per cell, at most 4! = 24 to try), written as its genotype.

        What it does not merge: swapping ``c_{k-2}`` and ``c_{k-1}`` (different
        tensors, different preprocessing); unused inputs (a cell that never reads
        ``c_{k-2}`` still pays for its preprocessing, and nothing else is ever unused:
        every node is concatenated); and algebraic coincidences between different
        operations. On 10,000 uniform samples (``python analysis/darts_canonical.py``)
        every key is distinct (classes are tiny next to 1e18), the mean class size is
        19.8 (median 12, largest 288 = 24 x 12), 87 % of the samples are not their
        class's representative, and the space holds an estimated 1.44e17 classes: the
        key merges the 1.08e18 decision vectors about 7.5-fold.
        """
        return self.to_string(self.canonical_arch(arch))

    def class_size(self, arch: Arch) -> int:
        """How many decision vectors share ``arch``'s canonical key."""
        normal, reduce = self.cells(arch)
        return len(cell_orbit(normal)) * len(cell_orbit(reduce))

    # ----- encodings ----------------------------------------------------------------------
    def encode(self, archs: np.ndarray, kind: str) -> np.ndarray:
        """Adds ``adjacency`` and a DARTS ``computed`` encoding to ``onehot``.

        ``adjacency``: per cell and per possible edge (input state -> node; 14 per cell),
        a one-hot of the op on it (zeros where the edge is absent): 2 x 14 x 7 = 196
        binary columns, NASLib's adjacency-plus-ops encoding (``encode_adj``) with the
        ops attached to their edges, which makes it independent of input order.
        ``computed``: per cell, how many edges carry each op (7), how many nodes read
        ``c_{k-2}``, ``c_{k-1}`` and another node (3), and the longest chain of nodes (1).
        """
        archs = np.asarray(archs, dtype=np.int64).reshape(-1, self.num_decisions)
        if kind in ("adjacency", "computed"):
            lo, op_lo, hi, op_hi = _node_arrays(archs)  # each [n, cells, nodes]
            n = len(archs)
        if kind == "adjacency":
            out = np.zeros((n, len(CELLS) * len(EDGES) * len(OPS)), dtype=np.float32)
            cell = np.arange(len(CELLS))[None, :, None]
            rows = np.arange(n)[:, None, None]
            for src, op in ((lo, op_lo), (hi, op_hi)):
                edge = _EDGE_TABLE[np.arange(NUM_NODES)[None, None, :], src]
                out[rows, (cell * len(EDGES) + edge) * len(OPS) + op] = 1.0
            return out
        if kind == "computed":
            ops = np.concatenate([op_lo, op_hi], axis=2)  # [n, cells, 8]
            counts = (ops[..., None] == np.arange(len(OPS))).sum(axis=2)
            sources = np.minimum(np.concatenate([lo, hi], axis=2), 2)
            reads = (sources[..., None] == np.arange(3)).sum(axis=2)
            depth = np.zeros((n, len(CELLS), NUM_INPUTS + NUM_NODES), dtype=np.int64)
            for i in range(NUM_NODES):
                below = np.maximum(np.take_along_axis(depth, lo[:, :, i : i + 1], 2),
                                   np.take_along_axis(depth, hi[:, :, i : i + 1], 2))
                depth[:, :, NUM_INPUTS + i] = 1 + below[:, :, 0]
            longest = depth.max(axis=2, keepdims=True)
            return np.concatenate([counts, reads, longest], axis=2).reshape(n, -1).astype(np.float32)
        return super().encode(archs, kind)

    def encoding_names(self, kind: str) -> list[str]:
        if kind == "adjacency":
            return [f"{cell}:{j}->{2 + i}={op}" for cell in CELLS for j, i in EDGES for op in OPS]
        if kind == "computed":
            return [f"{cell}:{name}" for cell in CELLS
                    for name in (*(f"count={op}" for op in OPS), "reads_c_k-2", "reads_c_k-1", "reads_node", "depth")]
        return super().encoding_names(kind)

    def relative_size(self, archs: np.ndarray) -> np.ndarray:
        """Number of convolutional (sep/dil) operations over both cells."""
        archs = np.asarray(archs, dtype=np.int64).reshape(-1, self.num_decisions)
        op_columns = [d for d in range(self.num_decisions) if self.choice_labels(d) == OPS]
        parametric = [OPS.index(op) for op in sorted(PARAMETRIC)]
        return np.isin(archs[:, op_columns], parametric).sum(axis=1)


# ----- parsing (never eval: the literal syntax tree only) ------------------------------------
def _bad(text: object, what: str) -> InvalidArchError:
    return InvalidArchError(f"{text!r} is not a DARTS genotype string: {what}; expected {_FORMAT}")


def _parse_genotype(text: object) -> dict[str, object]:
    if not isinstance(text, str):
        raise _bad(text, "it is not a string")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError):
        raise _bad(text, "it is not a Genotype(...) expression") from None
    if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "Genotype"):
        raise _bad(text, "it is not a Genotype(...) expression")
    names = ("normal", "normal_concat", "reduce", "reduce_concat")
    if len(tree.args) > len(names) or any(k.arg is None for k in tree.keywords):
        raise _bad(text, "it does not have the four fields normal, normal_concat, reduce, reduce_concat")
    nodes = dict(zip(names, tree.args))
    for keyword in tree.keywords:
        if keyword.arg in nodes or keyword.arg not in names:
            raise _bad(text, f"field {keyword.arg!r} is unknown or given twice")
        nodes[str(keyword.arg)] = keyword.value
    missing = [n for n in names if n not in nodes]
    if missing:
        raise _bad(text, f"field(s) {', '.join(missing)} are missing")
    fields: dict[str, object] = {}
    for name, node in nodes.items():
        if (name.endswith("concat") and isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "range" and not node.keywords):
            try:
                fields[name] = list(range(*(ast.literal_eval(a) for a in node.args)))
            except (ValueError, TypeError):
                raise _bad(text, f"{name} is not a list of node numbers") from None
            continue
        try:
            value = ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise _bad(text, f"{name} is not a literal list") from None
        fields[name] = list(value) if isinstance(value, (list, tuple)) else value
    return fields


def _read_cell(text: str, name: str, value: object) -> Cell:
    if not isinstance(value, list) or len(value) != NUM_INPUTS * NUM_NODES or not all(
        isinstance(p, (tuple, list)) and len(p) == 2 for p in value
    ):
        raise _bad(text, f"{name} is not a list of {NUM_INPUTS * NUM_NODES} (op, input) pairs")
    nodes = []
    for i in range(NUM_NODES):
        (op_a, a), (op_b, b) = value[2 * i], value[2 * i + 1]
        for op, src in ((op_a, a), (op_b, b)):
            if op not in OPS:
                raise _bad(text, f"{name} node {NUM_INPUTS + i} uses op {op!r}, which is not in this space")
            if type(src) is not int or not 0 <= src < NUM_INPUTS + i:
                raise _bad(text, f"{name} node {NUM_INPUTS + i} reads input {src!r}, but it can only read states "
                                 f"0..{NUM_INPUTS + i - 1}")
        if a == b:
            raise _bad(text, f"{name} node {NUM_INPUTS + i} reads input {a} twice; its two inputs must differ")
        if a > b:
            (op_a, a), (op_b, b) = (op_b, b), (op_a, a)
        nodes.append((a, OPS.index(op_a), b, OPS.index(op_b)))
    return tuple(nodes)

