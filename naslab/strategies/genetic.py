"""A generational genetic algorithm: tournament selection, crossover, mutation, elitism.

Generation 0 is ``population_size`` random architectures. Each next generation keeps
the ``elite`` best members unchanged (they are not evaluated again) and fills the
rest with children: two parents by tournament (best of ``tournament_size`` drawn
uniformly), uniform crossover with probability ``crossover_prob`` (else a copy of the
first parent), then a one-decision mutation with probability ``mutation_prob``. A
child that was already evaluated is mutated again (up to a few times) so the budget
is not spent on repeats.
"""

from __future__ import annotations

from naslab.errors import InvalidValueError
from naslab.results import Result
from naslab.spaces import Arch
from naslab.strategies.base import SearchContext, Strategy

_MAX_RETRIES = 10


class GeneticAlgorithm(Strategy):
    def __init__(
        self,
        context: SearchContext,
        population_size: int = 50,
        tournament_size: int = 5,
        crossover_prob: float = 0.9,
        mutation_prob: float = 0.5,
        elite: int = 2,
    ) -> None:
        super().__init__(context)
        if population_size < 2 or not 0 <= elite < population_size or tournament_size < 1:
            raise InvalidValueError(
                "genetic algorithm needs population_size >= 2, 0 <= elite < population_size and "
                f"tournament_size >= 1; got {population_size}, {elite}, {tournament_size}"
            )
        self.population_size = population_size
        self.tournament_size = tournament_size
        self.crossover_prob = crossover_prob
        self.mutation_prob = mutation_prob
        self.elite = elite
        self.parents: list[tuple[float, Arch]] = []  # the last complete generation
        self.current: list[tuple[float, Arch]] = []  # evaluated members of the one being built
        self.seen: set[Arch] = set()

    def _tournament(self) -> Arch:
        picks = self.rng.integers(len(self.parents), size=self.tournament_size).tolist()
        return max((self.parents[i] for i in picks), key=lambda m: m[0])[1]

    def ask(self) -> Arch:
        if not self.parents:
            return self.space.sample(self.rng)
        child = self._tournament()
        if self.rng.random() < self.crossover_prob:
            child = self.space.crossover(child, self._tournament(), self.rng)
        if self.rng.random() < self.mutation_prob:
            child = self.space.mutate(child, self.rng)
        for _ in range(_MAX_RETRIES):
            if child not in self.seen:
                break
            child = self.space.mutate(child, self.rng)
        return child

    def tell(self, arch: Arch, result: Result) -> None:
        self.seen.add(arch)
        self.current.append((self.score(result), arch))
        carried = self.elite if self.parents else 0
        if len(self.current) + carried >= self.population_size:
            elites = sorted(self.parents, key=lambda m: -m[0])[:carried]
            self.parents = self.current + elites
            self.current = []
