"""Read finished run folders (the only input of the analysis scripts) and put their curves on grids.

A run folder is any folder with ``summary.json`` (written last, so its presence means
the run finished) and ``trajectory.csv``; ``pareto.csv`` is read when present. The
folders may come from any mix of sweeps, launchers and machines: the strategy, the
benchmark and the seed are taken from ``summary.json`` (and, for folders whose summary
lacks them, from ``.hydra/config.yaml``), never from the folder names.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from naslab import run_folder
from naslab.errors import NaslabError

NUMERIC_COLUMNS = (
    "step", "epoch", "val_acc", "test_acc", "cost_s", "sim_time_s", "params", "flops", "latency_ms",
    "incumbent_val_acc", "incumbent_test_acc", "regret",
)
REGRET_FLOOR = 1e-3
"""Regret is plotted on a log scale; a regret of 0 (the best architecture found) is shown as this."""


class AnalysisError(NaslabError, ValueError):
    """The run folders cannot be analysed as asked; the message is one sentence."""


@dataclass
class Run:
    """One finished run: who ran, on what, and its trajectory as numpy columns."""

    folder: Path
    strategy: str
    benchmark: str
    seed: int
    summary: dict[str, Any]
    columns: dict[str, np.ndarray]
    archs: list[str]
    status: list[str]
    pareto: tuple[list[str], list[str], np.ndarray] | None = None  # (objectives, archs, values)

    @property
    def num_queries(self) -> int:
        return len(self.archs)

    @property
    def final_test_acc(self) -> float:
        column = self.columns["incumbent_test_acc"]
        return float(column[-1]) if column.size else math.nan

    @property
    def final_regret(self) -> float:
        column = self.columns["regret"]
        return float(column[-1]) if column.size else math.nan


@dataclass
class RunSet:
    """The runs found under some folders, and the failed ones next to them."""

    runs: list[Run]
    failed: list[Path] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)  # (folder, why), left out

    def benchmarks(self) -> list[str]:
        return sorted({r.benchmark for r in self.runs})

    def strategies(self, benchmark: str | None = None) -> list[str]:
        return sorted({r.strategy for r in self.runs if benchmark is None or r.benchmark == benchmark})

    def select(self, benchmark: str | None = None, strategy: str | None = None) -> list[Run]:
        return [
            r for r in self.runs
            if (benchmark is None or r.benchmark == benchmark) and (strategy is None or r.strategy == strategy)
        ]


def _from_folder(run: run_folder.Run) -> Run:
    """The analysis view of a run read by :mod:`naslab.run_folder`: numpy columns."""
    columns = {
        name: np.array([getattr(row, name) for row in run.rows], dtype=np.float64) for name in NUMERIC_COLUMNS
    }
    pareto = None
    if run.pareto is not None:
        objectives, archs, values = run.pareto
        pareto = (objectives, archs, np.asarray(values, dtype=np.float64).reshape(-1, len(objectives)))
    return Run(
        folder=run.folder,  # type: ignore[arg-type]
        strategy=run.strategy,
        benchmark=run.benchmark,
        seed=run.seed,
        summary=run.summary.to_dict(),
        columns=columns,
        archs=[row.arch for row in run.rows],
        status=[row.status for row in run.rows],
        pareto=pareto,
    )


def load_run(folder: Path) -> Run:
    return _from_folder(run_folder.load_run(folder))


def load_runs(paths: Sequence[str | Path]) -> RunSet:
    """Every finished run under ``paths``; one (benchmark, strategy, seed) may appear only once."""
    try:
        found = run_folder.load_runs(*paths)
    except run_folder.RunFolderError as exc:
        raise AnalysisError(str(exc)) from None
    if not found and not found.unreadable:
        raise AnalysisError(
            f"no finished run folder (one with {run_folder.SUMMARY_FILE}) under {', '.join(map(str, paths))}"
        )
    runs, unreadable = [], list(found.unreadable)
    for run in found:
        try:
            runs.append(_from_folder(run))
        except (AnalysisError, ValueError, KeyError, TypeError, OSError) as exc:  # one bad folder spoils nothing
            unreadable.append((run.folder, str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__))
    unreadable.sort()
    if not runs:
        raise AnalysisError(f"no readable run folder under {', '.join(map(str, paths))}; "
                            f"{unreadable[0][0]}: {unreadable[0][1]}")
    seen: dict[tuple[str, str, int], Path] = {}
    for run in runs:
        key = (run.benchmark, run.strategy, run.seed)
        if key in seen:
            raise AnalysisError(
                f"{seen[key]} and {run.folder} are both {run.strategy} seed {run.seed} on {run.benchmark}; "
                "analyse the sweeps separately or give their strategies different config names"
            )
        seen[key] = run.folder
    runs.sort(key=lambda r: (r.benchmark, r.strategy, r.seed))
    return RunSet(runs=runs, failed=found.failed, unreadable=unreadable)


# ----- curves ---------------------------------------------------------------------------
def by_queries(runs: Sequence[Run], column: str) -> np.ndarray:
    """[runs, max queries]: ``column`` after each query; a run that stopped early keeps its last value."""
    length = max((r.num_queries for r in runs), default=0)
    out = np.full((len(runs), length), np.nan)
    for i, run in enumerate(runs):
        values = run.columns[column]
        if values.size:
            out[i, : values.size] = values
            out[i, values.size:] = values[-1]
    return out


def time_grid(runs: Sequence[Run], points: int = 200) -> np.ndarray:
    """Log-spaced simulated times from the earliest first result to the latest last one."""
    starts = [r.columns["sim_time_s"][0] for r in runs if r.num_queries]
    ends = [r.columns["sim_time_s"][-1] for r in runs if r.num_queries]
    positive = [t for t in starts if t > 0]
    if not ends or max(ends) <= 0:
        return np.array([0.0])
    low = min(positive) if positive else max(ends) / 1e3
    return np.unique(np.geomspace(low, max(ends), points))


def by_time(runs: Sequence[Run], column: str, grid: np.ndarray) -> np.ndarray:
    """[runs, grid]: ``column`` as it stood at each simulated time (NaN before the first result)."""
    out = np.full((len(runs), grid.size), np.nan)
    for i, run in enumerate(runs):
        times, values = run.columns["sim_time_s"], run.columns[column]
        index = np.searchsorted(times, grid, side="right") - 1
        known = index >= 0
        out[i, known] = values[index[known]]
    return out


def mean_and_se(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, standard error and count over axis 0, ignoring NaN."""
    count = np.sum(~np.isnan(values), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.nansum(values, axis=0)
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        deviation = np.where(np.isnan(values), 0.0, values - mean) ** 2
        var = np.where(count > 1, deviation.sum(axis=0) / np.maximum(count - 1, 1), np.nan)
        se = np.sqrt(var / np.maximum(count, 1))
    return mean, np.where(count > 1, se, 0.0), count


def floored_regret(values: np.ndarray) -> np.ndarray:
    return np.maximum(values, REGRET_FLOOR)


def group(runs: Iterable[Run]) -> dict[tuple[str, str], list[Run]]:
    """Runs by (benchmark, strategy)."""
    out: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for run in runs:
        out[(run.benchmark, run.strategy)].append(run)
    return dict(out)
