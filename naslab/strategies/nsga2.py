"""NSGA-II (Deb et al. 2002): multi-objective evolution towards a Pareto front.

Optuna's ``NSGAIISampler`` does the work through ask/tell (non-dominated sorting,
crowding distance, uniform crossover, mutation); this module maps the space's
decisions to categorical parameters and a Result to the objective values.
Objectives are Result fields named in the config — ``val_acc`` is maximised;
``params``, ``flops``, ``latency_ms`` (and ``val_loss``) are minimised. A failed
result is told as ``TrialState.FAIL``. The run folder gets ``pareto.csv`` and the
summary the front's hypervolume (``naslab.pareto``).

With several workers, Optuna assigns each asked trial to the generation being
filled and breeds from the previous generation's completed trials, so proposals
never wait for results.
"""

from __future__ import annotations

from collections.abc import Sequence

from naslab.errors import InvalidValueError
from naslab.pareto import is_maximised
from naslab.results import Result
from naslab.strategies.base import SearchContext
from naslab.strategies.optuna_sampler import OptunaStrategy

OBJECTIVES = ("val_acc", "val_loss", "params", "flops", "latency_ms")


class NSGA2(OptunaStrategy):
    multi_objective = True

    def __init__(
        self,
        context: SearchContext,
        objectives: Sequence[str] = ("val_acc", "params"),
        population_size: int = 50,
        crossover_prob: float = 0.9,
        swapping_prob: float = 0.5,
        mutation_prob: float | None = None,
    ) -> None:
        super().__init__(context)
        objectives = tuple(str(o) for o in objectives)
        unknown = [o for o in objectives if o not in OBJECTIVES]
        if len(objectives) < 2 or unknown or len(set(objectives)) != len(objectives):
            raise InvalidValueError(
                f"nsga2 needs two or more distinct objectives from {list(OBJECTIVES)}, got {list(objectives)}"
            )
        if population_size < 2:
            raise InvalidValueError(f"nsga2 needs population_size >= 2, got {population_size}")
        self.objectives = objectives
        self.directions = tuple("maximize" if is_maximised(o) else "minimize" for o in objectives)
        sampler = self.optuna.samplers.NSGAIISampler(
            population_size=population_size,
            crossover_prob=crossover_prob,
            swapping_prob=swapping_prob,
            mutation_prob=mutation_prob,
            seed=self._sampler_seed(),
        )
        self._create_study(sampler)

    def _values(self, result: Result) -> list[float] | None:
        if result.status != "ok":
            return None
        values = [float(getattr(result, o)) for o in self.objectives]
        missing = [o for o, v in zip(self.objectives, values) if v != v]
        if missing:
            raise InvalidValueError(
                f"nsga2 objective {missing[0]} is missing (NaN) for {result.arch}: the benchmark does not "
                f"store it; choose objectives it has (for latency, set evaluator.latency_metric)"
            )
        return values
