"""The budgeted ask/tell loop with a simulated clock and W simulated workers.

The runner owns the loop, the budget, the RNG, the incumbent and the trajectory.
Each evaluation is charged its ``cost_s`` on a simulated clock: with W workers a
worker that finishes early asks for the next candidate (asynchronous, like
syne-tune's simulated backend), so W workers spend a fixed budget in ~1/W of the
simulated time. A result that would finish after ``max_sim_seconds`` is not
recorded, as in the NAS-Bench-201 baselines.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from naslab.errors import InvalidValueError, NaslabError
from naslab.evaluators.base import Evaluator
from naslab.results import TRAJECTORY_COLUMNS, Result, Trajectory, TrajectoryRow  # noqa: F401 (re-exported)
from naslab.spaces import Arch
from naslab.strategies.base import Query, SearchContext, Strategy, validation_accuracy

# a time-only budget whose clock stood still for this many results in a row can never end
STALLED_RESULTS = 10_000


class BudgetError(NaslabError, ValueError):
    """A budget that cannot end (one sentence for the user)."""


@dataclass(frozen=True)
class Budget:
    """Stop after ``queries`` evaluations and/or ``sim_seconds`` of simulated time."""

    queries: int | None = 300
    sim_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.queries is None and self.sim_seconds is None:
            raise InvalidValueError("budget needs queries or sim_seconds (or both); both are null")
        if self.queries is not None and self.queries < 1:
            raise InvalidValueError(f"budget.queries must be >= 1, got {self.queries}")
        if self.sim_seconds is not None and not self.sim_seconds > 0:
            raise InvalidValueError(f"budget.sim_seconds must be > 0, got {self.sim_seconds}")


new_row = tuple.__new__  # builds a named tuple from a tuple of its fields without keyword parsing


def trial_seeds(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent generators for the strategy and for per-trial seeds, from one run seed."""
    strategy_seq, trial_seq = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(strategy_seq), np.random.default_rng(trial_seq)


