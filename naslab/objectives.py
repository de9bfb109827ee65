"""Objectives: the one number per Result that a single-objective strategy maximises.

Strategies rank results only through ``self.score`` (= ``SearchContext.objective``),
so a resource-aware search is a config change (``objective=scalarized``), not a new
strategy. ``naslab/conf/objective/`` holds the choices; the runner uses the same objective
to pick the incumbent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from naslab.errors import InvalidValueError
from naslab.results import Result
from naslab.strategies.base import validation_accuracy

RESOURCES = ("params", "flops", "latency_ms")
"""Result fields a scalarized objective may penalise."""


def accuracy() -> Callable[[Result], float]:
    """Validation accuracy (the default); a failed result scores -inf."""
    return validation_accuracy


def _negative_validation_loss(result: Result) -> float:
    if result.status != "ok" or result.val_loss != result.val_loss:
        return -math.inf
    return -result.val_loss


def validation_loss() -> Callable[[Result], float]:
    """Minimise validation loss (as -val_loss); a failed or loss-less result scores -inf.

    On small validation sets the loss ranks architectures more repeatably than the
    accuracy (on the digits benchmark: Spearman 0.95 vs 0.76 between seed groups).
    """
    return _negative_validation_loss


def _search_metric(result: Result) -> float:
    if result.status != "ok":
        return -math.inf
    value = result.val_acc
    if value == value:
        return value
    loss = result.val_loss
    return -loss if loss == loss else -math.inf


def search_metric() -> Callable[[Result], float]:
    """The benchmark's own search metric (the default): ``val_acc`` where the evaluator
    answers one (a maximised metric: accuracy, or e.g. mIoU where the benchmark's
    ``val_metric`` says so), else ``-val_loss`` (a minimised one, e.g. FCNet's MSE).

    The evaluator decides which field it fills (see
    :class:`naslab.evaluators.tabular.TabularEvaluator`), so one sweep over benchmarks
    with different metrics needs no per-benchmark objective. On a benchmark with both
    (digits, NB201) this equals :func:`accuracy`.
    """
    return _search_metric


@dataclass(frozen=True)
class ScalarizedObjective:
    """``R = val_acc − weight · resource`` (Zoph & Le's reward with a resource penalty).

    ``resource`` is a Result field (params in M, flops in M, latency_ms); ``weight``
    is in accuracy points per unit of it. A failed result scores -inf. A missing
    (NaN) resource is an error: the benchmark cannot answer this objective.
    """

    resource: str = "params"
    weight: float = 1.0

    def __post_init__(self) -> None:
        if self.resource not in RESOURCES:
            raise InvalidValueError(f"objective.resource must be one of {list(RESOURCES)}, got {self.resource!r}")
        if not math.isfinite(self.weight) or self.weight < 0:
            raise InvalidValueError(f"objective.weight must be a finite number >= 0, got {self.weight}")

    def __call__(self, result: Result) -> float:
        if result.status != "ok":
            return -math.inf
        cost = getattr(result, self.resource)
        if cost != cost:
            raise InvalidValueError(
                f"the scalarized objective needs {self.resource} but the evaluation of {result.arch} has none; "
                f"use a benchmark that stores {self.resource} or objective.resource="
                f"{'/'.join(r for r in RESOURCES if r != self.resource)}"
            )
        return result.val_acc - self.weight * cost


def scalarized(resource: str = "params", weight: float = 1.0) -> ScalarizedObjective:
    """Factory used by ``naslab/conf/objective/scalarized.yaml``."""
    return ScalarizedObjective(resource=resource, weight=float(weight))
