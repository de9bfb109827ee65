"""Average rank of each strategy over a benchmark suite, with a 95 % bootstrap interval.

On each benchmark the strategies run on every benchmark are ranked by their mean final
incumbent regret over seeds (1 = lowest regret; ties share the average rank). Regrets
are on each benchmark's own metric and scale (a percent of accuracy, an MSE, an SSIM),
so only ranks are averaged, as NASLib's NAS-Bench-Suite and HPOBench/syne-tune do
across benchmarks. The interval resamples the *benchmarks* with replacement (2,000
times, a fixed seed): it says how much the average rank depends on which benchmarks
are in the suite. Writes ``suite_ranks.md`` (strategy, average rank, interval, number
of benchmarks won), ``suite_ranks.csv`` (also each benchmark's ranks) and
``suite_ranks.png/.pdf`` (ranks with their intervals, best at the top)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from naslab.analysis import cli
from naslab.analysis.average_rank import average_ranks
from naslab.analysis.runs import AnalysisError, RunSet
from naslab.analysis.style import pyplot, save_figure, strategy_colour
from naslab.analysis.table_io import write_rows
from naslab.outputs import atomic_write_text

RESAMPLES = 2000


def final_regrets(runs: RunSet, benchmarks: list[str], strategies: list[str]) -> np.ndarray:
    """[benchmarks, strategies] mean over seeds of the final incumbent regret (inf: no result)."""
    out = np.full((len(benchmarks), len(strategies)), np.inf)
    for i, b in enumerate(benchmarks):
        for j, s in enumerate(strategies):
            finals = np.array([r.final_regret for r in runs.select(b, s)], dtype=np.float64)
            finals = finals[np.isfinite(finals)]
            if finals.size:
                out[i, j] = finals.mean()
    return out


def suite_ranks(regrets: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(per-benchmark ranks [B, S], average rank [S], 95 % bootstrap interval over benchmarks [S, 2])."""
    ranks = average_ranks(regrets.T).T  # rank the strategies within each benchmark
    mean = ranks.mean(axis=0)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, ranks.shape[0], size=(RESAMPLES, ranks.shape[0]))
    boot = ranks[picks].mean(axis=1)  # [resamples, strategies]
    return ranks, mean, np.percentile(boot, [2.5, 97.5], axis=0).T


def make(runs: RunSet, out: Path, args: argparse.Namespace) -> list[Path]:
    benchmarks = runs.benchmarks()
    strategies = sorted(set.intersection(*(set(runs.strategies(b)) for b in benchmarks)))
    if len(strategies) < 2 or len(benchmarks) < 2:
        raise AnalysisError(
            f"a suite ranking needs two or more benchmarks and two or more strategies run on all of them; "
            f"found {len(benchmarks)} benchmark(s) and common strategies {strategies or 'none'}"
        )
    regrets = final_regrets(runs, benchmarks, strategies)
    ranks, mean, interval = suite_ranks(regrets)
    order = np.argsort(mean, kind="stable")
    seeds = {s: sorted({len(runs.select(b, s)) for b in benchmarks}) for s in strategies}
    wins = (ranks == ranks.min(axis=1, keepdims=True)).sum(axis=0)
    lines = [
        f"Average rank over {len(benchmarks)} benchmarks (1 = lowest mean final regret; "
        "95 % interval: bootstrap over benchmarks)",
        "",
        "| strategy | average rank | 95 % interval | benchmarks won (ties count) | seeds per benchmark |",
        "|---|---|---|---|---|",
    ]
    for j in order:
        s = strategies[j]
        lines.append(f"| {s} | {mean[j]:.2f} | {interval[j, 0]:.2f}–{interval[j, 1]:.2f} | {int(wins[j])} | "
                     f"{'/'.join(map(str, seeds[s]))} |")
    out.mkdir(parents=True, exist_ok=True)
    md = out / "suite_ranks.md"
    atomic_write_text(md, "\n".join(lines) + "\n")
    rows = [("average", s, mean[j], interval[j, 0], interval[j, 1]) for j, s in enumerate(strategies)]
    rows += [(b, s, ranks[i, j], regrets[i, j], np.nan) for i, b in enumerate(benchmarks)
             for j, s in enumerate(strategies)]
    written = [md, write_rows(out / "suite_ranks.csv", ("benchmark", "strategy", "rank", "low_or_regret", "high"), rows)]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * len(strategies) + 1.4), layout="constrained")
    for y, j in enumerate(order):
        ax.errorbar(mean[j], y, xerr=[[mean[j] - interval[j, 0]], [interval[j, 1] - mean[j]]], fmt="o",
                    color=strategy_colour(strategies[j]), capsize=3)
    ax.set_yticks(range(len(order)), [strategies[j] for j in order])
    ax.invert_yaxis()
    ax.set_xlabel("average rank over the suite (1 = best), 95 % bootstrap interval")
    ax.set_title(f"{len(benchmarks)} benchmarks")
    written += save_figure(fig, out, "suite_ranks", args.formats)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run("suite_ranks.py", argv, None, make, __doc__.split("\n\n")[0].replace("\n", " "))


if __name__ == "__main__":
    sys.exit(main())
