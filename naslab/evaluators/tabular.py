"""Answer queries by looking them up in a tabular benchmark held in memory."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from naslab.benchmarks.tabular import TabularBenchmark, seed_mean
from naslab.results import Result, failed_result
from naslab.spaces import Arch

SeedMode = Literal["mean", "random"]


class TabularEvaluator:
    """Look-ups in a :class:`TabularBenchmark`; cost = the stored training time.

    ``seed_mode='mean'`` answers the mean over the stored seeds (deterministic);
    ``'random'`` answers one seed, picked from the runner's per-trial seed, as the
    NAS-Bench-201 API does when asked for a single run.
    ``val_metric``/``test_metric`` let a benchmark with several datasets (e.g. NB201's
    ``cifar10-valid`` and ``cifar10``) be searched on one and reported on the other;
    they are never substituted for one another silently.
    """

    def __init__(
        self,
        benchmark: TabularBenchmark,
        seed_mode: SeedMode = "mean",
        val_metric: str = "val_acc",
        test_metric: str = "test_acc",
        latency_metric: str | None = None,
    ) -> None:
        if seed_mode not in ("mean", "random"):
            raise ValueError(f"seed_mode must be 'mean' or 'random', got {seed_mode!r}")
        self.benchmark = benchmark
        self.space = benchmark.space
        self.seed_mode = seed_mode
        b = benchmark
        self._val = b.metric(val_metric)
        self.val_metric = val_metric
        self.test_metric = resolve_test_metric(b, test_metric)
        self._test = b.metric(self.test_metric) if self.test_metric is not None else None
        self._val_loss = b.metrics.get("val_loss")
        self._time = b.metrics.get("train_time_s")
        self._positions = {int(e): i for i, e in enumerate(b.epochs)}
        self._params = _as_list(b.static.get("params"))
        self._flops = _as_list(b.static.get("flops"))
        self._latency = _as_list(b.static_value(latency_metric)) if latency_metric else None
        self._archs = b.archs
        self._index = self.space._index_by_arch
        self._last = len(self._positions) - 1
        # Results are immutable, so each (arch, epoch, seed) answer is built once and
        # then shared: a repeated query costs one dict and one list lookup
        self._answers: dict[tuple[int, int], list[Result | None]] = {}
        self._columns: dict[tuple[int, int], dict[str, list[float]]] = {}
        # no test values at all: regret is measured on the search signal (metric_sources says so)
        self.reference_metric = self.test_metric or val_metric
        self._reference = b.table(self.reference_metric).tolist()
        self._best = float(np.nanmax(self._reference)) if self._reference is not None else math.nan

    @property
    def fidelities(self) -> tuple[int, ...]:
        return tuple(int(e) for e in self.benchmark.epochs)

    @property
    def charges_time(self) -> bool:
        return self._time is not None and bool(np.nanmax(self._time, initial=0.0) > 0)

    def evaluate(self, arch: Arch, fidelity: int | None = None, trial_seed: int = 0) -> Result:
        i = self._index[arch]
        if fidelity is None:
            pos = self._last
        else:
            pos = self._positions.get(fidelity, -1)
            if pos < 0:
                raise ValueError(
                    f"fidelity {fidelity} is not stored in {self.benchmark.label}; "
                    f"stored epochs: {list(self._positions)}"
                )
        seed = -1 if self.seed_mode == "mean" else trial_seed % self._val.shape[1]
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
        if val != val:
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

    def reference_test_acc(self, arch: Arch) -> float:
        return self._reference[self._index[arch]]

    def metric_sources(self) -> dict[str, str]:
        """Where each number of the run comes from: file, metric, dataset and split."""
        b = self.benchmark
        out = {"val_acc": describe_metric(b, self.val_metric)}
        out["test_acc"] = (describe_metric(b, self.test_metric) if self.test_metric is not None
                           else f"none: {b.label} has no test values")
        out["regret"] = f"best seed-mean {self.reference_metric} at the last epoch in {b.label} minus the incumbent's"
        if self.test_metric is None:
            out["regret"] += f" (on the validation metric {self.val_metric}: the benchmark has no test values)"
        return out

    def best_test_acc(self) -> float:
        return self._best


def resolve_test_metric(bench: TabularBenchmark, name: str) -> str | None:
    """``name`` if the benchmark has it; None if it has no test values at all (and ``name``
    is the default); a misspelt or absent name is refused in one sentence."""
    if bench.has(name):
        return name
    tests = sorted(m for m in bench.metrics if "test" in m)
    if name == "test_acc" and not tests:
        return None
    raise ValueError(
        f"test_metric {name!r} is not in {bench.label}; its test metrics are {tests or 'none'} "
        f"(all metrics: {sorted(bench.metrics)})"
    )


def describe_metric(bench: TabularBenchmark, name: str) -> str:
    """``FILE /metrics/NAME (dataset D): meaning`` from the file's own description."""
    meaning = (bench.attrs.get("description") or {}).get(name, "no description in the file")
    return f"{bench.label} /metrics/{name} (dataset {bench.dataset}): {meaning}"


def _as_list(values: np.ndarray | None) -> list[float] | None:
    return None if values is None else values.astype(np.float64).tolist()
