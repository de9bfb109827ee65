"""Pareto fronts and hypervolumes of evaluated architectures (multi-objective search).

All the geometry here works on *minimisation* problems: an objective that is better
when larger (accuracy) is negated first (:func:`to_minimisation`). Point ``a``
dominates ``b`` if it is no worse in every objective and better in at least one.
The hypervolume of a set is the volume dominated by it and bounded by a reference
point that every counted point must strictly dominate; it is exact in 2-D and 3-D.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from naslab.errors import InvalidValueError
from naslab.results import TRAJECTORY_COLUMNS, Trajectory

MAXIMISED = frozenset({"val_acc", "test_acc", "incumbent_val_acc", "incumbent_test_acc"})
"""Trajectory columns that are better when larger; every other objective is minimised."""

DEFAULT_REFERENCE = {"val_acc": 0.0, "test_acc": 0.0}
"""Reference values that need no data: an accuracy of 0 % is the worst possible."""


def is_maximised(objective: str) -> bool:
    return objective in MAXIMISED


def to_minimisation(values: np.ndarray, objectives: Sequence[str]) -> np.ndarray:
    """``values`` [n, m] in natural units → the same points as a minimisation problem."""
    signs = np.array([-1.0 if is_maximised(o) else 1.0 for o in objectives])
    return np.asarray(values, dtype=np.float64) * signs


def pareto_mask(points: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``points`` [n, m] (minimisation).

    Rows are visited in lexicographic order, so a row can only be dominated by one
    visited before it; each is compared with the front kept so far (small in NAS).
    Equal rows are all kept (neither dominates the other).
    """
    points = np.asarray(points, dtype=np.float64)
    n = points.shape[0]
    mask = np.zeros(n, dtype=bool)
    if n == 0:
        return mask
    order = np.lexsort(points.T[::-1])
    front = np.empty((0, points.shape[1]))
    for i in order.tolist():
        p = points[i]
        if front.shape[0]:
            no_worse = np.all(front <= p, axis=1)
            better = np.any(front < p, axis=1)
            if np.any(no_worse & better):
                continue
        mask[i] = True
        front = np.vstack([front, p])
    return mask


