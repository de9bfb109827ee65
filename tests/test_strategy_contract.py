"""Every registered strategy keeps the strategy contract (``naslab.testing.StrategyContract``):
budgets, valid proposals, reproducibility, failed results, asynchronous workers, and (on
NB201's planted optimum) beating random search.

The whole contract runs on NB201 by default and on every other registered space with
``-m slow`` (about four more minutes); by default every strategy still searches every
registered space once, reproducibly.
"""

from __future__ import annotations

import pytest

from naslab import spaces

# the suites parametrise over the registries (naslab.strategies, naslab.spaces.available);
# until a checkout has them this module has nothing to run
if not hasattr(spaces, "available"):
    pytest.skip("needs the strategy and space registries (naslab.strategies)", allow_module_level=True)

from naslab import strategies  # noqa: E402
from naslab.runner import Budget, run_search
from naslab.testing import StrategyContract
from naslab.testing.strategies import CheckingEvaluator, synthetic_benchmark

# spaces too big to tabulate (DARTS) have no synthetic table; they get their own suite below
OTHER_SPACES = [s for s in spaces.available() if s != "nb201" and spaces.get(s).enumerable]


class TestRegisteredStrategies(StrategyContract):
    @pytest.fixture(params=strategies.available())
    def strategy_factory(self, request, space, contract_strategy):
        return contract_strategy(request.param, space)

    @pytest.fixture(params=["nb201", *(pytest.param(s, marks=pytest.mark.slow) for s in OTHER_SPACES)])
    def space(self, request):
        return request.param


@pytest.mark.parametrize("space", OTHER_SPACES)
@pytest.mark.parametrize("name", strategies.available())
def test_every_strategy_searches_every_registered_space(name, space, contract_strategy):
    factory = contract_strategy(name, space)
    evaluator = CheckingEvaluator(synthetic_benchmark(space, failed_fraction=0.1))
    runs = [run_search(factory, evaluator, seed=3, budget=Budget(queries=24), num_workers=2) for _ in range(2)]
    assert len(runs[0]) == len(evaluator.proposals) // 2 == 24
    assert runs[0].rows == runs[1].rows
    for arch in runs[0].column("arch"):
        evaluator.space.from_string(arch)
