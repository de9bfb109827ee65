"""Encodings of architectures for performance predictors, cached per space.

Every encoding is a float32 matrix with one row per architecture **in the space's
official index order** (row ``i`` encodes ``space.arch(i)``), computed once per space
and process and shared read-only; a predictor picks rows with ``space.indices``.

Kinds (combine with ``+``, e.g. ``"path+computed"``):

``onehot``
    One-hot of the decision vector (``space.one_hot``); every space has it.
``path``
    BANANAS path encoding (White et al. 2021, AAAI), NAS-Bench-201 only. A cell has
    four input->output paths (edges ``3``, ``0-4``, ``1-5``, ``0-2-5``); a path
    through ``none`` carries nothing, so it is dropped, and every other path adds 1
    to the feature of its op sequence. With the 4 non-``none`` ops that is
    4 + 4**2 + 4**3 = **84** features holding counts (the two length-2 paths may share
    a sequence, hence 0..2). NASLib's version has 5 + 25 + 125 = 155 binary features
    because it also marks sequences through ``none``; those features say nothing the
    others don't, and the binary flag loses the count.
``adjacency``
    Graph structure + op features, NB201 only: per edge, whether it is *live*
    (carries a non-zero signal to the output, :meth:`NB201Space.live_edges`), then
    the one-hot op of every live edge (dead edges all-zero). Unlike ``onehot``, two
    cells that differ only in dead edges get the same row.
``computed``
    Simple computed features. NB201: live convolutions, live 3x3 convolutions, live
    pools, live skips, live edges, and depth (most parametric/pool ops on one live
    input->output path). Other spaces: how many decisions take each value (when all
    decisions share the same choices), and how many are not 0 (e.g. non-identity
    layers of a macro chain). Benchmark statics (params, flops) are architecture
    facts but live in a benchmark, not a space: pass them with :func:`with_statics`.

``auto`` means ``path+computed`` where the space has a path encoding, else
``onehot+computed``: on NB201 CIFAR-10 the computed features (above all the number
of live convolutions) lift XGBoost's Kendall tau at n = 100 from ~0.48 to ~0.72
(``analysis/predictor_quality.py``, docs/surrogates.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from naslab.spaces import CategoricalSpace

ENCODINGS = ("onehot", "path", "adjacency", "computed")

_cache: dict[tuple[type, str, tuple[int, ...], str], np.ndarray] = {}


def _is_nb201(space: CategoricalSpace) -> bool:
    from naslab.spaces.nb201 import NB201Space

    return isinstance(space, NB201Space)


def available_encodings(space: CategoricalSpace) -> tuple[str, ...]:
    """The encoding kinds ``space`` supports."""
    return ENCODINGS if _is_nb201(space) else ("onehot", "computed")


def resolve_encoding(space: CategoricalSpace, kind: str) -> str:
    """``kind`` with ``auto`` resolved; ``ValueError`` (one sentence) if unsupported."""
    if kind == "auto":
        return "path+computed" if "path" in available_encodings(space) else "onehot+computed"
    parts = kind.split("+")
    supported = available_encodings(space)
    for part in parts:
        if part not in supported:
            raise ValueError(
                f"encoding {part!r} is not available for space {space.name!r}; "
                f"choose from {list(supported)} (combine with '+') or 'auto'"
            )
    return kind


def encode_all(space: CategoricalSpace, kind: str = "auto") -> np.ndarray:
    """``[space.size, F]`` float32 encoding of every architecture (cached, read-only)."""
    kind = resolve_encoding(space, kind)
    key = (type(space), space.name, tuple(space.cardinalities), kind)
    cached = _cache.get(key)
    if cached is None:
        parts = [_BUILDERS[part](space) for part in kind.split("+")]
        cached = parts[0] if len(parts) == 1 else np.hstack(parts).astype(np.float32)
        cached.setflags(write=False)
        _cache[key] = cached
    return cached


def encode(space: CategoricalSpace, archs: np.ndarray | list, kind: str = "auto") -> np.ndarray:
    """Encodings of some architectures (``[n, num_decisions]`` decision vectors)."""
    vectors = np.asarray(archs, dtype=np.int64).reshape(-1, space.num_decisions)
    return encode_all(space, kind)[space.indices(vectors)]


def feature_names(space: CategoricalSpace, kind: str = "auto") -> list[str]:
    """A readable name per column of :func:`encode_all` (for plots and debugging)."""
    kind = resolve_encoding(space, kind)
    names: list[str] = []
    for part in kind.split("+"):
        names.extend(_NAMERS[part](space))
    return names


def with_statics(features: np.ndarray, statics: Mapping[str, np.ndarray]) -> np.ndarray:
    """Append per-architecture statics (e.g. a benchmark's params, flops) as columns.

    Missing values (NaN) are kept: XGBoost treats them as missing; other regressors
    need them imputed by the caller.
    """
    if not statics:
        return features
    columns = [np.asarray(statics[name], dtype=np.float32).reshape(-1, 1) for name in sorted(statics)]
    for name, column in zip(sorted(statics), columns):
        if column.shape[0] != features.shape[0]:
            raise ValueError(
                f"static {name!r} has {column.shape[0]} values, expected one per architecture ({features.shape[0]})"
            )
    return np.hstack([features, *columns]).astype(np.float32)


# ----- builders ------------------------------------------------------------------------
def _onehot(space: CategoricalSpace) -> np.ndarray:
    return space.one_hot(space.all_archs)


def _nb201_paths() -> tuple[tuple[int, ...], ...]:
    """Input->output paths of the NB201 cell as tuples of edge positions, from ``EDGES``."""
    from naslab.spaces.nb201 import EDGES, NUM_NODES

    paths: list[tuple[int, ...]] = []

    def walk(node: int, edges: tuple[int, ...]) -> None:
        if node == NUM_NODES - 1:
            paths.append(edges)
            return
        for d, (dst, src) in enumerate(EDGES):
            if src == node:
                walk(dst, (*edges, d))

    walk(0, ())
    return tuple(sorted(paths, key=lambda p: (len(p), p)))


def _path_layout() -> tuple[list[int], int, int]:
    """Offsets of the length-1, -2, -3... blocks, the number of ops used, total width."""
    from naslab.spaces.nb201 import OPS

    num_ops = len(OPS) - 1  # 'none' ends a path
    max_len = max(len(p) for p in _nb201_paths())
    offsets = [0]
    for length in range(1, max_len + 1):
        offsets.append(offsets[-1] + num_ops**length)
    return offsets, num_ops, offsets[-1]


def _path(space: CategoricalSpace) -> np.ndarray:
    from naslab.spaces.nb201 import NONE

    archs = space.all_archs.astype(np.int64)
    offsets, num_ops, width = _path_layout()
    out = np.zeros((space.size, width), dtype=np.float32)
    rows = np.arange(space.size)
    for path in _nb201_paths():
        ops = archs[:, list(path)]
        alive = np.all(ops != NONE, axis=1)
        # ops 1..4 -> digits 0..3; the first edge of the path is the most significant
        digits = np.where(ops > NONE, ops - 1, 0)
        code = np.zeros(space.size, dtype=np.int64)
        for column in range(digits.shape[1]):
            code = code * num_ops + digits[:, column]
        np.add.at(out, (rows[alive], offsets[len(path) - 1] + code[alive]), 1.0)
    return out


def _live_mask(space: CategoricalSpace) -> np.ndarray:
    return np.array([space.live_edges(tuple(int(v) for v in row)) for row in space.all_archs], dtype=bool)  # type: ignore[attr-defined]


def _adjacency(space: CategoricalSpace) -> np.ndarray:
    live = _live_mask(space)
    onehot = space.one_hot(space.all_archs).reshape(space.size, space.num_decisions, -1)
    ops = onehot * live[:, :, None]
    return np.hstack([live.astype(np.float32), ops.reshape(space.size, -1)]).astype(np.float32)


def _computed(space: CategoricalSpace) -> np.ndarray:
    if _is_nb201(space):
        return _nb201_computed(space)
    archs = space.all_archs.astype(np.int64)
    columns = []
    cards = set(space.cardinalities)
    if len(cards) == 1:
        for value in range(cards.pop()):
            columns.append((archs == value).sum(axis=1))
    columns.append((archs != 0).sum(axis=1))
    return np.stack(columns, axis=1).astype(np.float32)


def _nb201_computed(space: CategoricalSpace) -> np.ndarray:
    from naslab.spaces.nb201 import OPS

    archs = space.all_archs.astype(np.int64)
    live = _live_mask(space)
    conv1, conv3, pool, skip = (
        OPS.index(n) for n in ("nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "skip_connect")
    )
    live_op = np.where(live, archs, -1)
    layered = (live_op == conv1) | (live_op == conv3) | (live_op == pool)
    depth = np.zeros(space.size, dtype=np.int64)
    for path in _nb201_paths():
        on_path = live[:, list(path)].all(axis=1)
        depth = np.maximum(depth, np.where(on_path, layered[:, list(path)].sum(axis=1), 0))
    columns = [
        ((live_op == conv1) | (live_op == conv3)).sum(axis=1),
        (live_op == conv3).sum(axis=1),
        (live_op == pool).sum(axis=1),
        (live_op == skip).sum(axis=1),
        live.sum(axis=1),
        depth,
    ]
    return np.stack(columns, axis=1).astype(np.float32)


_BUILDERS: dict[str, Callable[[CategoricalSpace], np.ndarray]] = {
    "onehot": _onehot,
    "path": _path,
    "adjacency": _adjacency,
    "computed": _computed,
}


# ----- names ---------------------------------------------------------------------------
def _onehot_names(space: CategoricalSpace) -> list[str]:
    choices = getattr(space, "ops", None) or getattr(space, "choices", None)
    names = []
    for d, card in enumerate(space.cardinalities):
        for v in range(card):
            label = choices[v] if choices is not None and len(choices) == card else str(v)
            names.append(f"d{d}={label}")
    return names


def _path_names(space: CategoricalSpace) -> list[str]:
    from naslab.spaces.nb201 import OPS

    offsets, num_ops, width = _path_layout()
    names = []
    for length in range(1, len(offsets)):
        for code in range(num_ops**length):
            digits = []
            for _ in range(length):
                digits.append(code % num_ops)
                code //= num_ops
            names.append("path:" + ">".join(OPS[1 + d] for d in reversed(digits)))
    assert len(names) == width
    return names


def _adjacency_names(space: CategoricalSpace) -> list[str]:
    return [f"live{d}" for d in range(space.num_decisions)] + [f"live_{n}" for n in _onehot_names(space)]


def _computed_names(space: CategoricalSpace) -> list[str]:
    if _is_nb201(space):
        return ["live_convs", "live_conv3x3", "live_pools", "live_skips", "live_edges", "depth"]
    cards = set(space.cardinalities)
    names = [f"count={v}" for v in range(cards.pop())] if len(cards) == 1 else []
    return [*names, "nonzero"]


_NAMERS: dict[str, Callable[[CategoricalSpace], list[str]]] = {
    "onehot": _onehot_names,
    "path": _path_names,
    "adjacency": _adjacency_names,
    "computed": _computed_names,
}
