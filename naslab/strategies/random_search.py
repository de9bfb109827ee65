"""Random search: uniform samples from the space (with replacement, as in NAS-Bench-201)."""

from __future__ import annotations

from naslab.results import Result
from naslab.spaces import Arch
from naslab.strategies.base import SearchContext, Strategy


class RandomSearch(Strategy):
    def __init__(self, context: SearchContext) -> None:
        super().__init__(context)

    def ask(self) -> Arch:
        return self.space.sample(self.rng)

    def tell(self, arch: Arch, result: Result) -> None:
        pass
