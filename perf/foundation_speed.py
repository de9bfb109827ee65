"""Speed of the tabular path: single queries, batched queries, a search loop, CLI start-up.

Each figure is printed next to a naive baseline measured in the same run (a dict of
per-architecture Python objects with a deepcopy per query, as NASLib does), so the
ratio is meaningful on a noisy machine. Goals (issue 3): a single query returning a
Result <= 2 us, >= 20 M batched queries/s, regularized evolution 1,000 queries
<= 15 ms in-process, `python -m naslab strategy=evolution` <= 1.5 s wall.

    python perf/foundation_speed.py [--benchmark FILE]
"""

from __future__ import annotations

import argparse
import copy
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from naslab.benchmarks import load_benchmark
from naslab.benchmarks.synthetic import write_synthetic_benchmark
from naslab.evaluators.tabular import TabularEvaluator
from naslab.runner import Budget, run_search
from naslab.strategies.evolution import RegularizedEvolution

REPO = Path(__file__).resolve().parent.parent
DEFAULT = REPO / "naslab" / "data" / "nb201_digits.h5"


def best_of(fn, repeats: int = 5) -> float:
    """Smallest wall time of ``repeats`` calls: the least disturbed by other load."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


class NaiveRecord:
    """One architecture's results as nested Python lists, like a pickled benchmark API."""

    def __init__(self, bench, i):
        self.arch = bench.archs[i]
        self.metrics = {k: v[i].tolist() for k, v in bench.metrics.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", type=Path, default=None, help="benchmark file (default: naslab/data/nb201_digits.h5, else synthetic)")
    args = parser.parse_args()
    path = args.benchmark or (DEFAULT if DEFAULT.is_file() else None)
    tmp = tempfile.TemporaryDirectory()
    if path is None:
        path = write_synthetic_benchmark(Path(tmp.name) / "synthetic.h5")
    bench = load_benchmark(path)
    print(f"benchmark: {path} ({bench.num_archs} archs x {len(bench.seeds)} seeds x {len(bench.epochs)} epochs)")
    space = bench.space
    rng = np.random.default_rng(0)
    n = 100_000
    archs = [space.arch(int(i)) for i in rng.integers(bench.num_archs, size=n)]

    # ---- single query -----------------------------------------------------------------
    evaluator = TabularEvaluator(bench)
    for arch in archs:
        evaluator.evaluate(arch)  # first answers are built once; measure the steady state
    ours = best_of(lambda: [evaluator.evaluate(a) for a in archs]) / n
    distinct = [space.arch(i) for i in range(0, bench.num_archs, 5)]

    def first_queries():
        fresh = TabularEvaluator(bench)
        start = time.perf_counter()
        for a in distinct:
            fresh.evaluate(a)
        return time.perf_counter() - start

    cold = min(first_queries() for _ in range(3)) / len(distinct)
    naive_db = {bench.archs[i]: NaiveRecord(bench, i) for i in range(bench.num_archs)}
    strings = [space.to_string(a) for a in archs[:5000]]

    def naive_single():
        for s in strings:
            record = copy.deepcopy(naive_db[s])
            _ = float(np.mean([seed[-1] for seed in record.metrics["val_acc"]]))

    naive = best_of(naive_single, repeats=3) / len(strings)
    print(f"single query -> Result: {ours * 1e6:.2f} us (first query of an arch {cold * 1e6:.2f} us); "
          f"naive deepcopy record {naive * 1e6:.1f} us; ratio {naive / ours:.0f}x  [goal <= 2 us]")

    # ---- TabularBenchmark.query (seed mean) --------------------------------------------
    from naslab.benchmarks.tabular import seed_mean

    names = [bench.archs[int(i)] for i in rng.integers(bench.num_archs, size=20_000)]
    for name in names[:10]:
        bench.query(name, "val_acc")  # the seed means are computed on the first query
    query = best_of(lambda: [bench.query(a, "val_acc") for a in names]) / len(names)
    last = len(bench.epochs) - 1

    def averaged_per_call():  # what query() did before: the seed mean of the whole table per call
        for a in names[:200]:
            float(seed_mean(bench.metric("val_acc")[:, :, last]).astype(np.float32)[bench.index_of(a)])

    per_call = best_of(averaged_per_call, repeats=3) / 200
    print(f"TabularBenchmark.query(arch, 'val_acc') seed mean: {query * 1e6:.2f} us; table averaged per call "
          f"{per_call * 1e6:.0f} us; ratio {per_call / query:.0f}x; evaluate() {ours * 1e6:.2f} us")

    # ---- batched queries --------------------------------------------------------------
    m = 1_000_000
    idx = rng.integers(bench.num_archs, size=m)
    seeds = rng.integers(len(bench.seeds), size=m)
    pos = rng.integers(len(bench.epochs), size=m)
    batched = best_of(lambda: bench.query_batch(idx, "val_acc", seeds, pos))
    val = bench.metrics["val_acc"]
    k = 100_000
    loop = best_of(lambda: [val[i, s, p] for i, s, p in zip(idx[:k].tolist(), seeds[:k].tolist(), pos[:k].tolist())], 3)
    print(f"batched queries: {m / batched / 1e6:.1f} M/s; per-element numpy indexing {k / loop / 1e6:.2f} M/s; "
          f"ratio {(m / batched) / (k / loop):.0f}x  [goal >= 20 M/s]")

    # ---- regularized evolution, 1,000 queries ----------------------------------------
    budget = Budget(queries=1000)
    re_time = best_of(lambda: run_search(RegularizedEvolution, evaluator, seed=0, budget=budget))

    def naive_re():
        r = np.random.default_rng(0)
        population: list = []
        for step in range(1000):
            if step < 100:
                arch = space.sample(r)
            else:
                sample = [population[int(j)] for j in r.integers(len(population), size=25)]
                arch = space.mutate(max(sample, key=lambda m: m[0])[1], r)
            record = copy.deepcopy(naive_db[space.to_string(arch)])
            acc = float(np.mean([seed[-1] for seed in record.metrics["val_acc"]]))
            population.append((acc, arch))
            if len(population) > 100:
                population.pop(0)

    naive_re_time = best_of(naive_re, repeats=3)
    print(f"regularized evolution, 1,000 queries: {re_time * 1e3:.1f} ms; naive deepcopy loop "
          f"{naive_re_time * 1e3:.0f} ms; ratio {naive_re_time / re_time:.0f}x  [goal <= 15 ms]")

    # ---- CLI start-up -----------------------------------------------------------------
    def cli():
        with tempfile.TemporaryDirectory() as out:
            subprocess.run([sys.executable, "-m", "naslab", "benchmark=file", f"benchmark.path={path}",
                            "strategy=evolution", f"hydra.run.dir={out}"], check=True, capture_output=True)

    def bare_python():
        subprocess.run([sys.executable, "-c", "import numpy, h5py"], check=True)

    cli_time = best_of(cli, repeats=3)
    bare = best_of(bare_python, repeats=3)
    print(f"python -m naslab strategy=evolution (300 queries): {cli_time:.2f} s wall; "
          f"python -c 'import numpy, h5py' {bare:.2f} s  [goal <= 1.5 s]")
    tmp.cleanup()


if __name__ == "__main__":
    main()
