"""A synthetic tabular benchmark for tests and speed measurements — never real data.

Scores are additive per-decision effects plus pairwise interactions, with one
*planted optimum* pushed clearly above everything else, so that a search strategy
that exploits structure must beat random search on it. Learning curves rise with
epochs; per-seed noise is added; training time grows with the number of convolutions.

A space too big to tabulate (DARTS) gets :class:`SyntheticFunction` instead, computed
per query, and :class:`SyntheticEvaluator` answering strategies from it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from naslab.benchmarks.tabular import TabularBenchmark, provenance, write_benchmark
from naslab.errors import InvalidValueError
from naslab.results import Result, failed_result
from naslab.spaces import Arch, CategoricalSpace, get_space

SYNTHETIC_DATASET = "synthetic"


def make_synthetic_benchmark(
    space: str | CategoricalSpace = "nb201",
    num_seeds: int = 2,
    epochs: tuple[int, ...] = (1, 2, 4, 8, 12),
    seed: int = 0,
    failed_fraction: float = 0.0,
) -> TabularBenchmark:
    """Build the synthetic benchmark in memory (deterministic for a given ``seed``).

    ``space`` is a registered space or its name; any enumerable space works (its
    :meth:`~naslab.spaces.CategoricalSpace.relative_size` sets the training time); a
    space that is not enumerable is refused in one sentence (use :class:`SyntheticFunction`).
    """
    sp = get_space(space) if isinstance(space, str) else space
    sp.require_enumerable("a synthetic tabular benchmark")
    rng = np.random.default_rng(seed)
    archs = sp.all_archs.astype(np.int64)
    n, d = archs.shape
    onehot = sp.one_hot(archs)
    main = rng.normal(0.0, 1.0, onehot.shape[1])
    pair = rng.normal(0.0, 0.3, (onehot.shape[1], onehot.shape[1]))
    score = onehot @ main + np.einsum("ni,ij,nj->n", onehot, np.triu(pair, 1), onehot)
    planted = int(rng.integers(n))
    score = (score - score.mean()) / score.std()
    score[planted] = score.max() + 1.0
    final_acc = 80.0 + 4.0 * score  # percent; planted optimum clearly best
    ep = np.asarray(epochs, dtype=np.float64)
    progress = 1.0 - np.exp(-ep / (0.3 * ep[-1]))
    progress = progress / progress[-1]
    noise = rng.normal(0.0, 0.3, (n, num_seeds, 1))
    val_acc = final_acc[:, None, None] * (0.6 + 0.4 * progress[None, None, :]) + noise
    test_acc = val_acc + rng.normal(0.0, 0.2, (n, num_seeds, len(ep)))
    val_loss = (100.0 - val_acc) / 40.0
    train_loss = val_loss * 0.8
    # bigger networks (NB201: more convolutions) train slower
    convs = sp.relative_size(archs)
    per_epoch = 5.0 + 2.0 * convs
    train_time = per_epoch[:, None, None] * ep[None, None, :] * np.ones((1, num_seeds, 1))
    metrics = {
        "val_acc": val_acc,
        "test_acc": test_acc,
        "val_loss": val_loss,
        "train_loss": train_loss,
        "train_time_s": train_time,
    }
    metrics = {k: np.clip(v, 0, None).astype(np.float32) for k, v in metrics.items()}
    if failed_fraction > 0:
        failed = rng.random(n) < failed_fraction
        failed[planted] = False
        for values in metrics.values():
            values[failed] = np.nan
    return TabularBenchmark(
        space_name=sp.name,
        dataset=SYNTHETIC_DATASET,
        archs=[sp.to_string(tuple(row)) for row in archs],
        epochs=np.asarray(epochs, dtype=np.int32),
        seeds=np.arange(num_seeds, dtype=np.int32),
        metrics=metrics,
        static={
            "params": (0.1 + 0.05 * convs).astype(np.float32),
            "flops": (10.0 + 8.0 * convs).astype(np.float32),
            "latency_ms_synthetic": (1.0 + 0.7 * convs + 0.1 * (archs == 4).sum(axis=1)).astype(np.float32),
        },
        attrs={"planted_optimum": planted, "synthetic_seed": seed, "recipe": {"kind": "synthetic"}},
    )


def write_synthetic_benchmark(path: str | os.PathLike[str], **kwargs: object) -> Path:
    """Write :func:`make_synthetic_benchmark` to ``path`` with provenance attributes."""
    bench = make_synthetic_benchmark(**kwargs)  # type: ignore[arg-type]
    bench.attrs.update(provenance(source="synthetic (naslab.benchmarks.synthetic)"))
    # fixed timestamp: the same arguments must give the same file
    bench.attrs["created_at"] = "synthetic"
    return write_benchmark(path, bench)


class SyntheticFunction:
    """A synthetic benchmark *computed per query* for spaces too big to tabulate (a test fixture, not data).

    For any space, enumerable or not (DARTS: ~1e18 architectures): the final accuracy is
    a deterministic function of the architecture's one-hot encoding, never a table. A
    *planted optimum* ``planted`` takes the best value of every decision's main effect;
    pairwise terms only ever subtract, and only between decisions that both differ from
    ``planted``; a bonus decays with the Hamming distance to it (a good region around it).
    So ``planted`` is the exact global optimum, :meth:`best` is known without
    enumeration, and a strategy that exploits structure finds better architectures than
    random search. Scores are standardised on a seeded sample of the space. Failures
    (``failed_fraction``) are a deterministic function of the architecture and the seed.
    Learning curves, losses and training time follow :func:`make_synthetic_benchmark`.
    """

    epochs: tuple[int, ...] = (1, 2, 4, 8, 12)

    def __init__(self, space: str | CategoricalSpace = "darts", seed: int = 0, failed_fraction: float = 0.0,
                 num_calibration: int = 4096) -> None:
        sp = get_space(space) if isinstance(space, str) else space
        self.space, self.seed, self.failed_fraction = sp, int(seed), float(failed_fraction)
        rng = np.random.default_rng([self.seed, 13])
        width = sp.one_hot_width
        offsets = np.concatenate([[0], np.cumsum(sp.cardinalities)[:-1]]).astype(np.int64)
        self._main = rng.normal(0.0, 1.0, width)
        self.planted = tuple(
            int(np.argmax(self._main[o : o + c])) for o, c in zip(offsets.tolist(), sp.cardinalities)
        )
        self._planted_onehot = sp.one_hot(self.planted)
        self._pair = np.triu(np.abs(rng.normal(0.0, 0.3, (width, width))), 1)
        calibration = np.array([sp.sample(rng) for _ in range(num_calibration)], dtype=np.int64)
        raw = self._raw(calibration)
        self._mean, self._std = float(raw.mean()), float(raw.std() or 1.0)

    def _raw(self, archs: np.ndarray) -> np.ndarray:
        onehot = self.space.one_hot(np.atleast_2d(archs)).astype(np.float64)
        differs = onehot * (1.0 - self._planted_onehot)  # the choices where arch leaves the optimum
        distance = differs.sum(axis=1)
        penalty = np.einsum("ni,ij,nj->n", differs, self._pair, differs)
        return onehot @ self._main - penalty + 2.0 * 0.7**distance

    def final_acc(self, archs: np.ndarray) -> np.ndarray:
        """Noise-free final validation (= reference test) accuracy, percent, ``[n]``."""
        # a random architecture scores ~72 +- 3.5; the planted optimum ~6.5 sd above (~95 on DARTS)
        return 72.0 + 3.5 * (self._raw(archs) - self._mean) / self._std

    def best(self) -> float:
        return float(self.final_acc(np.asarray([self.planted]))[0])

    def failed(self, arch: Arch) -> bool:
        if self.failed_fraction <= 0 or tuple(arch) == self.planted:
            return False
        return bool(np.random.default_rng([self.seed, 7, self.space.rank(arch)]).random() < self.failed_fraction)

    def metrics(self, arch: Arch, epoch: int) -> dict[str, float]:
        """Every metric of ``arch`` after ``epoch`` epochs (mean over seeds: no noise)."""
        final = float(self.final_acc(np.asarray([arch]))[0])
        ep = np.asarray(self.epochs, dtype=np.float64)
        progress = (1.0 - np.exp(-epoch / (0.3 * ep[-1]))) / (1.0 - np.exp(-ep[-1] / (0.3 * ep[-1])))
        val = max(final * (0.6 + 0.4 * progress), 0.0)
        size = float(self.space.relative_size(np.asarray([arch]))[0])
        return {"val_acc": val, "test_acc": val, "val_loss": (100.0 - val) / 40.0,
                "train_time_s": (5.0 + 2.0 * size) * epoch, "params": 0.1 + 0.05 * size, "flops": 10.0 + 8.0 * size}


class SyntheticEvaluator:
    """Answers any architecture from a :class:`SyntheticFunction` (a test fixture, not data).

    The evaluator protocol (:mod:`naslab.evaluators.base`) without a table, so that the
    contract suites search spaces that cannot be enumerated; answers are the seed mean
    (``seed=-1``), deterministic, and cost the synthetic training time.
    """

    shareable = True

    def __init__(self, space: str | CategoricalSpace = "darts", seed: int = 0, failed_fraction: float = 0.0) -> None:
        self.function = SyntheticFunction(space, seed, failed_fraction)
        self.space = self.function.space

    @property
    def fidelities(self) -> tuple[int, ...]:
        return self.function.epochs

    @property
    def charges_time(self) -> bool:
        return True

    def evaluate(self, arch: Arch | str, fidelity: int | None = None, trial_seed: int = 0) -> Result:
        arch = self.space.as_arch(arch)
        epoch = self.fidelities[-1] if fidelity is None else int(fidelity)
        if epoch not in self.fidelities:
            raise InvalidValueError(f"fidelity {fidelity} is not one of the synthetic epochs {list(self.fidelities)}")
        m = self.function.metrics(arch, epoch)
        text = self.space.to_string(arch)
        if self.function.failed(arch):
            return failed_result(text, epoch=epoch, seed=-1, cost_s=m["train_time_s"])
        return Result(arch=text, val_acc=m["val_acc"], test_acc=m["test_acc"], val_loss=m["val_loss"], epoch=epoch,
                      seed=-1, cost_s=m["train_time_s"], params=m["params"], flops=m["flops"])

    def reference_test_acc(self, arch: Arch | str) -> float:
        return float(self.function.final_acc(np.asarray([self.space.as_arch(arch)]))[0])

    def best_test_acc(self) -> float:
        return self.function.best()
