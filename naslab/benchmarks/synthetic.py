"""A synthetic tabular benchmark for tests and speed measurements — never real data.

Scores are additive per-decision effects plus pairwise interactions, with one
*planted optimum* pushed clearly above everything else, so that a search strategy
that exploits structure must beat random search on it. Learning curves rise with
epochs; per-seed noise is added; training time grows with the number of convolutions.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from naslab.benchmarks.tabular import TabularBenchmark, provenance, write_benchmark
from naslab.spaces import CategoricalSpace, get_space

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
    :meth:`~naslab.spaces.CategoricalSpace.relative_size` sets the training time).
    """
    sp = get_space(space) if isinstance(space, str) else space
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
