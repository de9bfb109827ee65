"""How long a strategy comparison takes: Hydra's launchers vs the in-process sweep.

    python perf/sweep_speed.py                      # the digits_comparison preset's strategies
    python perf/sweep_speed.py --seeds 100 --cli-seeds 5 --queries 300

Runs the comparison (strategies x seeds x queries) with ``python -m naslab.sweep``
(all seeds), and a subset of it (``--cli-seeds`` seeds) with ``python -m naslab -m``
under Hydra's basic launcher and under the joblib launcher (2 jobs); prints each
one's wall time, seconds per job, the whole comparison extrapolated from the per-job
time, and the ratios. The per-job overhead (goal <= 0.06 CPU s) is the sweep's CPU
seconds per job less the searches' own CPU seconds, measured in this process (one run
per strategy and seed would double the script's time: ``--search-seeds`` seeds each);
and once more for a sweep of ``random`` alone (``--overhead-seeds`` jobs), whose search
costs a few milliseconds. Runs on the embedded default benchmark when it exists, else on
a synthetic benchmark file (said in the output). The machine is shared: compare the
ratios of one run, not absolute times across runs; CPU seconds are less disturbed by
other load than wall seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BENCHMARK = REPO / "naslab" / "data" / "nb201_digits.h5"
PRESET = REPO / "naslab" / "conf" / "experiment" / "digits_comparison.yaml"


def preset_strategies() -> list[str]:
    from omegaconf import OmegaConf

    return str(OmegaConf.load(PRESET).hydra.sweeper.params.strategy).split(",")


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"perf: {' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def search_seconds(sweep_dir: Path) -> dict[str, float]:
    """Wall seconds each strategy's searches took (summary.json wall_time_s: the search and its files)."""
    totals: dict[str, float] = {}
    for path in sweep_dir.rglob("summary.json"):
        summary = json.loads(path.read_text())
        totals[summary["strategy"]] = totals.get(summary["strategy"], 0.0) + summary["wall_time_s"]
    return totals


