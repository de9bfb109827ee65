"""Encodings, the XGBoost ensemble, the surrogate evaluator and the predictor-guided strategies."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import kendalltau

from naslab.benchmarks.synthetic import make_synthetic_benchmark
from naslab.evaluators.surrogate import SurrogateEvaluator
from naslab.evaluators.tabular import TabularEvaluator
from naslab.results import Result, failed_result
from naslab.runner import Budget, run_search
from naslab.spaces import get_space
from naslab.strategies.bananas import Bananas
from naslab.strategies.base import SearchContext
from naslab.strategies.surrogate_evolution import SurrogateEvolution
from naslab.surrogates.features import encode, encode_all, feature_names, resolve_encoding
from naslab.surrogates.online import OnlinePredictor, acquisition_values
from naslab.surrogates.xgb import XGBEnsemble, make_regressor

NB201 = get_space("nb201")
BEST_C10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
FAST_XGB = {"num_members": 3, "num_trees": 30}


def features_of(text: str, kind: str) -> dict[str, float]:
    row = encode(NB201, [NB201.from_string(text)], kind)[0]
    names = feature_names(NB201, kind)
    return {names[i]: float(row[i]) for i in np.flatnonzero(row)}


# ----- encodings -------------------------------------------------------------------------
def test_encoding_widths_for_nb201_and_a_chain_space():
    assert encode_all(NB201, "onehot").shape == (15625, 30)
    assert encode_all(NB201, "path").shape == (15625, 84)  # 4 + 16 + 64 op sequences
    assert encode_all(NB201, "adjacency").shape == (15625, 36)
    assert encode_all(NB201, "path+computed").shape == (15625, 90)
    macro = get_space("nasbench_macro")
    assert resolve_encoding(macro, "auto") == "onehot+computed"
    assert encode_all(macro, "auto").shape == (6561, 24 + 4)
    with pytest.raises(ValueError, match="encoding 'path' is not available for space 'nasbench_macro'"):
        encode_all(macro, "path")


def test_path_encoding_of_hand_checked_cells():
    # paths: edge 3 (skip), 0-4 (3x3, 3x3), 1-5 (3x3, 1x1), 0-2-5 (3x3, 3x3, 1x1)
    assert features_of(BEST_C10, "path") == {
        "path:skip_connect": 1.0,
        "path:nor_conv_3x3>nor_conv_3x3": 1.0,
        "path:nor_conv_3x3>nor_conv_1x1": 1.0,
        "path:nor_conv_3x3>nor_conv_3x3>nor_conv_1x1": 1.0,
    }
    all_skip = (
        "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
    )
    # the two length-2 paths share one op sequence: a count of 2, not a flag
    assert features_of(all_skip, "path") == {
        "path:skip_connect": 1.0,
        "path:skip_connect>skip_connect": 2.0,
        "path:skip_connect>skip_connect>skip_connect": 1.0,
    }
    all_none = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    assert features_of(all_none, "path") == {}


def test_adjacency_ignores_dead_edges_and_computed_counts_live_ops():
    # node 1 feeds nothing that reaches the output (edges 1<-0 live only via 3<-1 = none, 2<-1 = none)
    a = "|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
    b = "|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
    assert features_of(a, "adjacency") == features_of(b, "adjacency")
    assert features_of(a, "onehot") != features_of(b, "onehot")
    # live: 2<-0 conv1x1, 3<-0 skip, 3<-2 conv3x3 -> 2 convs, one 3x3, no pool, one skip, 3 live edges, depth 2
    computed = encode(NB201, [NB201.from_string(a)], "computed")[0].tolist()
    assert computed == [2.0, 1.0, 0.0, 1.0, 3.0, 2.0]
    assert encode(NB201, [NB201.from_string(BEST_C10)], "computed")[0].tolist() == [
        5.0,
        4.0,
        0.0,
        1.0,
        6.0,
        3.0,
    ]


def test_encodings_are_cached_read_only_and_rows_follow_the_index_order():
    first = encode_all(NB201, "path")
    assert encode_all(NB201, "path") is first
    assert not first.flags.writeable
    i = 1234
    np.testing.assert_array_equal(encode(NB201, [NB201.arch(i)], "onehot")[0], NB201.one_hot(NB201.arch(i)))


# ----- regressors ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def synthetic():
    bench = make_synthetic_benchmark()
    return bench, encode_all(bench.space, "onehot"), bench.table("val_acc").astype(np.float64)


def test_xgb_ensemble_is_deterministic_per_seed(synthetic):
    _, X, y = synthetic
    rows = np.arange(100)
    predict = [
        XGBEnsemble(random_state=s, **FAST_XGB).fit(X[rows], y[rows]).predict(X[:500]) for s in (1, 1, 2)
    ]
    np.testing.assert_array_equal(predict[0], predict[1])
    assert not np.array_equal(predict[0], predict[2])
    # the thread count does not change the trees (few trees: 2 threads crawl on a busy machine)
    two = [
        XGBEnsemble(random_state=1, num_members=2, num_trees=5, nthread=t).fit(X[rows], y[rows])
        for t in (1, 2)
    ]
    np.testing.assert_array_equal(two[0].predict(X[:500]), two[1].predict(X[:500]))


def test_xgb_ranks_the_synthetic_benchmark_and_is_less_sure_away_from_its_data(synthetic):
    _, X, y = synthetic
    rows = np.random.default_rng(0).choice(len(y), 300, replace=False)
    rest = np.setdiff1d(np.arange(len(y)), rows)
    model = XGBEnsemble(random_state=0).fit(X[rows], y[rows])
    mean, std = model.predict(X[rest], return_std=True)
    assert kendalltau(mean, y[rest])[0] > 0.6
    assert np.all(std >= 0) and std.mean() > 0
    _, std_train = model.predict(X[rows], return_std=True)
    assert std.mean() > 1.05 * std_train.mean()  # in-bag points are fitted more tightly


def test_warm_start_adds_trees_that_learn_the_new_data_deterministically(synthetic):
    _, X, y = synthetic
    old, new = np.arange(30), np.arange(30, 150)
    both = np.arange(150)

    def grown(seed: int) -> XGBEnsemble:
        return XGBEnsemble(random_state=0, **FAST_XGB).fit(X[old], y[old]).fit_more(X[both], y[both], 20, seed)

    before = XGBEnsemble(random_state=0, **FAST_XGB).fit(X[old], y[old])
    after = grown(5)
    assert [b.num_boosted_rounds() for b in after.boosters_] == [50, 50, 50] and after.rounds_ == 50
    error = [float(np.mean((m.predict(X[new]) - y[new]) ** 2)) for m in (before, after)]
    assert error[1] < 0.7 * error[0]
    np.testing.assert_array_equal(after.predict(X[:500]), grown(5).predict(X[:500]))
    assert not np.array_equal(after.predict(X[:500]), grown(6).predict(X[:500]))


def test_online_predictor_warm_starts_between_cold_fits_at_each_doubling():
    predictor = OnlinePredictor(NB201, "xgb", "onehot", regressor_options=FAST_XGB, warm_start_trees=5)
    models, rounds = [], []
    for step in range(45):
        predictor.observe(NB201.arch(step), float(step % 7))
        if step + 1 in (10, 15, 20, 30, 39, 40, 45):
            predictor.fit(seed=step)
            models.append(predictor.model)
            rounds.append(predictor.model.rounds_)
    # cold at 10, warm at 15, cold at 20 (2 x 10), warm at 30 and 39, cold at 40, warm at 45
    assert [m is models[i - 1] if i else False for i, m in enumerate(models)] == [False, True, False, True, True, False, True]
    assert rounds == [30, 35, 30, 35, 40, 30, 35]
    with pytest.raises(ValueError, match="warm_start_trees >= 0 and cold_refit_growth > 1"):
        OnlinePredictor(NB201, warm_start_trees=-1)


def test_fast_predictions_equal_xgboosts_own_byte_for_byte(synthetic):
    """The direct C call, the per-model cache and warm refits give XGBoost's inplace_predict numbers."""
    _, X, y = synthetic
    model = XGBEnsemble(random_state=3, **FAST_XGB).fit(X[:80], y[:80]).fit_more(X[:120], y[:120], 7, 4)
    for rows in (X[:1], X[200:237], X[:0]):
        expected = np.stack([b.inplace_predict(rows) for b in model.boosters_])
        assert model.predict_margins(rows).tobytes() == expected.tobytes()

    predictor = OnlinePredictor(NB201, "xgb", "onehot", regressor_options=FAST_XGB, warm_start_trees=5)
    for step in range(40):
        predictor.observe(NB201.arch(7 * step), float(step % 5))
    archs = [NB201.arch(i) for i in (3, 1, 3, 500, 9000)]  # a repeat within one call
    for seed in (1, 2):  # a cold fit, then a warm one: the cache must not outlive its model
        predictor.fit(seed)
        first = predictor.predict(archs[:2])
        mean, std = predictor.predict(archs)  # two of them cached now
        x = predictor.features[NB201.indices(np.asarray(archs))]
        expected_mean, expected_std = predictor.model.predict(x, return_std=True)
        assert mean.tobytes() == expected_mean.tobytes() and std.tobytes() == expected_std.tobytes()
        assert first[0].tobytes() == expected_mean[:2].tobytes()


