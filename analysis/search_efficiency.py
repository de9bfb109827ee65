"""Search efficiency of a predictor-guided strategy against regularized evolution.

    python analysis/search_efficiency.py --benchmark nb201_c10 --seeds 30
    python analysis/search_efficiency.py --benchmark digits --strategy surrogate_evolution --out analysis/results/se
    python analysis/search_efficiency.py --benchmark synthetic --seeds 5 --set num_trees=30

Runs ``--strategy`` (default ``bananas``) and ``--baseline`` (default ``evolution``)
from their shipped configs (``naslab/conf/strategy/<name>.yaml``; ``--set key=value``
overrides the strategy's) for ``--seeds`` seeds × ``--queries`` queries on a tabular
benchmark at full fidelity, and prints both mean regret curves (± standard error):

* *test regret*: best seed-mean test accuracy in the benchmark minus the incumbent's
  (the incumbent is chosen by validation accuracy, as the runner does);
* *validation regret*: the same on the validation accuracy the search optimises.

The headline: the mean regret the baseline reaches after ``--queries`` queries, and
the first query at which the strategy's mean curve is at least as low. Test regret
carries the validation->test noise of the benchmark (on NB201 CIFAR-10 the
architecture with the best validation accuracy is 0.43 points below the best test
accuracy), so both are reported. ``--out`` also writes the curves as CSV and the
summary as Markdown.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from surrogate_benchmarks import benchmark_label, resolve_benchmark  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS = (10, 20, 30, 50, 75, 100, 150, 200, 250, 300, 400, 500)


def make_factory(name: str, overrides: Sequence[str]):
    """The registered strategy ``name`` with ``key=value`` knob overrides."""
    from omegaconf import OmegaConf

    from naslab import strategies

    knobs = OmegaConf.to_container(OmegaConf.from_dotlist(list(overrides))) if overrides else {}
    return strategies.factory(name, **knobs)


def regret_curves(name: str, overrides: Sequence[str], bench, seeds: Sequence[int], queries: int):
    """``[seeds, queries]`` test and validation regret of the incumbent after each query."""
    from naslab.evaluators.tabular import TabularEvaluator
    from naslab.progress import progress_bar
    from naslab.runner import Budget, run_search

    evaluator = TabularEvaluator(bench)
    best_val = float(np.nanmax(bench.table("val_acc")))
    factory = make_factory(name, overrides)
    test, val = [], []
    started = time.perf_counter()
    with progress_bar(len(seeds), name, "run") as bar:
        for seed in seeds:
            trajectory = run_search(factory, evaluator, seed=int(seed), budget=Budget(queries=queries))
            test.append(trajectory.column("regret"))
            val.append([best_val - v for v in trajectory.column("incumbent_val_acc")])
            bar.set_postfix_str(f"seed {seed}: final test regret {test[-1][-1]:.3f}", refresh=False)
            bar.update()
    wall = (time.perf_counter() - started) / len(seeds)
    return np.asarray(test, dtype=np.float64), np.asarray(val, dtype=np.float64), wall


def first_reaching(curve: np.ndarray, target: float) -> int | None:
    """1-based first query at which ``curve`` <= ``target`` (None if never)."""
    hits = np.flatnonzero(curve <= target + 1e-9)
    return int(hits[0]) + 1 if hits.size else None


def mean_se(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    se = values.std(axis=0, ddof=1) / np.sqrt(values.shape[0]) if values.shape[0] > 1 else np.zeros(values.shape[1])
    return values.mean(axis=0), se


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 2)[2])  # fmt: skip
    parser.add_argument("--benchmark", default="nb201_c10",
                        help="synthetic | digits | nb201_c10 | path to a naslab .h5 (default nb201_c10)")  # fmt: skip
    parser.add_argument("--strategy", default="bananas", help="config name in naslab/conf/strategy (default bananas)")
    parser.add_argument("--baseline", default="evolution", help="config name of the baseline (default evolution)")
    parser.add_argument("--seeds", type=int, default=30, help="seeds 0..N-1 (default 30)")
    parser.add_argument("--queries", type=int, default=300, help="queries per run (default 300)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a parameter of --strategy (repeatable)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=None, help="folder for curves.csv and summary.md")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.seeds < 2 or args.queries < 10:
        print("error: --seeds must be >= 2 and --queries >= 10", file=sys.stderr)
        return 2
    try:
        bench = resolve_benchmark(args.benchmark)
        seeds = range(args.seeds)
        ours_test, ours_val, ours_wall = regret_curves(args.strategy, args.overrides, bench, seeds, args.queries)
        base_test, base_val, base_wall = regret_curves(args.baseline, [], bench, seeds, args.queries)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    label = benchmark_label(args.benchmark, bench)
    lines = [
        f"# {args.strategy} vs {args.baseline} on {label}: {args.seeds} seeds x {args.queries} queries",
        f"overrides: {' '.join(args.overrides) or 'none'}; wall time per run: {args.strategy} {ours_wall:.2f} s, "
        f"{args.baseline} {base_wall:.3f} s",
        "",
        f"| queries | {args.strategy} test regret | {args.baseline} test regret | "
        f"{args.strategy} val regret | {args.baseline} val regret |",
        "|---:|---:|---:|---:|---:|",
    ]
    curves = {k: mean_se(v) for k, v in
              {"ours_test": ours_test, "base_test": base_test, "ours_val": ours_val, "base_val": base_val}.items()}  # fmt: skip
    for q in [c for c in CHECKPOINTS if c <= args.queries]:
        cells = [f"{curves[k][0][q - 1]:.3f} ± {curves[k][1][q - 1]:.3f}" for k in ("ours_test", "base_test", "ours_val", "base_val")]
        lines.append(f"| {q} | " + " | ".join(cells) + " |")
    lines.append("")
    for kind in ("test", "val"):
        target = float(curves[f"base_{kind}"][0][-1])
        reached = first_reaching(curves[f"ours_{kind}"][0], target)
        lines.append(
            f"{kind} regret: {args.baseline} reaches {target:.3f} after {args.queries} queries; "
            f"{args.strategy}'s mean curve reaches it after "
            + (f"{reached} queries ({reached / args.queries:.0%} of the budget)" if reached else f"more than {args.queries} queries")
        )
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        header = "query,ours_test_mean,ours_test_se,base_test_mean,base_test_se,ours_val_mean,ours_val_se,base_val_mean,base_val_se"
        table = np.column_stack([np.arange(1, args.queries + 1)] + [a for k in ("ours_test", "base_test", "ours_val", "base_val") for a in curves[k]])
        stem = f"search_efficiency_{args.strategy}_{label.replace('/', '_')}"
        tmp = args.out / f".{stem}.csv.tmp"
        np.savetxt(tmp, table, delimiter=",", header=header, comments="", fmt="%.6g")
        tmp.replace(args.out / f"{stem}.csv")
        tmp = args.out / f".{stem}.md.tmp"
        tmp.write_text(text + "\n")
        tmp.replace(args.out / f"{stem}.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
