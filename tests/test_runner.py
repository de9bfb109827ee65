"""The tabular evaluator and the budgeted ask/tell runner."""

from __future__ import annotations

import math

import numpy as np
import pytest

from naslab.benchmarks.synthetic import make_synthetic_benchmark
from naslab.evaluators.tabular import TabularEvaluator
from naslab.results import Result
from naslab.runner import Budget, run_search
from naslab.strategies.base import Query, Strategy
from naslab.strategies.random_search import RandomSearch


class Scripted(Strategy):
    """Proposes a fixed list of archs (cycling) and records what it was told."""

    def __init__(self, context, archs, fidelity=None):
        super().__init__(context)
        self.archs, self.fidelity, self.told, self.i = archs, fidelity, [], 0

    def ask(self):
        arch = self.archs[self.i % len(self.archs)]
        self.i += 1
        return Query(arch, self.fidelity) if self.fidelity else arch

    def tell(self, arch, result):
        self.told.append((arch, result))


def scripted(archs, fidelity=None, holder=None):
    def make(context):
        strategy = Scripted(context, archs, fidelity)
        if holder is not None:
            holder.append(strategy)
        return strategy

    return make


def test_evaluator_answers_from_the_table_without_aliasing(synthetic_bench):
    ev = TabularEvaluator(synthetic_bench)
    arch = synthetic_bench.space.arch(123)
    r = ev.evaluate(arch)
    assert isinstance(r, Result) and r.ok and not r.predicted
    assert r.arch == synthetic_bench.archs[123]
    assert r.val_acc == pytest.approx(synthetic_bench.query(123, "val_acc"), rel=1e-6)
    assert r.test_acc == pytest.approx(synthetic_bench.query(123, "test_acc"), rel=1e-6)
    assert r.val_acc != r.test_acc
    assert r.cost_s == pytest.approx(synthetic_bench.query(123, "train_time_s"))
    assert r.epoch == 12 and r.seed == -1
    assert r.params == pytest.approx(synthetic_bench.static["params"][123])
    low = ev.evaluate(arch, fidelity=2)
    assert low.epoch == 2 and low.cost_s < r.cost_s
    with pytest.raises(ValueError, match="fidelity 3 is not stored"):
        ev.evaluate(arch, fidelity=3)


def test_random_seed_mode_picks_stored_seeds(synthetic_bench):
    ev = TabularEvaluator(synthetic_bench, seed_mode="random")
    arch = synthetic_bench.space.arch(7)
    answers = {ev.evaluate(arch, None, s).seed: ev.evaluate(arch, None, s).val_acc for s in range(10)}
    assert set(answers) == {0, 1}
    assert answers[1] == pytest.approx(synthetic_bench.metrics["val_acc"][7, 1, -1])
    with pytest.raises(ValueError, match="seed_mode"):
        TabularEvaluator(synthetic_bench, seed_mode="first")


def test_failed_rows_give_failed_results(synthetic_bench_with_failures):
    b = synthetic_bench_with_failures
    failed_index = int(np.flatnonzero(np.isnan(b.table("val_acc")))[0])
    r = TabularEvaluator(b).evaluate(b.space.arch(failed_index))
    assert r.status == "failed" and not r.ok and math.isnan(r.val_acc)


def test_query_budget_incumbent_and_regret(synthetic_bench):
    ev = TabularEvaluator(synthetic_bench)
    t = run_search(RandomSearch, ev, seed=0, budget=Budget(queries=40))
    vals = t.column("val_acc")
    assert len(t) == 40 and t.column("step") == list(range(40))
    # the incumbent is the best validation accuracy seen so far, never the test accuracy
    running_best = np.maximum.accumulate(vals)
    assert t.column("incumbent_val_acc") == pytest.approx(running_best.tolist())
    best_row = int(np.argmax(vals))
    assert t.incumbent.arch == t.column("arch")[best_row]
    expected_regret = synthetic_bench.best_test_acc() - synthetic_bench.query(t.incumbent.arch, "test_acc")
    assert t.regret == pytest.approx(expected_regret, rel=1e-5)
    regrets = t.column("regret")
    assert all(a >= b for a, b in zip(regrets, regrets[1:]))


def test_sim_seconds_budget_stops_before_overrunning(synthetic_bench):
    ev = TabularEvaluator(synthetic_bench)
    t = run_search(RandomSearch, ev, seed=4, budget=Budget(queries=None, sim_seconds=1000.0))
    assert t.sim_time_s <= 1000.0
    # the next proposal of the same seed would have overrun the budget
    longer = run_search(RandomSearch, ev, seed=4, budget=Budget(queries=len(t) + 1))
    assert longer.sim_time_s > 1000.0


