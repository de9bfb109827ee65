"""The contract every search strategy keeps, on synthetic benchmarks of any space.

A strategy must respect the budget (queries and simulated seconds), propose only valid
architectures of the space (tuples of ints), give the same trajectory for the same
seed, survive failed results, keep all of that with asynchronous workers, and (a
single-objective strategy, where :attr:`StrategyContract.compare_on_spaces` names the
space) find better architectures than random search on a benchmark with a planted optimum.

Fixtures the subclass provides: ``strategy_factory`` (a callable ``factory(context=...)``
returning the strategy, e.g. the class or a ``functools.partial`` with knobs) and
optionally ``space`` (a registered space name; default ``"nb201"``; parametrise it to
run on several spaces).

The evaluator is :func:`contract_evaluator`: the synthetic tabular benchmark of an
enumerable space, or, for a space too big to tabulate (DARTS), the synthetic function
computed per query (:class:`~naslab.benchmarks.synthetic.SyntheticEvaluator`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from naslab.benchmarks.synthetic import SyntheticEvaluator, make_synthetic_benchmark
from naslab.benchmarks.tabular import TabularBenchmark
from naslab.evaluators.tabular import TabularEvaluator
from naslab.runner import Budget, run_search
from naslab.strategies.random_search import RandomSearch

_benchmarks: dict[tuple[str, float], TabularBenchmark] = {}


def synthetic_benchmark(space: str, failed_fraction: float = 0.0) -> TabularBenchmark:
    """The synthetic benchmark of a registered space (planted optimum), built once per process."""
    key = (space, failed_fraction)
    if key not in _benchmarks:
        seed = 1 if failed_fraction else 0
        _benchmarks[key] = make_synthetic_benchmark(space, failed_fraction=failed_fraction, seed=seed)
    return _benchmarks[key]


class _Checks:
    """Checks and records every proposal an evaluator is asked to evaluate."""

    space: Any
    fidelities: tuple[int, ...]

    def evaluate(self, arch, fidelity=None, trial_seed=0):  # type: ignore[no-untyped-def]
        assert isinstance(arch, tuple), f"proposal {arch!r} is not a tuple"
        assert all(type(v) is int for v in arch), f"proposal {arch!r} holds non-int values"
        assert self.space.validate(arch) == arch, f"invalid proposal {arch!r}"
        assert fidelity is None or fidelity in self.fidelities, f"unknown fidelity {fidelity}"
        self.proposals.append(arch)
        return super().evaluate(arch, fidelity, trial_seed)  # type: ignore[misc]


class CheckingSyntheticEvaluator(_Checks, SyntheticEvaluator):
    """:class:`SyntheticEvaluator` that checks and records every proposal."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.proposals: list[tuple[int, ...]] = []


_functions: dict[tuple[str, float], SyntheticEvaluator] = {}


def contract_evaluator(space: str, failed_fraction: float = 0.0, checking: bool = False) -> Any:
    """The contract's evaluator for ``space``: its synthetic table, or per-query function if it has none.

    ``checking`` wraps it so that it checks and records each proposal (``.proposals``).
    """
    from naslab.spaces import get_space

    seed = 1 if failed_fraction else 0
    if get_space(space).enumerable:
        bench = synthetic_benchmark(space, failed_fraction)
        return CheckingEvaluator(bench) if checking else TabularEvaluator(bench)
    if checking:
        return CheckingSyntheticEvaluator(space, seed=seed, failed_fraction=failed_fraction)
    key = (space, failed_fraction)
    if key not in _functions:
        _functions[key] = SyntheticEvaluator(space, seed=seed, failed_fraction=failed_fraction)
    return _functions[key]


def write_synthetic_proxy_table(path: str | Path, space: str, proxies: Sequence[str], seed: int = 0) -> Path:
    """A proxy table (the format of :mod:`naslab.zero_cost.table`) for the synthetic benchmark of
    ``space``: each proxy is its final seed-mean validation accuracy plus noise of equal spread
    (Spearman about 0.7), so strategies that read zero-cost proxies run on any space."""
    from naslab.benchmarks.tabular import write_benchmark
    from naslab.zero_cost.table import column

    bench = synthetic_benchmark(space)
    signal = np.nanmean(bench.metric("val_acc")[:, :, -1], axis=1)
    rng = np.random.default_rng(seed)
    static = {column(p): (signal + rng.normal(0.0, np.nanstd(signal), signal.shape)).astype(np.float32)
              for p in proxies}
    attrs = {**bench.attrs, "created_at": "synthetic", "units": {column(p): "score" for p in proxies}}
    return write_benchmark(path, replace(bench, static={**bench.static, **static}, attrs=attrs))


