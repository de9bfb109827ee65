"""Regularized (aging) evolution, Real et al. 2019.

Keep a population of the ``population_size`` most recently evaluated architectures.
Each new candidate mutates the best of ``sample_size`` members drawn uniformly (with
replacement, as in the NAS-Bench-201 baseline); the oldest member dies when a new one
joins. Until the population is full, candidates are random.
"""

from __future__ import annotations

from collections import deque

from naslab.errors import InvalidValueError
from naslab.results import Result
from naslab.spaces import Arch
from naslab.strategies.base import SearchContext, Strategy


class RegularizedEvolution(Strategy):
    def __init__(self, context: SearchContext, population_size: int = 100, sample_size: int = 25) -> None:
        super().__init__(context)
        if population_size < 1 or not 1 <= sample_size:
            raise InvalidValueError(
                f"evolution needs population_size >= 1 and sample_size >= 1, got {population_size}, {sample_size}"
            )
        self.population_size = population_size
        self.sample_size = sample_size
        self.population: deque[tuple[float, Arch]] = deque()
        self._asked_random = 0

    def ask(self) -> Arch:
        if self._asked_random < self.population_size or not self.population:
            self._asked_random += 1
            return self.space.sample(self.rng)
        members = self.population
        size = len(members)
        # a plain loop over uniform draws: Generator.integers(size=...) and max(key=...)
        # cost more than the whole table lookup
        best_score, parent = members[int(self.rng.random() * size)]
        for u in self.rng.random(self.sample_size - 1).tolist():
            score, arch = members[int(u * size)]
            if score > best_score:
                best_score, parent = score, arch
        return self.space.mutate(parent, self.rng)

    def tell(self, arch: Arch, result: Result) -> None:
        self.population.append((self.score(result), arch))
        if len(self.population) > self.population_size:
            self.population.popleft()
