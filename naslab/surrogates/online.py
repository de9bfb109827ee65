"""A predictor that learns during a search: observed scores in, mean/std/acquisition out.

Predictor-guided strategies (:mod:`naslab.strategies.bananas`,
:mod:`naslab.strategies.surrogate_evolution`) share this: it keeps the (arch, score)
pairs a strategy was told, refits a regressor on them when asked, and scores
candidate architectures with an acquisition function. It uses only the space
protocol and :mod:`naslab.surrogates.features`, so it works on any space.

Failed evaluations (score ``-inf``) are kept as the worst finite score seen so far:
the predictor learns to avoid what failed instead of ignoring it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from naslab.errors import InvalidValueError
from naslab.spaces import Arch, CategoricalSpace
from naslab.surrogates.features import encode, encode_all, encode_with_statics, resolve_encoding
from naslab.surrogates.xgb import REGRESSORS, make_regressor

ACQUISITIONS = ("its", "ucb", "ei", "mean")
# rows x trees already summed below which an out-of-date cached row is predicted whole again
INCREMENT_MIN_ROW_TREES = 8000


def acquisition_values(
    kind: str,
    mean: np.ndarray,
    std: np.ndarray,
    best: float,
    rng: np.random.Generator,
    ucb_beta: float = 2.0,
) -> np.ndarray:
    """Higher = more worth evaluating.

    ``its`` independent Thompson sampling (one draw from N(mean, std) per candidate,
    as in BANANAS); ``ucb`` mean + beta * std; ``ei`` expected improvement over
    ``best``; ``mean`` pure exploitation.
    """
    if kind == "its":
        return mean + std * rng.standard_normal(mean.shape[0])
    if kind == "ucb":
        return mean + ucb_beta * std
    if kind == "ei":
        from scipy.special import ndtr

        safe = np.maximum(std, 1e-9)
        z = (mean - best) / safe
        return (mean - best) * ndtr(z) + safe * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    if kind == "mean":
        return mean
    raise InvalidValueError(f"unknown acquisition {kind!r}; choose from {list(ACQUISITIONS)}")


class OnlinePredictor:
    """Observations of one search and the regressor refitted on them."""

    def __init__(
        self,
        space: CategoricalSpace,
        regressor: str = "xgb",
        encoding: str = "auto",
        nthread: int = 1,
        regressor_options: dict[str, Any] | None = None,
        statics: dict[str, np.ndarray] | None = None,
        warm_start_trees: int = 0,
        cold_refit_growth: float = 2.0,
    ) -> None:
        if regressor not in REGRESSORS:
            raise InvalidValueError(f"unknown predictor {regressor!r}; choose from {list(REGRESSORS)}")
        if warm_start_trees < 0 or not cold_refit_growth > 1:
            raise InvalidValueError(
                "the predictor needs warm_start_trees >= 0 and cold_refit_growth > 1; "
                f"got {warm_start_trees} and {cold_refit_growth}"
            )
        self.space = space
        self.regressor = regressor
        # statics: extra per-architecture columns (zero-cost proxies); encoding 'none' = those alone
        self.encoding = encoding if encoding == "none" and statics else resolve_encoding(space, encoding)
        self.nthread = nthread
        self.regressor_options = dict(regressor_options or {})
        if space.enumerable:
            self.features = encode_with_statics(space, self.encoding, statics) if statics else encode_all(space, self.encoding)
        else:  # too big to encode whole: rows are encoded when seen (statics are per-index columns)
            if statics:
                space.require_enumerable("predictor features from per-architecture columns (zero-cost proxies)")
            self.features = None
        self._indices: list[int] = []  # observed rows of self.features (an enumerable space)
        self._encoded: list[np.ndarray] = []  # observed archs encoded (a space too big to encode whole)
        self._scores: list[float] = []
        self.warm_start_trees = warm_start_trees
        self.cold_refit_growth = cold_refit_growth
        self.model: Any = None
        # the boosted sums of the current XGBEnsemble model, cached per architecture: its slot,
        # float32 sums [members, slots] of the first `_summed[slot]` rounds (0 = none yet);
        # warm refits add rounds, a cold refit starts them at 0
        self._slots: dict[Arch, int] = {}
        self._slot_archs: list[Arch] = []
        self._sums = np.zeros((0, 0), dtype=np.float32)
        self._summed = np.zeros(0, dtype=np.int64)
        self.observed_at_fit = 0
        self._cold_fit_size = 0

    @classmethod
    def from_knobs(
        cls,
        space: CategoricalSpace,
        predictor: str,
        encoding: str,
        nthread: int,
        num_members: int,
        num_trees: int,
        predictor_options: dict[str, Any] | None = None,
        statics: dict[str, np.ndarray] | None = None,
        warm_start_trees: int = 0,
        cold_refit_growth: float = 2.0,
    ) -> OnlinePredictor:
        """The predictor a strategy's config describes: ensemble size and tree count go to
        the regressors that have them; ``predictor_options`` override anything."""
        if predictor in ("xgb", "gbr"):
            options: dict[str, Any] = {"num_members": num_members, "num_trees": num_trees}
        elif predictor == "rf":
            options = {"num_trees": num_trees}
        else:
            options = {}
        options.update(predictor_options or {})
        return cls(space, predictor, encoding, nthread, options, statics, warm_start_trees, cold_refit_growth)

    def observe(self, arch: Arch, score: float) -> None:
        if self.features is None:
            self._encoded.append(self._rows([arch])[0])
        else:
            self._indices.append(self.space.index(arch))
        self._scores.append(float(score))

    @property
    def num_observed(self) -> int:
        return len(self._scores)

    @property
    def best_score(self) -> float:
        return max(self._scores, default=-math.inf)

    def targets(self) -> np.ndarray | None:
        """Training targets, failed ones imputed; None while < 2 scores are finite."""
        y = np.asarray(self._scores, dtype=np.float64)
        finite = np.isfinite(y)
        if finite.sum() < 2:
            return None
        return np.where(finite, y, y[finite].min())

    def fit(self, seed: int) -> bool:
        """Refit on everything observed; False (and no model) while too little is known.

        With ``warm_start_trees`` > 0 and a regressor that can continue (``fit_more``,
        :class:`~naslab.surrogates.xgb.XGBEnsemble`), a refit adds that many trees per
        member on the data so far instead of building the model anew; a cold fit comes
        back whenever the data have grown ``cold_refit_growth``-fold since the last
        one (10, 20, 40, ... results by default), so early trees fitted on a handful of
        results do not stay in the model for the whole search.
        """
        y = self.targets()
        if y is None:
            return False
        X = self.features[np.asarray(self._indices, dtype=np.int64)] if self.features is not None else np.stack(self._encoded)
        warm = (
            self.warm_start_trees > 0
            and hasattr(self.model, "fit_more")
            and len(y) < self.cold_refit_growth * self._cold_fit_size
        )
        if warm:  # the old trees stay, so do the cached sums of them
            self.model.fit_more(X, y, self.warm_start_trees, seed)
        else:
            self.model = make_regressor(
                self.regressor, random_state=seed, nthread=self.nthread, **self.regressor_options
            )
            self.model.fit(X, y)
            self._cold_fit_size = len(y)
            self._summed[:] = 0
        self.observed_at_fit = self.num_observed
        return True

    @property
    def stale_by(self) -> int:
        """Observations told since the last fit."""
        return self.num_observed - self.observed_at_fit

    def _rows(self, archs: list[Arch]) -> np.ndarray:
        vectors = np.asarray(archs, dtype=np.int64).reshape(-1, self.space.num_decisions)
        if self.features is None:
            return encode(self.space, vectors, self.encoding)
        return self.features[self.space.indices(vectors)]

    def predict(self, archs: list[Arch]) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std of the predictor for ``archs``."""
        if not hasattr(self.model, "predict_margins") or not archs:
            mean, std = self.model.predict(self._rows(archs), return_std=True)
            return np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
        # XGBEnsemble.predict's arithmetic on the same [members, n] numbers
        members = self.model.members_from_margins(self._member_margins(archs))
        return members.mean(axis=0), members.std(axis=0)

    def _member_margins(self, archs: list[Arch]) -> np.ndarray:
        """``[members, len(archs)]`` boosted sums of the current model, each row predicted once.

        Between refits surrogate_evolution scores many children again (30 % of the rows
        it asks for in a 300-query run on NB201): each architecture is predicted once per
        model, the missing ones in one call. After a warm refit a row predicted before
        needs only the trees added since (:meth:`XGBEnsemble.predict_margins`, the same
        float32 sums): of the rows bananas scores in a 300-query run on digits, 69 % were
        scored at the refit before, 5 % earlier and 26 % never. The sums live in one
        array indexed by a slot per architecture, so a call of several hundred rows
        costs a few numpy operations rather than a Python object per row. A row's
        prediction does not depend on the other rows of the call, so the numbers are
        those of predicting ``archs`` alone.
        """
        slots = []
        for arch in archs:
            slot = self._slots.get(arch)
            if slot is None:
                slot = self._slots[arch] = len(self._slot_archs)
                self._slot_archs.append(arch)
            slots.append(slot)
        self._reserve(len(self._slot_archs))
        wanted = np.unique(slots)
        rounds = self.model.rounds_
        whole = wanted[self._summed[wanted] == 0]
        behind = wanted[(self._summed[wanted] != 0) & (self._summed[wanted] != rounds)]
        for done in np.unique(self._summed[behind]).tolist():
            group = behind[self._summed[behind] == done]
            # a call costs ~0.2 ms, XGBoost ~25 ns a row and tree: a few rows join the whole prediction
            if group.size * done < INCREMENT_MIN_ROW_TREES:
                whole = np.concatenate([whole, group])
            else:
                self._sums[:, group] = self.model.predict_margins(self._slot_rows(group), done, self._sums[:, group])
        if whole.size:
            self._sums[:, whole] = self.model.predict_margins(self._slot_rows(whole))
        self._summed[wanted] = rounds
        return self._sums[:, slots]

    def _reserve(self, size: int) -> None:
        """Room for ``size`` cached architectures (doubling, so appends stay cheap)."""
        if size > self._summed.size:
            capacity = max(size, 2 * self._summed.size, 64)
            sums = np.zeros((len(self.model.boosters_), capacity), dtype=np.float32)
            summed = np.zeros(capacity, dtype=np.int64)
            if self._sums.shape[0] == sums.shape[0]:
                sums[:, : self._summed.size] = self._sums
                summed[: self._summed.size] = self._summed
            self._sums, self._summed = sums, summed

    def _slot_rows(self, slots: np.ndarray) -> np.ndarray:
        return self._rows([self._slot_archs[i] for i in slots.tolist()])

    def acquire(
        self, archs: list[Arch], kind: str, rng: np.random.Generator, ucb_beta: float = 2.0
    ) -> np.ndarray:
        mean, std = self.predict(archs)
        y = self.targets()
        best = float(np.max(y)) if y is not None else -math.inf
        return acquisition_values(kind, mean, std, best, rng, ucb_beta)
