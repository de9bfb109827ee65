"""The HDF5 tabular format: round trip, validation with one-sentence errors, atomic writes, queries."""

from __future__ import annotations

import dataclasses
import math

import h5py
import numpy as np
import pytest

from naslab.benchmarks import BenchmarkFileError, load_benchmark, write_benchmark
from naslab.benchmarks.synthetic import make_synthetic_benchmark, write_synthetic_benchmark
from naslab.spaces import InvalidArchError


def test_round_trip_keeps_every_array_and_attribute(tmp_path, synthetic_bench):
    path = write_benchmark(tmp_path / "b.h5", synthetic_bench)
    loaded = load_benchmark(path)
    assert loaded.archs == synthetic_bench.archs
    assert loaded.epochs.tolist() == synthetic_bench.epochs.tolist()
    assert loaded.seeds.tolist() == synthetic_bench.seeds.tolist()
    for name, values in synthetic_bench.metrics.items():
        np.testing.assert_array_equal(loaded.metrics[name], values)
    for name, values in synthetic_bench.static.items():
        np.testing.assert_array_equal(loaded.static[name], values)
    assert loaded.attrs["planted_optimum"] == synthetic_bench.attrs["planted_optimum"]
    assert loaded.attrs["units"]["val_acc"] == "percent"
    assert loaded.attrs["recipe"] == {"kind": "synthetic"}
    assert loaded.space_name == "nb201" and loaded.dataset == "synthetic"


def test_synthetic_file_is_byte_reproducible(tmp_path):
    a = write_synthetic_benchmark(tmp_path / "a.h5", seed=3)
    b = write_synthetic_benchmark(tmp_path / "b.h5", seed=3)
    assert a.read_bytes() == b.read_bytes()


def test_planted_optimum_is_the_best_arch(synthetic_bench):
    planted = synthetic_bench.attrs["planted_optimum"]
    assert int(np.nanargmax(synthetic_bench.table("test_acc"))) == planted
    assert int(np.nanargmax(synthetic_bench.table("val_acc"))) == planted


def test_queries(synthetic_bench):
    b = synthetic_bench
    arch = b.archs[42]
    per_seed = b.metrics["val_acc"][42, :, -1]
    assert b.query(arch, "val_acc") == pytest.approx(per_seed.mean(), rel=1e-6)
    assert b.query(42, "val_acc", seed=1) == pytest.approx(per_seed[1])
    assert b.query(arch, "val_acc", epoch=4) == pytest.approx(b.metrics["val_acc"][42, :, 2].mean(), rel=1e-6)
    assert b.table("val_acc", epoch=1).shape == (b.num_archs,)
    with pytest.raises(ValueError, match="epoch 5 is not stored"):
        b.table("val_acc", epoch=5)
    with pytest.raises(InvalidArchError, match=r"'\|none~0\|' is not a NAS-Bench-201 arch string; expected"):
        b.index_of("|none~0|")
    assert b.query(b.space.from_string(arch), "val_acc") == b.query(arch, "val_acc")  # a decision tuple
    with pytest.raises(KeyError, match="metric 'nope'"):
        b.metric("nope")


def test_seed_mean_ignores_failed_seeds():
    b = make_synthetic_benchmark(num_seeds=3)
    b.metrics["val_acc"][0, 1, :] = np.nan
    b.metrics["val_acc"][1, :, :] = np.nan
    table = b.table("val_acc")
    assert table[0] == pytest.approx(np.mean(b.metrics["val_acc"][0, [0, 2], -1]), rel=1e-6)
    assert math.isnan(table[1])


