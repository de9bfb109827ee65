"""Anytime performance: incumbent test regret (log scale), validation and test accuracy, against
the number of queries and against simulated time; mean ± standard error over seeds, one
line per strategy, one figure per benchmark (``anytime_<benchmark>.png/.pdf``) and the
plotted numbers in ``anytime_<benchmark>.csv``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from naslab.analysis import cli
from naslab.analysis.runs import (
    REGRET_FLOOR,
    Run,
    RunSet,
    by_queries,
    by_time,
    floored_regret,
    mean_and_se,
    time_grid,
)
from naslab.analysis.style import legend_below, log_axis, log_band, pyplot, save_figure, strategy_style
from naslab.analysis.table_io import write_rows

PANELS = (
    # an accuracy's regret is in percentage points; other benchmarks' in their own metric
    # (summary.json's metrics.regret names it)
    ("regret", f"incumbent regret (percentage points for accuracies, log; 0 shown as {REGRET_FLOOR:g})"),
    ("incumbent_val_acc", "incumbent validation accuracy (%)"),
    ("incumbent_test_acc", "incumbent test accuracy (%)"),
)
DATA_HEADER = ("benchmark", "strategy", "axis", "x", "metric", "mean", "se", "n")


def curves(runs: Sequence[Run], column: str, axis: str, grid: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(x, [runs, x] values) of ``column`` against queries (1, 2, ...) or the simulated-time ``grid``."""
    if axis == "queries":
        values = by_queries(runs, column)
        x = np.arange(1, values.shape[1] + 1, dtype=np.float64)
    else:
        assert grid is not None
        values, x = by_time(runs, column, grid), grid
    return x, floored_regret(values) if column == "regret" else values


def has_positive_time(runs: Sequence[Run]) -> bool:
    return any(r.num_queries and r.columns["sim_time_s"][-1] > 0 for r in runs)


def values_of(rows: list[tuple], benchmark: str, axis: str, column: str) -> dict[str, np.ndarray]:
    """The plotted means of one panel, by strategy (from the rows written to the CSV)."""
    out: dict[str, list[float]] = {}
    for b, strategy, a, _, c, mean, _, _ in rows:
        if (b, a, c) == (benchmark, axis, column):
            out.setdefault(strategy, []).append(mean)
    return {s: np.asarray(v) for s, v in out.items()}


def zoom_past_start(ax, panels: list[dict[str, np.ndarray]], start: float) -> None:
    """Start an accuracy axis at the lowest mean reached after the first ``start`` of the points.

    The first queries (and low-fidelity results of multi-fidelity strategies) are far
    below the rest and would squash the differences that matter; the CSV keeps them.
    """
    tails = [v[int(v.size * start):] for panel in panels for v in panel.values()]
    lows = [np.nanmin(t) for t in tails if t.size and not np.all(np.isnan(t))]
    if lows:
        top = ax.get_ylim()[1]
        low = min(lows)
        ax.set_ylim(low - 0.05 * (top - low), top)


def has_values(runs: Sequence[Run], column: str) -> bool:
    """Whether any run recorded a number in ``column`` (a benchmark without test accuracy has none)."""
    return any(np.any(np.isfinite(r.columns[column])) for r in runs)


def make(runs: RunSet, out: Path, args: argparse.Namespace) -> list[Path]:
    plt = pyplot()
    written: list[Path] = []
    for benchmark in runs.benchmarks():
        bench_runs = runs.select(benchmark)
        grid = time_grid(bench_runs)
        # draw only what the benchmark has: no test panel without test values, no time row
        # when queries cost nothing (NAS-Bench-Graph, TransNAS-Bench-101 publish no times)
        panels = [p for p in PANELS if has_values(bench_runs, p[0])] or list(PANELS[:1])
        axes_used = ["queries"] + (["sim_time_s"] if has_positive_time(bench_runs) else [])
        fig, axes = plt.subplots(len(axes_used), len(panels), figsize=(5 * len(panels), 4.1 * len(axes_used)),
                                 sharex="row", layout="constrained", squeeze=False)
        rows = []
        for r, axis in enumerate(axes_used):
            for c, (column, label) in enumerate(panels):
                ax = axes[r, c]
                for strategy in runs.strategies(benchmark):
                    chosen = runs.select(benchmark, strategy)
                    x, values = curves(chosen, column, axis, grid)
                    mean, se, n = mean_and_se(values)
                    # a mean over only the seeds that have a result yet is biased: start where all do
                    mean[n < len(chosen)] = np.nan
                    style = strategy_style(strategy, x.size)
                    ax.plot(x, mean, label=f"{strategy} ({len(chosen)} seeds)", **style)
                    low, high = log_band(mean, se) if column == "regret" else (mean - se, mean + se)
                    ax.fill_between(x, low, high, color=style["color"], alpha=0.18, linewidth=0)
                    rows += [
                        (benchmark, strategy, axis, x[i], column, mean[i], se[i], int(n[i]))
                        for i in range(x.size)
                    ]
                if column == "regret":
                    log_axis(ax, "y")
                else:
                    # the log-time grid spends half its points on the first few results
                    zoom_past_start(ax, [values_of(rows, benchmark, axis, column)],
                                    0.1 if axis == "queries" else 0.5)
                if axis == "sim_time_s":
                    log_axis(ax, "x")
                    ax.set_xlabel("simulated time (s)")
                else:
                    ax.set_xlabel("queries")
                ax.set_ylabel(label if r == 0 else label.split(" (")[0])
        fig.suptitle(f"{benchmark}: incumbent over the search (mean ± standard error over seeds)")
        legend_below(fig, axes)
        stem = f"anytime_{benchmark}"
        written += save_figure(fig, out, stem, args.formats)
        written.append(write_rows(out / f"{stem}.csv", DATA_HEADER, rows))
    return written


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run("anytime.py", argv, None, make, __doc__.split("\n\n")[0].replace("\n", " "))


if __name__ == "__main__":
    sys.exit(main())
