"""Frozen records of what a search produced: one ``Result`` per evaluation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

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
