"""The numpy TPE (``strategy=tpe``): Optuna's densities, its proposals with parallel workers, its search.

The strategy contract (test_strategy_contract.py) covers budgets, validity, seeds,
failures and asynchronous workers; these tests check that it is Optuna's algorithm.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from naslab import strategies
from naslab.benchmarks.tabular import load_benchmark
from naslab.evaluators.tabular import TabularEvaluator
from naslab.results import Result
from naslab.runner import Budget, run_search
from naslab.spaces import get_space
from naslab.strategies.base import SearchContext
from naslab.strategies.tpe import TPE, observation_weights

DIGITS = Path(__file__).resolve().parent.parent / "naslab" / "data" / "nb201_digits.h5"


def _optuna_estimator(space, observations: np.ndarray):
    pytest.importorskip("optuna")
    from optuna.distributions import CategoricalDistribution
    from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator, _ParzenEstimatorParameters
    from optuna.samplers._tpe.sampler import default_weights

    search_space = {f"d{i}": CategoricalDistribution(list(range(c))) for i, c in enumerate(space.cardinalities)}
    parameters = _ParzenEstimatorParameters(prior_weight=1.0, consider_magic_clip=True, consider_endpoints=False,
                                            weights=default_weights, multivariate=True)
    columns = {f"d{i}": observations[:, i].astype(float) for i in range(space.num_decisions)}
    return _ParzenEstimator(columns, search_space, parameters)


@pytest.mark.parametrize("space_name", ["nb201", "darts"])
@pytest.mark.parametrize("m", [0, 1, 7, 40])
def test_log_density_is_optunas_parzen_estimator(space_name, m):
    space = get_space(space_name)
    rng = np.random.default_rng(m)
    observations = np.asarray([space.sample(rng) for _ in range(m)], dtype=np.int64).reshape(m, space.num_decisions)
    # random points and observed ones (where a kernel peaks)
    points = np.asarray([space.sample(rng) for _ in range(30)] + observations[:5].tolist(), dtype=np.int64)
    tpe = TPE(SearchContext(space=space, rng=np.random.default_rng(0)))
    shared = (space.one_hot(points) @ space.one_hot(observations).T).astype(np.intp)
    reference = _optuna_estimator(space, observations).log_pdf(
        {f"d{i}": points[:, i].astype(float) for i in range(space.num_decisions)})
    np.testing.assert_allclose(tpe._log_density(shared), reference, rtol=0, atol=1e-12)


def test_candidates_are_drawn_from_optunas_good_density():
    space = get_space("nb201")
    rng = np.random.default_rng(1)
    good = np.asarray([space.sample(rng) for _ in range(30)], dtype=np.int64)
    draws = 100_000
    ours = TPE(SearchContext(space=space, rng=np.random.default_rng(0)), n_ei_candidates=draws)._sample(good)
    theirs = _optuna_estimator(space, good).sample(np.random.RandomState(0), draws)
    theirs = np.stack([theirs[f"d{i}"] for i in range(space.num_decisions)], axis=1).astype(np.int64)
    # how many decisions a draw shares with the newest observation (weight 1), and with
    # the oldest (weight 1/30): the kernel choice and the per-decision categoricals
    for reference in (good[-1], good[0]):
        mine = np.bincount((ours == reference).sum(axis=1), minlength=7) / draws
        optuna = np.bincount((theirs == reference).sum(axis=1), minlength=7) / draws
        np.testing.assert_allclose(mine, optuna, atol=0.006)  # ~4 standard errors of a frequency of 0.4


def test_weights_ramp_down_before_the_newest_25():
    assert observation_weights(24).tolist() == [1.0] * 24
    w = observation_weights(40)
    assert w[-25:].tolist() == [1.0] * 25 and w[0] == pytest.approx(1 / 40) and np.all(np.diff(w[:15]) > 0)


def test_parallel_workers_never_get_a_pending_proposal_twice():
    space = get_space("nb201")
    tpe = TPE(SearchContext(space=space, rng=np.random.default_rng(0), num_workers=8))
    assert tpe.constant_liar
    rng = np.random.default_rng(1)
    for _ in range(12):
        arch = tpe.ask()
        tpe.tell(arch, Result(arch=space.to_string(arch), val_acc=float(rng.random())))
    pending = [tpe.ask() for _ in range(40)]  # 40 workers busy, none told yet
    assert len(set(pending)) == 40


def test_beats_random_search_on_the_digits_benchmark():
    evaluator = TabularEvaluator(load_benchmark(DIGITS))
    budget = Budget(queries=150)
    ours = [run_search(strategies.factory("tpe"), evaluator, seed=s, budget=budget).regret for s in range(6)]
    rand = [run_search(strategies.factory("random"), evaluator, seed=s, budget=budget).regret for s in range(6)]
    assert np.mean(ours) < 0.6 * np.mean(rand), f"mean regret {np.mean(ours):.3f} vs random {np.mean(rand):.3f}"
