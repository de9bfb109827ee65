"""Average rank over time across benchmarks: on each benchmark, at each fraction of the budget
(queries, and simulated time), the strategies are ranked by their mean incumbent test regret
over seeds (1 = best, ties share the average rank); the ranks are then averaged over the
benchmarks. Writes ``average_rank.png/.pdf`` and ``average_rank.csv``. Only strategies
run on every benchmark are ranked."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from naslab.analysis import cli
from naslab.analysis.runs import AnalysisError, RunSet, by_queries, by_time, mean_and_se, time_grid
from naslab.analysis.style import legend_below, pyplot, save_figure, strategy_style
from naslab.analysis.table_io import write_rows

FRACTIONS = np.linspace(0.01, 1.0, 100)


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks (1 = smallest) of ``values`` [strategies, points] along axis 0; ties get their mean rank."""
    below = (values[:, None, :] > values[None, :, :]).sum(axis=1)
    equal = (values[:, None, :] == values[None, :, :]).sum(axis=1)
    return below + (equal + 1) / 2.0


def mean_regret_at_fractions(runs: RunSet, benchmark: str, strategies: list[str], axis: str) -> np.ndarray:
    """[strategies, fractions] mean incumbent regret at each fraction of the benchmark's budget."""
    bench_runs = runs.select(benchmark)
    out = np.empty((len(strategies), FRACTIONS.size))
    if axis == "queries":
        length = max(r.num_queries for r in bench_runs)
        positions = np.clip(np.ceil(FRACTIONS * length).astype(int) - 1, 0, length - 1)
        for i, s in enumerate(strategies):
            values = by_queries(runs.select(benchmark, s), "regret")
            padded = np.full((values.shape[0], length), np.nan)
            padded[:, : values.shape[1]] = values
            padded[:, values.shape[1]:] = values[:, -1:] if values.shape[1] else np.nan
            out[i] = mean_and_se(padded[:, positions])[0]
    else:
        end = time_grid(bench_runs)[-1]
        grid = FRACTIONS * end
        for i, s in enumerate(strategies):
            out[i] = mean_and_se(by_time(runs.select(benchmark, s), "regret", grid))[0]
    # a strategy with no result yet is worse than any with one
    return np.where(np.isnan(out), np.inf, out)


def make(runs: RunSet, out: Path, args: argparse.Namespace) -> list[Path]:
    benchmarks = runs.benchmarks()
    common = sorted(set.intersection(*(set(runs.strategies(b)) for b in benchmarks)))
    if len(common) < 2:
        raise AnalysisError(
            f"ranking needs two or more strategies run on every benchmark ({', '.join(benchmarks)}); "
            f"the common ones are {common or 'none'}"
        )
    left_out = sorted(set(runs.strategies()) - set(common))
    if left_out:
        print(f"average_rank.py: note: not on every benchmark, left out: {', '.join(left_out)}", file=sys.stderr)
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), sharey=True, layout="constrained")
    rows = []
    for ax, axis, label in zip(axes, ("queries", "sim_time_s"),
                               ("fraction of the query budget", "fraction of the simulated time")):
        ranks = np.mean([average_ranks(mean_regret_at_fractions(runs, b, common, axis)) for b in benchmarks], axis=0)
        for i, strategy in enumerate(common):
            ax.plot(FRACTIONS, ranks[i], label=strategy, **strategy_style(strategy, len(FRACTIONS)))
            rows += [(axis, f, strategy, r) for f, r in zip(FRACTIONS, ranks[i])]
        ax.set_xlabel(label)
        ax.set_xlim(0, 1)
    axes[0].set_ylabel("average rank (1 = best)")
    axes[0].set_ylim(len(common) + 0.3, 0.7)  # best at the top
    fig.suptitle(f"Average rank by mean incumbent test regret over {len(benchmarks)} benchmark(s): "
                 f"{', '.join(benchmarks)}")
    legend_below(fig, axes)
    written = save_figure(fig, out, "average_rank", args.formats)
    written.append(write_rows(out / "average_rank.csv", ("axis", "fraction", "strategy", "average_rank"), rows))
    return written


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run("average_rank.py", argv, None, make, __doc__.split("\n\n")[0].replace("\n", " "))


if __name__ == "__main__":
    sys.exit(main())
