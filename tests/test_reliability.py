"""Issue 17: no hang, no silent wrong number, no traceback on bad input, nothing overwritten.

Each test here failed before its fix; docs/reliability.md lists every case with its
before/after behaviour.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from naslab.benchmarks.synthetic import make_synthetic_benchmark
from naslab.evaluators.tabular import TabularEvaluator
from naslab.runner import Budget, run_search
from naslab.strategies.random_search import RandomSearch


class Runaway(AssertionError):
    """The search went on long after any sane budget would have stopped it."""


def bounded(make_strategy, limit: int = 200_000):
    """Wrap a strategy so that a search that never ends fails the test instead of hanging it."""

    def make(context):
        strategy = make_strategy(context=context)
        ask = strategy.ask
        count = [0]

        def counted_ask():
            count[0] += 1
            if count[0] > limit:
                raise Runaway(f"{count[0]} queries and the budget has not ended")
            return ask()

        strategy.ask = counted_ask
        return strategy

    return make


# ----- point 1: every budget ends ----------------------------------------------------------
@pytest.fixture(scope="module")
def timeless_bench():
    """A benchmark without training times (like NAS-Bench-Macro): every query costs 0 s."""
    bench = make_synthetic_benchmark(epochs=(4, 12))
    del bench.metrics["train_time_s"]
    return bench


def test_time_budget_on_a_benchmark_without_training_times_is_refused(timeless_bench):
    evaluator = TabularEvaluator(timeless_bench)
    with pytest.raises(ValueError, match=r"budget\.sim_seconds.*no training times.*budget\.queries"):
        run_search(bounded(RandomSearch), evaluator, seed=0, budget=Budget(queries=None, sim_seconds=20000))
    # with a query budget too, the time budget simply never binds
    trajectory = run_search(RandomSearch, evaluator, seed=0, budget=Budget(queries=30, sim_seconds=20000))
    assert len(trajectory) == 30


def test_time_budget_ends_when_queries_stop_costing_time(synthetic_bench_with_failures):
    """Failed rows charge 0 s: a search that keeps asking for them must still end."""
    bench = synthetic_bench_with_failures
    failed = [bench.space.arch(int(i)) for i in np.flatnonzero(np.isnan(bench.table("val_acc")))[:5]]

    def make(context):
        strategy = RandomSearch(context=context)
        strategy.ask = lambda: failed[0]
        return strategy

    with pytest.raises(ValueError, match=r"cost 0 simulated seconds.*budget\.queries"):
        run_search(bounded(make), TabularEvaluator(bench), seed=0, budget=Budget(queries=None, sim_seconds=1e9))


# ----- point 2: no number that was never measured --------------------------------------------
@pytest.fixture(scope="module")
def digits_bench():
    from naslab.app import EMBEDDED_BENCHMARK
    from naslab.benchmarks.tabular import load_benchmark

    return load_benchmark(EMBEDDED_BENCHMARK)


def _train_recipe(**changes):
    from omegaconf import OmegaConf

    from naslab.app import CONFIG_DIR

    recipe = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "evaluator" / "train.yaml").recipe)
    recipe.update(changes)
    return recipe


def test_train_evaluator_uses_a_reference_only_of_the_same_recipe(digits_bench):
    pytest.importorskip("torch")
    from naslab.evaluators.train import TrainEvaluator

    arch = digits_bench.space.arch(1234)
    same = TrainEvaluator(benchmark=digits_bench, recipe=_train_recipe(), cache_path=None)
    assert same.reference_test_acc(arch) == pytest.approx(digits_bench.table("test_acc")[1234])
    assert "nb201_digits.h5" in same.metric_sources()["regret"]
    other = TrainEvaluator(benchmark=digits_bench, recipe=_train_recipe(epochs=2, eval_epochs=[1, 2]),
                           cache_path=None)
    assert math.isnan(other.reference_test_acc(arch)) and math.isnan(other.best_test_acc())
    assert "recipe differs" in other.metric_sources()["regret"]
    assert "measured" in other.metric_sources()["test_acc"]


def test_a_misspelt_test_metric_is_refused(synthetic_bench):
    with pytest.raises(ValueError, match=r"test_metric 'nosuch' is not in .*test_acc"):
        TabularEvaluator(synthetic_bench, test_metric="nosuch")


def test_without_test_values_regret_is_on_the_validation_metric_and_says_so():
    bench = make_synthetic_benchmark(epochs=(4, 12))
    del bench.metrics["test_acc"]
    evaluator = TabularEvaluator(bench)
    trajectory = run_search(RandomSearch, evaluator, seed=0, budget=Budget(queries=40))
    assert math.isfinite(trajectory.regret) and trajectory.regret >= 0
    assert "val_acc" in evaluator.metric_sources()["regret"]
    assert "no test" in evaluator.metric_sources()["test_acc"]


def test_summary_names_dataset_and_split_of_every_metric(tmp_path):
    from omegaconf import OmegaConf

    from naslab.app import CONFIG_DIR, register_resolvers, run_from_config

    register_resolvers()
    cfg = OmegaConf.load(CONFIG_DIR / "config.yaml")
    cfg.benchmark = OmegaConf.load(CONFIG_DIR / "benchmark" / "digits.yaml")
    cfg.evaluator = OmegaConf.load(CONFIG_DIR / "evaluator" / "tabular.yaml")
    cfg.strategy = OmegaConf.load(CONFIG_DIR / "strategy" / "random.yaml")
    cfg.objective = None
    cfg.budget.queries = 20
    del cfg["defaults"], cfg["hydra"]
    summary = run_from_config(cfg, tmp_path / "run", "random")
    metrics = summary["metrics"]
    assert set(metrics) >= {"val_acc", "test_acc", "regret"}
    assert "digits" in metrics["val_acc"] and "validation" in metrics["val_acc"]
    assert "test" in metrics["test_acc"] and "nb201_digits.h5" in metrics["regret"]


# ----- point 6: run folders are never overwritten or mixed ------------------------------------
def naslab_cli(*args: str, cwd, module: str = "naslab", timeout: int = 180):
    import os
    import subprocess
    import sys

    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_a_folder_holding_another_finished_run_is_refused_unless_overwrite(tmp_path, synthetic_path):
    out = tmp_path / "run"
    common = ["benchmark=file", f"benchmark.path={synthetic_path}", "strategy=random", f"hydra.run.dir={out}"]
    first = naslab_cli(*common, "budget.queries=15", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = {name: (out / name).read_bytes() for name in ("trajectory.csv", "summary.json", ".hydra/config.yaml")}

    again = naslab_cli(*common, "budget.queries=15", cwd=tmp_path)  # the same run: skipped, untouched
    assert again.returncode == 0, again.stderr
    other = naslab_cli(*common, "budget.queries=25", cwd=tmp_path)
    assert other.returncode == 2
    assert "holds a finished run of a different config" in other.stderr and "overwrite=true" in other.stderr
    assert "budget.queries" in other.stderr and "Traceback" not in other.stderr
    assert before == {name: (out / name).read_bytes() for name in before}  # .hydra included

    replaced = naslab_cli(*common, "budget.queries=25", "overwrite=true", cwd=tmp_path)
    assert replaced.returncode == 0, replaced.stderr
    assert len((out / "trajectory.csv").read_text().splitlines()) == 1 + 25
    assert "budget:\n  queries: 25" in (out / ".hydra" / "config.yaml").read_text()


def test_a_folder_a_run_is_writing_is_refused(tmp_path, synthetic_bench):
    from omegaconf import OmegaConf

    from naslab.jobs import run_job
    from naslab.locks import RunFolderBusy, run_folder_lock

    out = tmp_path / "run"
    cfg = OmegaConf.create({"seed": 0})
    with run_folder_lock(out):
        with pytest.raises(RunFolderBusy, match=r"is being written by another run \(pid \d+\)"):
            run_job(cfg, out, "random")
    assert not (out / "trajectory.csv").exists() and not (out / "failed.json").exists()


def test_a_second_run_started_into_a_busy_folder_never_mixes_with_it(tmp_path, synthetic_path):
    """A long run is writing; a short one into the same folder must neither write results nor
    leave its config there: the folder's config is the one of its results."""
    import json
    import os
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}

    def start(queries: int) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "naslab", "benchmark=file", f"benchmark.path={synthetic_path}",
                                 "strategy=random", f"budget.queries={queries}", f"hydra.run.dir={out}"],
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    long_run = start(150_000)
    deadline = time.monotonic() + 120
    while not (out / ".hydra" / "config.yaml").is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(3)  # let it get past start-up into the search
    short = start(10)
    _, short_err = short.communicate(timeout=300)
    _, long_err = long_run.communicate(timeout=300)
    assert long_run.returncode == 0, long_err
    assert short.returncode == 2 and "is being written by another run" in short_err, short_err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["budget"]["queries"] == 150_000
    assert len((out / "trajectory.csv").read_text().splitlines()) == 1 + 150_000
    assert "queries: 150000\n" in (out / ".hydra" / "config.yaml").read_text()
    assert "budget.queries=150000" in (out / ".hydra" / "overrides.yaml").read_text()


