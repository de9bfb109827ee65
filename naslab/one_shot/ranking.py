"""Supernet ranking quality: Kendall tau between inherited-weight and benchmark accuracies.

The standard one-shot diagnostic (e.g. Yu et al., "Evaluating the search phase of
neural architecture search", ICLR 2020; NB201 paper, Sec. 5): score a sample of
architectures with the trained supernet's weights, no retraining, and compare the
ranking with the benchmark's. The sample is uniform over the space and drawn from
``sample_seed`` alone, so every method and run seed ranks the same architectures.
Each is scored on the whole validation split in one batch (the searched cells'
BatchNorms use batch statistics, see :mod:`naslab.one_shot.supernet`); the
benchmark's ``val_acc`` is measured on the same images after standalone training,
``test_acc`` on the test split. Architectures the benchmark marks failed are left out.
``scipy.stats.kendalltau`` (tau-b: ties in either ranking are accounted for).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from typing import Any

import numpy as np


def ranking_sample(space: Any, num_archs: int, sample_seed: int) -> list[tuple[int, ...]]:
    """``num_archs`` distinct architectures, uniformly at random from ``sample_seed``."""
    rng = np.random.default_rng(sample_seed)
    indices = rng.choice(space.size, size=min(num_archs, space.size), replace=False)
    return [space.arch(int(i)) for i in sorted(indices.tolist())]


def supernet_accuracy(supernet: Any, archs: list[tuple[int, ...]], x: Any, y: Any,
                      autocast: Callable[[], Any]) -> list[float]:
    """Accuracy (%) of each architecture's sub-network with inherited weights on ``(x, y)``."""
    import torch

    supernet.eval()
    out = []
    with torch.no_grad():
        for arch in archs:
            with autocast():
                logits = supernet.forward_arch(x, arch)
            out.append(100.0 * float((logits.float().argmax(-1) == y).float().mean()))
    supernet.train()
    return out


def kendall_tau(a: list[float], b: list[float]) -> float:
    from scipy.stats import kendalltau

    if len(a) < 2:
        return math.nan
    tau = kendalltau(a, b).statistic
    return float(tau) if tau == tau else math.nan  # constant input: undefined


def supernet_ranking(supernet: Any, evaluator: Any, num_archs: int, sample_seed: int, x: Any, y: Any,
                     autocast: Callable[[], Any]) -> tuple[str, dict[str, Any]]:
    """(``ranking.csv`` text, summary record) for ``num_archs`` sampled architectures (0 = skip)."""
    space = evaluator.space
    archs = [a for a in ranking_sample(space, num_archs, sample_seed) if evaluator.evaluate(a).ok] if num_archs else []
    scores = supernet_accuracy(supernet, archs, x, y, autocast)
    val = [evaluator.evaluate(a).val_acc for a in archs]
    test = [evaluator.reference_test_acc(a) for a in archs]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("arch", "supernet_val_acc", "benchmark_val_acc", "benchmark_test_acc"))
    for arch, s, v, t in zip(archs, scores, val, test):
        writer.writerow((space.to_string(arch), repr(s), repr(v), repr(t)))

    def rounded(value: float) -> float | None:
        return None if value != value else round(value, 6)

    record = {
        "num_archs": len(archs),
        "sample_seed": sample_seed,
        "kendall_tau_val": rounded(kendall_tau(scores, val)),
        "kendall_tau_test": rounded(kendall_tau(scores, test)),
        "mean_supernet_val_acc": rounded(float(np.mean(scores))) if scores else None,
    }
    return buffer.getvalue(), record