@pytest.mark.parametrize(
    "depth, trees, more, missing",
    [(4, 30, 7, False), (1, 1, 1, False), (1, 6, 2, True), (3, 5, 4, True), (6, 12, 3, True)],
)
def test_predictions_continued_from_earlier_sums_equal_all_trees_byte_for_byte(depth, trees, more, missing):
    """Trees added by warm refits, summed onto the sums of the older ones, give XGBoost's
    numbers for all trees: its predictor starts at the base margin and adds tree by tree
    in float32. Depth-1 trees, a single tree, missing values (default directions)."""
    rng = np.random.default_rng(10 * depth + trees)
    X = rng.integers(0, 4, size=(160, 9)).astype(np.float32)
    y = X[:, 0] - 2 * X[:, 3] * X[:, 5] + rng.normal(size=160)
    rows = np.concatenate([rng.integers(0, 4, size=(40, 9)).astype(np.float32), X[:10]])
    if missing:
        X[rng.random(X.shape) < 0.2] = np.nan
        rows[rng.random(rows.shape) < 0.2] = np.nan
    model = XGBEnsemble(num_members=3, num_trees=trees, max_depth=depth, random_state=1).fit(X[:40], y[:40])
    history = [(model.rounds_, model.predict_margins(rows))]
    for step in range(3):
        model.fit_more(X[: 80 + 40 * step], y[: 80 + 40 * step], more, step)
        whole = model.predict_margins(rows)
        assert whole.tobytes() == np.stack([b.inplace_predict(rows) for b in model.boosters_]).tobytes()
        for rounds, sums in history:  # from the last refit's sums and from older ones
            assert model.predict_margins(rows, rounds, sums).tobytes() == whole.tobytes()
        assert not np.array_equal(model.predict_margins(rows, rounds, sums + 1), whole)
        history.append((model.rounds_, whole))
    assert model.predict_margins(rows, model.rounds_, whole).tobytes() == whole.tobytes()
    with pytest.raises(ValueError, match=r"needs base \[3, 50\]"):
        model.predict_margins(rows, 2, whole[:2])


