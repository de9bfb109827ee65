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
    command = [sys.executable, "-m", module, *args] if module else [sys.executable, *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


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


@pytest.mark.slow  # a 150,000-query run (about 20 s alone, minutes on a loaded machine)
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
    from naslab.spaces.base import NotTrainableError
    from naslab.train import retrain

    cfg = OmegaConf.load(CONFIG_DIR / "train.yaml")
    cfg.pop("hydra")
    cfg.arch, cfg.space = "00000012", "nasbench_macro"
    with pytest.raises(NotTrainableError, match="search space 'nasbench_macro' has no network builder"):
        retrain(cfg, tmp_path)


# ----- points 4 and 5: bad benchmark files are refused on load, in one sentence ----------------
def _swap_rows(f):
    archs = f["archs"][()]
    archs[[10, 11]] = archs[[11, 10]]
    del f["archs"]
    f.create_dataset("archs", data=archs)


def _replace(name, data):
    def action(f):
        del f[name]
        f.create_dataset(name, data=data)

    return action


def _negative_time(f):
    values = f["metrics/train_time_s"][()]
    values[5, 0, 1] = -3.0
    f["metrics/train_time_s"][...] = values


def _metrics_as_dataset(f):
    del f["metrics"]
    f.create_dataset("metrics", data=np.zeros(3, np.float32))


def _archs_2d(f):
    archs = f["archs"][()]
    del f["archs"]
    f.create_dataset("archs", data=np.stack([archs, archs], axis=1))


BAD_FILES = [
    # (change to a valid file, what the one sentence must say)
    (_swap_rows, "row 10 is"),
    (_negative_time, "metrics/train_time_s has negative values"),
    (_replace("epochs", np.array([b"one", b"two", b"four", b"eight", b"twelve"])), "/epochs holds"),
    (_replace("epochs", np.array([1.0, 2.5, 4.0, 8.0, 12.0])), "/epochs holds"),
    (_replace("seeds", np.array([b"a", b"b"])), "/seeds holds"),
    (_metrics_as_dataset, "/metrics is a dataset"),
    (_replace("complete", np.zeros((3, 3), bool)), "complete has shape"),
    (_archs_2d, "/archs has shape"),
    (lambda f: f["metrics"].create_group("nested"), "/metrics/nested is a group"),
]


@pytest.mark.parametrize(("change", "expected"), BAD_FILES)
def test_bad_benchmark_files_are_refused_in_one_sentence(tmp_path, synthetic_path, change, expected):
    import shutil

    import h5py

    from naslab.benchmarks.tabular import BenchmarkFileError, load_benchmark

    path = tmp_path / "bad.h5"
    shutil.copy(synthetic_path, path)
    with h5py.File(path, "r+") as f:
        if "complete" not in f:
            f.create_dataset("complete", data=np.ones(15625, bool))
        change(f)
    with pytest.raises(BenchmarkFileError) as info:
        load_benchmark(path)
    message = str(info.value)
    assert str(path) in message and expected in message and "\n" not in message


# ----- point 5: bad build knobs are refused on parse ----------------------------------------
@pytest.mark.parametrize(("knob", "value", "expected"), [
    ("limit_classes", 0, "limit_classes=0 must be a whole number >= 1 or null"),
    ("limit_classes", -3, "limit_classes=-3 must be a whole number >= 1 or null"),
    ("chunk_size", 0, "chunk_size=0 must be a whole number >= 1"),
    ("chunk_size", -2, "chunk_size=-2 must be a whole number >= 1"),
])
def test_bad_build_knobs_are_refused(knob, value, expected):
    from omegaconf import OmegaConf

    from naslab.app import CONFIG_DIR
    from naslab.build import BuildError, plan_from_config

    cfg = OmegaConf.load(CONFIG_DIR / "build.yaml")
    cfg.pop("hydra")
    cfg.space = "nb201"  # what the defaults list selects when Hydra composes it
    cfg[knob] = value
    with pytest.raises(BuildError, match=expected):
        plan_from_config(cfg)


# ----- point 4: one sentence instead of a traceback ---------------------------------------------
def test_naslab_train_without_arch_is_one_sentence(tmp_path):
    proc = naslab_cli(f"output_dir={tmp_path / 'out'}", cwd=tmp_path, module="naslab.train")
    assert proc.returncode == 2
    assert "no architecture given; pass arch=" in proc.stderr and "Traceback" not in proc.stderr


@pytest.fixture
def without_torch(tmp_path):
    """A PYTHONPATH on which `import torch` fails as it does where torch is not installed."""
    import os

    fake = tmp_path / "no_torch" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n")
    return f"{fake.parent}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"


@pytest.mark.parametrize("module", ["naslab.train", "naslab"])
def test_a_missing_torch_names_the_extra_to_install(tmp_path, without_torch, monkeypatch, module):
    monkeypatch.setenv("PYTHONPATH", without_torch)
    args = ["arch=|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", f"output_dir={tmp_path / 'o'}"] \
        if module == "naslab.train" else ["evaluator=train", "budget.queries=2", f"hydra.run.dir={tmp_path / 'r'}"]
    proc = naslab_cli(*args, cwd=tmp_path, module=module)
    assert proc.returncode == 2, proc.stderr
    assert "needs torch" in proc.stderr and "pip install 'naslab[train]'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_an_unknown_strategy_knob_is_named_with_the_valid_ones(tmp_path, synthetic_path):
    proc = naslab_cli("benchmark=file", f"benchmark.path={synthetic_path}", "+strategy.no_such_knob=3",
                      f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert proc.returncode == 2
    assert "strategy.no_such_knob is not a knob of" in proc.stderr and "population_size" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) <= 2


def test_an_output_folder_that_cannot_be_made_is_one_sentence(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    proc = naslab_cli("budget.queries=5", f"hydra.run.dir={blocker / 'run'}", cwd=tmp_path)
    assert proc.returncode == 2
    assert f"cannot write the run folder {blocker / 'run'}" in proc.stderr and "Traceback" not in proc.stderr


def test_a_read_only_run_folder_is_one_sentence(tmp_path):
    """As root, chmod cannot make a folder read-only: os.open refuses the folder's files instead."""
    out = tmp_path / "run"
    script = (
        "import errno, os, runpy, sys\n"
        "real = os.open\n"
        "def refuse(path, *a, **k):\n"
        f"    if str(path).startswith({str(out)!r}):\n"
        "        raise OSError(errno.EROFS, 'Read-only file system', str(path))\n"
        "    return real(path, *a, **k)\n"
        "os.open = refuse\n"
        f"sys.argv = ['naslab', 'budget.queries=5', 'hydra.run.dir={out}']\n"
        "runpy.run_module('naslab', run_name='__main__')\n"
    )
    proc = naslab_cli("-c", script, cwd=tmp_path, module="")
    assert proc.returncode == 2, proc.stderr
    assert f"cannot write the run folder {out}: Read-only file system" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(("code", "words"), [("ENOSPC", "No space left on device"), ("EROFS", "Read-only file system"),
                                             ("EACCES", "Permission denied")])
def test_a_full_or_read_only_disk_is_one_sentence(tmp_path, synthetic_path, code, words):
    """The run folder can be made but not written (as root, chmod cannot simulate it)."""

    script = (
        "import errno, runpy, sys, tempfile\n"
        "def refuse(*a, **k):\n"
        f"    raise OSError(errno.{code}, {words!r}, k.get('dir') or (a[2] if len(a) > 2 else '?'))\n"
        "tempfile.mkstemp = refuse\n"
        f"sys.argv = ['naslab', 'benchmark=file', 'benchmark.path={synthetic_path}', 'budget.queries=5',\n"
        f"            'hydra.run.dir={tmp_path / 'run'}']\n"
        "runpy.run_module('naslab', run_name='__main__')\n"
    )
    proc = naslab_cli("-c", script, cwd=tmp_path, module="")
    assert proc.returncode == 2, proc.stderr
    assert f"cannot write in {tmp_path / 'run'}: {words}" in proc.stderr and "Traceback" not in proc.stderr


def test_report_skips_a_corrupt_run_folder_with_one_line(tmp_path, synthetic_path, capsys):
    pytest.importorskip("matplotlib")
    from naslab.analysis.report import main

    sweep = tmp_path / "sweep"
    for seed in (0, 1):
        proc = naslab_cli("benchmark=file", f"benchmark.path={synthetic_path}", "strategy=random",
                          "budget.queries=10", f"seed={seed}", f"hydra.run.dir={sweep / f'seed{seed}'}", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    (sweep / "seed1" / "summary.json").write_text("{ truncated")
    code = main([str(sweep), "--out", str(tmp_path / "report"), "--formats", "png"])
    assert code == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "skipped" in line]
    assert notes == [f"report.py: note: skipped unreadable run folder {sweep / 'seed1'}: "
                     "Expecting property name enclosed in double quotes: line 1 column 3 (char 2)"]
    assert any((tmp_path / "report").iterdir())


# ----- point 3: evaluator=train runs one thread by default ------------------------------------
def test_train_evaluator_trains_on_one_thread_by_default(monkeypatch):
    """Even where something raised torch's thread count (or NASLAB_THREADS=0 left torch's default)."""
    torch = pytest.importorskip("torch")
    from omegaconf import OmegaConf

    import naslab.training.trainer as trainer
    from naslab.app import CONFIG_DIR
    from naslab.evaluators.train import TrainEvaluator

    seen = []

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        raise RuntimeError("stop after the thread check")  # cached as a failed training

    monkeypatch.setattr(trainer, "train_seeds", spy)
    knobs = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "evaluator" / "train.yaml"))
    knobs = {k: v for k, v in knobs.items() if not k.startswith("_")}
    knobs.update(cache_path=None, recipe=_train_recipe(epochs=1, eval_epochs=[1], train_size=16, val_size=16,
                                                       test_size=16))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        evaluator = TrainEvaluator(**knobs)
        result = evaluator.evaluate(evaluator.space.arch(77))
    finally:
        torch.set_num_threads(before)
    assert seen == [1] and result.status == "failed"


