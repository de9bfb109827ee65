"""Zero-cost proxies: definitions, determinism, failures, the proxy table, the evaluator,
proxy features and the warm start."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from naslab import strategies  # noqa: E402
from naslab.runner import Budget, run_search  # noqa: E402
from naslab.spaces import get_space  # noqa: E402
from naslab.testing import EvaluatorContract  # noqa: E402
from naslab.zero_cost import PROXY_NAMES, ZeroCostError, ZeroCostScorer, proxy_spec, score  # noqa: E402
from naslab.zero_cost import table as zc_table  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SPACE = get_space("nb201")
BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
DATA_INDEPENDENT = [p for p in PROXY_NAMES if proxy_spec(p).data_independent]


@pytest.fixture(scope="module")
def scorer(one_torch_thread):
    return ZeroCostScorer("nb201", "digits", seed=0)


@pytest.mark.parametrize("proxy", PROXY_NAMES)
def test_every_proxy_scores_a_cell_deterministically(proxy, scorer):
    arch = SPACE.from_string(BEST)
    first, again = scorer.score(arch, proxy), scorer.score(arch, proxy)
    assert first.ok and math.isfinite(first.value) and first.time_s > 0
    assert first.value == again.value
    other = ZeroCostScorer("nb201", "digits", seed=1).score(arch, proxy)
    if proxy not in ("params", "flops"):  # everything else depends on the weights or the batch
        assert other.value != first.value


def test_data_independent_proxies_never_open_the_dataset(one_torch_thread):
    assert set(DATA_INDEPENDENT) >= {"synflow", "zen", "params", "flops"}
    # cifar10 without data_root cannot be loaded: any proxy that touched it would raise
    blind = ZeroCostScorer("nb201", "cifar10", seed=0, network={"channels": 4, "cells_per_stage": 1})
    arch = SPACE.from_string(BEST)
    for proxy in DATA_INDEPENDENT:
        assert blind.score(arch, proxy).ok, proxy
    with pytest.raises(ValueError, match="data_root"):
        blind.score(arch, "snip")


def test_params_and_flops_match_the_trainers_counts(scorer):
    from naslab.training.models import count_flops, count_params

    for text in (BEST, "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|skip_connect~2|"):
        arch = SPACE.from_string(text)
        assert scorer.score(arch, "params").value == pytest.approx(count_params(arch, 8, 1, 10, 1))
        assert scorer.score(arch, "flops").value == pytest.approx(count_flops(arch, 8, 1, 10, 1, 8))


def test_snip_equals_the_references_mask_gradient(scorer):
    """SNIP as the reference computes it: d loss / d mask on a mask of ones multiplying each weight."""
    import torch.nn.functional as F

    from naslab.zero_cost.base import build_scoring_network, proxy_spec, weight_layers

    arch = SPACE.from_string(BEST)
    batch = scorer.batch(proxy_spec("snip"))
    net = build_scoring_network(SPACE, arch, 1, 10, 0, channels=8, cells_per_stage=1)
    net.train()
    masks = []
    for layer in weight_layers(net):
        weight = layer.weight.detach().clone()
        del layer.weight
        mask = torch.ones_like(weight, requires_grad=True)
        masks.append((layer, weight, mask))
    for layer, weight, mask in masks:
        layer.weight = weight * mask
    F.cross_entropy(net(batch.inputs), batch.targets).backward()
    expected = sum(float(mask.grad.abs().double().sum()) for _, _, mask in masks)
    assert scorer.score(arch, "snip").value == pytest.approx(expected, rel=1e-6)


def test_jacob_cov_matches_the_references_eig_formula(scorer):
    from naslab.zero_cost.base import build_scoring_network, proxy_spec
    from naslab.zero_cost.jacob_cov import input_jacobian

    arch = SPACE.from_string(BEST)
    net = build_scoring_network(SPACE, arch, 1, 10, 0, channels=8, cells_per_stage=1)
    net.train()
    jac = input_jacobian(net, scorer.batch(proxy_spec("jacob_cov")))
    v = np.linalg.eig(np.corrcoef(jac))[0].real
    expected = -np.sum(np.log(v + 1e-5) + 1.0 / (v + 1e-5))
    assert scorer.score(arch, "jacob_cov").value == pytest.approx(expected, rel=1e-6)


def test_a_network_without_signal_fails_instead_of_crashing(scorer):
    dead = SPACE.from_string(ALL_NONE)
    result = scorer.score(dead, "jacob_cov")
    assert result.status == "failed" and math.isnan(result.value) and result.error
    assert scorer.score(dead, "params").ok  # a stem and a classifier still have weights


def test_overflow_and_nan_give_failed_scores(scorer, monkeypatch):
    from naslab.zero_cost import synflow

    monkeypatch.setattr(synflow, "compute", lambda net, batch: float("inf"))
    assert scorer.score(SPACE.from_string(BEST), "synflow").status == "failed"

    def blow_up(net, batch):
        raise FloatingPointError("overflow in the product of weights")

    monkeypatch.setattr(synflow, "compute", blow_up)
    failed = scorer.score(SPACE.from_string(BEST), "synflow")
    assert failed.status == "failed" and "overflow" in failed.error


def test_bad_input_is_one_sentence(one_torch_thread):
    with pytest.raises(ZeroCostError, match="unknown zero-cost proxy 'synflw'"):
        score(BEST, proxy="synflw")
    with pytest.raises(ZeroCostError, match="has no network builder"):  # NAS-Bench-Macro: none yet
        score("22212220", proxy="params", space="nasbench_macro")
    with pytest.raises(ZeroCostError, match="unknown dataset"):
        ZeroCostScorer("nb201", "mnist")


# ----- the proxy table ---------------------------------------------------------------------
def _table(tmp: Path, name: str, *extra: str):
    cfg = zc_table.load_config([
        "proxies=[synflow,params,jacob_cov]", "limit_classes=9", "chunk_size=3",
        f"output={tmp / name}.h5", f"work_dir={tmp / ('work-' + name)}", *extra,
    ])
    return zc_table.run(cfg)


@pytest.fixture(scope="module")
def small_table(tmp_path_factory, one_torch_thread):
    return _table(tmp_path_factory.mktemp("zc"), "t")


def test_table_is_resumable_sharded_and_deterministic(tmp_path, small_table, one_torch_thread):
    from naslab.benchmarks.tabular import load_benchmark

    # shard 1 of 2 first, then shard 0 finishes and merges: the same file as one run
    _table(tmp_path, "s", "num_shards=2", "shard=1", "stage=score")
    chunks = sorted(p.name for p in (tmp_path / "work-s").glob("chunk-*.npz"))
    assert chunks == ["chunk-00001.npz"]
    with pytest.raises(ZeroCostError, match="chunks are missing"):
        _table(tmp_path, "s", "stage=merge")
    _table(tmp_path, "s", "num_shards=2", "shard=0")
    a, b = load_benchmark(small_table), load_benchmark(tmp_path / "s.h5")
    for name in ("zc_synflow", "zc_params", "zc_jacob_cov"):
        np.testing.assert_array_equal(a.static[name], b.static[name])
    # 9 classes scored (the first of the seeded class order), copied to all their members
    plan = zc_table.plan_from_config(zc_table.load_config(["limit_classes=9"]))
    scored = np.isin(SPACE.canonical_ids, plan.class_order())
    assert np.isfinite(a.static["zc_params"][scored]).all() and np.isnan(a.static["zc_params"][~scored]).all()
    assert a.complete[scored].all() and not a.complete[~scored].any()
    i = int(np.flatnonzero(scored)[0])
    direct = ZeroCostScorer("nb201", "digits", 0).score(SPACE.arch(i), "synflow").value
    assert a.static["zc_synflow"][i] == pytest.approx(math.log(direct), rel=1e-6)  # stored as ln
    assert a.attrs["units"]["zc_synflow"] == "ln(score)"


def test_table_refuses_a_work_folder_of_another_plan(tmp_path, one_torch_thread):
    from naslab.build import BuildError

    _table(tmp_path, "w", "stage=score", "limit_classes=3")
    with pytest.raises(BuildError, match="different build"):
        _table(tmp_path, "w", "stage=score", "proxies=[params]", "limit_classes=3")


def test_table_cli_bad_key_is_one_sentence(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "naslab.zero_cost.table", "proxy=synflow"],
                          capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert proc.returncode == 2 and "proxy" in proc.stderr and "Traceback" not in proc.stderr


# ----- the evaluator --------------------------------------------------------------------------
def test_evaluator_answers_the_proxy_and_charges_the_measured_time(synthetic_bench, one_torch_thread):
    from naslab.evaluators.zero_cost import ZeroCostEvaluator

    ev = ZeroCostEvaluator(synthetic_bench, proxy="synflow", dataset="digits")
    arch = SPACE.from_string(BEST)
    result = ev.evaluate(arch)
    direct = ZeroCostScorer("nb201", "digits", 0).score(arch, "synflow")
    assert result.val_acc == pytest.approx(math.log(direct.value)) and result.cost_s > 0
    assert result.test_acc == ev.reference_test_acc(arch) and not math.isnan(result.test_acc)
    # an isomorphic cell (a dead edge changed) answers the same score and cost, scored once
    twin = SPACE.from_string(BEST.replace("skip_connect~0", "skip_connect~0"))
    assert ev.evaluate(twin).val_acc == result.val_acc
    assert ev.evaluate(SPACE.from_string(ALL_NONE)).status == "failed"
    with pytest.raises(ValueError, match="one fidelity 1"):
        ev.evaluate(arch, fidelity=12)
    with pytest.raises(ValueError, match="set evaluator.dataset"):
        ZeroCostEvaluator(synthetic_bench)  # the synthetic benchmark's dataset cannot be scored


def test_evaluator_from_a_table_answers_its_scores_and_seconds(small_table, synthetic_bench, one_torch_thread):
    from naslab.benchmarks.tabular import load_benchmark
    from naslab.evaluators.zero_cost import ZeroCostEvaluator

    static = load_benchmark(small_table).static
    scored = np.flatnonzero(np.isfinite(static["zc_params"]))[:20]
    answers = []
    for _ in range(2):  # two evaluators, as two runs would build them: identical Results
        ev = ZeroCostEvaluator(synthetic_bench, proxy="params", dataset="digits", table=str(small_table))
        answers.append([ev.evaluate(SPACE.arch(int(i))) for i in scored])
    assert answers[0] == answers[1]
    assert [r.cost_s for r in answers[0]] == pytest.approx(static["zc_params_time_s"][scored].tolist())
    assert [r.val_acc for r in answers[0]] == pytest.approx(static["zc_params"][scored].tolist())


@pytest.mark.parametrize("name", strategies.available())
def test_every_strategy_searches_with_the_zero_cost_evaluator(name, synthetic_bench, one_torch_thread,
                                                              contract_strategy):
    """The strategy contract's core checks with evaluator=zero_cost (a cheap proxy)."""
    from naslab.evaluators.zero_cost import ZeroCostEvaluator

    ev = ZeroCostEvaluator(synthetic_bench, proxy="params", dataset="digits")
    trajectory = run_search(contract_strategy(name), ev, seed=0, budget=Budget(queries=24))
    assert len(trajectory) == 24
    for arch in trajectory.column("arch"):
        SPACE.from_string(arch)
    assert "failed" not in trajectory.column("status") or not math.isnan(trajectory.column("incumbent_val_acc")[-1])