def test_online_predictor_continues_cached_sums_after_a_warm_refit(monkeypatch):
    """Rows scored before a warm refit get only the new trees, and the same numbers."""
    from naslab.surrogates import online

    predictor = OnlinePredictor(NB201, "xgb", "onehot", regressor_options=FAST_XGB, warm_start_trees=5)
    for step in range(30):
        predictor.observe(NB201.arch(11 * step), float(step % 6))
    predictor.fit(seed=1)
    archs = [NB201.arch(i) for i in range(300, 340)]
    predictor.predict(archs[:30])
    calls = []
    real = XGBEnsemble.predict_margins
    monkeypatch.setattr(XGBEnsemble, "predict_margins", lambda self, X, *more: calls.append((len(X), *more[:1])) or real(self, X, *more))
    for step in range(30, 36):
        predictor.observe(NB201.arch(11 * step), float(step % 6))
    predictor.fit(seed=2)  # warm: 30 + 5 rounds
    monkeypatch.setattr(online, "INCREMENT_MIN_ROW_TREES", 0)
    mean, std = predictor.predict(archs)
    assert calls == [(30, 30), (10,)]  # 30 rows from round 30 on, 10 rows whole
    expected_mean, expected_std = predictor.model.predict(predictor.features[NB201.indices(np.asarray(archs))], return_std=True)
    assert mean.tobytes() == expected_mean.tobytes() and std.tobytes() == expected_std.tobytes()