# ----- point 10: figures and tables a reviewer would not question --------------------------
def _run(strategy: str, seed: int, final_acc: float, queries: int = 30, best: float = 95.0, summary=None):
    """A finished run whose incumbent climbs to ``final_acc`` (regret = best - accuracy)."""
    from pathlib import Path

    from naslab.analysis.runs import NUMERIC_COLUMNS, Run

    rng = np.random.default_rng(seed)
    incumbent = np.maximum.accumulate(np.linspace(final_acc - 8, final_acc, queries) + rng.normal(0, 0.1, queries))
    incumbent[-1] = final_acc
    columns = {name: np.zeros(queries) for name in NUMERIC_COLUMNS}
    columns.update(step=np.arange(queries, dtype=float), epoch=np.full(queries, 12.0), val_acc=incumbent,
                   test_acc=incumbent, params=rng.uniform(0.1, 1.5, queries), cost_s=np.full(queries, 10.0),
                   sim_time_s=10.0 * np.arange(1, queries + 1), incumbent_val_acc=incumbent,
                   incumbent_test_acc=incumbent, regret=best - incumbent)
    return Run(folder=Path(f"/runs/{strategy}/seed{seed}"), strategy=strategy, benchmark="bench", seed=seed,
               summary=summary or {}, columns=columns, archs=[f"a{i}" for i in range(queries)],
               status=["ok"] * queries)


