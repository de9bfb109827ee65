"""Search time of every strategy, the floors of TPE and GP-BO, and the whole 14-strategy comparison.

    python perf/strategy_speed.py [--seeds 3] [--queries 300] [--before]
    python perf/strategy_speed.py --strategies bananas ... --against CHECKOUT [--rounds 4]

For each config in naslab/conf/strategy/: the CPU seconds (``time.process_time``, less
disturbed by other load than wall time) of one ``--queries``-query run in-process on
the embedded default benchmark, one thread (naslab's thread policy), mean over
``--seeds`` seeds after a warm-up run. Then, measured in the same run:

* ``tpe`` (numpy) against Optuna's own loop (``create_study`` + ``ask``/``tell`` with
  the same TPESampler settings over the six categorical decisions), the floor of
  ``strategy=optuna``, which runs that sampler through naslab (timed above it);
* ``nsga2`` (numpy) against ``optuna_nsga2`` (Optuna's NSGAIISampler through naslab);
* ``gp_bo`` against a scikit-learn GP loop (``GaussianProcessRegressor``, Matern
  kernel on one-hot features, refitted every step, expected improvement over the
  same number of random candidates);
* with ``--before``: bananas and surrogate_evolution with cold refits
  (``warm_start_trees=0``, the settings before warm starts).

With ``--against CHECKOUT`` (another naslab source tree, e.g. ``git archive <commit> | tar
-x -C /tmp/base``) it prints only an A/B: the ``--strategies`` timed in fresh processes
of that checkout and of this one, alternating for ``--rounds`` rounds (the best round
of each: other load only ever adds time), so a change is measured beside its baseline
on a machine whose speed drifts.

Last lines: the whole comparison (strategies x 100 seeds x 300 queries) projected on 2
cores from these per-run times plus the sweep's per-job overhead (``--job-overhead``,
from ``perf/sweep_speed.py``), for issue 18's 14 strategies (without the zero-cost
variants added since, and without ``optuna`` and ``optuna_nsga2``, Optuna's TPE and
NSGA-II, since ``tpe`` and ``nsga2`` are the same algorithms), the same set with those in
place of ``tpe`` and ``nsga2`` (the baseline, as before the numpy versions), and every
config; goal <= 4 minutes. The load
average is printed beside the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from hydra.utils import instantiate
from omegaconf import OmegaConf

from naslab.benchmarks.tabular import load_benchmark
from naslab.evaluators.tabular import TabularEvaluator
from naslab.runner import Budget, run_search

REPO = Path(__file__).resolve().parent.parent
DEFAULT = REPO / "naslab" / "data" / "nb201_digits.h5"
STRATEGY_DIR = REPO / "naslab" / "conf" / "strategy"
# configs added since issue 18 counted its 14: proxy-reading variants, and Optuna's TPE and
# NSGA-II (strategy=optuna, optuna_nsga2), which tpe and nsga2 replaced with the same algorithms
NOT_IN_ISSUE_SET = ("bananas_zero_cost", "zero_cost_warm_start", "optuna", "optuna_nsga2")
OPTUNA_VERSION_OF = {"tpe": "optuna", "nsga2": "optuna_nsga2"}


def cpu_per_run(fn, seeds: int) -> float:
    fn(10_000)  # warm-up: imports, caches, first-call costs
    started = time.process_time()
    for seed in range(seeds):
        fn(seed)
    return (time.process_time() - started) / seeds


def strategy_runner(name: str, evaluator, queries: int, **knobs):
    cfg = OmegaConf.load(STRATEGY_DIR / f"{name}.yaml")
    for key, value in knobs.items():
        cfg[key] = value
    make = instantiate(cfg)
    return lambda seed: run_search(make, evaluator, seed=seed, budget=Budget(queries=queries))


def optuna_floor(evaluator, queries: int):
    """Optuna's own ask/tell loop with naslab's tpe settings: what the wrapper cannot beat."""
    import optuna
    from optuna.distributions import CategoricalDistribution

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    space = evaluator.space
    dists = {f"d{i}": CategoricalDistribution(list(range(c))) for i, c in enumerate(space.cardinalities)}

    def run(seed: int) -> None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=10, multivariate=True)
            study = optuna.create_study(direction="maximize", sampler=sampler)
            for _ in range(queries):
                trial = study.ask(dists)
                arch = tuple(int(trial.params[f"d{i}"]) for i in range(space.num_decisions))
                study.tell(trial, evaluator.evaluate(arch).val_acc)

    return run


def sklearn_gp_floor(evaluator, queries: int, candidates: int = 200):
    """A textbook scikit-learn GP-EI loop (refit every step) over the same space."""
    from scipy.stats import norm
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    space = evaluator.space

    def run(seed: int) -> None:
        import warnings

        warnings.simplefilter("ignore")  # ConvergenceWarning at the kernel bounds, every few fits
        rng = np.random.default_rng(seed)
        archs, scores = [], []
        for step in range(queries):
            if step < 10:
                arch = space.sample(rng)
            else:
                x = space.one_hot(np.asarray(archs)).astype(np.float64)
                gp = GaussianProcessRegressor(ConstantKernel() * Matern(nu=2.5) + WhiteKernel(), normalize_y=True,
                                              random_state=seed).fit(x, scores)
                pool = [space.sample(rng) for _ in range(candidates)]
                mean, sd = gp.predict(space.one_hot(np.asarray(pool)).astype(np.float64), return_std=True)
                z = (mean - max(scores)) / np.maximum(sd, 1e-9)
                arch = pool[int(np.argmax((mean - max(scores)) * norm.cdf(z) + sd * norm.pdf(z)))]
            archs.append(arch)
            scores.append(evaluator.evaluate(arch).val_acc)

    return run


# run in a checkout's root with PYTHONPATH at it: its own strategy_speed helpers time its own code
_CHILD = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("speed", "perf/strategy_speed.py")
speed = importlib.util.module_from_spec(spec)
spec.loader.exec_module(speed)
from naslab.benchmarks.tabular import load_benchmark
from naslab.evaluators.tabular import TabularEvaluator
evaluator = TabularEvaluator(load_benchmark(speed.DEFAULT))
names, seeds, queries = json.loads(sys.argv[1])
print(json.dumps({n: speed.cpu_per_run(speed.strategy_runner(n, evaluator, queries), seeds) for n in names}))
"""


