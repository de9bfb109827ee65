"""Zero-cost warm start (Abdelfattah et al., ICLR 2021, Sec. 5 "warmup"): score many random
architectures with a proxy, and let a search begin from the best of them.

``num_samples`` distinct architectures are drawn uniformly (from the run's generator);
the ``num_warm`` with the highest proxy score become the first proposals, in score
order. Each of those asks still goes to the inner strategy (so its own bookkeeping —
random-init counters, RNG draws — advances as usual), but the inner strategy's
proposal is replaced by the warm architecture and it is told that architecture's
result: regularized evolution's first population, BANANAS' initial sample or random
search's first draws thus become the proxy's favourites. Afterwards the wrapper only
forwards. Use it with strategies that learn from whatever they are told (random,
evolution, local search, bananas, reinforce); successive halving tracks the exact
architectures it asked and should not be wrapped.

The scores come from a precomputed proxy table (:mod:`naslab.zero_cost.table`; a
strategy never evaluates anything). Scoring those ``num_samples`` architectures is not
charged to the search's simulated clock; the table's ``zc_<proxy>_time_s`` column says
what it would cost (docs/zero_cost.md lists it per proxy). Unscored (NaN) architectures
rank last.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from naslab.errors import InvalidValueError
from naslab.results import Result
from naslab.spaces import Arch
from naslab.strategies.base import Proposal, Query, SearchContext, Strategy


class ZeroCostWarmStart(Strategy):

    def __init__(
        self,
        context: SearchContext,
        inner: Callable[..., Strategy],
        proxy_table: str,
        proxy: str = "synflow",
        num_samples: int = 3000,
        num_warm: int = 10,
    ) -> None:
        super().__init__(context)
        if num_samples < 1 or not 0 <= num_warm <= num_samples:
            raise InvalidValueError(
                f"zero-cost warm start needs num_samples >= 1 and 0 <= num_warm <= num_samples; got {num_samples}, {num_warm}"
            )
        from naslab.zero_cost.features import proxy_columns

        scores = proxy_columns(context.space, proxy_table, [proxy])[proxy]
        self.inner = inner(context=context)
        self.warm = self._best_of_random(scores, num_samples, num_warm)

    def _best_of_random(self, scores: np.ndarray, num_samples: int, num_warm: int) -> list[Arch]:
        space = self.space
        seen: dict[Arch, None] = {}
        for _ in range(20 * num_samples):  # bounded: a small space may hold fewer archs
            if len(seen) >= min(num_samples, space.size):
                break
            seen.setdefault(space.sample(self.rng), None)
        candidates = list(seen)
        values = scores[space.indices(np.asarray(candidates, dtype=np.int64))].astype(np.float64)
        values = np.where(np.isnan(values), -np.inf, values)
        order = np.argsort(-values, kind="stable")[:num_warm]
        return [candidates[i] for i in order]

    def _substitute(self, proposal: Proposal) -> Proposal:
        if not self.warm:
            return proposal
        arch = self.warm.pop(0)
        return Query(arch, proposal.fidelity) if isinstance(proposal, Query) else arch

    def ask(self) -> Proposal:
        return self._substitute(self.inner.ask())

    def ask_batch(self, n: int) -> list[Proposal]:
        return [self._substitute(p) for p in self.inner.ask_batch(n)]

    def tell(self, arch: Arch, result: Result) -> None:
        self.inner.tell(arch, result)
