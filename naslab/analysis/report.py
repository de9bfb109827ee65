"""Every analysis at once: anytime curves, the final table, ECDF of final regret, Pareto fronts
with hypervolume (on the benchmarks that have the objectives), and (with two or more benchmarks)
the average rank over time and the suite ranking with intervals, into one folder."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from naslab.analysis import anytime, average_rank, cli, ecdf, final_table, pareto_fronts, suite_ranks
from naslab.analysis.runs import RunSet


def make(runs: RunSet, out: Path, args: argparse.Namespace) -> list[Path]:
    written = anytime.make(runs, out, args) + final_table.make(runs, out, args) + ecdf.make(runs, out, args)
    args.skip_missing = True  # a suite mixes benchmarks with and without params/latency: no front there
    written += pareto_fronts.make(runs, out, args, multi_objective_only=True)
    if len(runs.benchmarks()) > 1:
        written += average_rank.make(runs, out, args) + suite_ranks.make(runs, out, args)
    else:
        print("report.py: note: one benchmark only, no average rank across benchmarks", file=sys.stderr)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run("report.py", argv, pareto_fronts.options, make, __doc__.split("\n\n")[0].replace("\n", " "))


if __name__ == "__main__":
    sys.exit(main())
