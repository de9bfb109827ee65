"""Regressors with uncertainty: an XGBoost ensemble and stand-ins for comparison.

Every regressor here follows the scikit-learn estimator API and additionally answers
``predict(X, return_std=True) -> (mean, std)`` (the convention of scikit-learn's
``GaussianProcessRegressor``), so strategies, the surrogate evaluator and the
predictor-quality analysis can swap them by name (:func:`make_regressor`).

:class:`XGBEnsemble` fits ``num_members`` boosted-tree models, each on a bootstrap
resample of the training set with its own seed; the mean of the members is the
prediction and their spread the uncertainty (the ensemble of BANANAS, White et al.
2021, with trees instead of MLPs). Defaults are chosen for 10-1,000 architectures:
shallow trees, ``min_child_weight=1`` (a leaf may hold one architecture; larger
values predict a constant for tiny sets), shrinkage 0.1, row and column subsampling.

Everything is deterministic for a given ``random_state``: member seeds and bootstrap
draws come from ``numpy.random.SeedSequence(random_state)``; XGBoost's ``hist``
method gives identical trees for identical input and seed whatever ``nthread`` is.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone

from naslab.errors import InvalidValueError

REGRESSORS = ("xgb", "rf", "gp", "mlp", "gbr")


def _check_xy(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y, dtype=np.float64).ravel()
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(f"fit needs X [n, features] and y [n]; got X {X.shape} and y {y.shape}")
    if X.shape[0] < 2:
        raise ValueError(f"fit needs at least 2 training examples, got {X.shape[0]}")
    if not np.all(np.isfinite(y)):
        raise ValueError("fit got NaN or infinite targets; drop failed evaluations first")
    return X, y


def _member_seeds(random_state: int | None, num_members: int) -> list[np.random.SeedSequence]:
    return np.random.SeedSequence(0 if random_state is None else int(random_state)).spawn(num_members)


def _bootstrap_rows(seq: np.random.SeedSequence, n: int) -> np.ndarray:
    rows = np.random.default_rng(seq).integers(0, n, size=n)
    # a resample of a tiny set may miss all but one distinct point; keep >= 2
    if np.unique(rows).size < 2:
        rows[:2] = (0, 1)
    return np.sort(rows)


class XGBEnsemble(BaseEstimator, RegressorMixin):
    """Bootstrap ensemble of XGBoost regressors: mean and standard deviation."""

    def __init__(
        self,
        num_members: int = 5,
        num_trees: int = 200,
        max_depth: int = 4,
        learning_rate: float = 0.1,
        min_child_weight: float = 1.0,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        bootstrap: bool = True,
        nthread: int = 1,
        random_state: int | None = 0,
    ) -> None:
        self.num_members = num_members
        self.num_trees = num_trees
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.bootstrap = bootstrap
        self.nthread = nthread
        self.random_state = random_state

    def _params(self, seed: int) -> dict[str, Any]:
        return {
            "objective": "reg:squarederror",
            "tree_method": "hist",
            "max_depth": self.max_depth,
            "eta": self.learning_rate,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "lambda": self.reg_lambda,
            "nthread": self.nthread,
            "seed": seed,
            "verbosity": 0,
        }

    def fit(self, X: Any, y: Any) -> XGBEnsemble:
        import xgboost as xgb

        if self.num_members < 1 or self.num_trees < 1:
            raise InvalidValueError(
                f"XGBEnsemble needs num_members >= 1 and num_trees >= 1, got {self.num_members}, {self.num_trees}"
            )
        X, y = _check_xy(X, y)
        # standardised targets make the defaults (eta, lambda) independent of units
        self.y_mean_ = float(y.mean())
        self.y_scale_ = float(y.std()) or 1.0
        z = (y - self.y_mean_) / self.y_scale_
        self.boosters_ = []
        for seq in _member_seeds(self.random_state, self.num_members):
            rows = _bootstrap_rows(seq, len(z)) if self.bootstrap and self.num_members > 1 else slice(None)
            seed = int(seq.generate_state(1)[0] & 0x7FFFFFFF)
            data = xgb.DMatrix(X[rows], label=z[rows], nthread=self.nthread)
            booster = xgb.Booster(self._params(seed), [data])
            _boost(booster, data, 0, self.num_trees)
            self.boosters_.append(booster)
        self.rounds_ = self.num_trees
        self.n_features_in_ = X.shape[1]
        return self

    def fit_more(self, X: Any, y: Any, num_trees: int, random_state: int) -> XGBEnsemble:
        """Warm start: continue every member's boosting for ``num_trees`` rounds on a fresh
        bootstrap resample of ``(X, y)`` (the data so far, old and new).

        The new trees fit what the members still get wrong on the new sample, so a
        refit costs ``num_trees`` trees per member instead of a whole ensemble; targets
        keep the standardisation of the last :meth:`fit` (the old trees' units).
        Deterministic for a given ``random_state``.
        """
        import xgboost as xgb

        X, y = _check_xy(X, y)
        z = (y - self.y_mean_) / self.y_scale_
        for booster, seq in zip(self.boosters_, _member_seeds(random_state, self.num_members)):
            rows = _bootstrap_rows(seq, len(z)) if self.bootstrap and self.num_members > 1 else slice(None)
            booster.set_param("seed", int(seq.generate_state(1)[0] & 0x7FFFFFFF))
            _boost(booster, xgb.DMatrix(X[rows], label=z[rows], nthread=self.nthread), self.rounds_, num_trees)
        self.rounds_ += num_trees
        return self

    def predict_margins(self, X: Any, first_round: int = 0, base: np.ndarray | None = None) -> np.ndarray:
        """``[num_members, n]`` float32 boosted sums of every member (standardised units).

        With ``first_round`` > 0: the sums of the trees from that round on, added to
        ``base`` (``[num_members, n]``, what this returned for the same rows when the
        members had ``first_round`` rounds). XGBoost's CPU predictor starts each row at
        its base margin and adds one tree at a time in order, in float32, so these are
        the numbers of predicting all trees, bit for bit (``tests/test_surrogates.py``).
        A warm refit keeps the old trees, so a row predicted before it only needs the
        new ones (:class:`~naslab.surrogates.online.OnlinePredictor`).
        """
        X = np.ascontiguousarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != getattr(self, "n_features_in_", X.shape[1]):
            raise ValueError(f"predict needs X [n, {self.n_features_in_}], got {X.shape}")
        if first_round == 0:
            return np.stack([_predict_dense(b, X) for b in self.boosters_])
        if base is None or np.shape(base) != (self.num_members, X.shape[0]) or not 0 < first_round <= self.rounds_:
            raise ValueError(
                f"predicting from round {first_round} of {self.rounds_} needs base [{self.num_members}, {X.shape[0]}]"
            )
        base = np.ascontiguousarray(base, dtype=np.float32)
        if first_round == self.rounds_:
            return base.copy()
        return np.stack([
            _predict_dense(b, X, first_round, self.rounds_, row) for b, row in zip(self.boosters_, base)
        ])

    def members_from_margins(self, margins: np.ndarray) -> np.ndarray:
        """``[num_members, n]`` predictions in target units from :meth:`predict_margins`."""
        return margins.astype(np.float64) * self.y_scale_ + self.y_mean_

    def predict_members(self, X: Any) -> np.ndarray:
        """``[num_members, n]`` predictions of every member (in target units)."""
        return self.members_from_margins(self.predict_margins(X))

    def predict(self, X: Any, return_std: bool = False) -> Any:
        members = self.predict_members(X)
        mean = members.mean(axis=0)
        return (mean, members.std(axis=0)) if return_std else mean


def _boost(booster: Any, data: Any, first_round: int, rounds: int) -> None:
    """``rounds`` boosting rounds of ``booster`` on ``data``, numbered from ``first_round``.

    Booster.update directly (xgb.train's per-round callback machinery costs ~30 % of a
    small fit), and after the first round the C call itself: ``update`` re-validates
    the feature names each round, another ~25 % of a fit of 100 shallow trees on a
    few hundred rows (``perf/strategy_speed.py``; a tree costs ~0.3 ms here whatever n).
    """
    booster.update(data, first_round)  # assigns and checks the feature names once
    try:
        import ctypes

        from xgboost.core import _LIB, _check_call

        update = _LIB.XGBoosterUpdateOneIter
    except (ImportError, AttributeError):  # another xgboost layout: the public call
        for round_ in range(first_round + 1, first_round + rounds):
            booster.update(data, round_)
        return
    handle, data_handle = booster.handle, data.handle
    for round_ in range(first_round + 1, first_round + rounds):
        _check_call(update(handle, ctypes.c_int(round_), data_handle))


def _predict_dense(
    booster: Any, X: np.ndarray, first_round: int = 0, end_round: int = 0, base: np.ndarray | None = None
) -> np.ndarray:
    """``booster.inplace_predict(X)`` for a C-contiguous float32 ``X``: all trees, no base
    margin; or the trees of rounds ``[first_round, end_round)`` added to ``base`` (float32
    [n], XGBoost's ``base_margin``, which takes the place of its ``base_score``).

    Calls XGBoost's C function directly with a prepared configuration: the Python
    wrapper's data-type dispatch and output conversion cost ~0.2 ms per call, as much
    as the prediction itself for the 20 children surrogate_evolution scores per step
    (measured 0.41 -> 0.24 ms per call for 20 rows, 200 trees, one thread; with
    OnlinePredictor's cache, surrogate_evolution 1.33 -> 1.13 CPU s per 300-query run,
    docs/performance.md). The same C call as the wrapper's, so the same numbers.
    """
    try:
        import ctypes

        from xgboost.core import _LIB, _check_call, _ProxyDMatrix, c_bst_ulong

        predict = _LIB.XGBoosterPredictFromDense
        set_info = _LIB.XGDMatrixSetInfoFromInterface
    except (ImportError, AttributeError):  # another xgboost layout: the public call
        predict = None
    if predict is None or X.shape[0] == 0:
        return booster.inplace_predict(X, iteration_range=(first_round, end_round), base_margin=base)
    proxy = None
    if base is not None:  # the wrapper's way: a proxy DMatrix carries the base margin
        proxy = _ProxyDMatrix()
        _check_call(set_info(proxy.handle, b"base_margin", _interface(base)))
    shape, dims = ctypes.POINTER(c_bst_ulong)(), c_bst_ulong()
    out = ctypes.POINTER(ctypes.c_float)()
    _check_call(predict(booster.handle, _interface(X), _predict_config(first_round, end_round),
                        None if proxy is None else proxy.handle,
                        ctypes.byref(shape), ctypes.byref(dims), ctypes.byref(out)))
    if dims.value != 1 or shape[0] != X.shape[0]:  # not one value per row: let the wrapper shape it
        return booster.inplace_predict(X, iteration_range=(first_round, end_round), base_margin=base)
    # the buffer is XGBoost's, reused by its next prediction: copy it out
    return np.ctypeslib.as_array(out, shape=(X.shape[0],)).copy()


def _interface(a: np.ndarray) -> bytes:
    """The array interface XGBoost's C API reads a C-contiguous array from."""
    return json.dumps({"data": (a.ctypes.data, True), "shape": a.shape, "strides": None,
                       "typestr": a.dtype.str, "version": 3}).encode()


@functools.lru_cache(maxsize=256)
def _predict_config(first_round: int, end_round: int) -> bytes:
    """What Booster.inplace_predict sends for a plain prediction of rounds [first, end) (0, 0 = all)."""
    return json.dumps({
        "type": 0, "training": False, "iteration_begin": first_round, "iteration_end": end_round,
        "missing": float("nan"), "strict_shape": False, "cache_id": 0,
    }).encode()


class BootstrapEnsemble(BaseEstimator, RegressorMixin):
    """Mean and std for any scikit-learn regressor: clones fitted on bootstrap resamples.

    Clones that take a ``random_state`` get one per member (from ``random_state``).
    """

    def __init__(
        self, estimator: Any, num_members: int = 5, bootstrap: bool = True, random_state: int | None = 0
    ) -> None:
        self.estimator = estimator
        self.num_members = num_members
        self.bootstrap = bootstrap
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> BootstrapEnsemble:
        X, y = _check_xy(X, y)
        self.members_ = []
        for seq in _member_seeds(self.random_state, self.num_members):
            member = clone(self.estimator)
            seed = int(seq.generate_state(1)[0] & 0x7FFFFFFF)
            # nested estimators (pipelines, target transformers) name it prefix__random_state
            member.set_params(**{k: seed for k in member.get_params() if k.split("__")[-1] == "random_state"})
            rows = _bootstrap_rows(seq, len(y)) if self.bootstrap else slice(None)
            self.members_.append(member.fit(X[rows], y[rows]))
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: Any, return_std: bool = False) -> Any:
        members = np.stack([m.predict(np.asarray(X, dtype=np.float32)) for m in self.members_])
        mean = members.mean(axis=0)
        return (mean, members.std(axis=0)) if return_std else mean


class ForestWithStd(BaseEstimator, RegressorMixin):
    """A random forest whose uncertainty is the spread of its trees' predictions."""

    def __init__(
        self,
        num_trees: int = 200,
        min_samples_leaf: int = 1,
        max_features: float = 0.5,
        nthread: int = 1,
        random_state: int | None = 0,
    ) -> None:
        self.num_trees = num_trees
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.nthread = nthread
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> ForestWithStd:
        from sklearn.ensemble import RandomForestRegressor

        X, y = _check_xy(X, y)
        self.forest_ = RandomForestRegressor(
            n_estimators=self.num_trees,
            min_samples_leaf=self.min_samples_leaf,
            max_features=self.max_features,
            n_jobs=self.nthread,
            random_state=self.random_state,
        ).fit(X, y)
        return self

    def predict(self, X: Any, return_std: bool = False) -> Any:
        X = np.asarray(X, dtype=np.float32)
        if not return_std:
            return self.forest_.predict(X)
        trees = np.stack([t.predict(X) for t in self.forest_.estimators_])
        return trees.mean(axis=0), trees.std(axis=0)


def make_regressor(name: str, random_state: int = 0, nthread: int = 1, **options: Any) -> Any:
    """A regressor with ``predict(X, return_std=True)`` by short name.

    ``xgb`` :class:`XGBEnsemble`; ``rf`` random forest (std over trees); ``gp``
    Gaussian process (Matern-5/2 + white noise, targets normalised); ``mlp`` bootstrap
    ensemble of small MLPs on standardised targets; ``gbr`` bootstrap ensemble of
    scikit-learn's GradientBoosting (the slow reference for XGBoost).
    ``options`` go to the regressor (e.g. ``num_trees``, ``num_members``).
    """
    if name == "xgb":
        return XGBEnsemble(nthread=nthread, random_state=random_state, **options)
    if name == "rf":
        return ForestWithStd(nthread=nthread, random_state=random_state, **options)
    if name == "gp":
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        kernel = ConstantKernel(1.0) * Matern(length_scale=3.0, nu=2.5) + WhiteKernel(0.1)
        return GaussianProcessRegressor(kernel=kernel, normalize_y=True, random_state=random_state, **options)
    if name == "mlp":
        from sklearn.compose import TransformedTargetRegressor
        from sklearn.neural_network import MLPRegressor
        from sklearn.preprocessing import StandardScaler

        num_members = options.pop("num_members", 5)
        net = MLPRegressor(hidden_layer_sizes=(64, 64), alpha=1e-3, max_iter=500, **options)
        return BootstrapEnsemble(
            TransformedTargetRegressor(regressor=net, transformer=StandardScaler()),
            num_members=num_members,
            random_state=random_state,
        )
    if name == "gbr":
        from sklearn.ensemble import GradientBoostingRegressor

        num_members = options.pop("num_members", 5)
        trees = options.pop("num_trees", 200)
        return BootstrapEnsemble(
            GradientBoostingRegressor(
                n_estimators=trees, max_depth=4, learning_rate=0.1, subsample=0.8, **options
            ),
            num_members=num_members,
            random_state=random_state,
        )
    raise InvalidValueError(f"unknown regressor {name!r}; choose from {list(REGRESSORS)}")
