"""Answer queries by looking them up in a tabular benchmark held in memory."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from naslab.benchmarks.tabular import TabularBenchmark, require_table, seed_mean
from naslab.errors import InvalidValueError
from naslab.evaluators.cost import charged_time, describe_cost
from naslab.results import Result, failed_result
from naslab.spaces import Arch

SeedMode = Literal["mean", "random"]


class TabularEvaluator:
    """Look-ups in a :class:`TabularBenchmark`; cost = the stored training time.

    ``cost='train+eval'`` charges the stored evaluation time too (:mod:`naslab.evaluators.cost`).

    ``seed_mode='mean'`` answers the mean over the stored seeds (deterministic);
    ``'random'`` answers one stored seed, picked from the runner's per-trial seed, as
    the NAS-Bench-201 API does when asked for a single run (rows with fewer stored
    seeds pick among those they have). ``None`` takes the benchmark's own default
    (its ``seed_mode`` attribute; ``mean`` if it names none).
    ``val_metric``/``test_metric`` let a benchmark with several datasets (e.g. NB201's
    ``cifar10-valid`` and ``cifar10``) be searched on one and reported on the other;
    they are never substituted for one another silently. ``val_metric`` fills
    ``Result.val_acc`` and ``loss_metric`` ``Result.val_loss``; ``None`` means the
    benchmark's search metric where it is maximised (resp. minimised), else
    ``val_acc`` (resp. ``val_loss``) where the benchmark has it.

    Regret (:meth:`regret`) is on the seed-mean ``test_metric`` when the benchmark
    has it, else on the seed-mean search metric, in its direction;
    :attr:`reference_metric` names which (and :meth:`metric_sources` says it).
    """

    # answers depend only on (arch, fidelity, trial seed) and the caches hold immutable
    # Results: one instance may serve every search of a process (naslab.app shares it)
    shareable = True

    def __init__(
        self,
        benchmark: TabularBenchmark,
        seed_mode: SeedMode | None = None,
        val_metric: str | None = None,
        test_metric: str = "test_acc",
        latency_metric: str | None = None,
        loss_metric: str | None = None,
        cost: str = "train",
    ) -> None:
        b = benchmark
        require_table(b, "evaluator=tabular")
        seed_mode = seed_mode or b.attrs.get("seed_mode") or "mean"
        if seed_mode not in ("mean", "random"):
            raise InvalidValueError(f"seed_mode must be 'mean' or 'random', got {seed_mode!r}")
        self.benchmark = benchmark
        self.space = benchmark.space
        self.seed_mode = seed_mode
        maximised = b.search_direction == "max"
        if val_metric is None:
            val_metric = b.search_metric if maximised else ("val_acc" if b.has("val_acc") else None)
        if loss_metric is None:
            loss_metric = b.search_metric if not maximised else ("val_loss" if b.has("val_loss") else None)
        self.val_metric, self.loss_metric = val_metric, loss_metric
        self._val = b.metric(val_metric) if val_metric is not None else None
        self.test_metric = resolve_test_metric(b, test_metric)
        self._test = b.metric(self.test_metric) if self.test_metric is not None else None
        self._val_loss = b.metric(loss_metric) if loss_metric is not None else None
        # the metric whose NaN marks a failed training: the one strategies search on
        self._primary = self._val if self._val is not None else self._val_loss
        if self._primary is None:
            raise InvalidValueError(f"{b.label}: neither val_metric nor loss_metric names a metric to search on")
        self.cost = cost
        self._time = charged_time(b.metrics, cost, b.label)
        self._positions = {int(e): i for i, e in enumerate(b.epochs)}
        self._params = _as_list(b.static.get("params"))
        self._flops = _as_list(b.static.get("flops"))
        self._latency = _as_list(b.static_value(latency_metric)) if latency_metric else None
        self._archs = b.archs
        self._index = self.space._index_by_arch
        self._last = len(self._positions) - 1
        # rows that hold fewer stored seeds than the seed axis (e.g. NB201's 2-seed
        # cells): position -> per row, the seed positions it has
        self._seed_subsets = _seed_subsets(self._primary)
        # Results are immutable, so each (arch, epoch, seed) answer is built once and
        # then shared: a repeated query costs one dict and one list lookup
        self._answers: dict[tuple[int, int], list[Result | None]] = {}
        self._columns: dict[tuple[int, int], dict[str, list[float]]] = {}
        # no test values at all: regret is measured on the search metric, in its direction
        # (metric_sources says so); reference_test_acc answers it only where it is maximised
        self.reference_metric = self.test_metric or val_metric or loss_metric
        self._regret_sign = 1.0 if self.test_metric is not None or val_metric is not None else -1.0
        self._regret_reference = b.table(self.reference_metric).tolist()
        self._reference = self._regret_reference if self._regret_sign > 0 else None
        self._best_signed = float(np.nanmax(np.asarray(self._regret_reference, dtype=np.float64) * self._regret_sign))
        self._best = float(np.nanmax(self._reference)) if self._reference is not None else math.nan

    @property
    def fidelities(self) -> tuple[int, ...]:
        return tuple(int(e) for e in self.benchmark.epochs)

    @property
    def charges_time(self) -> bool:
        return self._time is not None and bool(np.nanmax(self._time, initial=0.0) > 0)

    def evaluate(self, arch: Arch | str, fidelity: int | None = None, trial_seed: int = 0) -> Result:
        """``arch`` is a decision tuple (what strategies propose) or the space's arch string."""
        try:
            i = self._index[arch]  # type: ignore[index]
        except (KeyError, TypeError):  # not a valid tuple: a string, a list, or a mistake (one sentence)
            i = self._index[self.space.as_arch(arch)]
        if fidelity is None:
            pos = self._last
        else:
            pos = self._positions.get(fidelity, -1)
            if pos < 0:
                raise InvalidValueError(
                    f"fidelity {fidelity} is not stored in {self.benchmark.label}; "
                    f"stored epochs: {list(self._positions)}"
                )
        if self.seed_mode == "mean":
            seed = -1
        else:
            subset = self._seed_subsets[pos].get(i) if self._seed_subsets else None
            seed = trial_seed % self._primary.shape[1] if subset is None else subset[trial_seed % len(subset)]
        answers = self._answers.get((pos, seed))
        if answers is None:
            answers = self._answers[(pos, seed)] = [None] * len(self._archs)
            self._columns[(pos, seed)] = self._read_columns(pos, seed)
        result = answers[i]
        if result is None:
            result = answers[i] = self._build(i, pos, seed)
        return result

    def _read_columns(self, pos: int, seed: int) -> dict[str, list[float]]:
        """Every arch's metrics at one (epoch, seed) as lists, read in one vectorised pass."""

        def column(values: np.ndarray | None, default: float) -> list[float]:
            if values is None:
                return [default] * len(self._archs)
            if seed >= 0:
                return values[:, seed, pos].astype(np.float64).tolist()
            return seed_mean(values[:, :, pos]).tolist()

        return {
            "val": column(self._val, math.nan),
            "test": column(self._test, math.nan),
            "val_loss": column(self._val_loss, math.nan),
            "time": column(self._time, 0.0),
        }

    def _build(self, i: int, pos: int, seed: int) -> Result:
        columns = self._columns[(pos, seed)]
        epoch = int(self.benchmark.epochs[pos])
        cost = columns["time"][i]
        if cost != cost:  # NaN time: the training did not finish; charge nothing known
            cost = 0.0
        val = columns["val"][i]
        primary = val if self._val is not None else columns["val_loss"][i]
        if primary != primary:
            return failed_result(self._archs[i], epoch=epoch, seed=seed, cost_s=cost)
        return Result(
            arch=self._archs[i],
            val_acc=val,
            test_acc=columns["test"][i],
            val_loss=columns["val_loss"][i],
            epoch=epoch,
            seed=seed,
            cost_s=cost,
            params=self._params[i] if self._params is not None else math.nan,
            flops=self._flops[i] if self._flops is not None else math.nan,
            latency_ms=self._latency[i] if self._latency is not None else math.nan,
        )

    def reference_test_acc(self, arch: Arch | str) -> float:
        if self._reference is None:
            return math.nan
        try:
            return self._reference[self._index[arch]]  # type: ignore[index]
        except (KeyError, TypeError):
            return self._reference[self._index[self.space.as_arch(arch)]]

    def metric_sources(self) -> dict[str, str]:
        """Where each number of the run comes from: file, metric, dataset and split."""
        b = self.benchmark
        out = {"val_acc": describe_metric(b, self.val_metric) if self.val_metric is not None
               else f"none: {b.label} is searched on the loss {self.loss_metric}"}
        if self.loss_metric is not None:
            out["val_loss"] = describe_metric(b, self.loss_metric)
        out["test_acc"] = (describe_metric(b, self.test_metric) if self.test_metric is not None
                           else f"none: {b.label} has no test values")
        m = self.reference_metric
        if self._regret_sign > 0:
            out["regret"] = f"best seed-mean {m} at the last epoch in {b.label} minus the incumbent's"
        else:
            out["regret"] = f"the incumbent's seed-mean {m} at the last epoch minus the lowest in {b.label}"
        if self.test_metric is None:
            out["regret"] += f" (on the validation metric {m}: the benchmark has no test values)"
        if self._time is not None:
            out["cost_s"] = describe_cost(self.cost, b.label)
        return out

    def best_test_acc(self) -> float:
        return self._best

    def regret(self, arch: Arch) -> float:
        """How far ``arch``'s seed-mean :attr:`reference_metric` is from the best in the benchmark (>= 0)."""
        return self._best_signed - self._regret_sign * self._regret_reference[self._index[arch]]


