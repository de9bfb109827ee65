"""Records of what a search produced: one ``Result`` per evaluation, one ``TrajectoryRow`` per
recorded result, and the ``Trajectory`` that holds them (what ``trajectory.csv`` stores)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

Status = Literal["ok", "failed"]
NAN = math.nan


@dataclass(frozen=True, slots=True)
class Result:
    """One evaluation of one architecture.

    ``val_acc`` is what strategies optimise; ``test_acc`` is recorded for analysis
    only. Accuracies are in percent. ``cost_s`` is the simulated (tabular) or measured
    (trained) seconds this evaluation cost. ``epoch`` is the fidelity answered;
    ``seed`` the training seed (-1 = mean over seeds). ``predicted`` marks answers from
    a surrogate model rather than a real training.
    """

    arch: str
    val_acc: float
    test_acc: float = NAN
    val_loss: float = NAN
    epoch: int = 0
    seed: int = -1
    cost_s: float = 0.0
    params: float = NAN
    flops: float = NAN
    latency_ms: float = NAN
    status: Status = "ok"
    predicted: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def failed_result(arch: str, epoch: int = 0, seed: int = -1, cost_s: float = 0.0) -> Result:
    """A failed (diverged, crashed or missing) evaluation: NaN metrics, status 'failed'."""
    return Result(arch=arch, val_acc=NAN, epoch=epoch, seed=seed, cost_s=cost_s, status="failed")


class TrajectoryRow(NamedTuple):
    """One row of the trajectory: a recorded result and the incumbent after it.

    A named tuple: fields by name (``row.regret``), and still a plain tuple for the CSV
    writer and for comparing runs. The field order is the column order of ``trajectory.csv``.
    """

    step: int
    arch: str
    epoch: int
    seed: int
    status: str
    val_acc: float
    val_loss: float
    test_acc: float
    cost_s: float
    sim_time_s: float  # the simulated clock when this result arrived
    worker: int
    params: float
    flops: float
    latency_ms: float
    incumbent_arch: str
    incumbent_val_acc: float
    incumbent_test_acc: float  # reference (seed-mean, full-fidelity) test accuracy of the incumbent
    regret: float  # best reference test accuracy of the benchmark minus the incumbent's


TRAJECTORY_COLUMNS: tuple[str, ...] = TrajectoryRow._fields


@dataclass
class Trajectory:
    """The rows of a search, in the order results arrived, and where it ended."""

    rows: list[TrajectoryRow] = field(default_factory=list)
    incumbent: Result | None = None
    incumbent_test_acc: float = NAN
    regret: float = NAN
    sim_time_s: float = 0.0

    def column(self, name: str) -> list:
        i = TRAJECTORY_COLUMNS.index(name)
        return [row[i] for row in self.rows]

    def to_pandas(self) -> Any:
        """The rows as a ``pandas.DataFrame``, one column per field (pandas is imported only here)."""
        return rows_to_pandas(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def rows_to_pandas(rows: list[TrajectoryRow]) -> Any:
    try:
        import pandas as pd
    except ModuleNotFoundError:
        from naslab.errors import NaslabError

        raise NaslabError("to_pandas() needs pandas, which is not installed: pip install pandas") from None
    return pd.DataFrame.from_records(rows, columns=list(TRAJECTORY_COLUMNS))
