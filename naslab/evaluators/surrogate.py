"""A surrogate benchmark: a predictor fitted on part of a tabular benchmark answers every query.

Like NAS-Bench-301 (and syne-tune's ``add_surrogate``), the surrogate *wraps* a
:class:`TabularBenchmark`: it fits an ensemble regressor
(:mod:`naslab.surrogates.xgb`) on ``n_train`` random architectures of it (or on every
row that has results, ``n_train: null`` — e.g. a benchmark still being built), with
the training epoch as an extra feature, then answers any architecture at any stored
epoch with a Result marked ``predicted=True``.

* ``noise: none`` answers the ensemble mean (deterministic); ``normal`` draws from
  N(mean, std) of the ensemble and ``member`` answers one randomly chosen member
  (NAS-Bench-301's noisy mode), both seeded by the runner's per-trial seed, so a
  run is still reproducible.
* ``cost_s`` is the benchmark's stored training time of that architecture and epoch
  where it has one, else the median stored time at that epoch.
* Regret references (``reference: benchmark``) are the benchmark's true seed-mean
  test accuracies where it has them (how good the architectures a search found on
  the surrogate really are); ``reference: surrogate`` uses the predicted test
  accuracies throughout (the surrogate *is* the benchmark, as in NAS-Bench-301).
  For rows a benchmark still lacks, the runner falls back to the predicted test
  accuracy, so regret there is relative to the best *built* architecture.

The surrogate is fitted once per process for equal arguments: a sweep of many
seeds over one benchmark file fits it once.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import Literal

import numpy as np

from naslab.benchmarks.tabular import TabularBenchmark, require_table
from naslab.errors import InvalidValueError
from naslab.evaluators.tabular import describe_metric, resolve_test_metric
from naslab.results import Result
from naslab.spaces import Arch
from naslab.surrogates.features import encode_all, resolve_encoding, with_statics
from naslab.surrogates.xgb import REGRESSORS, make_regressor

Noise = Literal["none", "normal", "member"]
Reference = Literal["benchmark", "surrogate"]
NOISES = ("none", "normal", "member")
STATIC_FEATURES = ("params", "flops")


@dataclass(frozen=True)
class _Tables:
    """Predictions for every (architecture, epoch position)."""

    members: dict[str, np.ndarray]  # metric -> [members, N, E]
    train_rows: np.ndarray  # benchmark rows the surrogate was fitted on


_fitted: dict[tuple, tuple[weakref.ref, _Tables]] = {}


class SurrogateEvaluator:
    """Answer queries from a predictor fitted on (part of) a tabular benchmark."""

    def __init__(
        self,
        benchmark: TabularBenchmark | None,
        n_train: int | None = 500,
        noise: Noise = "none",
        reference: Reference = "benchmark",
        predictor: str = "xgb",
        encoding: str = "auto",
        use_statics: bool = True,
        num_members: int = 5,
        num_trees: int = 200,
        seed: int = 0,
        nthread: int = 1,
        val_metric: str = "val_acc",
        test_metric: str = "test_acc",
    ) -> None:
        if benchmark is None:
            raise InvalidValueError(
                "evaluator=surrogate wraps a tabular benchmark; set benchmark=<name> or benchmark.path=FILE"
            )
        require_table(benchmark, "evaluator=surrogate (a surrogate of a full table)")
        if noise not in NOISES:
            raise InvalidValueError(f"surrogate noise must be one of {list(NOISES)}, got {noise!r}")
        if reference not in ("benchmark", "surrogate"):
            raise InvalidValueError(f"surrogate reference must be 'benchmark' or 'surrogate', got {reference!r}")
        if predictor not in REGRESSORS:
            raise InvalidValueError(f"unknown surrogate predictor {predictor!r}; choose from {list(REGRESSORS)}")
        if n_train is not None and n_train < 2:
            raise InvalidValueError(
                f"surrogate n_train must be >= 2 (or null = every row with results), got {n_train}"
            )
        self.benchmark = benchmark
        self.space = benchmark.space
        self.noise = noise
        self.reference = reference
        self.seed = int(seed)
        self.val_metric = val_metric
        self.test_metric = resolve_test_metric(benchmark, test_metric)
        benchmark.metric(val_metric)  # one-sentence KeyError if it is missing
        encoding = resolve_encoding(self.space, encoding)
        statics = tuple(n for n in STATIC_FEATURES if use_statics and n in benchmark.static)
        options = {"num_members": num_members, "num_trees": num_trees} if predictor in ("xgb", "gbr") else {}
        key = (id(benchmark), n_train, predictor, encoding, statics, tuple(sorted(options.items())),
               self.seed, nthread, val_metric, self.test_metric)  # fmt: skip
        cached = _fitted.get(key)
        # ids are reused after garbage collection: the weak reference proves it is the same object
        tables = cached[1] if cached is not None and cached[0]() is benchmark else None
        if tables is None:
            tables = self._fit(n_train, predictor, encoding, statics, options, nthread)
            _fitted[key] = (weakref.ref(benchmark), tables)
        self._tables = tables
        self.train_rows = tables.train_rows
        self._mean = {name: m.mean(axis=0) for name, m in tables.members.items()}
        self._std = {name: m.std(axis=0) for name, m in tables.members.items()}
        self._cost = self._cost_table()
        self._positions = {int(e): i for i, e in enumerate(benchmark.epochs)}
        self._params = benchmark.static.get("params")
        self._flops = benchmark.static.get("flops")
        true_test = benchmark.table(self.test_metric) if self.test_metric else None
        predicted_test = self._mean.get("test", self._mean["val"])[:, -1]
        if reference == "benchmark" and true_test is not None and np.isfinite(true_test).any():
            self._reference = true_test.astype(np.float64)
            self._reference_text = f"true seed-mean {self.test_metric} in {benchmark.label}"
        else:
            self._reference = predicted_test
            self._reference_text = (f"the surrogate's predicted {self.test_metric or val_metric} "
                                    f"(fitted on {benchmark.label})")
        self._best = float(np.nanmax(self._reference))

    # ----- fitting ---------------------------------------------------------------------
    def _fit(
        self, n_train: int | None, predictor: str, encoding: str, statics: tuple[str, ...],
        options: dict, nthread: int,
    ) -> _Tables:  # fmt: skip
        b = self.benchmark
        final_val = b.table(self.val_metric)
        has_result = np.isfinite(final_val)
        if b.complete is not None:
            has_result &= b.complete
        available = np.flatnonzero(has_result)
        if n_train is None:
            rows = available
        elif n_train > available.size:
            raise InvalidValueError(
                f"surrogate n_train={n_train} but {b.label} has results for only {available.size} "
                "architectures; lower n_train or use n_train=null (all of them)"
            )
        else:
            rng = np.random.default_rng(self.seed)
            rows = np.sort(rng.choice(available, size=n_train, replace=False))
        if rows.size < 2:
            raise InvalidValueError(
                f"{b.label} has results for {rows.size} architectures; the surrogate needs at least 2"
            )
        features = with_statics(encode_all(self.space, encoding), {n: b.static[n] for n in statics})
        epochs = np.asarray(b.epochs, dtype=np.float32)
        num_epochs = epochs.size

        def with_epoch(feature_rows: np.ndarray) -> np.ndarray:
            # every (architecture, epoch) pair; the epoch number is the last column
            x = np.repeat(feature_rows, num_epochs, axis=0)
            return np.hstack([x, np.tile(epochs, feature_rows.shape[0])[:, None]]).astype(np.float32)

        x_train = with_epoch(features[rows])
        x_all = with_epoch(features)
        metrics = {"val": self.val_metric}
        if self.test_metric:
            metrics["test"] = self.test_metric
        members: dict[str, np.ndarray] = {}
        for name, metric in metrics.items():
            seed_mean = np.stack([b.table(metric, int(e)) for e in b.epochs], axis=1)  # [N, E]
            y = seed_mean[rows].reshape(-1)
            known = np.isfinite(y)
            if known.sum() < 2:
                if name == "val":
                    raise InvalidValueError(
                        f"{b.label}: {metric} has fewer than 2 finite values on the training rows"
                    )
                continue
            model = make_regressor(predictor, random_state=self.seed, nthread=nthread, **options)
            model.fit(x_train[known], y[known])
            if hasattr(model, "predict_members"):
                pred = model.predict_members(x_all)
            else:
                mean, std = model.predict(x_all, return_std=True)
                pred = np.stack([mean - std, mean + std])  # same mean and spread
            pred = pred.reshape(pred.shape[0], b.num_archs, num_epochs)
            # an epoch with no training data at all cannot be predicted: NaN, not a guess
            trained_epochs = np.isfinite(seed_mean[rows]).any(axis=0)
            pred[:, :, ~trained_epochs] = np.nan
            members[name] = pred
        return _Tables(members=members, train_rows=rows)

    def _cost_table(self) -> np.ndarray | None:
        b = self.benchmark
        if not b.has("train_time_s"):
            return None
        cost = np.stack([b.table("train_time_s", int(e)) for e in b.epochs], axis=1).astype(np.float64)
        for pos in range(cost.shape[1]):
            column = cost[:, pos]
            finite = np.isfinite(column)
            column[~finite] = float(np.median(column[finite])) if finite.any() else 0.0
        return cost

    # ----- the evaluator protocol ------------------------------------------------------
    @property
    def charges_time(self) -> bool:
        return self._cost is not None and bool(np.max(self._cost, initial=0.0) > 0)

    @property
    def fidelities(self) -> tuple[int, ...]:
        return tuple(int(e) for e in self.benchmark.epochs)

    def _answer(self, name: str, i: int, pos: int, rng: np.random.Generator | None) -> float:
        if name not in self._mean:
            return math.nan
        if rng is None:
            return float(self._mean[name][i, pos])
        if self.noise == "member":
            members = self._tables.members[name]
            return float(members[int(rng.integers(members.shape[0])), i, pos])
        return float(self._mean[name][i, pos] + self._std[name][i, pos] * rng.standard_normal())

    def evaluate(self, arch: Arch | str, fidelity: int | None = None, trial_seed: int = 0) -> Result:
        i = self.space.index_of(arch)
        if fidelity is None:
            pos = len(self._positions) - 1
        elif fidelity in self._positions:
            pos = self._positions[fidelity]
        else:
            raise InvalidValueError(
                f"fidelity {fidelity} is not stored in {self.benchmark.label}; stored epochs: {list(self._positions)}"
            )
        rng = None if self.noise == "none" else np.random.default_rng([self.seed, int(trial_seed), i, pos])
        val = self._answer("val", i, pos, rng)
        test = self._answer("test", i, pos, rng)
        cost = float(self._cost[i, pos]) if self._cost is not None else 0.0
        return Result(
            arch=self.benchmark.archs[i],
            val_acc=val,
            test_acc=test,
            epoch=int(self.benchmark.epochs[pos]),
            seed=-1,
            cost_s=cost,
            params=float(self._params[i]) if self._params is not None else math.nan,
            flops=float(self._flops[i]) if self._flops is not None else math.nan,
            status="ok" if val == val else "failed",
            predicted=True,
        )

    def predicted_table(self, metric: str = "val", epoch: int | None = None) -> np.ndarray:
        """``[N]`` ensemble-mean prediction of ``val`` or ``test`` at ``epoch`` (None = last)."""
        pos = len(self._positions) - 1 if epoch is None else self._positions[epoch]
        return self._mean[metric][:, pos]

    def reference_test_acc(self, arch: Arch | str) -> float:
        return float(self._reference[self.space.index_of(arch)])

    def best_test_acc(self) -> float:
        return self._best

    def metric_sources(self) -> dict[str, str]:
        """Where each number of the run comes from: predicted by a surrogate of which file and metric."""
        b = self.benchmark
        test = (f"predicted from {describe_metric(b, self.test_metric)}" if self.test_metric is not None
                else f"none: {b.label} has no test values")
        regret = f"best minus the incumbent's value of {self._reference_text}"
        if self.test_metric is None:
            regret += f" (on the validation metric {self.val_metric}: the benchmark has no test values)"
        return {"val_acc": f"predicted from {describe_metric(b, self.val_metric)}", "test_acc": test,
                "regret": regret}