def _capture_figures(monkeypatch, module):
    figures = []
    monkeypatch.setattr(module, "save_figure", lambda fig, out, stem, formats: figures.append(fig) or [])
    return figures


EIGHT = ("random", "evolution", "genetic", "local_search", "reinforce", "bananas", "tpe", "hyperband")


def test_many_strategies_differ_by_line_style_and_marker_not_only_colour(monkeypatch, tmp_path):
    pytest.importorskip("matplotlib")
    import argparse

    from naslab.analysis import anytime
    from naslab.analysis.runs import RunSet
    from naslab.analysis.style import STRATEGY_COLOURS, strategy_style

    pairs = {(strategy_style(s)["linestyle"], strategy_style(s)["marker"]) for s in STRATEGY_COLOURS}
    assert len(pairs) == len(STRATEGY_COLOURS)
    runs = RunSet(runs=[_run(s, seed, 90 + i * 0.1) for i, s in enumerate(EIGHT) for seed in range(3)])
    figures = _capture_figures(monkeypatch, anytime)
    anytime.make(runs, tmp_path, argparse.Namespace(formats=("png",)))
    lines = [line for line in figures[0].axes[0].get_lines() if not line.get_label().startswith("_")]
    assert len(lines) == 8
    assert all(line.get_marker() not in (None, "None", "") for line in lines)
    assert len({(line.get_linestyle(), line.get_marker()) for line in lines}) == 8


