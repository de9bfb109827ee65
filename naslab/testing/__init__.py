"""Contract test suites for naslab's extension points, shipped so that plug-ins get them too.

Each suite is a pytest class without a ``Test`` prefix (so it is never collected by
itself) whose tests read a few fixtures the user provides; subclass it in a test module
under a ``Test...`` name and define those fixtures, and every contract test runs on
your object. The pattern is Optuna's (``optuna/testing/pytest_samplers.py`` in
optuna/optuna: a sampler package subclasses the shared test case and supplies the
sampler). The suites need pytest, nothing else beyond naslab's own dependencies.

=====================================  =================================================
:class:`~naslab.testing.strategies.StrategyContract`   fixtures ``strategy_factory`` (and ``space``)
:class:`~naslab.testing.spaces.SpaceContract`          fixture ``space``
:class:`~naslab.testing.evaluators.EvaluatorContract`  fixture ``evaluator``
:class:`~naslab.testing.importers.ImporterContract`    fixtures ``imported``, ``expected_rows``
=====================================  =================================================

:func:`~naslab.testing.extras.requires` skips a test whose optional extra is missing.

Example, a new strategy in a plug-in's tests::

    import pytest
    from naslab.testing import StrategyContract
    from mypkg.greedy import Greedy

    class TestGreedy(StrategyContract):
        @pytest.fixture
        def strategy_factory(self):
            return Greedy          # called as Greedy(context=...)
"""

from naslab.testing.evaluators import EvaluatorContract
from naslab.testing.extras import requires
from naslab.testing.importers import ImporterContract
from naslab.testing.spaces import SpaceContract
from naslab.testing.strategies import StrategyContract, contract_evaluator, synthetic_benchmark

__all__ = [
    "EvaluatorContract", "ImporterContract", "SpaceContract", "StrategyContract", "contract_evaluator", "requires", "synthetic_benchmark",
]