@pytest.mark.parametrize("name", ["rf", "gp", "mlp", "gbr"])
def test_stand_in_regressors_give_mean_and_std_deterministically(name, synthetic):
    _, X, y = synthetic
    rows = np.arange(60)
    options = {"num_members": 2} if name in ("mlp", "gbr") else {}
    if name == "gbr":
        options["num_trees"] = 20
    fits = [make_regressor(name, random_state=3, **options).fit(X[rows], y[rows]) for _ in range(2)]
    (m0, s0), (m1, s1) = (f.predict(X[100:300], return_std=True) for f in fits)
    assert m0.shape == s0.shape == (200,)
    np.testing.assert_array_equal(m0, m1)
    assert np.all(s0 >= 0) and s0.max() > 0
    assert kendalltau(m0, y[100:300])[0] > 0.2


def test_regressor_errors_are_one_sentence():
    with pytest.raises(ValueError, match="unknown regressor 'svm'; choose from"):
        make_regressor("svm")
    with pytest.raises(ValueError, match="drop failed evaluations first"):
        XGBEnsemble().fit(np.zeros((3, 2)), [1.0, np.nan, 2.0])


# ----- acquisition and the online predictor -------------------------------------------------
def test_acquisition_functions_prefer_what_they_should():
    rng = np.random.default_rng(0)
    mean, std = np.array([1.0, 1.0, 2.0]), np.array([0.1, 1.0, 0.1])
    ucb = acquisition_values("ucb", mean, std, best=2.0, rng=rng)
    assert ucb[1] > ucb[0] and ucb[2] > ucb[0]  # uncertainty and mean both count
    ei = acquisition_values("ei", mean, std, best=2.0, rng=rng)
    assert np.all(ei >= 0) and ei[1] > ei[0]
    its = np.stack([acquisition_values("its", mean, std, 2.0, rng) for _ in range(2000)])
    assert its.std(axis=0)[1] == pytest.approx(1.0, rel=0.1) and its.std(axis=0)[0] == pytest.approx(
        0.1, rel=0.1
    )


def test_online_predictor_imputes_failures_as_the_worst_score():
    predictor = OnlinePredictor(NB201, "xgb", "onehot", regressor_options=FAST_XGB)
    predictor.observe(NB201.arch(0), float("-inf"))
    assert predictor.fit(seed=0) is False  # nothing finite yet
    predictor.observe(NB201.arch(1), 80.0)
    predictor.observe(NB201.arch(2), 90.0)
    assert predictor.targets().tolist() == [80.0, 80.0, 90.0]
    assert predictor.fit(seed=0) is True and predictor.stale_by == 0


# ----- strategies ------------------------------------------------------------------------
def test_bananas_batch_is_distinct_and_avoids_evaluated_archs(synthetic):
    bench, _, _ = synthetic
    evaluator = TabularEvaluator(bench)
    context = SearchContext(space=NB201, rng=np.random.default_rng(0), fidelities=evaluator.fidelities)
    strategy = Bananas(context, num_init=10, refit_every=5, **FAST_XGB)
    seen = set()
    for _ in range(4):
        batch = strategy.ask_batch(8)
        assert len(set(batch)) == 8 and not seen & set(batch)
        seen |= set(batch)
        for arch in batch:
            strategy.tell(arch, evaluator.evaluate(arch))


def test_bananas_reuses_the_neighbourhood_of_unchanged_parents_and_proposes_the_same(synthetic, monkeypatch):
    bench, _, _ = synthetic
    evaluator = TabularEvaluator(bench)

    def proposals() -> tuple[list, int]:
        context = SearchContext(space=NB201, rng=np.random.default_rng(3), fidelities=evaluator.fidelities)
        strategy = Bananas(context, num_init=10, refit_every=4, **FAST_XGB)
        out = []
        for _ in range(60):
            arch = strategy.ask()
            strategy.tell(arch, evaluator.evaluate(arch))
            out.append(arch)
        return out, enumerations

    enumerations = 0
    real = NB201.neighbours

    def counted(arch):
        nonlocal enumerations
        enumerations += 1
        return real(arch)

    monkeypatch.setattr(NB201, "neighbours", counted)
    reused, reusing = proposals()
    enumerations = 0
    # never remembering the last enumeration: every batch enumerates anew
    monkeypatch.setattr(Bananas, "_last_frontiers", property(lambda self: (None, []), lambda self, v: None), raising=False)
    fresh, enumerating = proposals()
    assert reused == fresh
    assert reusing < 0.8 * enumerating  # the best three stayed the same at some batches