def test_queries_at_reduced_fidelity_cost_less(synthetic_bench):
    ev = TabularEvaluator(synthetic_bench)
    arch = synthetic_bench.space.arch(0)
    low = run_search(scripted([arch], fidelity=1), ev, seed=0, budget=Budget(queries=3))
    full = run_search(scripted([arch]), ev, seed=0, budget=Budget(queries=3))
    assert set(low.column("epoch")) == {1} and set(full.column("epoch")) == {12}
    assert low.sim_time_s == pytest.approx(full.sim_time_s / 12)
    run = run_search(scripted([arch]), ev, seed=0, budget=Budget(queries=2), fidelity=4)
    assert set(run.column("epoch")) == {4}


def test_failed_results_are_recorded_and_told(synthetic_bench_with_failures):
    b = synthetic_bench_with_failures
    failed = b.space.arch(int(np.flatnonzero(np.isnan(b.table("val_acc")))[0]))
    good = b.space.arch(int(np.flatnonzero(~np.isnan(b.table("val_acc")))[0]))
    holder: list = []
    t = run_search(scripted([failed, good, failed], holder=holder), TabularEvaluator(b), 0, Budget(queries=6))
    assert t.column("status") == ["failed", "ok", "failed"] * 2
    assert [r.status for _, r in holder[0].told] == ["failed", "ok", "failed"] * 2
    assert t.column("incumbent_arch")[0] == ""  # nothing valid yet
    assert t.incumbent.arch == b.space.to_string(good)


def test_workers_finish_a_budget_in_a_fraction_of_the_time():
    bench = make_synthetic_benchmark()
    ev = TabularEvaluator(bench)
    one = run_search(RandomSearch, ev, seed=0, budget=Budget(queries=200), num_workers=1)
    four = run_search(RandomSearch, ev, seed=0, budget=Budget(queries=200), num_workers=4)
    assert len(one) == len(four) == 200
    assert four.sim_time_s == pytest.approx(one.sim_time_s / 4, rel=0.15)
    times = four.column("sim_time_s")
    assert times == sorted(times)  # results arrive in the order they finish


def test_budget_validation():
    with pytest.raises(ValueError, match="both are null"):
        Budget(queries=None, sim_seconds=None)
    with pytest.raises(ValueError, match="queries must be >= 1"):
        Budget(queries=0)
    with pytest.raises(ValueError, match="workers must be >= 1"):
        run_search(RandomSearch, TabularEvaluator(make_synthetic_benchmark()), 0, Budget(5), num_workers=0)


def test_low_fidelity_results_never_become_the_incumbent(synthetic_bench):
    ev = TabularEvaluator(synthetic_bench)
    a, b = synthetic_bench.space.arch(0), synthetic_bench.space.arch(1)

    class Mixed(Scripted):
        def ask(self):
            self.i += 1
            return Query(a, 1) if self.i % 2 else b

    t = run_search(lambda context: Mixed(context, [a]), ev, seed=0, budget=Budget(queries=4))
    assert t.column("epoch") == [1, 12, 1, 12]
    assert t.column("incumbent_arch") == ["", *[synthetic_bench.archs[1]] * 3]
    assert t.incumbent.epoch == 12
    low_only = run_search(lambda context: Scripted(context, [a], fidelity=1), ev, seed=0, budget=Budget(queries=3))
    assert low_only.incumbent is None and math.isnan(low_only.regret)


def test_validation_loss_objective_picks_the_lowest_loss():
    from naslab.objectives import validation_loss

    bench = make_synthetic_benchmark()
    # decouple loss from accuracy so the two objectives disagree
    bench.metrics["val_loss"] = np.random.default_rng(0).permutation(bench.metrics["val_loss"])
    by_loss = run_search(RandomSearch, TabularEvaluator(bench), 0, Budget(queries=60), objective=validation_loss())
    by_acc = run_search(RandomSearch, TabularEvaluator(bench), 0, Budget(queries=60))
    assert by_loss.column("arch") == by_acc.column("arch")
    assert by_loss.incumbent.val_loss == min(by_loss.column("val_loss"))
    assert by_acc.incumbent.val_acc == max(by_acc.column("val_acc"))
    assert by_loss.incumbent.arch != by_acc.incumbent.arch
