"""Evaluation time is measured beside training time, stored in built files, and charged on request."""

from __future__ import annotations

import dataclasses
import json

import h5py
import numpy as np
import pytest

from naslab.benchmarks.tabular import load_benchmark, write_benchmark
from naslab.errors import InvalidValueError
from naslab.evaluators.tabular import TabularEvaluator

torch = pytest.importorskip("torch")

from naslab import build  # noqa: E402
from naslab.evaluators.train import CacheMismatchError, TrainEvaluator  # noqa: E402
from naslab.spaces import get_space  # noqa: E402
from naslab.training.data import load_dataset  # noqa: E402
from naslab.training.trainer import METRIC_NAMES, Recipe, train_plain, train_seeds  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")
SPACE = get_space("nb201")
ARCH = SPACE.from_string("|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|")
TINY = Recipe(train_size=64, val_size=64, test_size=32, epochs=3, batch_size=32, channels=4,
              eval_epochs=(1, 3), precise_bn=True)


@pytest.fixture(scope="module")
def splits():
    return load_dataset("digits", TINY.train_size, TINY.val_size, TINY.test_size)


@pytest.mark.parametrize("trainer", ["fast", "plain"])
def test_evaluation_time_is_cumulative_and_apart_from_training_time(splits, trainer) -> None:
    record = train_seeds(ARCH, TINY, splits, [0, 1]) if trainer == "fast" else train_plain(ARCH, TINY, splits, 0)
    evaluating, training = record.metrics["eval_time_s"], record.metrics["train_time_s"]
    assert (evaluating[:, 0] > 0).all() and (evaluating[:, 1] > evaluating[:, 0]).all()  # one more eval pass
    # the evaluation passes (precise-BN over 64 images + 64 val + 32 test) are not in the training time,
    # which counts 3 epochs of 64 images forward and backward: measured apart, they are not equal
    assert not np.allclose(evaluating, training)


def test_a_diverged_training_keeps_the_evaluation_time_it_spent(splits) -> None:
    poisoned = dataclasses.replace(splits, train_x=torch.full_like(splits.train_x, float("nan")))
    record = train_seeds(ARCH, TINY, poisoned, [0, 1])
    assert record.diverged.all() and np.isnan(record.metrics["val_acc"]).all()
    assert (record.metrics["eval_time_s"] > 0).all()


def _with_eval_time(bench):
    seconds = np.full_like(bench.metrics["train_time_s"], 2.5)
    return dataclasses.replace(bench, metrics={**bench.metrics, "eval_time_s": seconds})


def test_tabular_cost_train_plus_eval_charges_both_stored_times(synthetic_bench) -> None:
    bench = _with_eval_time(synthetic_bench)
    arch = SPACE.arch(123)
    trained = TabularEvaluator(bench).evaluate(arch, fidelity=4)
    both = TabularEvaluator(bench, cost="train+eval").evaluate(arch, fidelity=4)
    assert both.cost_s == pytest.approx(trained.cost_s + 2.5)
    assert both.val_acc == trained.val_acc
    assert "eval_time_s" in TabularEvaluator(bench, cost="train+eval").metric_sources()["cost_s"]
    assert "eval_time_s" not in TabularEvaluator(bench).metric_sources()["cost_s"]


def test_evaluation_cost_from_a_file_without_it_or_an_unknown_cost_is_one_sentence(synthetic_bench) -> None:
    with pytest.raises(InvalidValueError, match=r"stores no eval_time_s .*use evaluator.cost=train"):
        TabularEvaluator(synthetic_bench, cost="train+eval")
    with pytest.raises(InvalidValueError, match=r"cost='eval' is not understood; expected one of \['train', 'train\+eval'\]"):
        TabularEvaluator(synthetic_bench, cost="eval")


def test_the_shipped_digits_benchmark_predates_evaluation_time() -> None:
    # the committed file was built before eval_time_s existed: cost=train+eval must say so, not charge 0
    from naslab.benchmarks import get as get_benchmark

    with pytest.raises(InvalidValueError, match="stores no eval_time_s"):
        TabularEvaluator(get_benchmark("digits"), cost="train+eval")


TRAIN_RECIPE = {"train_size": 48, "val_size": 48, "test_size": 32, "epochs": 2, "eval_epochs": [1, 2],
                "batch_size": 16, "channels": 4, "precise_bn": True}


def test_train_evaluator_charges_evaluation_on_request_and_refuses_an_older_cache(tmp_path) -> None:
    arch = SPACE.arch(321)
    kw = dict(recipe=TRAIN_RECIPE, device="cpu", seeds=[0])
    trained = TrainEvaluator(cache_path=tmp_path / "a.h5", **kw)
    first = trained.evaluate(arch)
    both = TrainEvaluator(cache_path=tmp_path / "a.h5", cost="train+eval", **kw).evaluate(arch)  # from the cache
    stored = load_benchmark(tmp_path / "a.h5").metrics
    row = SPACE.index(arch)
    assert both.cost_s == pytest.approx(float(stored["train_time_s"][row, 0, -1]) + float(stored["eval_time_s"][row, 0, -1]))
    assert both.cost_s > first.cost_s and both.val_acc == first.val_acc

    # a cache written before eval_time_s existed: fine for cost=train, refused for train+eval
    old = load_benchmark(tmp_path / "a.h5")
    write_benchmark(tmp_path / "old.h5", dataclasses.replace(
        old, metrics={k: v for k, v in old.metrics.items() if k != "eval_time_s"}))
    assert TrainEvaluator(cache_path=tmp_path / "old.h5", **kw).evaluate(arch).val_acc == first.val_acc
    with pytest.raises(CacheMismatchError, match="without eval_time_s"):
        TrainEvaluator(cache_path=tmp_path / "old.h5", cost="train+eval", **kw)


def test_a_build_folder_started_before_evaluation_time_is_refused(tmp_path) -> None:
    plan = build.BuildPlan("nb201", Recipe(**{**TRAIN_RECIPE, "eval_epochs": (1, 2)}), (0,), chunk_size=1, limit_classes=2)
    manifest = build.prepare_work_dir(tmp_path, plan, "cmd")
    assert manifest["metrics"] == list(METRIC_NAMES)
    assert build.prepare_work_dir(tmp_path, plan, "cmd") == manifest  # the same naslab resumes it
    older = {k: v for k, v in manifest.items() if k != "metrics"}
    (tmp_path / build.MANIFEST).write_text(json.dumps(older))
    with pytest.raises(build.BuildError, match=r"started by a naslab that stores the metrics .*finish it with that version, or delete it"):
        build.prepare_work_dir(tmp_path, plan, "cmd")


def test_built_files_store_evaluation_time(tmp_path) -> None:
    plan = build.BuildPlan("nb201", Recipe(**{**TRAIN_RECIPE, "eval_epochs": (1, 2)}), (0, 1), chunk_size=2, limit_classes=2)
    build.prepare_work_dir(tmp_path / "work", plan, "cmd")
    build.run_shard(plan, tmp_path / "work", 0, 1, workers=1)
    out = build.merge(plan, tmp_path / "work", tmp_path / "b.h5")
    with h5py.File(out) as f:
        done = f["complete"][()]
        seconds = f["metrics/eval_time_s"][()][done]
        assert done.sum() > 0 and (seconds > 0).all() and (seconds[:, :, 1] > seconds[:, :, 0]).all()
        assert "evaluation" in json.loads(f.attrs["description"])["eval_time_s"]