def strategy_class(factory: Callable[..., Any]) -> Any:
    """The class a factory (class or ``functools.partial``) builds."""
    return getattr(factory, "func", factory)


class CheckingEvaluator(_Checks, TabularEvaluator):
    """A tabular evaluator that checks and records every proposal it is asked to evaluate."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.proposals: list[tuple[int, ...]] = []


class StrategyContract:
    """Subclass as ``TestMyStrategy(StrategyContract)`` and provide ``strategy_factory``."""

    compare_on_spaces: ClassVar[tuple[str, ...]] = ("nb201",)
    """Spaces on which the strategy must beat random search (a planted optimum there)."""

    @pytest.fixture
    def strategy_factory(self) -> Callable[..., Any]:
        raise NotImplementedError("a StrategyContract subclass defines the strategy_factory fixture")

    @pytest.fixture
    def space(self) -> str:
        return "nb201"

    def test_respects_query_budget_and_proposes_valid_archs(self, strategy_factory, space):
        evaluator = contract_evaluator(space, checking=True)
        trajectory = run_search(strategy_factory, evaluator, seed=0, budget=Budget(queries=57))
        assert len(trajectory) == 57 and len(evaluator.proposals) == 57
        for arch, proposal in zip(trajectory.column("arch"), evaluator.proposals):
            assert evaluator.space.from_string(arch) == proposal

    def test_respects_simulated_time_budget(self, strategy_factory, space):
        budget = Budget(queries=None, sim_seconds=3000.0)
        trajectory = run_search(strategy_factory, contract_evaluator(space, checking=True), seed=1, budget=budget)
        times = trajectory.column("sim_time_s")
        assert 0 < len(trajectory) < 1000
        assert max(times) <= 3000.0
        assert sum(trajectory.column("cost_s")) == pytest.approx(times[-1])

    def test_same_seed_same_trajectory(self, strategy_factory, space):
        evaluator = contract_evaluator(space)
        runs = [run_search(strategy_factory, evaluator, seed=s, budget=Budget(queries=80)) for s in (7, 7, 8)]
        assert runs[0].rows == runs[1].rows
        assert runs[0].column("arch") != runs[2].column("arch")

    def test_survives_failed_results(self, strategy_factory, space):
        evaluator = contract_evaluator(space, failed_fraction=0.1, checking=True)
        trajectory = run_search(strategy_factory, evaluator, seed=2, budget=Budget(queries=150))
        assert len(trajectory) == 150
        assert "failed" in trajectory.column("status"), "the fixture should have produced failed results"
        assert not math.isnan(trajectory.column("incumbent_val_acc")[-1])

    def test_async_workers_keep_the_contract(self, strategy_factory, space):
        evaluator = contract_evaluator(space, checking=True)
        trajectory = run_search(strategy_factory, evaluator, seed=3, budget=Budget(queries=60), num_workers=4)
        assert len(trajectory) == 60
        assert set(trajectory.column("worker")) == {0, 1, 2, 3}

    def test_beats_random_search_on_planted_optimum(self, strategy_factory, space):
        cls = strategy_class(strategy_factory)
        if space not in self.compare_on_spaces:
            pytest.skip(f"compared with random search only on {list(self.compare_on_spaces)}")
        if cls is RandomSearch:
            pytest.skip("random search is the baseline")
        if getattr(cls, "multi_objective", False):
            pytest.skip("multi-objective: judged by its Pareto front, not regret")
        evaluator = contract_evaluator(space)
        budget = Budget(queries=300)
        if getattr(cls, "multi_fidelity", False):
            # cheap low-fidelity queries count as queries too: compare at equal simulated
            # time (~300 full-fidelity random queries on the NB201 fixture)
            budget = Budget(queries=None, sim_seconds=35000.0)
        seeds = range(10)
        ours = [run_search(strategy_factory, evaluator, seed=s, budget=budget).regret for s in seeds]
        rand = [run_search(RandomSearch, evaluator, seed=s, budget=budget).regret for s in seeds]
        assert np.mean(ours) < np.mean(rand), f"mean regret {np.mean(ours):.3f} vs random {np.mean(rand):.3f}"