def non_dominated_sort(points: np.ndarray) -> list[np.ndarray]:
    """Indices of the successive fronts (rank 0 first) of ``points`` [n, m] (minimisation), each ascending.

    One ``[n, n]`` dominance matrix, then fronts peeled by counting each point's
    dominators (Deb et al. 2002's fast non-dominated sort, vectorised): NSGA-II sorts
    ~100 points per generation, where a per-point loop cost it most of its time.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.shape[0] == 0:
        return []
    dominates = np.all(points[:, None, :] <= points[None, :, :], axis=2) & np.any(
        points[:, None, :] < points[None, :, :], axis=2)  # [i, j]: i dominates j
    dominators = dominates.sum(axis=0)
    remaining = np.ones(points.shape[0], dtype=bool)
    fronts = []
    while remaining.any():
        front = np.flatnonzero(remaining & (dominators == 0))
        fronts.append(front)
        remaining[front] = False
        dominators -= dominates[front].sum(axis=0)
    return fronts


def hypervolume(points: np.ndarray, reference: Sequence[float] | np.ndarray) -> float:
    """Exact hypervolume of ``points`` [n, m] (minimisation) w.r.t. ``reference``; m ∈ {2, 3}.

    Points that do not strictly dominate the reference contribute nothing.
    """
    points = np.asarray(points, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != ref.size:
        raise ValueError(
            f"hypervolume needs points of shape [n, {ref.size}] to match the reference point, got {points.shape}"
        )
    if points.shape[0] == 0:
        return 0.0
    points = points[np.all(points < ref, axis=1)]
    if points.shape[0] == 0:
        return 0.0
    if ref.size == 2:
        return _hypervolume_2d(points, ref)
    if ref.size == 3:
        return _hypervolume_3d(points, ref)
    raise ValueError(f"hypervolume is implemented for 2 or 3 objectives, got {ref.size}")


def _hypervolume_2d(points: np.ndarray, ref: np.ndarray) -> float:
    front = points[pareto_mask(points)]
    front = front[np.lexsort((front[:, 1], front[:, 0]))]  # x ascending, hence y descending
    xs = np.append(front[:, 0], ref[0])
    return float(np.sum((xs[1:] - xs[:-1]) * (ref[1] - front[:, 1])))


def _hypervolume_3d(points: np.ndarray, ref: np.ndarray) -> float:
    # slice along z: between consecutive z values the dominated region is the 2-D
    # hypervolume of every point at or below the slice
    order = np.argsort(points[:, 2], kind="stable")
    pts = points[order]
    zs = np.append(pts[:, 2], ref[2])
    total = 0.0
    for i in range(pts.shape[0]):
        depth = zs[i + 1] - zs[i]
        if depth > 0:
            total += depth * _hypervolume_2d(pts[: i + 1, :2], ref[:2])
    return float(total)


def pareto_rows(
    archs: Sequence[str], values: np.ndarray, objectives: Sequence[str]
) -> tuple[list[str], np.ndarray]:
    """The non-dominated archs (first occurrence of each) and their values in natural units.

    Rows with a NaN objective (failed evaluations) are left out; the result is sorted
    by the first objective, best first.
    """
    values = np.asarray(values, dtype=np.float64).reshape(len(archs), len(objectives))
    seen: set[str] = set()
    keep = []
    for i, arch in enumerate(archs):
        if arch in seen or np.isnan(values[i]).any():
            continue
        seen.add(arch)
        keep.append(i)
    if not keep:
        return [], np.empty((0, len(objectives)))
    kept_values = values[keep]
    mask = pareto_mask(to_minimisation(kept_values, objectives))
    front_archs = [archs[keep[i]] for i in np.flatnonzero(mask).tolist()]
    front_values = kept_values[mask]
    order = np.argsort(to_minimisation(front_values, objectives)[:, 0], kind="stable")
    return [front_archs[i] for i in order.tolist()], front_values[order]


def pareto_csv(archs: Sequence[str], values: np.ndarray, objectives: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["arch", *objectives])
    for arch, row in zip(archs, values.tolist()):
        writer.writerow([arch, *(repr(float(v)) for v in row)])
    return buffer.getvalue()


def reference_point(
    objectives: Sequence[str], known_worst: dict[str, float], observed: np.ndarray
) -> tuple[list[float], dict[str, str]]:
    """A reference point in natural units, and where each coordinate came from.

    Accuracy: 0 %. Other objectives: ``known_worst`` (e.g. the largest value over
    the whole benchmark) when given, else the worst value observed in the run.
    """
    point, source = [], {}
    for j, name in enumerate(objectives):
        if name in known_worst and math.isfinite(known_worst[name]):
            point.append(float(known_worst[name]))
            source[name] = "worst value in the benchmark"
        elif name in DEFAULT_REFERENCE:
            point.append(DEFAULT_REFERENCE[name])
            source[name] = "worst possible accuracy"
        else:
            column = observed[:, j] if observed.size else np.array([math.nan])
            worst = np.nanmin(column) if is_maximised(name) else np.nanmax(column)
            point.append(float(worst))
            source[name] = "worst value observed in this run"
    return point, source


def trajectory_front(
    trajectory: Trajectory, objectives: Sequence[str], known_worst: dict[str, float] | None = None
) -> tuple[str, dict[str, Any]]:
    """``pareto.csv`` text and the summary entry for a finished multi-objective run.

    ``objectives`` are trajectory columns (val_acc, params, flops, latency_ms, ...);
    the hypervolume is measured in those natural units against the reference point
    of :func:`reference_point` (named in the summary, with its sources).
    """
    missing = [o for o in objectives if o not in TRAJECTORY_COLUMNS]
    if missing:
        raise InvalidValueError(f"objectives {missing} are not trajectory columns; choose from {list(TRAJECTORY_COLUMNS)}")
    ok = [s == "ok" for s in trajectory.column("status")]
    archs = [a for a, good in zip(trajectory.column("arch"), ok) if good]
    values = np.array(
        [[v for v, good in zip(trajectory.column(o), ok) if good] for o in objectives], dtype=np.float64
    ).T.reshape(len(archs), len(objectives))
    front_archs, front_values = pareto_rows(archs, values, objectives)
    reference, source = reference_point(objectives, known_worst or {}, values)
    volume = (
        hypervolume(to_minimisation(front_values, objectives), to_minimisation(np.array(reference), objectives))
        if len(objectives) in (2, 3)
        else None
    )
    entry = {
        "file": "pareto.csv",
        "objectives": list(objectives),
        "directions": ["maximize" if is_maximised(o) else "minimize" for o in objectives],
        "size": len(front_archs),
        "reference_point": dict(zip(objectives, reference)),
        "reference_source": source,
        "hypervolume": volume,
    }
    return pareto_csv(front_archs, front_values, objectives), entry


def benchmark_worst(benchmark: Any, latency_metric: str | None = None) -> dict[str, float]:
    """The largest params / flops / latency over a whole tabular benchmark (reference point)."""
    worst = {}
    for name in ("params", "flops"):
        if name in benchmark.static:
            worst[name] = float(np.nanmax(benchmark.static[name]))
    if latency_metric:
        worst["latency_ms"] = float(np.nanmax(benchmark.static_value(latency_metric)))
    return worst
