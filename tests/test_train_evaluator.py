"""evaluator=train: trains once per canonical class, caches in HDF5, charges measured time."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from naslab.benchmarks.tabular import load_benchmark  # noqa: E402
from naslab.evaluators.train import CacheMismatchError, TrainEvaluator  # noqa: E402
from naslab.spaces import get_space  # noqa: E402

SPACE = get_space("nb201")


pytestmark = pytest.mark.usefixtures("one_torch_thread")
RECIPE = {
    "train_size": 48, "val_size": 48, "test_size": 48, "epochs": 2, "eval_epochs": [1, 2],
    "batch_size": 16, "channels": 4, "test_every_epoch": True,
}


def _isomorphic_pair() -> tuple[tuple[int, ...], tuple[int, ...]]:
    ids = SPACE.canonical_ids
    for c in range(200, 400):
        members = np.flatnonzero(ids == c)
        if len(members) >= 2:
            return SPACE.arch(int(members[-1])), SPACE.arch(int(members[0]))
    raise AssertionError("no isomorphic pair found")


def _evaluator(tmp_path, **kw) -> TrainEvaluator:
    return TrainEvaluator(recipe=kw.pop("recipe", RECIPE), cache_path=tmp_path / "cache.h5", device="cpu", **kw)


def test_trains_once_shares_isomorphic_archs_and_persists(tmp_path) -> None:
    a, b = _isomorphic_pair()
    ev = _evaluator(tmp_path)
    first = ev.evaluate(a)
    assert first.ok and ev.trainings == 1
    assert first.arch == SPACE.to_string(a) and first.epoch == 2 and first.cost_s > 0
    again = ev.evaluate(a)
    twin = ev.evaluate(b)  # same canonical class: no new training, same numbers
    assert ev.trainings == 1
    assert again == first
    assert (twin.val_acc, twin.val_loss, twin.cost_s) == (first.val_acc, first.val_loss, first.cost_s)
    assert twin.arch == SPACE.to_string(b)

    low = ev.evaluate(a, fidelity=1)  # a lower fidelity is read from the same curve
    assert ev.trainings == 1 and 0 < low.cost_s < first.cost_s

    other = SPACE.from_string("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
    ev.evaluate(other)
    assert ev.trainings == 2

    # a fresh evaluator on the same cache trains nothing and answers the same
    fresh = _evaluator(tmp_path)
    assert fresh.evaluate(b) == twin and fresh.evaluate(other).ok
    assert fresh.trainings == 0
    bench = load_benchmark(tmp_path / "cache.h5")  # the cache is a valid naslab benchmark
    members = np.flatnonzero(SPACE.canonical_ids == SPACE.canonical_ids[SPACE.index(a)])
    assert bench.complete[members].all() and bench.complete.sum() == len(members) + np.sum(
        SPACE.canonical_ids == SPACE.canonical_ids[SPACE.index(other)]
    )


def test_same_seed_same_result_in_a_new_cache(tmp_path) -> None:
    arch = SPACE.arch(1234)
    r1 = _evaluator(tmp_path / "one").evaluate(arch)
    r2 = _evaluator(tmp_path / "two").evaluate(arch)
    assert (r1.val_acc, r1.val_loss, r1.test_acc) == (r2.val_acc, r2.val_loss, r2.test_acc)


def test_nan_training_gives_failed_result_and_is_cached(tmp_path) -> None:
    ev = _evaluator(tmp_path)
    splits = ev._ensure_splits()
    ev._splits = dataclasses.replace(splits, train_x=torch.full_like(splits.train_x, float("nan")))
    result = ev.evaluate(SPACE.arch(77))
    assert result.status == "failed" and math.isnan(result.val_acc) and result.cost_s > 0
    assert ev.evaluate(SPACE.arch(77)).status == "failed" and ev.trainings == 1


def test_cache_of_another_recipe_is_refused(tmp_path) -> None:
    _evaluator(tmp_path).evaluate(SPACE.arch(5))
    with pytest.raises(CacheMismatchError, match="another recipe"):
        _evaluator(tmp_path, recipe={**RECIPE, "lr": 0.05})


def test_unknown_fidelity_and_dataset_are_one_sentence(tmp_path) -> None:
    ev = _evaluator(tmp_path)
    with pytest.raises(ValueError, match="stored epochs: \\[1, 2\\]"):
        ev.evaluate(SPACE.arch(5), fidelity=7)
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        TrainEvaluator(dataset="mnist", cache_path=None)
    assert ev.fidelities == (1, 2)
    assert math.isnan(ev.best_test_acc())


def test_a_search_runs_with_evaluator_train(tmp_path, synthetic_path) -> None:
    """python -m naslab ... evaluator=train: every query is a real (tiny) training, cached."""
    import csv
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    cache = tmp_path / "cache.h5"
    out = tmp_path / "run"
    recipe = [f"evaluator.recipe.{k}={v}" for k, v in RECIPE.items() if k != "eval_epochs"]
    proc = subprocess.run(
        [sys.executable, "-m", "naslab", "benchmark=file", f"benchmark.path={synthetic_path}",
         "strategy=random", "evaluator=train", *recipe, "evaluator.recipe.eval_epochs=[1,2]",
         "evaluator.device=cpu", "evaluator.threads=1", f"evaluator.cache_path={cache}", "budget.queries=4", f"hydra.run.dir={out}"],
        cwd=repo, capture_output=True, text=True, timeout=300, env={**os.environ, "HYDRA_FULL_ERROR": "0"},
    )
    assert proc.returncode == 0, proc.stderr
    with open(out / "trajectory.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and all(row["status"] == "ok" for row in rows)
    assert all(float(row["cost_s"]) > 0 for row in rows)
    bench = load_benchmark(cache)
    for row in rows:  # what the search saw is what the cache holds
        index = bench.index_of(row["arch"])
        assert bench.complete[index]
        assert float(row["val_acc"]) == pytest.approx(float(bench.metrics["val_acc"][index, 0, -1]))
