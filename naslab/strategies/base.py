"""The ask/tell strategy protocol.

A strategy proposes architectures (``ask``) and learns from their results (``tell``).
It never sees the evaluator: the same strategy searches a tabular benchmark, trains
candidates for real, or queries a surrogate. Everything random comes from
``context.rng``, a ``numpy.random.Generator`` derived from the run seed.

With several (simulated) workers, ``ask`` may be called again before earlier
proposals have been told; strategies must cope (propose something sensible while
waiting, e.g. a random architecture).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from naslab.results import Result
from naslab.spaces import Arch, CategoricalSpace


def validation_accuracy(result: Result) -> float:
    """The default objective: validation accuracy; a failed result scores -inf."""
    return result.val_acc if result.status == "ok" else -math.inf


@dataclass(frozen=True)
class SearchContext:
    """What a strategy may know about the search it is part of."""

    space: CategoricalSpace
    rng: np.random.Generator
    fidelities: tuple[int, ...] = (1,)
    max_queries: int | None = None
    max_sim_seconds: float | None = None
    num_workers: int = 1
    objective: Callable[[Result], float] = field(default=validation_accuracy)

    @property
    def max_fidelity(self) -> int:
        return self.fidelities[-1]


class Query(NamedTuple):
    """A proposal at a reduced fidelity (training epochs); plain Archs mean full fidelity."""

    arch: Arch
    fidelity: int | None


Proposal = Arch | Query


class Strategy(ABC):
    """Base class: stores the context; subclasses implement ``ask`` and ``tell``."""

    def __init__(self, context: SearchContext) -> None:
        self.context = context
        self.space = context.space
        self.rng = context.rng
        self.score = context.objective

    @abstractmethod
    def ask(self) -> Proposal:
        """The next architecture (or :class:`Query`) to evaluate."""

    @abstractmethod
    def tell(self, arch: Arch, result: Result) -> None:
        """The result of evaluating ``arch`` (possibly failed: ``result.status``)."""

    def ask_batch(self, n: int) -> list[Proposal]:
        """``n`` proposals at once, for parallel workers; override to diversify."""
        return [self.ask() for _ in range(n)]
