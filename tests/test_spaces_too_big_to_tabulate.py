"""Spaces that cannot be enumerated (DARTS, ~1e18): what works without an index, and what refuses."""

from __future__ import annotations

import numpy as np
import pytest

from naslab.benchmarks.synthetic import SyntheticEvaluator, SyntheticFunction, make_synthetic_benchmark
from naslab.benchmarks.tabular import BenchmarkFileError, TabularBenchmark, write_benchmark
from naslab.errors import NaslabError
from naslab.spaces import get_space
from naslab.spaces.base import NotEnumerableError
from naslab.surrogates import features


@pytest.fixture(scope="module")
def darts():
    return get_space("darts")


def test_enumerable_is_size_against_the_limit(darts):
    assert get_space("nb201").enumerable and not darts.enumerable
    assert darts.enumeration_limit < darts.size


def test_encodings_are_computed_on_demand(darts):
    rng = np.random.default_rng(0)
    archs = np.array([darts.sample(rng) for _ in range(7)])
    x = features.encode(darts, archs, "auto")
    assert x.shape == (7, len(features.feature_names(darts, "auto"))) and x.dtype == np.float32
    assert np.array_equal(x[2:3], features.encode(darts, archs[2:3], "auto"))
    with pytest.raises(NotEnumerableError, match="the onehot encoding of every architecture needs"):
        features.encode_all(darts, "onehot")


def test_online_predictor_learns_without_an_index(darts):
    pytest.importorskip("xgboost")
    from naslab.surrogates.online import OnlinePredictor

    function = SyntheticFunction(darts)
    rng = np.random.default_rng(1)
    train = [darts.sample(rng) for _ in range(200)]
    test = [darts.sample(rng) for _ in range(60)]
    predictor = OnlinePredictor(darts, "xgb", "onehot", regressor_options={"num_members": 2, "num_trees": 100})
    for arch, y in zip(train, function.final_acc(np.array(train))):
        predictor.observe(arch, float(y))
    assert predictor.fit(seed=0)
    mean, std = predictor.predict(test)
    truth = function.final_acc(np.array(test))
    assert mean.shape == std.shape == (60,) and np.corrcoef(mean, truth)[0, 1] > 0.5
    with pytest.raises(NotEnumerableError, match="zero-cost proxies"):
        OnlinePredictor(darts, statics={"synflow": np.zeros(3)})


def test_synthetic_function_plants_the_global_optimum(darts):
    function = SyntheticFunction(darts, seed=3, failed_fraction=0.2)
    rng = np.random.default_rng(2)
    samples = np.array([darts.sample(rng) for _ in range(500)])
    values = function.final_acc(samples)
    assert values.max() < function.best() and 60 < np.median(values) < 85
    # the region around the optimum is good: one or two edits away beats almost every sample
    near = [darts.mutate(darts.mutate(function.planted, rng), rng) for _ in range(50)]
    assert np.median(function.final_acc(np.array(near))) > np.quantile(values, 0.99)
    failed = np.mean([function.failed(tuple(a)) for a in samples])
    assert 0.12 < failed < 0.28 and not function.failed(function.planted)
    again = SyntheticFunction(darts, seed=3, failed_fraction=0.2)
    assert np.array_equal(again.final_acc(samples), values) and again.planted == function.planted


def test_synthetic_evaluator_answers_any_architecture(darts):
    evaluator = SyntheticEvaluator(darts, failed_fraction=0.0)
    arch = darts.sample(np.random.default_rng(4))
    full, early = evaluator.evaluate(arch), evaluator.evaluate(darts.to_string(arch), fidelity=1)
    assert full.ok and full.arch == darts.to_string(arch) and full.epoch == 12
    assert early.val_acc < full.val_acc and early.cost_s < full.cost_s
    assert full.test_acc == pytest.approx(evaluator.reference_test_acc(arch))
    assert evaluator.best_test_acc() == pytest.approx(evaluator.reference_test_acc(evaluator.function.planted))
    with pytest.raises(NaslabError):
        evaluator.evaluate(arch, fidelity=3)


def test_tables_of_such_a_space_are_refused_in_one_sentence(darts, tmp_path):
    with pytest.raises(NotEnumerableError, match="a synthetic tabular benchmark needs"):
        make_synthetic_benchmark("darts")
    rng = np.random.default_rng(5)
    bench = TabularBenchmark(
        space_name="darts", dataset="synthetic", archs=[darts.to_string(darts.sample(rng)) for _ in range(3)],
        epochs=np.array([1], dtype=np.int32), seeds=np.array([0], dtype=np.int32),
        metrics={"val_acc": np.full((3, 1, 1), 50.0, dtype=np.float32)}, static={}, attrs={},
    )
    from naslab.evaluators.tabular import TabularEvaluator

    with pytest.raises(BenchmarkFileError, match="evaluator=tabular needs a full table, but space 'darts' is too big"):
        TabularEvaluator(bench)
    with pytest.raises(BenchmarkFileError, match="a full table of space 'darts' cannot exist"):
        write_benchmark(tmp_path / "darts_table.h5", bench)
    assert not (tmp_path / "darts_table.h5").exists()


def test_train_evaluator_refuses_in_one_sentence():
    pytest.importorskip("torch")
    from naslab.evaluators.train import TrainEvaluator

    with pytest.raises(NotEnumerableError, match="^evaluator=train needs every architecture of search space 'darts'"):
        TrainEvaluator(space="darts")
