"""ECDF of the final regret: for each strategy, the fraction of its seeds whose final incumbent's
test regret is at most x (log x axis; a regret of 0 is shown at the floor), one panel per
benchmark. Writes ``ecdf_regret.png/.pdf`` and ``ecdf_regret.csv``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from naslab.analysis import cli
from naslab.analysis.runs import REGRET_FLOOR, RunSet, floored_regret
from naslab.analysis.style import legend_below, log_axis, pyplot, save_figure, strategy_style
from naslab.analysis.table_io import write_rows


def ecdf(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted values and the fraction of values <= each."""
    values = np.sort(values[~np.isnan(values)])
    return values, np.arange(1, values.size + 1) / max(values.size, 1)


def make(runs: RunSet, out: Path, args: argparse.Namespace) -> list[Path]:
    plt = pyplot()
    benchmarks = runs.benchmarks()
    fig, axes = plt.subplots(1, len(benchmarks), figsize=(max(8.0, 5.2 * len(benchmarks)), 4.2),
                             squeeze=False, layout="constrained")
    rows = []
    for ax, benchmark in zip(axes[0], benchmarks):
        for strategy in runs.strategies(benchmark):
            final = np.array([r.final_regret for r in runs.select(benchmark, strategy)])
            x, y = ecdf(floored_regret(final))
            # start the step at 0 so each curve reads "fraction of seeds with regret <= x"
            ax.step(np.r_[x[:1], x], np.r_[0.0, y], where="post", label=f"{strategy} ({x.size} seeds)",
                    **strategy_style(strategy, x.size + 1))
            rows += [(benchmark, strategy, xi, yi) for xi, yi in zip(x, y)]
        log_axis(ax, "x")
        ax.set_xlabel(f"final test regret (percentage points, log; 0 shown as {REGRET_FLOOR:g})")
        ax.set_title(benchmark)
        ax.set_ylim(0, 1.02)
    axes[0][0].set_ylabel("fraction of seeds")
    legend_below(fig, axes)
    written = save_figure(fig, out, "ecdf_regret", args.formats)
    written.append(write_rows(out / "ecdf_regret.csv", ("benchmark", "strategy", "final_regret", "fraction"), rows))
    return written


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run("ecdf.py", argv, None, make, __doc__.split("\n\n")[0].replace("\n", " "))


if __name__ == "__main__":
    sys.exit(main())
