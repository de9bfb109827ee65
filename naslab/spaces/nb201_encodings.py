"""Encodings of NAS-Bench-201 cells for performance predictors (read by :class:`NB201Space`).

``path``
    BANANAS path encoding (White et al. 2021, AAAI). A cell has four input->output paths
    (edges ``3``, ``0-4``, ``1-5``, ``0-2-5``); a path through ``none`` carries nothing,
    so it is dropped, and every other path adds 1 to the feature of its op sequence.
    With the 4 non-``none`` ops that is 4 + 4**2 + 4**3 = **84** features holding
    counts (the two length-2 paths may share a sequence, hence 0..2). NASLib's version
    has 5 + 25 + 125 = 155 binary features because it also marks sequences through
    ``none``; those features say nothing the others don't, and the binary flag loses the count.
``adjacency``
    Graph structure + op features: per edge, whether it is *live* (carries a non-zero
    signal to the output, :meth:`NB201Space.live_edges`), then the one-hot op of every
    live edge (dead edges all-zero). Unlike ``onehot``, two cells that differ only in
    dead edges get the same row.
``computed``
    Live convolutions, live 3x3 convolutions, live pools, live skips, live edges, and
    depth (most parametric/pool ops on one live input->output path).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from naslab.spaces.nb201 import EDGES, NONE, NUM_NODES, OPS, NB201Space

KINDS = ("onehot", "path", "adjacency", "computed")
COMPUTED_NAMES = ["live_convs", "live_conv3x3", "live_pools", "live_skips", "live_edges", "depth"]


@cache
def paths() -> tuple[tuple[int, ...], ...]:
    """Input->output paths of the cell as tuples of edge positions, from ``EDGES``."""
    found: list[tuple[int, ...]] = []

    def walk(node: int, edges: tuple[int, ...]) -> None:
        if node == NUM_NODES - 1:
            found.append(edges)
            return
        for d, (dst, src) in enumerate(EDGES):
            if src == node:
                walk(dst, (*edges, d))

    walk(0, ())
    return tuple(sorted(found, key=lambda p: (len(p), p)))


def _path_layout() -> tuple[list[int], int, int]:
    """Offsets of the length-1, -2, -3... blocks, the number of ops used, total width."""
    num_ops = len(OPS) - 1  # 'none' ends a path
    offsets = [0]
    for length in range(1, max(len(p) for p in paths()) + 1):
        offsets.append(offsets[-1] + num_ops**length)
    return offsets, num_ops, offsets[-1]


def path_encoding(archs: np.ndarray) -> np.ndarray:
    offsets, num_ops, width = _path_layout()
    n = archs.shape[0]
    out = np.zeros((n, width), dtype=np.float32)
    rows = np.arange(n)
    for path in paths():
        ops = archs[:, list(path)]
        alive = np.all(ops != NONE, axis=1)
        # ops 1..4 -> digits 0..3; the first edge of the path is the most significant
        digits = np.where(ops > NONE, ops - 1, 0)
        code = np.zeros(n, dtype=np.int64)
        for column in range(digits.shape[1]):
            code = code * num_ops + digits[:, column]
        np.add.at(out, (rows[alive], offsets[len(path) - 1] + code[alive]), 1.0)
    return out


def path_names() -> list[str]:
    offsets, num_ops, _ = _path_layout()
    names = []
    for length in range(1, len(offsets)):
        for code in range(num_ops**length):
            digits = []
            for _ in range(length):
                digits.append(code % num_ops)
                code //= num_ops
            names.append("path:" + ">".join(OPS[1 + d] for d in reversed(digits)))
    return names


def live_mask(space: NB201Space, archs: np.ndarray) -> np.ndarray:
    return np.array([space.live_edges(tuple(int(v) for v in row)) for row in archs], dtype=bool)


def adjacency_encoding(space: NB201Space, archs: np.ndarray) -> np.ndarray:
    live = live_mask(space, archs)
    onehot = space.one_hot(archs).reshape(archs.shape[0], space.num_decisions, -1)
    ops = onehot * live[:, :, None]
    return np.hstack([live.astype(np.float32), ops.reshape(archs.shape[0], -1)]).astype(np.float32)


def computed_encoding(space: NB201Space, archs: np.ndarray) -> np.ndarray:
    live = live_mask(space, archs)
    conv1, conv3, pool, skip = (
        OPS.index(n) for n in ("nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "skip_connect")
    )
    live_op = np.where(live, archs, -1)
    layered = (live_op == conv1) | (live_op == conv3) | (live_op == pool)
    depth = np.zeros(archs.shape[0], dtype=np.int64)
    for path in paths():
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