def test_regret_bands_are_drawn_in_log_space_and_labelled_in_percentage_points(monkeypatch, tmp_path):
    pytest.importorskip("matplotlib")
    import argparse

    from naslab.analysis import anytime
    from naslab.analysis.runs import REGRET_FLOOR, RunSet

    # final regrets 0.002 .. 2: mean - se is far below the floor
    runs = RunSet(runs=[_run("random", seed, 95.0 - 10.0 ** (seed - 3), best=95.0) for seed in range(4)])
    figures = _capture_figures(monkeypatch, anytime)
    anytime.make(runs, tmp_path, argparse.Namespace(formats=("png",)))
    regret_ax = figures[0].axes[0]
    assert "percentage points" in regret_ax.get_ylabel() and "%" not in regret_ax.get_ylabel()
    band = regret_ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() > REGRET_FLOOR / 2  # not clipped to the floor: a log-space band stays positive


def test_no_pareto_figure_for_single_objective_runs_and_one_reference_point(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    import argparse
    import csv

    from naslab.analysis import pareto_fronts
    from naslab.analysis.runs import RunSet
    from naslab.pareto import hypervolume, to_minimisation

    args = argparse.Namespace(formats=("png",), accuracy="val_acc", cost="params")
    single = RunSet(runs=[_run("random", seed, 90.0) for seed in range(2)])
    assert pareto_fronts.make(single, tmp_path / "a", args, multi_objective_only=True) == []
    assert "no multi-objective run on bench" in capsys.readouterr().err

    recorded = {"reference_point": {"val_acc": 0.0, "params": 1.6}, "hypervolume": None}
    multi = RunSet(runs=[_run("nsga2", seed, 90.0, summary={"pareto": recorded}) for seed in range(2)])
    written = pareto_fronts.make(multi, tmp_path / "b", args, multi_objective_only=True)
    assert any(p.name.endswith("_hypervolume.csv") for p in written)
    run = multi.runs[0]
    points = np.stack([run.columns["val_acc"], run.columns["params"]], axis=1)
    expected = hypervolume(to_minimisation(points, ("val_acc", "params")), to_minimisation(np.array([0.0, 1.6]),
                                                                                            ("val_acc", "params")))
    curve = pareto_fronts.hypervolume_by_query(run, "val_acc", "params", 12.0,
                                               pareto_fronts.figure_reference(multi.runs, "val_acc", "params", points))
    assert curve[-1] == pytest.approx(expected)
    with open(next(p for p in written if p.name.endswith("_hypervolume.csv")), newline="") as f:
        assert len(list(csv.DictReader(f))) == 30


def test_final_table_ranks_by_mean_and_bolds_only_what_a_paired_test_supports():
    from naslab.analysis.final_table import cells, markdown
    from naslab.analysis.runs import RunSet

    seeds = range(10)
    noise = np.random.default_rng(0).normal(0, 0.5, 10)
    runs = RunSet(runs=[
        *[_run("random", s, 90.0 + noise[s]) for s in seeds],             # clearly worse than both
        *[_run("evolution", s, 92.0 + noise[s] + 0.3 * (-1) ** s) for s in seeds],  # the best mean
        *[_run("tpe", s, 92.0 + noise[s] - 0.3 * (-1) ** s - 0.01) for s in seeds],  # a hair lower: a tie
    ])
    text = markdown(runs, cells(runs))
    rows = [line.split("|")[1:-1] for line in text.splitlines()[2:] if line.startswith("| ")]
    assert [r[0].strip() for r in rows] == ["evolution", "tpe", "random"]  # ranked by mean
    bold = {r[0].strip() for r in rows if r[1].strip().startswith("**")}
    assert bold == {"evolution", "tpe"}  # tpe is not significantly worse; random is (p < 0.05)
    assert "regret (pp)" in text.splitlines()[0] and "Wilcoxon" in text


# ----- point 11: `slow` tests are left out of the default run --------------------------------
def test_slow_tests_are_excluded_by_default_and_run_with_m_slow(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    probe = tmp_path / "test_probe.py"
    probe.write_text("import pytest\n\n@pytest.mark.slow\ndef test_slow():\n    pass\n\ndef test_fast():\n    pass\n")

    def collected(*args: str) -> list[str]:
        done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                               "-c", str(repo / "pyproject.toml"), "--rootdir", str(tmp_path), *args, str(probe)],
                              capture_output=True, text=True, timeout=120)
        return [line.split("::")[-1] for line in done.stdout.splitlines() if "::" in line]

    assert collected() == ["test_fast"]
    assert collected("-m", "slow") == ["test_slow"]
