"""Every registered single-objective strategy (``naslab.strategies.available()``) against random search.

For each strategy: mean final regret ± standard error over ``--seeds`` seeds at
``--queries`` queries (the issue-6 protocol: ≥ 30 seeds, 300 queries), the paired
difference to random search on the same seeds, how many seeds it wins, and the wall
time per run. Multi-fidelity strategies (whose cheap low-fidelity queries count as
queries too) get a second row at equal *simulated time*: the mean time random
search spent on its queries. Multi-objective strategies are judged by their Pareto
front elsewhere (tests/test_strategies_extra.py) and are skipped.

    python perf/strategy_comparison.py [--benchmark FILE] [--seeds 30] [--queries 300]
    python perf/strategy_comparison.py --strategies reinforce:learning_rate=0.01 tpe:multivariate=false
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import yaml

from naslab import strategies
from naslab.benchmarks.tabular import load_benchmark
from naslab.evaluators.tabular import TabularEvaluator
from naslab.runner import Budget, run_search

REPO = Path(__file__).resolve().parent.parent
DEFAULT = REPO / "naslab" / "data" / "nb201_digits.h5"


def factory(spec: str):
    """``name`` or ``name:key=value,key=value`` (the registered class with knobs overridden)."""
    name, _, overrides = spec.partition(":")
    knobs = {}
    for item in filter(None, overrides.split(",")):
        key, _, value = item.partition("=")
        knobs[key] = yaml.safe_load(value)
    return strategies.factory(name, **knobs)


def run_many(name: str, evaluator, seeds: range, budget: Budget) -> tuple[np.ndarray, float, float]:
    """Final regrets per seed, mean wall seconds per run, mean simulated seconds per run."""
    make = factory(name)
    run_search(make, evaluator, seed=10_000, budget=budget)  # warm-up: imports, caches
    regrets, sim = [], []
    start = time.perf_counter()
    for seed in seeds:
        trajectory = run_search(make, evaluator, seed=seed, budget=budget)
        regrets.append(trajectory.regret)
        sim.append(trajectory.sim_time_s)
    return np.asarray(regrets), (time.perf_counter() - start) / len(seeds), float(np.mean(sim))


def row(label: str, regrets: np.ndarray, random: np.ndarray | None, wall: float) -> str:
    se = regrets.std(ddof=1) / np.sqrt(len(regrets))
    if random is None:
        versus = f"{'—':>16} {'—':>7}"
    else:
        diff = regrets - random
        versus = f"{diff.mean():+7.3f} ± {diff.std(ddof=1) / np.sqrt(len(diff)):5.3f} {int((diff < 0).sum()):>3}/{len(diff):<3}"
    return f"{label:<44} {regrets.mean():7.3f} ± {se:5.3f}  {versus}  {wall:8.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--benchmark", type=Path, default=DEFAULT, help=f"tabular benchmark file (default {DEFAULT})")
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--strategies", nargs="*",
                        help="registered strategy names, optionally with knobs: reinforce:learning_rate=0.01 "
                        "(default: every single-objective one)")
    args = parser.parse_args()
    if not args.benchmark.is_file():
        print(
            f"strategy_comparison: {args.benchmark} does not exist; the embedded default benchmark is built by "
            "python -m naslab.build (docs/training.md). Pass --benchmark FILE, e.g. an imported NB201 file "
            "(data/imported/nb201_c10.h5).",
            file=sys.stderr,
        )
        return 2
    benchmark = load_benchmark(args.benchmark)
    evaluator = TabularEvaluator(benchmark)
    names = args.strategies or strategies.available()
    names = [n for n in names if n != "random"]
    seeds = range(args.seeds)
    budget = Budget(queries=args.queries)
    print(f"benchmark {benchmark.label}: {benchmark.num_archs} archs, epochs {[int(e) for e in benchmark.epochs]}, "
          f"best test acc {evaluator.best_test_acc():.3f}")
    print(f"{args.seeds} seeds x {args.queries} queries; regret = best test acc - test acc of the incumbent "
          "(chosen by validation accuracy); Δ = paired difference to random search (negative = better)")
    print(f"{'strategy':<44} {'regret':>15}  {'Δ vs random':>16} {'wins':>7}  {'wall s/run':>8}")
    random, random_wall, random_sim = run_many("random", evaluator, seeds, budget)
    print(row("random", random, None, random_wall), flush=True)
    time_budget = Budget(queries=None, sim_seconds=random_sim)
    random_timed = None
    for name in names:
        cls = strategies.get(name)
        if cls.multi_objective:
            print(f"{name:<44} (multi-objective: see its Pareto front)")
            continue
        regrets, wall, _ = run_many(name, evaluator, seeds, budget)
        print(row(name, regrets, random, wall), flush=True)
        if cls.multi_fidelity:
            if random_timed is None:
                random_timed, _, _ = run_many("random", evaluator, seeds, time_budget)
            timed, wall, _ = run_many(name, evaluator, seeds, time_budget)
            print(row(f"  {name} @ {random_sim:.0f} sim s", timed, random_timed, wall), flush=True)
    if random_timed is not None:
        print(row(f"  random @ {random_sim:.0f} sim s", random_timed, None, float("nan")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
