"""REINFORCE, Optuna samplers, Hyperband/BOHB, NSGA-II, Pareto geometry, objectives, workers.

The shared contract suite (test_strategy_contract.py) checks budgets, validity,
determinism and failures for every registered strategy; these tests check what each
of these strategies is *supposed to do*.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from naslab import strategies
from naslab.app import register_resolvers, run_from_config
from naslab.evaluators.tabular import TabularEvaluator
from naslab.objectives import ScalarizedObjective, scalarized
from naslab.pareto import (
    hypervolume,
    non_dominated_sort,
    pareto_mask,
    pareto_rows,
    to_minimisation,
    trajectory_front,
)
from naslab.results import Result, failed_result
from naslab.runner import Budget, run_search
from naslab.spaces import get_space
from naslab.strategies.base import Query, SearchContext, validation_accuracy
from naslab.strategies.hyperband import BOHB, Hyperband, bracket_sizes, rung_fidelities
from naslab.strategies.reinforce import ExponentialMovingAverage, LSTMReinforce, Reinforce

CONF = Path(__file__).resolve().parent.parent / "naslab" / "conf"
SPACE = get_space("nb201")
TARGET = (2, 0, 3, 1, 4, 2)


def context(seed: int = 0, fidelities=(1,), workers: int = 1) -> SearchContext:
    return SearchContext(space=SPACE, rng=np.random.default_rng(seed), fidelities=fidelities, num_workers=workers)


def matches(arch) -> int:
    return sum(a == t for a, t in zip(arch, TARGET))


def toy_result(arch, value: float, epoch: int = 1) -> Result:
    return Result(arch=SPACE.to_string(arch), val_acc=value, epoch=epoch)


def factory(name: str, **overrides):
    return strategies.factory(name, **overrides)


# ----- REINFORCE -------------------------------------------------------------------------
def test_moving_average_baseline_is_bias_corrected_like_nb201():
    ema = ExponentialMovingAverage(0.9)
    ema.update(10.0)
    assert ema.value == pytest.approx(10.0)  # no pull towards the zero start
    ema.update(20.0)
    assert ema.value == pytest.approx((0.9 * 0.1 * 10 + 0.1 * 20) / (0.9 * 0.1 + 0.1))


@pytest.mark.parametrize("temperature, entropy_weight", [(1.0, 0.0), (0.5, 0.3), (2.0, 1.0)])
def test_softmax_policy_gradient_matches_finite_differences(temperature, entropy_weight):
    policy = Reinforce(context(1), temperature=temperature, entropy_weight=entropy_weight, init_scale=0.7)
    arch, advantage = (1, 4, 0, 2, 3, 1), 1.7

    def objective(logits: np.ndarray) -> float:
        saved = policy.logits
        policy.logits = logits
        p = policy.probabilities()
        policy.logits = saved
        log_prob = sum(math.log(p[d, a]) for d, a in enumerate(arch))
        entropy = -float(np.sum(p * np.log(p)))
        return advantage * log_prob + entropy_weight * entropy

    numeric = np.zeros_like(policy.logits)
    for index in np.ndindex(policy.logits.shape):
        step = np.zeros_like(policy.logits)
        step[index] = 1e-6
        numeric[index] = (objective(policy.logits + step) - objective(policy.logits - step)) / 2e-6
    np.testing.assert_allclose(policy.gradient(arch, advantage), numeric, rtol=1e-5, atol=1e-7)


def test_positive_advantage_makes_the_told_arch_more_likely_and_negative_less():
    for sign in (+1.0, -1.0):
        policy = Reinforce(context(2), learning_rate=0.05)
        arch = (3, 1, 4, 0, 2, 2)
        before = np.prod([policy.probabilities()[d, a] for d, a in enumerate(arch)])
        policy._update(arch, sign * 5.0)
        after = np.prod([policy.probabilities()[d, a] for d, a in enumerate(arch)])
        assert (after - before) * sign > 0


@pytest.mark.parametrize("cls, steps", [(Reinforce, 600), (LSTMReinforce, 400)])
def test_controller_learns_the_rewarded_decisions(cls, steps):
    """Reward = number of decisions equal to a target: the policy must converge on it."""
    policy = cls(context(3), learning_rate=0.05)
    for _ in range(steps):
        arch = policy.ask()
        policy.tell(arch, toy_result(arch, float(matches(arch))))
    final = policy.ask_batch(50)
    assert np.mean([matches(a) for a in final]) > 5.0  # random: 1.2 of 6


def test_rank_shaping_and_failures_give_bounded_rewards():
    policy = Reinforce(context(4), reward_shaping="rank")
    arch = SPACE.sample(np.random.default_rng(0))
    assert policy._reward(failed_result("x")) is None  # nothing to compare a failure with yet
    rewards = [policy._reward(toy_result(arch, v)) for v in (50.0, 70.0, 60.0)]
    assert rewards == [1.0, 1.0, pytest.approx(2 / 3)]
    assert policy._reward(failed_result("x")) == pytest.approx(1 / 3)  # as bad as the worst so far


def test_lstm_controller_is_reproducible():
    runs = []
    for _ in range(2):
        policy = LSTMReinforce(context(5), batch_size=4)
        archs = []
        for _ in range(12):
            arch = policy.ask()
            policy.tell(arch, toy_result(arch, float(matches(arch))))
            archs.append(arch)
        runs.append(archs)
    assert runs[0] == runs[1]
    assert len(set(runs[0])) > 6  # a policy that has not collapsed: the runs could have differed


# ----- Hyperband / BOHB ------------------------------------------------------------------
def test_rungs_and_bracket_sizes_follow_hyperband_table():
    # Li et al. 2018, Table 1 (R = 81, eta = 3), on epochs 1..81
    assert rung_fidelities(tuple(range(1, 82)), 3, None, None) == [1, 3, 9, 27, 81]
    assert [bracket_sizes(5, 3, s) for s in (4, 3, 2, 1, 0)] == [
        [81, 27, 9, 3, 1], [34, 11, 3, 1], [15, 5, 1], [8, 2], [5]
    ]
    # NB201's BOHB: budgets 12 * 3^-i rounded down to stored epochs
    assert rung_fidelities((1, 2, 4, 8, 12), 3, None, None) == [1, 4, 12]
    assert rung_fidelities((1, 2, 4, 8, 12), 2, 2, 8) == [2, 4, 8]
    with pytest.raises(ValueError, match="stored epochs"):
        rung_fidelities((1, 2, 4), 3, 3, None)


def test_hyperband_schedule_promotes_the_best_of_each_rung():
    hb = Hyperband(context(6, fidelities=(1, 2, 4, 8, 12)), eta=3)
    asked = []
    for _ in range(9 + 3 + 1 + 5 + 1 + 3 + 9):  # brackets s = 2, 1, 0, then s = 2 again
        query = hb.ask()
        asked.append(query)
        hb.tell(query.arch, toy_result(query.arch, float(matches(query.arch)), epoch=query.fidelity))
    fidelities = [q.fidelity for q in asked]
    assert fidelities == [1] * 9 + [4] * 3 + [12] + [4] * 5 + [12] + [12] * 3 + [1] * 9
    first_rung = sorted(asked[:9], key=lambda q: -matches(q.arch))
    assert {q.arch for q in asked[9:12]} == {q.arch for q in first_rung[:3]}
    assert asked[12].arch == max(asked[9:12], key=lambda q: matches(q.arch)).arch


def test_successive_halving_repeats_the_most_exploratory_bracket():
    sh = factory("successive_halving")(context=context(7, fidelities=(1, 2, 4, 8, 12)))
    fidelities = []
    for _ in range(26):
        query = sh.ask()
        fidelities.append(query.fidelity)
        sh.tell(query.arch, toy_result(query.arch, 1.0, epoch=query.fidelity))
    assert fidelities == ([1] * 9 + [4] * 3 + [12]) * 2


def test_waiting_brackets_let_idle_workers_start_another_bracket():
    hb = Hyperband(context(8, fidelities=(1, 2, 4, 8, 12), workers=4), eta=3)
    first = [hb.ask() for _ in range(9)]
    extra = hb.ask()  # rung 1 of bracket 1 waits for 9 results: bracket s = 1 starts
    assert extra.fidelity == 4 and len(hb.active) == 2
    for q in first:
        hb.tell(q.arch, toy_result(q.arch, float(matches(q.arch)), epoch=1))
    promoted = hb.ask()
    assert promoted.fidelity == 4 and promoted.arch in {q.arch for q in first}


def test_failed_results_are_never_promoted():
    hb = Hyperband(context(9, fidelities=(1, 2, 4, 8, 12)), eta=3, brackets="most_exploratory")
    queries = [hb.ask() for _ in range(9)]
    for i, q in enumerate(queries):
        result = failed_result(SPACE.to_string(q.arch), epoch=1) if i >= 1 else toy_result(q.arch, 1.0)
        hb.tell(q.arch, result)
    assert hb.ask() == Query(queries[0].arch, 4)
    hb.tell(queries[0].arch, toy_result(queries[0].arch, 1.0, epoch=4))
    assert hb.ask().fidelity == 12


def test_a_promotion_pays_the_whole_training_to_its_epoch(synthetic_bench):
    evaluator = TabularEvaluator(synthetic_bench)
    trajectory = run_search(factory("successive_halving"), evaluator, seed=0, budget=Budget(queries=13))
    rows = list(zip(trajectory.column("arch"), trajectory.column("epoch"), trajectory.column("cost_s")))
    promoted = [r for r in rows if r[1] == 4]
    assert len(promoted) == 3
    for arch, _, cost in promoted:
        full = evaluator.evaluate(SPACE.from_string(arch), 4).cost_s
        from_one = full - evaluator.evaluate(SPACE.from_string(arch), 1).cost_s
        assert cost == pytest.approx(full) and cost > from_one  # retrained from scratch (NB201)


def test_bohb_model_samples_the_good_region():
    bohb = BOHB(context(10, fidelities=(1, 2, 4, 8, 12)))
    rng = np.random.default_rng(1)
    for _ in range(60):
        arch = SPACE.sample(rng)
        bohb.observe(arch, 12, float(matches(arch)))
    proposals = [bohb.sample_new(1) for _ in range(200)]
    assert np.mean([matches(a) for a in proposals]) > 1.5  # uniform sampling: 6 / 5 = 1.2


# ----- Optuna wrappers -------------------------------------------------------------------
def test_optuna_strategies_tell_failures_as_failed_trials(synthetic_bench_with_failures):
    pytest.importorskip("optuna")
    from naslab.strategies.optuna_sampler import OptunaSampler

    evaluator = TabularEvaluator(synthetic_bench_with_failures)
    built = []

    def make(context):
        built.append(OptunaSampler(context, sampler="tpe"))
        return built[-1]

    trajectory = run_search(make, evaluator, seed=0, budget=Budget(queries=120))
    states = [t.state.name for t in built[0].study.trials]
    assert states.count("FAIL") == trajectory.column("status").count("failed") > 0
    assert states.count("COMPLETE") == trajectory.column("status").count("ok")


def test_missing_optuna_is_one_clear_sentence(monkeypatch):
    from naslab.strategies.optuna_sampler import import_optuna

    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ModuleNotFoundError, match=r"needs optuna.*pip install 'naslab\[bo\]'"):
        import_optuna()


# ----- Pareto geometry -------------------------------------------------------------------
def test_pareto_mask_and_sort_on_a_hand_made_set():
    points = np.array([[1, 5], [2, 3], [4, 1], [3, 4], [2, 3], [5, 5]], dtype=float)
    assert pareto_mask(points).tolist() == [True, True, True, False, True, False]
    fronts = non_dominated_sort(points)
    assert [sorted(f.tolist()) for f in fronts] == [[0, 1, 2, 4], [3], [5]]


def test_hypervolume_hand_computed_2d_and_3d():
    # staircase under (5, 6): (2-1)*1 + (4-2)*3 + (5-4)*5
    assert hypervolume(np.array([[1, 5], [2, 3], [4, 1], [3, 4]]), [5, 6]) == pytest.approx(12.0)
    # points not strictly better than the reference add nothing
    assert hypervolume(np.array([[5, 0], [0, 6]]), [5, 6]) == 0.0
    boxes = np.array([[1, 1, 1], [0, 2, 2]], dtype=float)
    # box A = [1,3]^3 (8), box B = [0,3]x[2,3]x[2,3] (3), overlap [1,3]x[2,3]x[2,3] (2)
    assert hypervolume(boxes, [3, 3, 3]) == pytest.approx(8 + 3 - 2)


@pytest.mark.parametrize("dims", [2, 3])
def test_hypervolume_equals_counting_unit_cells(dims):
    rng = np.random.default_rng(dims)
    for _ in range(20):
        points = rng.integers(0, 6, size=(rng.integers(1, 8), dims)).astype(float)
        reference = [6.0] * dims
        cells = itertools.product(range(6), repeat=dims)  # unit cell [c, c+1]^d is dominated
        count = sum(any(np.all(points <= np.array(c), axis=1)) for c in cells)
        assert hypervolume(points, reference) == pytest.approx(count)


def test_pareto_rows_use_natural_directions_and_skip_failures_and_repeats():
    archs = ["a", "b", "c", "a", "d"]
    values = np.array([[90, 2.0], [80, 1.0], [85, 3.0], [90, 2.0], [np.nan, 0.5]])
    front, front_values = pareto_rows(archs, values, ["val_acc", "params"])
    assert front == ["a", "b"]  # best accuracy first; c is dominated by a; d failed
    assert front_values.tolist() == [[90, 2.0], [80, 1.0]]
    assert to_minimisation(front_values, ["val_acc", "params"]).tolist() == [[-90, 2.0], [-80, 1.0]]


# ----- NSGA-II ---------------------------------------------------------------------------
def test_crowding_distance_hand_computed():
    from naslab.strategies.nsga2 import crowding_distances

    points = np.array([[0.0, 4.0], [1.0, 2.0], [3.0, 1.0], [4.0, 0.0]])
    # ends infinite; inner points: neighbours' gap over the range, summed over both objectives
    assert crowding_distances(points).tolist() == [math.inf, (3 - 0) / 4 + (4 - 1) / 4, (4 - 1) / 4 + (2 - 0) / 4,
                                                   math.inf]
    assert crowding_distances(np.array([[1.0, 5.0], [1.0, 5.0]])).tolist() == [0.0, 0.0]  # all equal: nothing


def test_nsga2_parents_are_the_elite_of_the_last_generation():
    from naslab.strategies.nsga2 import NSGA2

    nsga2 = NSGA2(context(0, workers=6), population_size=4)
    asked = [nsga2.ask() for _ in range(6)]  # all of generation 0 (random), nothing told yet
    assert len(set(asked)) == 6
    # (val_acc, params): a, b, c non-dominated; d and e dominated by b only; f by all but e
    values = [(90, 3.0), (80, 1.0), (85, 2.0), (79, 1.5), (78, 1.2), (70, 5.0)]
    for arch, (acc, params) in zip(asked, values):
        nsga2.tell(arch, Result(arch=SPACE.to_string(arch), val_acc=acc, params=params))
    child = nsga2.ask()  # the first of generation 1: its parents are chosen now
    assert list(nsga2._pending[child]) == [1]
    parents = [arch for arch, _ in nsga2._parents[1]]
    # front 0 = {a, b, c}; front 1 = {d, e} (each dominated only by b): one place left, and
    # both are ends of their front (infinite crowding distance): the first in told order
    assert parents == [asked[0], asked[1], asked[2], asked[3]]


# ----- NSGA-II vs random search ----------------------------------------------------------
def test_nsga2_front_dominates_random_search_front(synthetic_bench):
    evaluator = TabularEvaluator(synthetic_bench)
    objectives = ["val_acc", "params"]
    worst = {"params": float(np.nanmax(synthetic_bench.static["params"]))}
    volumes: dict[str, list[float]] = {"nsga2": [], "random": []}
    for seed in range(5):
        for name in volumes:
            trajectory = run_search(factory(name), evaluator, seed=seed, budget=Budget(queries=300))
            _, entry = trajectory_front(trajectory, objectives, worst)
            volumes[name].append(entry["hypervolume"])
    print(f"\nhypervolume (val_acc vs params, reference {{val_acc: 0, params: {worst['params']:.2f}}}), "
          f"5 seeds x 300 queries: NSGA-II {np.mean(volumes['nsga2']):.4f} "
          f"vs random {np.mean(volumes['random']):.4f}")
    assert np.mean(volumes["nsga2"]) > np.mean(volumes["random"])
    assert sum(n > r for n, r in zip(volumes["nsga2"], volumes["random"])) >= 4


def test_multi_objective_run_writes_pareto_csv_and_hypervolume(tmp_path, synthetic_path):
    pytest.importorskip("optuna")
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=["benchmark=file", f"benchmark.path={synthetic_path}",
                                           "strategy=nsga2", "budget.queries=120"])
    summary = run_from_config(cfg, tmp_path, "nsga2")
    with open(tmp_path / "pareto.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    points = to_minimisation(np.array([[float(r["val_acc"]), float(r["params"])] for r in rows]),
                             ["val_acc", "params"])
    assert rows and pareto_mask(points).all()  # every row is non-dominated
    entry = json.loads((tmp_path / "summary.json").read_text())["pareto"]
    assert entry == summary["pareto"]
    assert entry["size"] == len(rows) and entry["reference_point"]["val_acc"] == 0.0
    assert entry["hypervolume"] == pytest.approx(
        hypervolume(points, to_minimisation(np.array([0.0, entry["reference_point"]["params"]]),
                                            ["val_acc", "params"]))
    )


# ----- scalarized objective --------------------------------------------------------------
def test_scalarized_objective_penalises_the_resource():
    result = Result(arch="x", val_acc=90.0, params=0.3, flops=20.0)
    assert scalarized("params", 10.0)(result) == pytest.approx(87.0)
    assert scalarized("flops", 0.5)(result) == pytest.approx(80.0)
    assert scalarized()(failed_result("x")) == -math.inf
    with pytest.raises(ValueError, match="needs latency_ms"):
        ScalarizedObjective("latency_ms", 1.0)(result)
    with pytest.raises(ValueError, match="resource must be one of"):
        scalarized("accuracy")


def test_scalarized_objective_steers_search_to_smaller_models(synthetic_bench):
    evaluator = TabularEvaluator(synthetic_bench)
    params = {}
    for name, objective in (("accuracy", validation_accuracy), ("scalarized", scalarized("params", 40.0))):
        incumbents = [
            run_search(factory("reinforce"), evaluator, seed=s, budget=Budget(queries=200), objective=objective)
            .incumbent.params
            for s in range(4)
        ]
        params[name] = np.mean(incumbents)
    assert params["scalarized"] < params["accuracy"]


# ----- simulated asynchronous workers ----------------------------------------------------
@pytest.mark.parametrize("workers", [2, 4, 8])
def test_w_workers_spend_a_query_budget_in_about_one_wth_of_the_time(synthetic_bench, workers):
    evaluator = TabularEvaluator(synthetic_bench)
    budget = Budget(queries=400)
    serial = run_search(factory("random"), evaluator, seed=0, budget=budget)
    parallel = run_search(factory("random"), evaluator, seed=0, budget=budget, num_workers=workers)
    total = sum(serial.column("cost_s"))
    assert serial.sim_time_s == pytest.approx(total)
    assert sum(parallel.column("cost_s")) == pytest.approx(total)  # same work, spread over W
    ratio = parallel.sim_time_s / serial.sim_time_s
    # ideal 1/W; a tail of at most one evaluation per worker may run past the rest
    assert 1 / workers <= ratio <= 1 / workers + max(serial.column("cost_s")) / total
    print(f"\n{workers} workers: {parallel.sim_time_s:.0f} s vs {serial.sim_time_s:.0f} s serial "
          f"(ratio {ratio:.3f}, ideal {1 / workers:.3f})")


@pytest.mark.parametrize("name", ["reinforce", "reinforce_lstm", "gp_bo"])
def test_batch_proposals_are_valid_and_distinct_where_promised(name):
    strategy = factory(name)(context=context(11, workers=6))
    for _ in range(12):
        arch = strategy.ask()
        strategy.tell(arch, toy_result(arch, float(matches(arch))))
    batch = strategy.ask_batch(6)
    assert len(batch) == 6 and all(SPACE.validate(a) == a for a in batch)
    if name == "gp_bo":
        assert len(set(batch)) == 6