def _seed_subsets(values: np.ndarray) -> list[dict[int, list[int]]] | None:
    """Per epoch position: rows with some but not all seeds stored -> their seed positions."""
    present = ~np.isnan(values)
    counts = present.sum(axis=1)  # [N, E]
    partial = (counts > 0) & (counts < values.shape[1])
    if not partial.any():
        return None
    return [
        {int(i): np.flatnonzero(present[i, :, e]).tolist() for i in np.flatnonzero(partial[:, e])}
        for e in range(values.shape[2])
    ]


def resolve_test_metric(bench: TabularBenchmark, name: str) -> str | None:
    """``name`` if the benchmark has it; None if it has no test values at all (and ``name``
    is the default); a misspelt or absent name is refused in one sentence."""
    if bench.has(name):
        return name
    tests = sorted(m for m in bench.metrics if "test" in m)
    if name == "test_acc" and not tests:
        return None
    raise InvalidValueError(
        f"test_metric {name!r} is not in {bench.label}; its test metrics are {tests or 'none'} "
        f"(all metrics: {sorted(bench.metrics)})"
    )


def describe_metric(bench: TabularBenchmark, name: str) -> str:
    """``FILE /metrics/NAME (dataset D): meaning`` from the file's own description."""
    meaning = (bench.attrs.get("description") or {}).get(name, "no description in the file")
    return f"{bench.label} /metrics/{name} (dataset {bench.dataset}): {meaning}"


def _as_list(values: np.ndarray | None) -> list[float] | None:
    return None if values is None else values.astype(np.float64).tolist()
