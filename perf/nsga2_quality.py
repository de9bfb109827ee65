"""NSGA-II's front quality: numpy ``nsga2`` against Optuna's (``optuna_nsga2``) and random search.

    python perf/nsga2_quality.py [--seeds 50] [--queries 300] [--benchmark FILE]

For each strategy: the hypervolume of its final Pareto front (val_acc vs params, the
config's default objectives; reference: 0 % accuracy and the benchmark's largest
params), mean ± standard error over ``--seeds`` seeds, and CPU s per run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from naslab import strategies
from naslab.benchmarks.tabular import load_benchmark
from naslab.evaluators.tabular import TabularEvaluator
from naslab.pareto import trajectory_front
from naslab.runner import Budget, run_search

DEFAULT = Path(__file__).resolve().parent.parent / "naslab" / "data" / "nb201_digits.h5"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--benchmark", type=Path, default=DEFAULT)
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--strategies", nargs="*", default=["random", "nsga2", "optuna_nsga2"])
    args = parser.parse_args()
    benchmark = load_benchmark(args.benchmark)
    evaluator = TabularEvaluator(benchmark)
    objectives = ["val_acc", "params"]
    if "params" not in benchmark.static:
        print(f"nsga2_quality: {args.benchmark} stores no params, the second objective", file=sys.stderr)
        return 2
    worst = {"params": float(np.nanmax(benchmark.static["params"]))}
    budget = Budget(queries=args.queries)
    print(f"{benchmark.label}: hypervolume of val_acc vs params (reference 0 %, params {worst['params']:.3f}), "
          f"{args.seeds} seeds x {args.queries} queries")
    for name in args.strategies:
        make = strategies.factory(name)
        run_search(make, evaluator, seed=10_000, budget=budget)  # warm-up
        volumes = []
        started = time.process_time()
        for seed in range(args.seeds):
            _, entry = trajectory_front(run_search(make, evaluator, seed=seed, budget=budget), objectives, worst)
            volumes.append(entry["hypervolume"])
        cpu = (time.process_time() - started) / args.seeds
        v = np.asarray(volumes)
        print(f"  {name:14s} {v.mean():9.4f} ± {v.std(ddof=1) / np.sqrt(len(v)):.4f}   {cpu:.3f} CPU s/run", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
