"""Local search (White et al. 2021, "Local search is state of the art for NAS benchmarks").

Start from the best of ``num_init`` random architectures; evaluate its neighbours (all
architectures one decision away) in random order; move to the best neighbour if it
improves on the current one, otherwise (a local optimum) restart from a random
architecture. With ``first_improvement`` the move happens as soon as any neighbour
is better, without finishing the neighbourhood.
"""

from __future__ import annotations

import math

from naslab.errors import InvalidValueError
from naslab.results import Result
from naslab.spaces import Arch
from naslab.strategies.base import SearchContext, Strategy


class LocalSearch(Strategy):
    def __init__(self, context: SearchContext, num_init: int = 10, first_improvement: bool = False) -> None:
        super().__init__(context)
        if num_init < 1:
            raise InvalidValueError(f"local search needs num_init >= 1, got {num_init}")
        self.num_init = num_init
        self.first_improvement = first_improvement
        self.current: Arch | None = None
        self.current_score = -math.inf
        self.queue: list[Arch] = []
        self.pending: set[Arch] = set()  # asked neighbours of the current arch, not yet told
        self.best_neighbour: tuple[float, Arch | None] = (-math.inf, None)
        self.init_needed = num_init  # random starts to draw before the next climb
        self.init_asked = 0
        self.init_told: list[tuple[float, Arch]] = []
        self.scores: dict[Arch, float] = {}

    def _start_from(self, arch: Arch, score: float) -> None:
        self.current, self.current_score = arch, score
        neighbours = [a for a in self.space.neighbours(arch) if a not in self.scores]
        order = self.rng.permutation(len(neighbours)).tolist()
        self.queue = [neighbours[i] for i in order]
        self.pending = set()
        self.best_neighbour = (-math.inf, None)

    def ask(self) -> Arch:
        if self.init_asked < self.init_needed:
            self.init_asked += 1
            return self.space.sample(self.rng)
        if self.queue:
            arch = self.queue.pop()
            self.pending.add(arch)
            return arch
        # waiting for results (several workers) or nothing left: explore at random
        return self.space.sample(self.rng)

    def tell(self, arch: Arch, result: Result) -> None:
        score = self.score(result)
        self.scores[arch] = score
        if self.current is None:
            self.init_told.append((score, arch))
            if len(self.init_told) >= self.init_needed:
                best_score, best = max(self.init_told, key=lambda m: m[0])
                self._start_from(best, best_score)
            return
        if arch not in self.pending:
            return
        self.pending.discard(arch)
        if score > self.best_neighbour[0]:
            self.best_neighbour = (score, arch)
        improved = self.best_neighbour[0] > self.current_score
        if improved and self.first_improvement or (not self.queue and not self.pending):
            best_score, best_or_none = self.best_neighbour
            if improved and best_or_none is not None:
                self._start_from(best_or_none, best_score)
            else:  # local optimum: climb again from one random architecture
                self.current = None
                self.init_needed, self.init_asked, self.init_told = 1, 0, []
                self.queue, self.pending = [], set()
