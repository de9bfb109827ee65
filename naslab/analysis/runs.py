"""Read finished run folders (the only input of the analysis scripts) and put their curves on grids.

A run folder is any folder with ``summary.json`` (written last, so its presence means
the run finished) and ``trajectory.csv``; ``pareto.csv`` is read when present. The
folders may come from any mix of sweeps, launchers and machines: the strategy, the
benchmark and the seed are taken from ``summary.json`` (and, for folders whose summary
lacks them, from ``.hydra/config.yaml``), never from the folder names.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from naslab.jobs import FAILED_FILE
from naslab.outputs import SUMMARY_FILE, TRAJECTORY_FILE

PARETO_FILE = "pareto.csv"
NUMERIC_COLUMNS = (
    "step", "epoch", "val_acc", "test_acc", "cost_s", "sim_time_s", "params", "flops", "latency_ms",
    "incumbent_val_acc", "incumbent_test_acc", "regret",
)
REGRET_FLOOR = 1e-3
"""Regret is plotted on a log scale; a regret of 0 (the best architecture found) is shown as this."""


class AnalysisError(ValueError):
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


def _float(text: str) -> float:
    return float(text) if text not in ("", "None") else math.nan


def read_trajectory(path: Path) -> tuple[dict[str, np.ndarray], list[str], list[str]]:
    """``trajectory.csv`` as numeric columns (float64), the archs and the statuses."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise AnalysisError(f"{path} is empty; expected a header line and one row per evaluation")
    header, body = rows[0], rows[1:]
    missing = [c for c in (*NUMERIC_COLUMNS, "arch", "status") if c not in header]
    if missing:
        raise AnalysisError(f"{path} lacks the column(s) {', '.join(missing)}; is it a naslab trajectory?")
    position = {name: header.index(name) for name in header}
    columns = {
        name: np.array([_float(row[position[name]]) for row in body], dtype=np.float64)
        for name in NUMERIC_COLUMNS
    }
    return columns, [row[position["arch"]] for row in body], [row[position["status"]] for row in body]


def read_pareto(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """``pareto.csv`` (arch, objective...) as (objectives, archs, values [n, m])."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0][:1] != ["arch"] or len(rows[0]) < 3:
        raise AnalysisError(f"{path} should start with a header 'arch,<objective>,<objective>...'")
    objectives = rows[0][1:]
    values = np.array([[_float(v) for v in row[1:]] for row in rows[1:]], dtype=np.float64)
    return objectives, [row[0] for row in rows[1:]], values.reshape(-1, len(objectives))


def _hydra_config(folder: Path) -> dict[str, Any]:
    path = folder / ".hydra" / "config.yaml"
    if not path.is_file():
        return {}
    from omegaconf import OmegaConf

    return OmegaConf.to_container(OmegaConf.load(path), resolve=False)  # type: ignore[return-value]


def benchmark_label(summary: dict[str, Any], config: dict[str, Any]) -> str:
    """The benchmark's name as configured (``benchmark.name``), else the dataset the file names."""
    name = (config.get("benchmark") or {}).get("name")
    if name and "${" not in str(name):
        return str(name)
    bench = summary.get("benchmark") or {}
    return str(bench.get("dataset") or Path(str(bench.get("path", "unknown"))).stem)


def load_run(folder: Path) -> Run:
    summary = json.loads((folder / SUMMARY_FILE).read_text())
    config = summary.get("config") or _hydra_config(folder)
    columns, archs, status = read_trajectory(folder / TRAJECTORY_FILE)
    pareto = read_pareto(folder / PARETO_FILE) if (folder / PARETO_FILE).is_file() else None
    strategy = summary.get("strategy") or str((config.get("strategy") or {}).get("_target_", "?")).rsplit(".", 1)[-1]
    return Run(
        folder=folder,
        strategy=str(strategy),
        benchmark=benchmark_label(summary, config),
        seed=int(summary.get("seed", config.get("seed", -1))),
        summary=summary,
        columns=columns,
        archs=archs,
        status=status,
        pareto=pareto,
    )


def find_run_folders(paths: Iterable[str | Path]) -> tuple[list[Path], list[Path]]:
    """(finished run folders, failed run folders) under ``paths``, each sorted."""
    finished: set[Path] = set()
    failed: set[Path] = set()
    for path in map(Path, paths):
        if not path.exists():
            raise AnalysisError(f"{path} does not exist; expected a run folder or a sweep folder holding run folders")
        finished.update(p.parent for p in path.rglob(SUMMARY_FILE))
        failed.update(p.parent for p in path.rglob(FAILED_FILE))
    return sorted(finished), sorted(failed - finished)


def load_runs(paths: Sequence[str | Path]) -> RunSet:
    """Every finished run under ``paths``; one (benchmark, strategy, seed) may appear only once."""
    folders, failed = find_run_folders(paths)
    if not folders:
        raise AnalysisError(
            f"no finished run folder (one with {SUMMARY_FILE}) under {', '.join(map(str, paths))}"
        )
    runs, unreadable = [], []
    for folder in folders:
        try:
            runs.append(load_run(folder))
        except (AnalysisError, ValueError, KeyError, TypeError, OSError) as exc:  # one bad folder spoils nothing
            unreadable.append((folder, str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__))
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
    return RunSet(runs=runs, failed=failed, unreadable=unreadable)


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
