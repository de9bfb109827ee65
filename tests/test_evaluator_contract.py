"""naslab's evaluators keep the evaluator contract (``naslab.testing.EvaluatorContract``)."""

from __future__ import annotations

import numpy as np
import pytest

from naslab.evaluators.surrogate import SurrogateEvaluator
from naslab.evaluators.tabular import TabularEvaluator
from naslab.testing import EvaluatorContract


def first_failed_arch(bench):
    return bench.space.arch(int(np.flatnonzero(np.isnan(bench.metric("val_acc")).all(axis=(1, 2)))[0]))


class TestTabularEvaluator(EvaluatorContract):
    @pytest.fixture(params=["mean", "random"])
    def evaluator(self, request, synthetic_bench_with_failures):
        return TabularEvaluator(synthetic_bench_with_failures, seed_mode=request.param)

    @pytest.fixture
    def failing_arch(self, synthetic_bench_with_failures):
        return first_failed_arch(synthetic_bench_with_failures)


class TestBudgetIgnoringEvaluator(EvaluatorContract):
    @pytest.fixture
    def evaluator(self, synthetic_bench_with_failures):
        from naslab.evaluators.budget_ignoring import BudgetIgnoringEvaluator

        return BudgetIgnoringEvaluator(synthetic_bench_with_failures, answer_at=2, budgets=(2, 4, 12))

    @pytest.fixture
    def failing_arch(self, synthetic_bench_with_failures):
        return first_failed_arch(synthetic_bench_with_failures)


class TestSurrogateEvaluator(EvaluatorContract):
    @pytest.fixture(params=["none", "normal"])
    def evaluator(self, request, synthetic_bench):
        return SurrogateEvaluator(synthetic_bench, n_train=100, noise=request.param, num_members=2, num_trees=20)


class TestTrainEvaluator(EvaluatorContract):
    num_archs = 2  # each new canonical class is a real training (about 1 s at this recipe)

    @pytest.fixture(scope="class")
    def evaluator(self, tmp_path_factory):
        pytest.importorskip("torch")
        from naslab.evaluators.train import TrainEvaluator

        recipe = {"train_size": 32, "val_size": 32, "test_size": 32, "epochs": 2, "eval_epochs": [1, 2],
                  "batch_size": 16, "channels": 4, "test_every_epoch": True}
        return TrainEvaluator(recipe=recipe, cache_path=tmp_path_factory.mktemp("train") / "cache.h5", device="cpu")


class TestSurrogateBenchmarkEvaluator(EvaluatorContract):
    @pytest.fixture(scope="class", params=["none", "seed"])
    def evaluator(self, request, tmp_path_factory):
        pytest.importorskip("xgboost")
        from naslab.benchmarks.sample import sample_of_table
        from naslab.benchmarks.tabular import load_benchmark
        from naslab.evaluators.surrogate_benchmark import SurrogateBenchmarkEvaluator
        from naslab.paths import PACKAGE_DIR
        from naslab.surrogates import benchmark_model as bm

        sample = sample_of_table(load_benchmark(PACKAGE_DIR / "data" / "nb201_digits.h5"), 120, 20, seed=0)
        model = bm.fit(bm.SampleData.of(sample), sample.space, "xgb", seed=0, num_members=2, num_trees=20)
        path = bm.write_model(tmp_path_factory.mktemp("sb") / "model.h5", model, sample)
        return SurrogateBenchmarkEvaluator(load_benchmark(path), noise=request.param)
