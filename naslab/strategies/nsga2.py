"""NSGA-II (Deb et al. 2002): multi-objective evolution towards a Pareto front.

Objectives are Result fields named in the config — ``val_acc`` is maximised;
``params``, ``flops``, ``latency_ms`` (and ``val_loss``) are minimised. A failed result
is no member of any population. The run folder gets ``pareto.csv`` and the summary the
front's hypervolume (``naslab.pareto``).

:class:`NSGA2` (``strategy=nsga2``) is the algorithm and defaults of Optuna's
``NSGAIISampler`` (read in optuna/optuna, ``optuna/samplers/nsgaii/_sampler.py``,
``_child_generation_strategy.py``, ``_crossover.py``, ``_elite_population_selection_strategy.py``
and ``optuna/samplers/_ga/_base.py``; Optuna 5.0), in numpy:

* each proposal belongs to a generation, fixed when it is asked: the newest generation
  with results while it has fewer than ``population_size`` of them, else the next one;
  generation 0 is uniformly random;
* generation ``g``'s parents are chosen once, when its first proposal is asked: the
  elite of generation ``g − 1``'s results and of its parents, filled front by front
  (non-dominated sorting), the last front by crowding distance, largest first;
* a child: with probability ``crossover_prob``, uniform crossover (each decision from
  the second parent with probability ``swapping_prob``) of two parents, each the better
  of a random pair (binary tournament by dominance, the second drawn from the parents
  without the first); else a copy of a random parent; then each decision is redrawn
  uniformly with probability ``mutation_prob`` (default 1 / number of decisions).

With several workers a proposal waits for no result: it joins the generation being
filled and breeds from that generation's parents, as in Optuna.

Why hand-written: through Optuna (:class:`OptunaNSGA2`, ``strategy=optuna_nsga2``,
kept for comparison) a 300-query run on the embedded digits benchmark cost 0.43–0.55
CPU s, most of it Optuna's trial bookkeeping (it deep-copies trials at every ask); this
one costs a few hundredths (``python perf/strategy_speed.py``, docs/performance.md),
with the same front quality (hypervolume) over 50 seeds. The random streams differ, so
the two never give the same trajectory.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence

import numpy as np

from naslab.errors import InvalidValueError
from naslab.pareto import is_maximised, non_dominated_sort
from naslab.results import Result
from naslab.spaces import Arch
from naslab.strategies.base import SearchContext, Strategy
from naslab.strategies.optuna_sampler import OptunaStrategy

OBJECTIVES = ("val_acc", "val_loss", "params", "flops", "latency_ms")


def _checked_settings(objectives: Sequence[str], population_size: int) -> tuple[str, ...]:
    """The objectives as a tuple, after the checks both NSGA-II implementations share."""
    objectives = tuple(str(o) for o in objectives)
    unknown = [o for o in objectives if o not in OBJECTIVES]
    if len(objectives) < 2 or unknown or len(set(objectives)) != len(objectives):
        raise InvalidValueError(
            f"nsga2 needs two or more distinct objectives from {list(OBJECTIVES)}, got {list(objectives)}"
        )
    if population_size < 2:
        raise InvalidValueError(f"nsga2 needs population_size >= 2, got {population_size}")
    return objectives


def objective_values(objectives: Sequence[str], result: Result) -> list[float] | None:
    """The objectives of a result in natural units, or None for a failed one."""
    if result.status != "ok":
        return None
    values = [float(getattr(result, o)) for o in objectives]
    missing = [o for o, v in zip(objectives, values) if v != v]
    if missing:
        raise InvalidValueError(
            f"nsga2 objective {missing[0]} is missing (NaN) for {result.arch}: the benchmark does not "
            f"store it; choose objectives it has (for latency, set evaluator.latency_metric)"
        )
    return values


def crowding_distances(points: np.ndarray) -> np.ndarray:
    """NSGA-II's crowding distance of each point of one front ``[n, m]``: per objective, the
    gap between its two neighbours over the objective's range (infinite at the ends;
    an objective on which all points are equal adds nothing)."""
    distance = np.zeros(len(points))
    for column in points.T:
        order = np.argsort(column, kind="stable")
        ordered = column[order]
        if ordered[0] == ordered[-1]:
            continue
        padded = np.concatenate([[-np.inf], ordered, [np.inf]])
        distance[order] += (padded[2:] - padded[:-2]) / (ordered[-1] - ordered[0])
    return distance


class NSGA2(Strategy):
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
        self.objectives = _checked_settings(objectives, population_size)
        probabilities = [crossover_prob, swapping_prob] + ([] if mutation_prob is None else [mutation_prob])
        if not all(0.0 <= p <= 1.0 for p in probabilities):
            raise InvalidValueError(
                f"nsga2 needs crossover_prob, swapping_prob and mutation_prob in [0, 1], got "
                f"{crossover_prob}, {swapping_prob} and {mutation_prob}"
            )
        self.population_size = population_size
        self.crossover_prob = crossover_prob
        self.swapping_prob = swapping_prob
        self.mutation_prob = 1.0 / self.space.num_decisions if mutation_prob is None else mutation_prob
        self._signs = np.array([-1.0 if is_maximised(o) else 1.0 for o in self.objectives])
        self._cards = np.asarray(self.space.cardinalities, dtype=np.int64)
        # results by generation: (arch, objectives as a minimisation problem), in told order
        self._members: dict[int, list[tuple[Arch, np.ndarray]]] = defaultdict(list)
        self._parents: dict[int, list[tuple[Arch, np.ndarray]]] = {0: []}
        self._pending: dict[Arch, deque[int]] = defaultdict(deque)  # asked, not told: their generations

    # ----- generations ------------------------------------------------------------------
    def _generation(self) -> int:
        newest = max(self._members, default=0)
        return newest if len(self._members[newest]) < self.population_size else newest + 1

    def _parents_of(self, generation: int) -> list[tuple[Arch, np.ndarray]]:
        """Generation ``generation``'s parents, chosen when first needed (and kept)."""
        if generation not in self._parents:
            pool = self._members.get(generation - 1, []) + self._parents_of(generation - 1)
            points = np.asarray([values for _, values in pool])
            elite: list[int] = []
            for front in non_dominated_sort(points):
                if len(elite) + len(front) < self.population_size:
                    elite.extend(front.tolist())
                    continue
                crowding = crowding_distances(points[front])
                ranked = front[np.argsort(-crowding, kind="stable")]
                elite.extend(ranked[: self.population_size - len(elite)].tolist())
                break
            self._parents[generation] = [pool[i] for i in elite]
        return self._parents[generation]

    # ----- breeding ---------------------------------------------------------------------
    def _tournament(self, pool: list[tuple[Arch, np.ndarray]]) -> int:
        """The better of two random members (the second unless the first dominates it)."""
        a, b = (self.rng.random(2) * len(pool)).astype(np.intp).tolist()
        va, vb = pool[a][1], pool[b][1]
        return a if bool(np.all(va <= vb) and np.any(va < vb)) else b

    def _child(self, parents: list[tuple[Arch, np.ndarray]]) -> Arch:
        if self.rng.random() < self.crossover_prob and len(parents) >= 2:
            first = self._tournament(parents)
            others = parents[:first] + parents[first + 1 :]
            second = others[self._tournament(others)][0]
            take_second = self.rng.random(len(self._cards)) < self.swapping_prob
            child = np.where(take_second, second, parents[first][0])
        else:
            child = np.asarray(parents[int(self.rng.random() * len(parents))][0])
        redraw = self.rng.random(len(self._cards)) < self.mutation_prob
        uniform = (self.rng.random(len(self._cards)) * self._cards).astype(np.int64)
        return tuple(np.where(redraw, uniform, child).tolist())

    # ----- ask / tell -------------------------------------------------------------------
    def ask(self) -> Arch:
        generation = self._generation()
        parents = self._parents_of(generation)
        arch = self._child(parents) if parents else self.space.sample(self.rng)
        self._pending[arch].append(generation)
        return arch

    def tell(self, arch: Arch, result: Result) -> None:
        waiting = self._pending.get(arch)
        if not waiting:
            return  # not one of ours (cannot happen with the runner)
        generation = waiting.popleft()
        if not waiting:
            del self._pending[arch]
        values = objective_values(self.objectives, result)
        if values is not None:
            self._members[generation].append((arch, np.asarray(values) * self._signs))


class OptunaNSGA2(OptunaStrategy):
    """Optuna's ``NSGAIISampler`` through ask/tell (``strategy=optuna_nsga2``): failed results
    are told as ``TrialState.FAIL``; with several workers Optuna assigns each asked trial
    to the generation being filled."""

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
        self.objectives = _checked_settings(objectives, population_size)
        self.directions = tuple("maximize" if is_maximised(o) else "minimize" for o in self.objectives)
        sampler = self.optuna.samplers.NSGAIISampler(
            population_size=population_size,
            crossover_prob=crossover_prob,
            swapping_prob=swapping_prob,
            mutation_prob=mutation_prob,
            seed=self._sampler_seed(),
        )
        self._create_study(sampler)

    def _values(self, result: Result) -> list[float] | None:
        return objective_values(self.objectives, result)