def test_cli_search_with_evaluator_zero_cost(tmp_path):
    import json

    proc = subprocess.run(
        [sys.executable, "-m", "naslab", "evaluator=zero_cost", "evaluator.proxy=params", "strategy=random",
         "budget.queries=5", f"hydra.run.dir={tmp_path / 'run'}"],
        capture_output=True, text=True, cwd=tmp_path,
        env={"PYTHONPATH": str(REPO), "PATH": "", "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["num_evaluations"] == 5 and summary["sim_time_s"] > 0
    assert not math.isnan(summary["final_regret"])  # regret from the digits benchmark's accuracies


class TestZeroCostEvaluator(EvaluatorContract):
    num_archs = 8

    @pytest.fixture(scope="class")
    def evaluator(self, synthetic_bench):
        from naslab.evaluators.zero_cost import ZeroCostEvaluator

        torch.set_num_threads(1)
        return ZeroCostEvaluator(synthetic_bench, proxy="jacob_cov", dataset="digits")

    @pytest.fixture
    def failing_arch(self):
        return SPACE.from_string(ALL_NONE)


# ----- proxy features and the warm start --------------------------------------------------------
def test_proxy_features_join_the_encoding(small_table):
    from naslab.surrogates.features import encode_all
    from naslab.surrogates.online import OnlinePredictor
    from naslab.zero_cost.features import proxy_columns

    columns = proxy_columns(SPACE, small_table, ["synflow", "params"])
    both = OnlinePredictor(SPACE, encoding="onehot", statics=columns).features
    alone = OnlinePredictor(SPACE, encoding="none", statics=columns).features
    onehot = encode_all(SPACE, "onehot")
    assert both.shape == (SPACE.size, onehot.shape[1] + 2) and alone.shape == (SPACE.size, 2)
    np.testing.assert_array_equal(both[:, :-2], onehot)
    np.testing.assert_array_equal(alone[:, 1], columns["synflow"])  # columns in name order
    with pytest.raises(ValueError, match="has no 'zen' scores"):
        proxy_columns(SPACE, small_table, ["zen"])


def test_bananas_learns_from_proxy_features(small_table, synthetic_bench):
    from naslab.evaluators.tabular import TabularEvaluator
    from naslab.strategies.bananas import Bananas

    def make(**kw):
        return lambda context: Bananas(context, num_trees=20, num_members=2, refit_every=10, **kw)

    ev = TabularEvaluator(synthetic_bench)
    plain = run_search(make(), ev, seed=0, budget=Budget(queries=40))
    with_zc = run_search(make(proxy_table=str(small_table), proxies=["synflow", "params"]), ev, seed=0,
                         budget=Budget(queries=40))
    # the same random start, then the extra columns change what the predictor proposes
    assert plain.column("arch")[:10] == with_zc.column("arch")[:10]
    assert plain.column("arch")[10:] != with_zc.column("arch")[10:]


def test_warm_start_proposes_the_proxys_best_first(small_table, synthetic_bench):
    from naslab.evaluators.tabular import TabularEvaluator
    from naslab.strategies.evolution import RegularizedEvolution
    from naslab.strategies.zero_cost_warm_start import ZeroCostWarmStart
    from naslab.zero_cost.features import proxy_columns

    scores = proxy_columns(SPACE, small_table, ["params"])["params"]

    def factory(context):
        return ZeroCostWarmStart(context, RegularizedEvolution, str(small_table), "params",
                                 num_samples=15625, num_warm=5)

    trajectory = run_search(factory, TabularEvaluator(synthetic_bench), seed=0, budget=Budget(queries=30))
    first = [scores[SPACE.index(SPACE.from_string(a))] for a in trajectory.column("arch")[:5]]
    best = np.sort(scores[np.isfinite(scores)])[::-1][:5]
    np.testing.assert_allclose(first, best)  # every arch sampled: the 5 best scores, in order
    later = [scores[SPACE.index(SPACE.from_string(a))] for a in trajectory.column("arch")[5:]]
    assert np.isnan(later).mean() > 0.5  # then evolution's own random start (the table is small)


def test_analysis_prints_the_digits_table_with_a_vote(small_table, capsys):
    sys.path.insert(0, str(REPO / "analysis"))
    import zero_cost as analysis

    analysis.main(["digits", "--table", str(small_table)])
    out = capsys.readouterr().out
    assert "9 of 5260 unique cells scored" in out
    lines = [line for line in out.splitlines() if line.startswith("| ")]
    names = {line.split(" | ")[0][2:] for line in lines[1:]}
    assert names >= {"synflow", "params", "jacob_cov"}
    assert names & {"vote(synflow, jacob_cov)", "vote(jacob_cov, synflow)"}  # params is no proxy to vote with
    for line in lines[1:]:
        rho = float(line.split(" | ")[1])
        assert -1.0 <= rho <= 1.0
