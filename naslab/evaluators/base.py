"""The evaluator protocol: answer ``evaluate(arch, fidelity, trial_seed)`` with a Result.

Strategies never see evaluators; the runner does. An evaluator also tells the runner
which fidelities (training epochs) it can answer and, where it knows them, the
reference figures used for regret (the seed-mean full-fidelity test accuracy of an
architecture and the best such value over the space).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from naslab.results import Result
from naslab.spaces import Arch, CategoricalSpace


@runtime_checkable
class Evaluator(Protocol):
    space: CategoricalSpace

    @property
    def fidelities(self) -> tuple[int, ...]:
        """Training epochs this evaluator can answer at, ascending; the last is full."""
        ...

    def evaluate(self, arch: Arch | str, fidelity: int | None = None, trial_seed: int = 0) -> Result:
        """Evaluate ``arch`` (a decision tuple, or the space's arch string) at ``fidelity``
        epochs (None = full). Never raises for a bad training: returns a failed Result
        instead; an ``arch`` that is not of the space raises ``InvalidArchError`` (one sentence)."""
        ...

    @property
    def charges_time(self) -> bool:
        """Whether evaluations cost simulated seconds (False: a time budget alone never ends)."""
        ...

    def reference_test_acc(self, arch: Arch | str) -> float:
        """Seed-mean full-fidelity test accuracy of ``arch`` (NaN if unknown)."""
        ...

    def best_test_acc(self) -> float:
        """Best reference test accuracy over the space (NaN if unknown)."""
        ...