def run_search(
    make_strategy: Callable[..., Strategy],
    evaluator: Evaluator,
    seed: int,
    budget: Budget,
    num_workers: int = 1,
    fidelity: int | None = None,
    objective: Callable[[Result], float] = validation_accuracy,
    on_result: Callable[[int, Result, Trajectory], None] | None = None,
) -> Trajectory:
    """Run one search; return its trajectory. ``make_strategy(context=...)`` builds the strategy.

    ``fidelity`` is the epoch at which plain ``Arch`` proposals are evaluated (None =
    the evaluator's full fidelity); ``Query`` proposals carry their own, and only
    results at (or above) that target epoch can become the incumbent.
    """
    if num_workers < 1:
        raise InvalidValueError(f"workers must be >= 1, got {num_workers}")
    if fidelity is not None and fidelity not in evaluator.fidelities:
        raise InvalidValueError(f"fidelity {fidelity} is not available; the evaluator has epochs {list(evaluator.fidelities)}")
    if budget.queries is None and not getattr(evaluator, "charges_time", True):
        raise BudgetError(
            f"budget.sim_seconds={budget.sim_seconds} alone never ends here: the benchmark has no training "
            "times, so every query costs 0 simulated seconds; set budget.queries"
        )
    strategy_rng, trial_rng = trial_seeds(seed)
    context = SearchContext(
        space=evaluator.space,
        rng=strategy_rng,
        fidelities=tuple(evaluator.fidelities),
        max_queries=budget.queries,
        max_sim_seconds=budget.sim_seconds,
        num_workers=num_workers,
        objective=objective,
    )
    strategy = make_strategy(context=context)
    max_queries = budget.queries if budget.queries is not None else math.inf
    max_time = budget.sim_seconds if budget.sim_seconds is not None else math.inf
    # only answers at the search's target fidelity compete for the incumbent: a
    # 1-epoch accuracy says how promising an arch is, not how good it is
    target_epoch = fidelity if fidelity is not None else evaluator.fidelities[-1]
    best_test = evaluator.best_test_acc()
    reference = evaluator.reference_test_acc
    # an evaluator that knows a regret of its own (e.g. on the validation metric of a
    # benchmark without test accuracy) answers it; else regret is on test accuracy
    regret_of = getattr(evaluator, "regret", None)
    # per-trial seeds are drawn in blocks: one generator call per query costs more
    # than the whole lookup
    seed_block = trial_rng.integers(0, 2**31 - 1, size=1024).tolist()

    trajectory = Trajectory()
    rows = trajectory.rows
    running: list[tuple[float, int, int, Arch, Result]] = []  # (finish time, order, worker, arch, result)
    free_workers = list(range(num_workers - 1, -1, -1))
    started = 0
    now = 0.0
    out_of_time = False
    inc_score = -math.inf
    inc_arch = ""
    inc_val = math.nan
    inc_test = math.nan
    regret = math.nan
    stalled = 0  # results in a row that moved the simulated clock by nothing

    while True:
        while free_workers and started < max_queries and not out_of_time:
            # several idle workers get one batch, so a strategy can diversify it
            k = min(len(free_workers), max_queries - started)
            proposals = [strategy.ask()] if k == 1 else strategy.ask_batch(int(k))
            for proposal in proposals[: int(k)]:
                arch: Arch
                if type(proposal) is Query:
                    arch, at = proposal.arch, proposal.fidelity
                else:
                    arch, at = proposal, fidelity  # type: ignore[assignment]
                if started and started % 1024 == 0:
                    seed_block = trial_rng.integers(0, 2**31 - 1, size=1024).tolist()
                result = evaluator.evaluate(arch, at, seed_block[started % 1024])
                heapq.heappush(running, (now + result.cost_s, started, free_workers.pop(), arch, result))
                started += 1
        if not running:
            break
        finish, _, worker, arch, result = heapq.heappop(running)
        free_workers.append(worker)
        if finish > max_time:
            out_of_time = True  # results still running elsewhere may finish in time
            continue
        if finish > now or max_queries < math.inf:
            stalled = 0
        else:
            stalled += 1
            if stalled >= STALLED_RESULTS:
                raise BudgetError(
                    f"budget.sim_seconds={budget.sim_seconds} cannot end: {stalled} queries in a row cost 0 "
                    f"simulated seconds (the evaluator stores no training time for them); set budget.queries"
                )
        now = finish
        score = objective(result) if result.epoch >= target_epoch else -math.inf
        if score > inc_score:
            inc_score, inc_arch, inc_val = score, result.arch, result.val_acc
            inc_test = reference(arch)
            if inc_test != inc_test:  # no reference: use what the evaluation measured
                inc_test = result.test_acc
            regret = regret_of(arch) if regret_of is not None else best_test - inc_test
            trajectory.incumbent = result
        rows.append(
            # a TrajectoryRow built from its fields in order (keyword arguments cost 6 us a row,
            # a quarter of a 1,000-query evolution run; tuple.__new__ 0.8 us)
            new_row(TrajectoryRow, (
                len(rows),          # step
                result.arch,        # arch
                result.epoch,       # epoch
                result.seed,        # seed
                result.status,      # status
                result.val_acc,     # val_acc
                result.val_loss,    # val_loss
                result.test_acc,    # test_acc
                result.cost_s,      # cost_s
                now,                # sim_time_s
                worker,             # worker
                result.params,      # params
                result.flops,       # flops
                result.latency_ms,  # latency_ms
                inc_arch,           # incumbent_arch
                inc_val,            # incumbent_val_acc
                inc_test,           # incumbent_test_acc
                regret,             # regret
            ))
        )
        strategy.tell(arch, result)
        if on_result is not None:
            on_result(len(rows), result, trajectory)
    trajectory.incumbent_test_acc = inc_test
    trajectory.regret = regret
    trajectory.sim_time_s = now
    return trajectory