@pytest.mark.parametrize("cls", [Bananas, SurrogateEvolution])
def test_predictor_guided_strategies_beat_random_early(cls, synthetic, contract_knobs):
    """At 100 queries, on the synthetic benchmark, the predictor must already help."""
    bench, _, _ = synthetic
    evaluator = TabularEvaluator(bench)
    factory = functools.partial(cls, **contract_knobs[cls.__name__])
    from naslab.strategies.random_search import RandomSearch

    seeds, budget = range(4), Budget(queries=100)
    ours = np.mean([run_search(factory, evaluator, seed=s, budget=budget).regret for s in seeds])
    rand = np.mean([run_search(RandomSearch, evaluator, seed=s, budget=budget).regret for s in seeds])
    assert ours < rand - 1.0


def test_strategies_survive_all_failed_results_and_explain_bad_options():
    context = SearchContext(space=NB201, rng=np.random.default_rng(0))
    strategy = Bananas(context, num_init=3, refit_every=2, **FAST_XGB)
    for _ in range(12):
        arch = strategy.ask()
        strategy.tell(arch, failed_result(NB201.to_string(arch)))
    with pytest.raises(ValueError, match="unknown acquisition 'pi'"):
        Bananas(context, acquisition="pi")
    with pytest.raises(ValueError, match="unknown predictor 'svm'"):
        SurrogateEvolution(context, predictor="svm")


# ----- surrogate evaluator ---------------------------------------------------------------
@pytest.fixture(scope="module")
def surrogate(synthetic):
    bench, _, _ = synthetic
    return SurrogateEvaluator(bench, n_train=200, encoding="onehot", num_trees=40, num_members=3)


def test_surrogate_answers_predicted_results_with_the_benchmarks_cost(surrogate, synthetic):
    bench, _, y = synthetic
    arch = NB201.arch(77)
    result = surrogate.evaluate(arch)
    assert isinstance(result, Result) and result.predicted and result.ok
    assert result.arch == bench.archs[77] and result.epoch == 12
    assert result.cost_s == pytest.approx(float(bench.table("train_time_s")[77]))
    assert surrogate.evaluate(arch, fidelity=1).cost_s < result.cost_s
    assert result.val_acc != pytest.approx(float(y[77]), abs=1e-6)  # a prediction, not a lookup
    assert surrogate.reference_test_acc(arch) == pytest.approx(float(bench.table("test_acc")[77]))
    predicted = surrogate.predicted_table("val")
    rest = np.setdiff1d(np.arange(len(y)), surrogate.train_rows)
    assert kendalltau(predicted[rest], y[rest])[0] > 0.5


def test_surrogate_noise_is_reproducible_per_trial_seed(synthetic):
    bench, _, _ = synthetic
    noisy = SurrogateEvaluator(
        bench, n_train=200, encoding="onehot", num_trees=40, num_members=3, noise="normal"
    )
    arch = NB201.arch(5)
    a, b, c = (noisy.evaluate(arch, trial_seed=s).val_acc for s in (1, 1, 2))
    assert a == b and a != c


def test_surrogate_fits_only_rows_with_results_and_explains_bad_sizes(synthetic):
    bench, _, _ = synthetic
    partial = make_synthetic_benchmark(seed=3)
    partial.complete = np.zeros(partial.num_archs, dtype=bool)
    partial.complete[:40] = True
    evaluator = SurrogateEvaluator(partial, n_train=None, encoding="onehot", num_trees=20, num_members=2)
    assert evaluator.train_rows.tolist() == list(range(40))
    with pytest.raises(ValueError, match="has results for only 40 architectures"):
        SurrogateEvaluator(partial, n_train=100)
    with pytest.raises(ValueError, match="wraps a tabular benchmark"):
        SurrogateEvaluator(None)


def test_cli_runs_bananas_on_the_surrogate_evaluator(tmp_path, synthetic_path):
    out = tmp_path / "run"
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    args = [
        "benchmark=file", f"benchmark.path={synthetic_path}", "evaluator=surrogate", "evaluator.n_train=100",
        "evaluator.num_trees=20", "strategy=bananas", "strategy.num_trees=20", "budget.queries=25",
        f"hydra.run.dir={out}",
    ]  # fmt: skip
    proc = subprocess.run([sys.executable, "-m", "naslab", *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (Path(out) / "summary.json").is_file()
    rows = (Path(out) / "trajectory.csv").read_text().splitlines()
    assert len(rows) == 26
