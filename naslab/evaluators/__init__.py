"""Evaluators answer queries: tabular lookup, real training, or a surrogate model.

``naslab.evaluators.get("tabular")`` is the class of that name (the names of the CLI's
``evaluator=`` group); ``available()`` lists them; ``register`` adds one.
"""

from __future__ import annotations

from typing import Any

from naslab.evaluators.base import Evaluator
from naslab.registry import Registry

REGISTRY: Registry[Any] = Registry(
    "evaluator",
    "naslab.evaluators",
    {
        "budget_ignoring": "naslab.evaluators.budget_ignoring:BudgetIgnoringEvaluator",
        "surrogate": "naslab.evaluators.surrogate:SurrogateEvaluator",
        "surrogate_benchmark": "naslab.evaluators.surrogate_benchmark:SurrogateBenchmarkEvaluator",
        "tabular": "naslab.evaluators.tabular:TabularEvaluator",
        "train": "naslab.evaluators.train:TrainEvaluator",
        "zero_cost": "naslab.evaluators.zero_cost:ZeroCostEvaluator",
    },
)
get, available, register = REGISTRY.get, REGISTRY.available, REGISTRY.register


__all__ = ["Evaluator", "available", "get", "register"]
