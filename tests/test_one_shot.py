"""One-shot search: the supernet's three forwards, each method's update rule, the CLI and its run folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hydra import compose, initialize_config_dir  # noqa: E402

from naslab.analysis import report  # noqa: E402
from naslab.analysis.runs import load_runs  # noqa: E402
from naslab.app import register_resolvers  # noqa: E402
from naslab.one_shot.base import MethodContext, OneShotError  # noqa: E402
from naslab.one_shot.darts import DARTS  # noqa: E402
from naslab.one_shot.enas import ENAS  # noqa: E402
from naslab.one_shot.gdas import GDAS  # noqa: E402
from naslab.one_shot.ranking import kendall_tau, ranking_sample  # noqa: E402
from naslab.one_shot.setn import SETN  # noqa: E402
from naslab.one_shot.supernet import build_supernet  # noqa: E402
from naslab.spaces import get_space  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CONF = REPO / "naslab" / "conf" / "one_shot"
METHODS = sorted(p.stem for p in (CONF / "method").glob("*.yaml"))
SPACE = get_space("nb201")
# seconds, not minutes: one epoch, few candidates, a tiny controller budget, a small ranking sample
TINY = ["epochs=1", "val_batch_size=32", "ranking.num_archs=6"]
TINY_METHOD = {"rsps": ["method.candidates=2"], "setn": ["method.candidates=2"],
               "enas": ["method.candidates=2", "method.train_steps=1", "method.num_aggregate=2"]}
ENV = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def context(channels: int = 4, dtype: torch.dtype = torch.float32, seed: int = 0) -> MethodContext:
    net = build_supernet(channels, 1, 10, 1, seed).to(dtype)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(24, 1, 8, 8, generator=g, dtype=dtype)
    y = torch.randint(0, 10, (24,), generator=g)
    return MethodContext(net, SPACE, x, y, np.random.default_rng(seed), g, "cpu", None, epochs=3,
                         steps_per_epoch=1, val_batch_size=8)


# ----- the supernet ---------------------------------------------------------------------------
@pytest.mark.parametrize("arch", [(3, 3, 3, 3, 3, 3), (2, 1, 4, 0, 3, 1), (0, 2, 2, 1, 0, 4)])
def test_relaxed_and_gumbel_forwards_with_one_hot_weights_are_the_discrete_subnetwork(arch):
    ctx = context()
    x = ctx.val_x
    one_hot = torch.nn.functional.one_hot(torch.tensor(arch), 5).float()
    discrete = ctx.supernet.forward_arch(x, arch)
    torch.testing.assert_close(ctx.supernet.forward_weighted(x, one_hot), discrete)
    torch.testing.assert_close(ctx.supernet.forward_gdas(x, one_hot, arch), discrete)


def test_a_cell_whose_output_gets_no_signal_makes_the_logits_independent_of_the_image():
    ctx = context()
    dead = (3, 3, 3, 0, 0, 0)  # nothing reaches node 3
    logits = ctx.supernet.eval().forward_arch(ctx.val_x, dead)
    assert torch.allclose(logits, logits[:1].expand_as(logits))
    live = ctx.supernet.forward_arch(ctx.val_x, (3, 3, 3, 3, 3, 3))
    assert not torch.allclose(live, live[:1].expand_as(live))


def test_supernet_initialisation_depends_on_the_seed_only_and_leaves_the_global_rng_alone():
    state = torch.random.get_rng_state()
    a, b, c = (build_supernet(4, 1, 10, 1, s) for s in (5, 5, 6))
    assert torch.equal(torch.random.get_rng_state(), state)
    pa, pb, pc = (torch.cat([p.flatten() for p in n.parameters()]) for n in (a, b, c))
    assert torch.equal(pa, pb) and not torch.equal(pa, pc)


# ----- the methods' update rules ------------------------------------------------------------
def test_darts_v2_finite_difference_hessian_vector_product_matches_double_backward():
    ctx = context(dtype=torch.float64)
    method = DARTS(ctx, order=2, hvp_r=1e-4)
    with torch.no_grad():
        method.alpha.copy_(torch.randn(6, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64))
    weights = list(ctx.supernet.parameters())
    saved = [p.detach().clone() for p in weights]
    vector = [torch.randn(p.shape, generator=torch.Generator().manual_seed(i), dtype=torch.float64)
              for i, p in enumerate(weights)]
    approx = method._hessian_vector_product(weights, saved, vector, ctx.val_x, ctx.val_y)
    assert all(torch.equal(p, s) for p, s in zip(weights, saved))  # the weights are put back exactly
    grads = torch.autograd.grad(method.weighted_loss(ctx.val_x, ctx.val_y), weights, create_graph=True)
    (exact,) = torch.autograd.grad(sum((g * v).sum() for g, v in zip(grads, vector)), [method.alpha])
    assert float((approx - exact).norm() / exact.norm()) < 1e-2


def test_darts_v2_step_moves_alpha_differently_from_v1_and_leaves_the_weights_unchanged():
    alphas = {}
    for order in (1, 2):
        ctx = context()
        method = DARTS(ctx, order=order)
        opt = torch.optim.SGD(ctx.supernet.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
        loss = torch.nn.functional.cross_entropy(method.weight_logits(ctx.val_x), ctx.val_y)
        loss.backward()
        opt.step()  # gives the optimizer a momentum buffer, as in the loop
        weights = [p.detach().clone() for p in ctx.supernet.parameters()]
        before = method.alpha.detach().clone()
        method.arch_step(ctx.val_x[:12], ctx.val_y[:12], ctx.val_x[12:], ctx.val_y[12:], opt)
        assert all(torch.equal(p, w) for p, w in zip(ctx.supernet.parameters(), weights))
        assert not torch.equal(method.alpha, before)
        alphas[order] = method.alpha.detach().clone()
    assert not torch.allclose(alphas[1], alphas[2])


def test_gdas_samples_one_op_per_edge_with_a_gradient_to_every_logit_and_anneals_tau():
    ctx = context()
    method = GDAS(ctx, tau_max=10, tau_min=0.1)
    hard, index = method.sample()
    assert torch.equal(hard.detach(), torch.nn.functional.one_hot(torch.tensor(index), 5).float())
    loss = torch.nn.functional.cross_entropy(ctx.supernet.forward_gdas(ctx.val_x, hard, index), ctx.val_y)
    (grad,) = torch.autograd.grad(loss, [method.alpha])
    # every logit of the edges into the output node gets the output's gradient, sampled or not
    assert bool((grad[3:] != 0).all())
    taus = []
    for epoch in range(3):
        method.begin_epoch(epoch)
        taus.append(method.tau)
    assert taus == pytest.approx([10.0, 5.05, 0.1])


def test_setn_candidates_are_the_most_probable_cells_in_order():
    ctx = context()
    method = SETN(ctx, candidates=3)
    target = (2, 3, 1, 4, 0, 3)
    with torch.no_grad():
        method.alpha.zero_()
        method.alpha[torch.arange(6), torch.tensor(target)] = 2.0
        method.alpha[0, 1] = 1.0  # the runner-up differs on edge 0
    top = method.most_probable(3)
    assert top[0] == target and top[1] == (1, *target[1:])
    log_p = torch.log_softmax(method.alpha.detach(), -1)
    scores = [float(sum(log_p[e, op] for e, op in enumerate(a))) for a in top]
    assert scores == sorted(scores, reverse=True)


def test_enas_controller_learns_from_rewards_and_is_reproducible():
    ctx = context()
    method = ENAS(ctx, candidates=2, train_steps=1, num_aggregate=2)
    # the controller alone: REINFORCE with a reward for op 3 on edge 0 raises its probability
    opt = torch.optim.Adam(method.controller.parameters(), lr=0.02)
    g = torch.Generator().manual_seed(0)

    def p_target() -> float:
        return float(np.mean([method.controller(g)[2][0] == 3 for _ in range(200)]))

    before, baseline = p_target(), 0.2
    for _ in range(150):
        log_prob, _, arch = method.controller(g)
        reward = float(arch[0] == 3)
        baseline = 0.9 * baseline + 0.1 * reward
        opt.zero_grad()
        (-log_prob * (reward - baseline)).backward()
        opt.step()
    assert p_target() > before + 0.3
    # one epoch's controller training changes it and sets the moving baseline
    weights = [p.detach().clone() for p in method.controller.parameters()]
    method.end_epoch(0)
    assert method.baseline is not None
    assert any(not torch.equal(p, w) for p, w in zip(method.controller.parameters(), weights))
    a, b = ENAS(context(), candidates=2), ENAS(context(), candidates=2)
    assert [a.sample() for _ in range(5)] == [b.sample() for _ in range(5)]


def test_bad_method_settings_are_one_sentence():
    with pytest.raises(OneShotError, match="method.order must be 1"):
        DARTS(context(), order=3)
    with pytest.raises(OneShotError, match="tau_min <= tau_max"):
        GDAS(context(), tau_max=0.1, tau_min=1.0)
    with pytest.raises(OneShotError, match="method.candidates must be a positive whole number"):
        SETN(context(), candidates=0)


# ----- ranking --------------------------------------------------------------------------------
def test_ranking_sample_is_fixed_by_its_seed_and_tau_orders():
    a, b = ranking_sample(SPACE, 20, 0), ranking_sample(SPACE, 20, 0)
    assert a == b and len(set(a)) == 20 and a != ranking_sample(SPACE, 20, 1)
    assert kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)


# ----- the search loop and its run folder -------------------------------------------------------
def compose_cfg(method: str, *overrides: str):
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", overrides=[f"method={method}", *TINY, *TINY_METHOD.get(method, []),
                                                        *overrides])


def test_same_seed_same_search_and_bf16_autocast_path_runs(tmp_path, monkeypatch):
    from naslab.one_shot.search import run_one_shot

    first = run_one_shot(compose_cfg("gdas"), tmp_path / "a")
    second = run_one_shot(compose_cfg("gdas"), tmp_path / "b")
    other = run_one_shot(compose_cfg("gdas", "seed=1"), tmp_path / "c")
    archs = [load_runs([tmp_path / k]).runs[0].archs for k in "abc"]
    assert archs[0] == archs[1] and first["method_state"] == second["method_state"]
    assert first["method_state"] != other["method_state"]
    assert (tmp_path / "a" / "ranking.csv").read_text() == (tmp_path / "b" / "ranking.csv").read_text()
    # the CUDA path's mixed precision (bf16 autocast, float32 loss) exercised on the CPU
    import naslab.training.trainer as trainer

    monkeypatch.setattr(trainer, "select_device", lambda requested="auto": ("cpu", torch.bfloat16))
    summary = run_one_shot(compose_cfg("darts_v2"), tmp_path / "bf16")
    assert summary["incumbent"]["arch"] and np.isfinite(summary["final_regret"])


@pytest.mark.parametrize("override, message", [
    ("epochs=0", "epochs must be > 0"),
    ("method.bogus=1", "method.bogus is not a setting of DARTS"),
    ("supernet.channels=16", "differs from the benchmark's recipe"),
])
def test_bad_settings_are_refused_before_anything_is_written(tmp_path, override, message):
    from naslab.one_shot.search import run_one_shot

    with pytest.raises(OneShotError, match=message):
        run_one_shot(compose_cfg("darts_v1", override.replace("method.bogus", "+method.bogus")), tmp_path / "x")
    assert not (tmp_path / "x").exists()


@pytest.fixture(scope="module")
def cli_sweep(tmp_path_factory) -> Path:
    """Every method from the CLI (one Hydra multirun, so Python starts once), plus a black-box search."""
    root = tmp_path_factory.mktemp("one_shot")
    # every method's own budget at its default; batches of 16 keep ENAS's 1,000 controller samples at seconds
    proc = subprocess.run(
        [sys.executable, "-m", "naslab.one_shot", "-m", f"method={','.join(METHODS)}", *TINY, "val_batch_size=16",
         f"hydra.sweep.dir={root}"], cwd=root, env=ENV, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    proc = subprocess.run([sys.executable, "-m", "naslab", "strategy=random", "budget.queries=20",
                           f"hydra.run.dir={root / 'random'}"], cwd=root, env=ENV, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return root


def test_every_method_writes_a_run_folder_the_analysis_draws_beside_a_black_box_search(cli_sweep, tmp_path):
    runs = load_runs([cli_sweep]).runs
    assert sorted(r.strategy for r in runs) == sorted([*METHODS, "random"])
    best = runs[0].summary["best_test_acc_in_benchmark"]
    for run in (r for r in runs if r.strategy != "random"):
        summary = run.summary
        assert summary["one_shot"] and summary["benchmark"]["dataset"] == "digits"
        assert run.num_queries == 1 and run.status == ["ok"]
        assert SPACE.from_string(run.archs[0])  # a real NB201 cell, looked up in the benchmark
        assert run.final_regret == pytest.approx(best - summary["incumbent"]["test_acc"], abs=1e-4)
        assert 0 < run.columns["sim_time_s"][-1] <= summary["wall_time_s"]
        assert -1 <= summary["supernet_ranking"]["kendall_tau_val"] <= 1
        assert summary["supernet_ranking"]["num_archs"] == 6
    rankings = {(cli_sweep / m / "seed0" / "ranking.csv").read_text().splitlines()[1].split(",")[0] for m in METHODS}
    assert len(rankings) == 1  # every method ranks the same sampled cells
    assert report.main([str(cli_sweep), "--out", str(tmp_path / "report")]) == 0
    table = (tmp_path / "report" / "final_table.md").read_text()
    assert all(f"| {m} " in table for m in [*METHODS, "random"])


def test_cli_bad_setting_is_one_sentence_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "naslab.one_shot", "method=gdas", "method.tau_min=-1",
                           f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path, env=ENV, capture_output=True,
                          text=True)
    assert proc.returncode == 2
    assert "naslab.one_shot: error: method.tau_min and tau_max must satisfy" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "run" / "summary.json").exists()


def test_comparison_table_reads_the_run_folders(cli_sweep):
    sys.path.insert(0, str(REPO / "analysis"))
    try:
        import one_shot_digits
    finally:
        sys.path.pop(0)
    text = one_shot_digits.table([cli_sweep], None)
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| method")]
    assert [r.split("|")[1].strip() for r in rows] == [m for m in one_shot_digits.METHODS if m in METHODS]
    assert "93.61 ± 0.09" in text  # GDAS's published CIFAR-10 test accuracy beside its digits row
    json.dumps(text)