def against(baseline: Path, names: list[str], rounds: int, seeds: int, queries: int) -> int:
    """Best-of-``rounds`` CPU s per run of ``names`` in ``baseline`` and in this checkout, alternating."""
    roots = {"baseline": baseline.resolve(), "this": REPO}
    best: dict[str, dict[str, float]] = {label: {} for label in roots}
    print(f"A/B, {len(names)} strategies x {seeds} seeds x {queries} queries, {rounds} rounds; baseline "
          f"{roots['baseline']}; load average {os.getloadavg()[0]:.2f}")
    for round_ in range(rounds):
        for label in ("baseline", "this") if round_ % 2 == 0 else ("this", "baseline"):
            env = dict(os.environ, PYTHONPATH=str(roots[label]))
            done = subprocess.run([sys.executable, "-c", _CHILD, json.dumps([names, seeds, queries])],
                                  cwd=roots[label], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                print(f"the {label} checkout failed:\n{done.stderr[-2000:]}", file=sys.stderr)
                return 1
            times = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"  round {round_} {label:8s} " + "  ".join(f"{n} {t:.3f}" for n, t in times.items()), flush=True)
            for name, seconds in times.items():
                best[label][name] = min(best[label].get(name, math.inf), seconds)
    for name in names:
        ours, theirs = best["this"][name], best["baseline"][name]
        print(f"{name:24s} {ours:7.3f} s vs baseline {theirs:7.3f} s: {ours / theirs:5.2f}x")
    print(f"load average now {os.getloadavg()[0]:.2f}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--strategies", nargs="*", help="names in naslab/conf/strategy (default: all)")
    parser.add_argument("--before", action="store_true", help="also time bananas/surrogate_evolution with cold refits")
    parser.add_argument("--job-overhead", type=float, default=0.05,
                        help="CPU s per sweep job besides the search (perf/sweep_speed.py; default 0.05)")
    parser.add_argument("--against", type=Path, help="another checkout: A/B of --strategies against it")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds of --against (default 4)")
    args = parser.parse_args()
    if args.against:
        if not args.strategies:
            parser.error("--against needs --strategies")
        if not (args.against / "perf" / "strategy_speed.py").is_file():
            parser.error(f"--against {args.against}: not a naslab checkout (it has no perf/strategy_speed.py)")
        return against(args.against, args.strategies, args.rounds, args.seeds, args.queries)
    evaluator = TabularEvaluator(load_benchmark(DEFAULT))
    names = args.strategies or sorted(p.stem for p in STRATEGY_DIR.glob("*.yaml"))
    load = os.getloadavg()[0]
    print(f"{len(names)} strategies x {args.seeds} seeds x {args.queries} queries on {DEFAULT.name}, "
          f"CPU s per run (process_time), one thread; load average {load:.2f}")
    per_run: dict[str, float] = {}
    for name in names:
        per_run[name] = cpu_per_run(strategy_runner(name, evaluator, args.queries), args.seeds)
        print(f"  {name:24s} {per_run[name]:8.3f}", flush=True)
    rows = []
    if "tpe" in per_run:
        floor = cpu_per_run(optuna_floor(evaluator, args.queries), args.seeds)
        rows.append(("tpe (numpy) / Optuna's own TPESampler loop", per_run["tpe"], floor))
        if "optuna" in per_run:
            rows.append(("tpe (numpy) / strategy=optuna (Optuna's TPE)", per_run["tpe"], per_run["optuna"]))
    if "nsga2" in per_run and "optuna_nsga2" in per_run:
        rows.append(("nsga2 (numpy) / strategy=optuna_nsga2", per_run["nsga2"], per_run["optuna_nsga2"]))
    if "gp_bo" in per_run:
        floor = cpu_per_run(sklearn_gp_floor(evaluator, args.queries), max(1, args.seeds // 3))
        rows.append(("gp_bo / scikit-learn GP-EI loop", per_run["gp_bo"], floor))
    if args.before:
        for name in ("bananas", "surrogate_evolution"):
            if name in per_run:
                cold = cpu_per_run(strategy_runner(name, evaluator, args.queries, warm_start_trees=0), args.seeds)
                rows.append((f"{name} (warm starts) / cold refits", per_run[name], cold))
    for label, ours, theirs in rows:
        print(f"{label:48s} {ours:7.3f} s vs {theirs:7.3f} s: {ours / theirs:5.2f}x")
    total = sum(per_run.values())
    # issue 18's comparison: the 14 strategies of its day
    comparisons = [("every strategy", sorted(per_run))]
    issue_set = [name for name in per_run if name not in NOT_IN_ISSUE_SET]
    if len(issue_set) < len(per_run):
        comparisons.insert(0, ("issue 18's set (no zero-cost variants, no optuna)", issue_set))
    if any(name in issue_set and theirs in per_run for name, theirs in OPTUNA_VERSION_OF.items()):
        # the baseline in the same run: the comparison as it was, with Optuna's samplers
        before = [OPTUNA_VERSION_OF[name] if OPTUNA_VERSION_OF.get(name) in per_run else name for name in issue_set]
        comparisons.insert(1, ("the same with Optuna's TPE and NSGA-II as tpe and nsga2", before))
    for label, chosen in comparisons:
        search = 100 * sum(per_run[name] for name in chosen)
        overhead = 100 * len(chosen) * args.job_overhead
        print(f"whole comparison, {label}: {len(chosen)} strategies x 100 seeds x {args.queries} queries: "
              f"{search:.0f} CPU s of search + {overhead:.0f} CPU s of job overhead = "
              f"{(search + overhead) / 2 / 60:.1f} min on 2 cores (goal <= 4 min)")
    print(f"load average now {os.getloadavg()[0]:.2f}")
    return 0 if math.isfinite(total) else 1


if __name__ == "__main__":
    sys.exit(main())
