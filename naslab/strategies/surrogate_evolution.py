"""Surrogate-assisted regularized evolution: the predictor picks which offspring to evaluate.

Regularized evolution (Real et al. 2019) evaluates every child it makes. Here each
step makes ``num_offspring`` children (tournament of ``sample_size`` from the aged
population, then one mutation each), scores them with a predictor refitted every
``refit_every`` results, and evaluates only the best by the acquisition (default
``ucb``: mostly exploitation, with a little credit for uncertainty). While the
population fills, random samples are filtered the same way once ``num_init``
results are known. Refits after the first are warm-started (``warm_start_trees``
more trees per member, see :class:`~naslab.strategies.bananas.Bananas`). With
several workers, children already proposed are skipped, so a batch holds distinct
architectures.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from naslab.errors import InvalidValueError
from naslab.results import Result
from naslab.spaces import Arch
from naslab.strategies.base import SearchContext, Strategy
from naslab.surrogates.online import ACQUISITIONS, OnlinePredictor


class SurrogateEvolution(Strategy):
    def __init__(
        self,
        context: SearchContext,
        population_size: int = 50,
        sample_size: int = 10,
        num_init: int = 10,
        num_offspring: int = 20,
        refit_every: int = 10,
        acquisition: str = "ucb",
        ucb_beta: float = 0.5,
        predictor: str = "xgb",
        encoding: str = "auto",
        num_members: int = 5,
        num_trees: int = 100,
        nthread: int = 1,
        predictor_options: dict[str, Any] | None = None,
        warm_start_trees: int = 10,
        cold_refit_growth: float = 32.0,
    ) -> None:
        super().__init__(context)
        if population_size < 2 or sample_size < 1 or num_init < 2 or num_offspring < 1 or refit_every < 1:
            raise InvalidValueError(
                "surrogate_evolution needs population_size >= 2, sample_size >= 1, num_init >= 2, "
                f"num_offspring >= 1 and refit_every >= 1; got {population_size}, {sample_size}, "
                f"{num_init}, {num_offspring}, {refit_every}"
            )
        if acquisition not in ACQUISITIONS:
            raise InvalidValueError(
                f"surrogate_evolution: unknown acquisition {acquisition!r}; choose from {list(ACQUISITIONS)}"
            )
        self.population_size = population_size
        self.sample_size = sample_size
        self.num_init = num_init
        self.num_offspring = num_offspring
        self.refit_every = refit_every
        self.acquisition = acquisition
        self.ucb_beta = ucb_beta
        self.predictor = OnlinePredictor.from_knobs(
            context.space, predictor, encoding, nthread, num_members, num_trees, predictor_options,
            warm_start_trees=warm_start_trees, cold_refit_growth=cold_refit_growth,
        )
        self.population: deque[tuple[float, Arch]] = deque()
        self.proposed: set[Arch] = set()
        self.fitted = False

    def ask(self) -> Arch:
        if len(self.proposed) < self.num_init:
            return self._propose(self._children(1, from_population=False)[0])
        if not self.fitted or self.predictor.stale_by >= self.refit_every:
            self.fitted = self.predictor.fit(int(self.rng.integers(2**31 - 1)))
        grown = len(self.population) >= self.population_size
        children = self._children(self.num_offspring, from_population=grown)
        if not self.fitted:
            return self._propose(children[0])
        values = self.predictor.acquire(children, self.acquisition, self.rng, self.ucb_beta)
        best = max(range(len(children)), key=lambda i: values[i])
        return self._propose(children[best])

    def tell(self, arch: Arch, result: Result) -> None:
        score = self.score(result)
        self.predictor.observe(arch, score)
        self.population.append((score, arch))
        if len(self.population) > self.population_size:
            self.population.popleft()

    def _propose(self, arch: Arch) -> Arch:
        self.proposed.add(arch)
        return arch

    def _children(self, count: int, from_population: bool) -> list[Arch]:
        """``count`` distinct unproposed candidates (fewer only if the space runs out)."""
        members = self.population
        out: dict[Arch, None] = {}
        for _ in range(10 * count):
            if from_population and members:
                picks = self.rng.integers(len(members), size=self.sample_size).tolist()
                parent = max((members[i] for i in picks), key=lambda m: m[0])[1]
                child = self.space.mutate(parent, self.rng)
            else:
                child = self.space.sample(self.rng)
            if child not in self.proposed:
                out[child] = None
                if len(out) >= count:
                    break
        return list(out) or [self.space.sample(self.rng)]