def test_stray_temp_files_of_a_killed_cache_write_are_removed(tmp_path):
    pytest.importorskip("torch")
    from naslab.evaluators.train import TrainEvaluator

    cache = tmp_path / "cache.h5"
    stray = tmp_path / ".cache.h5.k3j_x9.tmp"  # what write_benchmark's mkstemp leaves on kill -9
    stray.write_bytes(b"half an HDF5 file")
    unrelated = tmp_path / ".other.h5.abc.tmp"
    unrelated.write_bytes(b"someone else's")
    TrainEvaluator(recipe=_train_recipe(epochs=2, eval_epochs=[1, 2]), cache_path=cache)
    assert not stray.exists() and unrelated.exists()


# ----- point 7: no outcome that only looks like success ----------------------------------------
def test_a_run_where_every_evaluation_failed_says_so_and_exits_non_zero(tmp_path):
    import json

    from naslab.benchmarks.tabular import write_benchmark

    bench = make_synthetic_benchmark(epochs=(4, 12))
    bench.metrics["val_acc"][...] = np.nan
    path = write_benchmark(tmp_path / "all_failed.h5", bench)
    out = tmp_path / "run"
    proc = naslab_cli("benchmark=file", f"benchmark.path={path}", "strategy=random", "budget.queries=12",
                      f"hydra.run.dir={out}", cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert "every one of the 12 evaluations failed" in proc.stderr and "Traceback" not in proc.stderr
    summary = json.loads((out / "summary.json").read_text())  # the folder still records what happened
    assert summary["num_failed"] == 12 and summary["incumbent"] is None


def test_a_diverged_retraining_exits_non_zero(tmp_path):
    pytest.importorskip("torch")
    import json

    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    out = tmp_path / "run"
    proc = naslab_cli(f"arch={arch}", "recipe.lr=1e12", "recipe.epochs=2", "recipe.train_size=64",
                      "recipe.val_size=64", "recipe.test_size=64", "recipe.channels=4", "device=cpu",
                      f"output_dir={out}", cwd=tmp_path, module="naslab.train")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "diverged" in proc.stderr and "Traceback" not in proc.stderr
    assert json.loads((out / "metrics.json").read_text())["status"] == "failed"


# ----- point 8: a printed command works, or is not printed ------------------------------------
def test_no_retrain_command_for_a_space_without_a_trainer():
    from naslab.app import retrain_command

    assert retrain_command("00000012", "cifar10", "nasbench_macro") is None
    assert retrain_command("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "cifar10-valid", "nb201")


def test_naslab_train_refuses_a_space_it_cannot_train(tmp_path):
    from omegaconf import OmegaConf

    from naslab.app import CONFIG_DIR
    from naslab.train import RetrainError, retrain

    cfg = OmegaConf.load(CONFIG_DIR / "train.yaml")
    cfg.pop("hydra")
    cfg.arch, cfg.space = "00000012", "nasbench_macro"
    with pytest.raises(RetrainError, match="space 'nasbench_macro' has no trainer yet"):
        retrain(cfg, tmp_path)
