"""NAS-Bench-201's BOHB worker as an evaluator: every Hyperband rung gets the 12-epoch answer.

The paper's BOHB (HpBandSter, ``eta=3, min_budget=12, max_budget=200``; D-X-Y/AutoDL-Projects
``exps/NAS-Bench-201-algos/BOHB.py``) called ``compute(config, budget)``, and the worker
ignored ``budget``: it returned the 12-epoch validation accuracy and charged the 12-epoch
time, whatever the rung. This evaluator exposes HpBandSter's rung budgets (200/9, 200/3,
200, rounded down: 22, 66, 200) as fidelities so naslab's BOHB schedules the same
brackets, answers each query from ``answer_at`` epochs, and labels the Result with the
requested rung, so the bracket bookkeeping works as there; with ``fidelity=200`` the
runner's incumbent is HpBandSter's (the best result at the max budget).

    python -m naslab +experiment=nb201_c10_paper strategy=bohb evaluator=budget_ignoring fidelity=200
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from naslab.benchmarks.tabular import TabularBenchmark
from naslab.errors import InvalidValueError
from naslab.evaluators.tabular import TabularEvaluator
from naslab.results import Result
from naslab.spaces import Arch


class BudgetIgnoringEvaluator(TabularEvaluator):
    """A :class:`TabularEvaluator` answering every fidelity of ``budgets`` at ``answer_at`` epochs."""

    def __init__(
        self,
        benchmark: TabularBenchmark,
        answer_at: int = 12,
        budgets: Sequence[int] = (12, 22, 66, 200),
        **tabular: object,
    ) -> None:
        super().__init__(benchmark, **tabular)  # type: ignore[arg-type]
        stored = [int(e) for e in benchmark.epochs]
        if int(answer_at) not in stored:
            raise InvalidValueError(f"answer_at={answer_at} is not an epoch of {benchmark.label}; stored epochs: {stored}")
        budgets = tuple(int(b) for b in budgets)
        if not budgets or list(budgets) != sorted(set(budgets)):
            raise InvalidValueError(f"budgets must be increasing epochs, got {list(budgets)}")
        self.answer_at = int(answer_at)
        self._budgets = budgets

    @property
    def fidelities(self) -> tuple[int, ...]:
        return self._budgets

    def evaluate(self, arch: Arch | str, fidelity: int | None = None, trial_seed: int = 0) -> Result:
        if fidelity is not None and fidelity not in self._budgets:
            raise InvalidValueError(f"fidelity {fidelity} is not a budget of this evaluator; budgets: {list(self._budgets)}")
        result = super().evaluate(arch, self.answer_at, trial_seed)
        return dataclasses.replace(result, epoch=int(fidelity if fidelity is not None else self._budgets[-1]))