def search_cpu(strategies: list[str], benchmark: Path, queries: int, seeds: int) -> dict[str, float]:
    """CPU seconds of one search per strategy, in this process (mean over ``seeds`` after a warm-up)."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from naslab.benchmarks.tabular import load_benchmark
    from naslab.evaluators.tabular import TabularEvaluator
    from naslab.runner import Budget, run_search

    evaluator = TabularEvaluator(load_benchmark(benchmark))
    out = {}
    for name in strategies:
        make = instantiate(OmegaConf.load(REPO / "naslab" / "conf" / "strategy" / f"{name}.yaml"))
        run_search(make, evaluator, seed=10_000, budget=Budget(queries=queries))
        started = time.process_time()
        for seed in range(seeds):
            run_search(make, evaluator, seed=seed, budget=Budget(queries=queries))
        out[name] = (time.process_time() - started) / seeds
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", default=None, help="comma-separated (default: the preset's)")
    parser.add_argument("--seeds", type=int, default=100, help="seeds of the whole comparison")
    parser.add_argument("--cli-seeds", type=int, default=5, help="seeds run through python -m naslab -m")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--search-seeds", type=int, default=3, help="seeds per strategy of the in-process search timing")
    parser.add_argument("--overhead-seeds", type=int, default=200, help="jobs of the random-only sweep (0: skip it)")
    args = parser.parse_args()
    strategies = args.strategies.split(",") if args.strategies else preset_strategies()

    with tempfile.TemporaryDirectory(prefix="naslab-sweep-speed-") as tmp:
        work = Path(tmp)
        if DEFAULT_BENCHMARK.is_file():
            bench = ["benchmark=digits"]
            label = f"default benchmark {DEFAULT_BENCHMARK.name}"
            bench_path = DEFAULT_BENCHMARK
        else:
            from naslab.benchmarks.synthetic import write_synthetic_benchmark

            bench_path = write_synthetic_benchmark(work / "synthetic.h5")
            bench = ["benchmark=file", f"benchmark.path={bench_path}"]
            label = f"SYNTHETIC benchmark (the default {DEFAULT_BENCHMARK.name} is not built yet)"
        load_before = os.getloadavg()[0]
        common = [*bench, f"budget.queries={args.queries}", f"strategy={','.join(strategies)}"]
        full_jobs = len(strategies) * args.seeds
        cli_jobs = len(strategies) * args.cli_seeds
        py = sys.executable
        env_cores = os.cpu_count()

        runs = []
        fast = timed([py, "-m", "naslab.sweep", "-j", str(args.processes), *common,
                      f"seed=range(0,{args.seeds})", f"hydra.sweep.dir={work / 'fast'}"], work)
        runs.append(("python -m naslab.sweep", full_jobs, fast))
        basic = timed([py, "-m", "naslab", "-m", *common, f"seed=range(0,{args.cli_seeds})",
                       f"hydra.sweep.dir={work / 'basic'}"], work)
        runs.append(("python -m naslab -m (basic launcher)", cli_jobs, basic))
        joblib = timed([py, "-m", "naslab", "-m", "hydra/launcher=joblib",
                        f"hydra.launcher.n_jobs={args.processes}", *common,
                        f"seed=range(0,{args.cli_seeds})", f"hydra.sweep.dir={work / 'joblib'}"], work)
        runs.append((f"python -m naslab -m (joblib, {args.processes} jobs)", cli_jobs, joblib))
        rerun = timed([py, "-m", "naslab.sweep", "-j", str(args.processes), *common,
                       f"seed=range(0,{args.seeds})", f"hydra.sweep.dir={work / 'fast'}"], work)
        runs.append(("python -m naslab.sweep again (all skipped)", full_jobs, rerun))
        searches = search_seconds(work / "fast")
        random_only = None
        if args.overhead_seeds:
            random_only = timed([py, "-m", "naslab.sweep", "-j", str(args.processes), *bench,
                                 f"budget.queries={args.queries}", "strategy=random",
                                 f"seed=range(0,{args.overhead_seeds})", f"hydra.sweep.dir={work / 'random'}"], work)
        cpu_per_search = search_cpu(sorted(set(strategies) | {"random"}), bench_path, args.queries, args.search_seeds)

    print(f"comparison: {len(strategies)} strategies ({','.join(strategies)}) x {args.seeds} seeds x "
          f"{args.queries} queries = {full_jobs} runs on the {label}; {args.processes} processes; "
          f"{env_cores} cores on this machine")
    print(f"{'mode':48s} {'jobs':>5s} {'wall s':>8s} {'CPU s':>8s} {'CPU s/job':>9s} {'whole comparison':>17s}")
    per_job = {}
    for name, jobs, (wall, cpu) in runs:
        per_job[name] = cpu / jobs
        print(f"{name:48s} {jobs:5d} {wall:8.1f} {cpu:8.1f} {cpu / jobs:9.3f} "
              f"{cpu / jobs * full_jobs:9.1f} CPU s")
    fast_wall, fast_cpu = runs[0][2]
    for name, _, _ in runs[1:3]:
        print(f"CPU per job, {name} / naslab.sweep: {per_job[name] / per_job[runs[0][0]]:.1f}x")
    search_total = args.seeds * sum(cpu_per_search[name] for name in strategies)
    print(f"per-job overhead of naslab.sweep (CPU s per job minus the search's own {search_total / full_jobs:.3f} CPU s, "
          f"timed in-process): {(fast_cpu - search_total) / full_jobs:.3f} CPU s (goal <= 0.06)")
    if random_only is not None:
        wall, cpu = random_only
        print(f"python -m naslab.sweep strategy=random, {args.overhead_seeds} jobs: {wall:.1f} s wall, {cpu:.1f} CPU s = "
              f"{cpu / args.overhead_seeds:.3f} CPU s per job, of which the search {cpu_per_search['random']:.3f}: "
              f"overhead {cpu / args.overhead_seeds - cpu_per_search['random']:.3f} CPU s per job (goal <= 0.06)")
    print("search CPU s per run in-process: " + ", ".join(f"{k} {v:.3f}" for k, v in sorted(cpu_per_search.items())))
    print("search wall time inside the jobs (sum of summary.json wall_time_s; inflated by other load), by strategy: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in sorted(searches.items(), key=lambda kv: -kv[1])))
    print(f"load average {load_before:.2f} at the start, {os.getloadavg()[0]:.2f} at the end")
    print(f"whole comparison with naslab.sweep: {fast_wall:.1f} s wall on this (shared) machine, "
          f"{fast_cpu:.1f} CPU s = {fast_cpu / args.processes:.1f} s on {args.processes} idle cores "
          f"(goal <= 60 s on 2 cores)")


if __name__ == "__main__":
    main()
