"""What a query is charged (``evaluator.cost``): the training time, or training plus evaluation.

Benchmarks built by naslab store both measured times per seed and stored epoch:
``train_time_s`` (the optimisation steps) and ``eval_time_s`` (the precise-BN pass and
the validation/test passes, which are 38 % of a digits training's wall time). The
default charges training only, as NAS-Bench-201's ``train-all-time`` does; ``train+eval``
charges what the training run took, e.g. to simulate a time budget that evaluation also
uses up.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from naslab.errors import InvalidValueError

COSTS: dict[str, tuple[str, ...]] = {
    "train": ("train_time_s",),
    "train+eval": ("train_time_s", "eval_time_s"),
}


def cost_metrics(cost: str, where: str) -> tuple[str, ...]:
    """The stored time metrics a query is charged under ``cost``, or one sentence saying what is expected."""
    try:
        return COSTS[cost]
    except (KeyError, TypeError):
        raise InvalidValueError(f"{where}: cost={cost!r} is not understood; expected one of {list(COSTS)}") from None


def charged_time(metrics: Mapping[str, np.ndarray], cost: str, label: str) -> np.ndarray | None:
    """The per-row time charged under ``cost`` (the sum of its metrics), None if the file stores no time.

    Asking for evaluation time from a file that has none is refused rather than charged as 0.
    """
    names = cost_metrics(cost, label)
    missing = [name for name in names if name not in metrics]
    if "train_time_s" in missing:
        return None  # nothing timed (a benchmark without costs): charges_time is False
    if missing:
        raise InvalidValueError(
            f"{label} stores no {', '.join(missing)} (built before naslab measured evaluation time, or imported "
            "from a benchmark that does not publish it); use evaluator.cost=train"
        )
    if len(names) == 1:
        return metrics[names[0]]
    return np.sum([metrics[name].astype(np.float64) for name in names], axis=0)


def describe_cost(cost: str, label: str) -> str:
    """For summary.json's ``metrics`` block: which stored times ``cost_s`` adds up."""
    return " + ".join(f"{label} /metrics/{name}" for name in cost_metrics(cost, label)) + " of the answered seed(s)"