def _corrupt(path, action):
    with h5py.File(path, "a") as f:
        action(f)


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (lambda f: f.attrs.__setitem__("format_version", 99), "format_version is 99"),
        (lambda f: f.__delitem__("epochs"), "/epochs is missing"),
        (lambda f: f["metrics"].__delitem__("val_acc"), "'val_acc' is missing"),
        (lambda f: f["metrics"].create_dataset("extra", data=np.zeros((3, 2), np.float32)), "metrics/extra has shape"),
        (lambda f: f["metrics"].create_dataset("x64", data=np.zeros((15625, 2, 5))), "metrics/x64 is float64"),
        (lambda f: f.attrs.__setitem__("space", "hexagons"), "unknown search space 'hexagons'"),
        (lambda f: f.attrs.__setitem__("units", '{"val_acc": "fraction"}'), "val_acc is in 'fraction'"),
    ],
)
def test_bad_files_get_one_sentence_naming_the_file(tmp_path, synthetic_bench, action, expected):
    path = write_benchmark(tmp_path / "b.h5", synthetic_bench)
    _corrupt(path, action)
    with pytest.raises(BenchmarkFileError) as info:
        load_benchmark(path)
    message = str(info.value)
    assert str(path) in message and expected in message and "\n" not in message


def test_missing_and_non_hdf5_files(tmp_path):
    with pytest.raises(BenchmarkFileError, match="does not exist"):
        load_benchmark(tmp_path / "nope.h5")
    junk = tmp_path / "junk.h5"
    junk.write_text("not hdf5")
    with pytest.raises(BenchmarkFileError, match="not a readable HDF5 file"):
        load_benchmark(junk)


def test_rows_must_follow_the_space_order(tmp_path, synthetic_bench):
    shuffled = dataclasses.replace(synthetic_bench, archs=synthetic_bench.archs[::-1])
    with pytest.raises(BenchmarkFileError, match="row 0 is"):
        write_benchmark(tmp_path / "b.h5", shuffled)


def test_failed_write_leaves_previous_file_and_no_temp(tmp_path, synthetic_bench, monkeypatch):
    path = write_benchmark(tmp_path / "b.h5", synthetic_bench)
    before = path.read_bytes()
    broken = dataclasses.replace(synthetic_bench, metrics=dict(synthetic_bench.metrics))

    class Unwritable:
        shape = (synthetic_bench.num_archs, 2, 5)
        dtype = np.float32

        def __array__(self, *args, **kwargs):
            raise RuntimeError("disk full")

    broken.metrics["zzz"] = Unwritable()  # type: ignore[assignment]
    with pytest.raises(RuntimeError, match="disk full"):
        write_benchmark(path, broken)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.h5"]


def test_batched_queries_match_single_queries(synthetic_bench):
    rng = np.random.default_rng(0)
    n = 1000
    idx = rng.integers(synthetic_bench.num_archs, size=n)
    seeds = rng.integers(2, size=n)
    pos = rng.integers(len(synthetic_bench.epochs), size=n)
    batch = synthetic_bench.query_batch(idx, "val_acc", seeds, pos)
    expected = synthetic_bench.metrics["val_acc"][idx, seeds, pos]
    np.testing.assert_array_equal(batch, expected)


def test_evaluators_take_an_arch_string_or_a_decision_tuple(synthetic_bench):
    from naslab.errors import NaslabError
    from naslab.evaluators.tabular import TabularEvaluator

    evaluator = TabularEvaluator(synthetic_bench)
    text = synthetic_bench.archs[7]
    decision = synthetic_bench.space.from_string(text)
    assert evaluator.evaluate(text) == evaluator.evaluate(decision) == evaluator.evaluate(list(decision))
    assert evaluator.evaluate(text).arch == text
    assert evaluator.reference_test_acc(text) == evaluator.reference_test_acc(decision)
    for bad, expected in [("|conv~0|", "is not a NAS-Bench-201 arch string; expected"),
                          ((9, 0, 0, 0, 0, 0), "is not a valid decision vector; expected 6 integers"),
                          (None, "is not a decision vector of integers")]:
        with pytest.raises(NaslabError, match=expected) as info:
            evaluator.evaluate(bad)
        assert "\n" not in str(info.value)


def test_query_uses_seed_means_computed_once(synthetic_bench):
    b = synthetic_bench
    first = b.query(3, "test_acc", epoch=4)
    assert b._seed_means("test_acc", 2) is b._seed_means("test_acc", 2)  # cached, not re-averaged
    assert first == float(b.table("test_acc", epoch=4)[3])
    table = b.table("test_acc", epoch=4)
    table[3] = -1.0  # callers get a copy: the cache stays right
    assert b.query(3, "test_acc", epoch=4) == first
