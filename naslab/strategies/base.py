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
from typing import ClassVar, NamedTuple

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
    """Base class: stores the context; subclasses implement ``ask`` and ``tell``.

    What a strategy can do is declared on its class, so the runner, the run folder,
    the tests and the comparison scripts read it in one way:
    """

    multi_objective: ClassVar[bool] = False
    """Trades off several Result fields: judged by its Pareto front (the run folder gets
    ``pareto.csv``), not by the regret of one objective."""
    multi_fidelity: ClassVar[bool] = False
    """Proposes :class:`Query` objects at reduced fidelities; since its cheap queries each
    count as a query, compare it to others at equal simulated time."""
    requires: ClassVar[tuple[str, ...]] = ()
    """Modules of optional extras it needs (``("optuna",)``); see :meth:`missing_requirements`."""
    extra: ClassVar[str | None] = None
    """The ``pip install 'naslab[<extra>]'`` that provides ``requires``."""

    @classmethod
    def missing_requirements(cls) -> list[str]:
        """The modules of ``requires`` that are not installed (nothing is imported)."""
        from importlib.util import find_spec

        return [name for name in cls.requires if find_spec(name) is None]

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
