"""The surrogate benchmark: fit on a sample, one file, numpy inference, the evaluator, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("xgboost")
pytest.importorskip("h5py")

from naslab.benchmarks.sample import sample_of_table  # noqa: E402
from naslab.benchmarks.tabular import BenchmarkFileError, load_benchmark  # noqa: E402
from naslab.evaluators.surrogate_benchmark import SurrogateBenchmarkEvaluator  # noqa: E402
from naslab.spaces import InvalidArchError  # noqa: E402
from naslab.surrogates import benchmark_model as bm  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DIGITS = REPO / "naslab" / "data" / "nb201_digits.h5"


@pytest.fixture(scope="module")
def sample():
    return sample_of_table(load_benchmark(DIGITS), 300, 60, seed=0)


@pytest.fixture(scope="module")
def model_file(sample, tmp_path_factory) -> Path:
    model = bm.fit(bm.SampleData.of(sample), sample.space, "xgb", seed=0, num_trees=60)
    return bm.write_model(tmp_path_factory.mktemp("m") / "nb201_surrogate.h5", model, sample)


def test_sample_of_table_keeps_every_seed_of_the_multi_seed_rows_only(sample) -> None:
    table = load_benchmark(DIGITS)
    assert sample.kind == "sample" and sample.num_archs == 300
    trained = np.isfinite(sample.metrics["val_acc"][:, :, -1]).sum(axis=1)
    assert (trained[:60] == 6).all() and (trained[60:] == 1).all()
    row = table.index_of(sample.archs[7])
    np.testing.assert_array_equal(sample.metrics["val_acc"][7], table.metrics["val_acc"][row])
    keys = {sample.space.canonical(sample.space.from_string(a)) for a in sample.archs}
    assert len(keys) == 300


def test_the_file_answers_like_the_fitted_model_and_like_xgboost(sample, model_file) -> None:
    import xgboost as xgb

    data = bm.SampleData.of(sample)
    fitted = bm.fit(data, sample.space, "xgb", seed=0, num_trees=60)
    loaded = bm.read_model(model_file)
    archs = data.archs[:50]
    for key, values in fitted.predict(archs).items():
        np.testing.assert_array_equal(loaded.predict(archs)[key], values, err_msg=key)
        # one row walks the numpy forest of all targets at once; a batch asks XGBoost
        np.testing.assert_allclose(loaded.predict(archs[:1])[key], values[:1], rtol=1e-5, err_msg=key)
    # the flattened trees against XGBoost's own prediction of the stored UBJ bytes
    import h5py

    with h5py.File(model_file) as f:
        booster = xgb.Booster(model_file=bytearray(f["surrogate/val/xgboost_ubj/member_0"][()].tobytes()))
    x = bm.encode(sample.space, archs, loaded.encoding)
    target = loaded.targets["val"]
    ours = target.forest.predict_members(x)[0]
    np.testing.assert_allclose(ours, booster.inplace_predict(x), atol=1e-5)
    # the sample inside is a sample benchmark; predictions follow the data
    assert load_benchmark(model_file).archs == sample.archs
    mean = np.nanmean(data.val, axis=1)
    assert np.corrcoef(fitted.predict(data.archs)["val"], mean)[0, 1] > 0.8


def test_fitting_is_deterministic_to_the_byte(sample, model_file, tmp_path) -> None:
    again = bm.fit(bm.SampleData.of(sample), sample.space, "xgb", seed=0, num_trees=60)
    path = bm.write_model(tmp_path / "again.h5", again, sample)
    assert path.read_bytes() == model_file.read_bytes()
    other = bm.fit(bm.SampleData.of(sample), sample.space, "xgb", seed=1, num_trees=60)
    assert not np.array_equal(other.predict(bm.SampleData.of(sample).archs[:20])["val"],
                              again.predict(bm.SampleData.of(sample).archs[:20])["val"])


def test_heldout_evaluation_compares_with_one_seed(sample) -> None:
    data = bm.SampleData.of(sample)
    for family in ("xgb", "mlp"):
        result = bm.heldout_evaluation(data, sample.space, family, seed=0, fraction=0.3, num_trees=60)
        assert result["heldout_archs"] == 18 and result["train_rows"] == 282 and result["seeds"] == 6
        assert 0.15 < result["kendall_tau_one_seed"] < 0.9  # digits' seeds disagree, but not completely
        assert result["kendall_tau_surrogate"] > 0.1  # a model that learnt nothing is near 0
    with pytest.raises(bm.SurrogateModelError, match="at least 6 architectures trained with every seed"):
        bm.heldout_evaluation(data.subset(np.arange(60, 300)), sample.space)


def test_the_evaluator_draws_noise_from_the_trial_seed(model_file) -> None:
    bench = load_benchmark(model_file)
    noisy = SurrogateBenchmarkEvaluator(bench, noise="seed")
    mean = SurrogateBenchmarkEvaluator(bench, noise="none")
    arch = bench.archs[3]
    exact = mean.evaluate(arch)
    assert exact.predicted and exact.val_acc == mean.evaluate(arch, trial_seed=9).val_acc
    assert exact.cost_s > 0 and mean.reference_test_acc(arch) == exact.test_acc
    draws = np.array([noisy.evaluate(arch, trial_seed=s).val_acc for s in range(12)])
    assert noisy.evaluate(arch, trial_seed=5).val_acc == draws[5]
    # one of six virtual trainings per arch (the sample's seeds), like a table's seed_mode random
    np.testing.assert_array_equal(draws[:6], draws[6:])
    assert len(set(draws[:6])) == 6
    many = SurrogateBenchmarkEvaluator(bench, noise="seed", virtual_seeds=400)
    draws = np.array([many.evaluate(arch, trial_seed=s).val_acc for s in range(400)])
    noise = mean.model.predict([bench.space.from_string(arch)])["noise"][0]
    assert noise > 0 and draws.std() == pytest.approx(noise, rel=0.2)
    assert draws.mean() == pytest.approx(exact.val_acc, abs=4 * noise / 20)
    other_arch = bench.archs[4]
    assert many.evaluate(other_arch, trial_seed=0).val_acc - mean.evaluate(other_arch).val_acc != pytest.approx(
        draws[0] - exact.val_acc)  # each arch has its own draws
    assert noisy.best_test_acc() == pytest.approx(max(mean.reference_test_acc(a) for a in bench.archs))
    assert "negative where a search beats" in noisy.metric_sources()["regret"]
    # any architecture of the space, not only the sample's
    other = next(a for a in bench.space.all_strings if a not in set(bench.archs))
    assert mean.evaluate(other).val_acc == mean.evaluate(bench.space.from_string(other)).val_acc
    with pytest.raises(InvalidArchError):
        mean.evaluate("|conv~0|")
    with pytest.raises(ValueError, match="predicts epoch 6 only"):
        mean.evaluate(arch, fidelity=2)


def test_a_sample_without_model_is_refused_by_the_evaluator(sample, tmp_path) -> None:
    path = sample.save(tmp_path / "plain.h5")
    with pytest.raises(bm.SurrogateModelError, match="holds no surrogate model; fit one"):
        SurrogateBenchmarkEvaluator(load_benchmark(path))
    from naslab.evaluators.tabular import TabularEvaluator

    with pytest.raises(BenchmarkFileError, match="fit a surrogate benchmark on it"):
        TabularEvaluator(load_benchmark(path))


def _run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_cli_fits_shows_and_refuses_in_one_sentence(tmp_path) -> None:
    out = tmp_path / "fit.h5"
    proc = _run("-m", "naslab.surrogate_benchmark", "fit", f"sample={DIGITS}", "sample_archs=200",
                "sample_multi_seed=40", "compare=xgb", f"output={out}")
    assert proc.returncode == 0, proc.stderr
    assert "held-out (xgb" in proc.stderr and "vs one seed" in proc.stderr
    meta = bm.read_model(out).meta
    assert set(meta["heldout"]) == {"xgb"} and meta["fitted_rows"] == 200
    show = _run("-m", "naslab.surrogate_benchmark", "show", str(out))
    assert show.returncode == 0 and "held-out xgb: 12 held-out archs x 6 seeds" in show.stdout
    for args, message in [
        ((f"sample={DIGITS}", f"output={out}"), "is a full table; pass sample_archs=N sample_multi_seed=M"),
        ((f"sample={out}", f"output={out}", "family=gin"), "family 'gin' is not one of xgb, mlp"),
        ((f"sample={tmp_path / 'none.h5'}", f"output={out}"), "does not exist"),
        (("sampel=x",), "'sampel=x' is not a key=value option"),
    ]:
        bad = _run("-m", "naslab.surrogate_benchmark", "fit", *args)
        assert bad.returncode == 2 and message in bad.stderr and "Traceback" not in bad.stderr, bad.stderr


def test_a_search_on_the_surrogate_benchmark(model_file, tmp_path) -> None:
    run = tmp_path / "run"
    proc = _run("-m", "naslab", "benchmark=darts_digits", f"benchmark.path={model_file}", "strategy=random",
                "budget.queries=30", f"hydra.run.dir={run}")  # darts_digits selects evaluator=surrogate_benchmark
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["config"]["evaluator"]["_target_"].endswith("SurrogateBenchmarkEvaluator")
    assert "surrogate benchmark" in json.dumps(summary)
    tabular = _run("-m", "naslab", "benchmark=file", f"benchmark.path={model_file}", f"hydra.run.dir={tmp_path / 't'}")
    assert tabular.returncode != 0 and "search it with evaluator=surrogate_benchmark" in tabular.stderr


def test_the_embedded_darts_benchmark_works_out_of_the_box(tmp_path) -> None:
    """`python -m naslab benchmark=darts_digits strategy=evolution` on the shipped files: the
    surrogate was fitted on the shipped sample, answers DARTS genotypes, and a search on it
    finds an architecture predicted at least as good as the sample's median."""
    shipped = REPO / "naslab" / "data"
    sample = load_benchmark(shipped / "darts_digits_sample.h5")
    assert sample.space.name == "darts" and len(sample.archs) >= 2000
    run = tmp_path / "run"
    proc = _run("-m", "naslab", "benchmark=darts_digits", "strategy=evolution", "budget.queries=200",
                f"hydra.run.dir={run}")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["incumbent"]["arch"].startswith("Genotype(normal=[")
    median = float(np.nanmedian(np.nanmean(sample.metrics["val_acc"][:, :, -1], axis=1)))
    assert summary["incumbent"]["val_acc"] > median
