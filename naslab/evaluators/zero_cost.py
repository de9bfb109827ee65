"""Answer queries with a zero-cost proxy instead of a training (``evaluator=zero_cost``).

``evaluate`` scores the untrained network of the architecture with one proxy
(:mod:`naslab.zero_cost`) and answers the score as ``val_acc`` — the signal strategies
maximise — with ``cost_s`` = the measured seconds the scoring took (building the
network, the batch and the passes), so a search that uses proxies is charged what they
really cost. With a benchmark, ``test_acc`` and the regret come from the benchmark's
real accuracies (the proxy never sees them); params/flops from its statics.

Isomorphic architectures share one scoring (the first is measured; later queries of the
same canonical class answer the stored score and charge the stored seconds again, as a
tabular benchmark charges the stored training time). With ``table=<proxy table>`` the
scores and seconds are read from a precomputed table (:mod:`naslab.zero_cost.table`)
instead: the same answers every run, so trajectories are byte-identical per seed.
A score that fails (NaN, overflow, a singular matrix) is a failed Result.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from naslab.errors import InvalidValueError
from naslab.results import Result, failed_result
from naslab.spaces import Arch, get_space


class ZeroCostEvaluator:
    """One proxy's score as the evaluation of an architecture."""

    def __init__(
        self,
        benchmark: Any = None,
        proxy: str = "synflow",
        space: str | None = None,
        dataset: str | None = None,
        data_root: str | None = None,
        seed: int = 0,
        batch_size: int | None = None,
        network: dict[str, Any] | None = None,
        table: str | None = None,
    ) -> None:
        from naslab.zero_cost.base import DATASET_SHAPES, PROXY_NAMES, ZeroCostError

        if proxy not in PROXY_NAMES:
            raise ZeroCostError(f"evaluator=zero_cost: unknown proxy {proxy!r}; choose from {list(PROXY_NAMES)}")
        self.benchmark = benchmark
        space_name = space or (benchmark.space_name if benchmark is not None else "nb201")
        if benchmark is not None and benchmark.space_name != space_name:
            raise ZeroCostError(
                f"evaluator=zero_cost: space {space_name!r} differs from the benchmark's {benchmark.space_name!r}"
            )
        self.space = get_space(space_name)
        if dataset is None:
            dataset = benchmark.dataset if benchmark is not None else "digits"
            if dataset not in DATASET_SHAPES:
                raise ZeroCostError(
                    f"evaluator=zero_cost: the benchmark's dataset {dataset!r} is not one naslab can score on; "
                    f"set evaluator.dataset to one of {list(DATASET_SHAPES)}"
                )
        self.proxy, self.dataset, self.seed = proxy, dataset, int(seed)
        self._scorer_options: dict[str, Any] = {"data_root": data_root, "batch_size": batch_size,
                                                "network": dict(network or {})}
        self._scorer: Any = None
        self._class_ids = self.space.canonical_ids
        self._scores: dict[int, tuple[float, float]] = {}  # class id -> (stored score, seconds)
        if table is not None:
            self._read_table(table)
        self._reference = None
        if benchmark is not None and benchmark.has("test_acc"):
            self._reference = benchmark.table("test_acc")
            self._best = float(np.nanmax(self._reference))
        self._params = benchmark.static.get("params") if benchmark is not None else None
        self._flops = benchmark.static.get("flops") if benchmark is not None else None

    def _read_table(self, table: str) -> None:
        from naslab.zero_cost.features import _load, proxy_columns, resolve_table
        from naslab.zero_cost.table import time_column

        scores = proxy_columns(self.space, table, [self.proxy])[self.proxy]
        stored = _load(str(resolve_table(table))).get(time_column(self.proxy))
        # a table without scoring times (made elsewhere) charges nothing for its scores
        times = stored if stored is not None else np.where(np.isfinite(scores), 0.0, np.nan)
        for index in np.flatnonzero(np.isfinite(times)):
            self._scores.setdefault(int(self._class_ids[index]), (float(scores[index]), float(times[index])))

    @property
    def fidelities(self) -> tuple[int, ...]:
        # one fidelity; the evaluator contract's fidelities are positive, so it is 1 although
        # the scored network is untrained (no epochs): answers carry epoch 1
        return (1,)

    def _score(self, arch: Arch) -> tuple[float, float]:
        class_id = int(self._class_ids[self.space.index(arch)])
        cached = self._scores.get(class_id)
        if cached is None:
            from naslab.zero_cost.base import ZeroCostScorer
            from naslab.zero_cost.table import stored_value

            if self._scorer is None:
                self._scorer = ZeroCostScorer(self.space, self.dataset, self.seed, **self._scorer_options)
            result = self._scorer.score(arch, self.proxy)
            value = stored_value(self.proxy, result.value) if result.ok else math.nan
            cached = self._scores[class_id] = (value, result.time_s)
        return cached

    def evaluate(self, arch: Arch | str, fidelity: int | None = None, trial_seed: int = 0) -> Result:
        arch = self.space.as_arch(arch)
        if fidelity not in (None, 1):
            raise InvalidValueError(f"fidelity {fidelity} is not available: evaluator=zero_cost has the one fidelity 1 "
                             "(it scores untrained networks)")
        value, cost = self._score(arch)
        name = self.space.to_string(arch)
        if not math.isfinite(value):
            return failed_result(name, epoch=1, seed=self.seed, cost_s=cost)
        index = self.space.index(arch)
        return Result(
            arch=name,
            val_acc=value,
            test_acc=float(self._reference[index]) if self._reference is not None else math.nan,
            epoch=1,
            seed=self.seed,
            cost_s=cost,
            params=float(self._params[index]) if self._params is not None else math.nan,
            flops=float(self._flops[index]) if self._flops is not None else math.nan,
        )

    def reference_test_acc(self, arch: Arch | str) -> float:
        if self._reference is None:
            return math.nan
        return float(self._reference[self.space.index_of(arch)])

    def best_test_acc(self) -> float:
        return self._best if self._reference is not None else math.nan
