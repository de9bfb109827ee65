"""The contract every evaluator keeps (fixture ``evaluator``; optional ``failing_arch``).

Fidelities are ascending positive epochs and every one can be asked for; the full
fidelity is what ``fidelity=None`` answers; an unknown fidelity is refused with
``ValueError``; answers name the architecture by the space's string, carry the epoch
asked for, a finite non-negative cost, and are the same when asked twice (whether the
architecture is given as a decision tuple or as its string); a failed
training is a failed ``Result`` with NaN accuracy, never an exception; the reference
figures used for regret never exceed the best one.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from naslab.results import Result


class EvaluatorContract:
    """Subclass as ``TestMyEvaluator(EvaluatorContract)`` and provide the ``evaluator`` fixture."""

    num_archs = 20

    @pytest.fixture
    def evaluator(self):
        raise NotImplementedError("an EvaluatorContract subclass defines the evaluator fixture")

    @pytest.fixture
    def failing_arch(self):
        """An architecture whose evaluation fails (None: the evaluator has none to show)."""
        return None

    def _archs(self, evaluator) -> list[tuple[int, ...]]:
        rng = np.random.default_rng(0)
        return [evaluator.space.sample(rng) for _ in range(self.num_archs)]

    def test_fidelities_are_ascending_epochs(self, evaluator):
        fidelities = evaluator.fidelities
        assert len(fidelities) >= 1 and all(type(f) is int and f > 0 for f in fidelities)
        assert list(fidelities) == sorted(set(fidelities))

    def test_answers_at_every_fidelity(self, evaluator):
        space = evaluator.space
        for arch in self._archs(evaluator)[:5]:
            for fidelity in evaluator.fidelities:
                result = evaluator.evaluate(arch, fidelity)
                assert isinstance(result, Result) and result.status in ("ok", "failed")
                assert result.arch == space.to_string(arch) and result.epoch == fidelity
                assert math.isfinite(result.cost_s) and result.cost_s >= 0
                assert math.isfinite(result.val_acc) == result.ok
            assert evaluator.evaluate(arch) == evaluator.evaluate(arch, evaluator.fidelities[-1])

    def test_an_arch_string_is_a_decision_tuple_and_a_bad_arch_one_sentence(self, evaluator):
        from naslab.spaces import InvalidArchError

        arch = self._archs(evaluator)[1]
        assert evaluator.evaluate(evaluator.space.to_string(arch)) == evaluator.evaluate(arch)
        with pytest.raises(InvalidArchError) as info:
            evaluator.evaluate("not an architecture of any space")
        assert "\n" not in str(info.value)

    def test_unknown_fidelity_is_refused(self, evaluator):
        arch = self._archs(evaluator)[0]
        with pytest.raises(ValueError):
            evaluator.evaluate(arch, max(evaluator.fidelities) + 1000)

    def test_same_question_same_answer(self, evaluator):
        for arch in self._archs(evaluator)[:5]:
            assert evaluator.evaluate(arch, trial_seed=3) == evaluator.evaluate(arch, trial_seed=3)

    def test_failed_training_is_a_failed_result(self, evaluator, failing_arch):
        if failing_arch is None:
            pytest.skip("no failing architecture given (fixture failing_arch)")
        result = evaluator.evaluate(failing_arch)
        assert result.status == "failed" and not result.ok and math.isnan(result.val_acc)

    def test_reference_figures(self, evaluator):
        best = evaluator.best_test_acc()
        assert isinstance(best, float)
        for arch in self._archs(evaluator):
            reference = evaluator.reference_test_acc(arch)
            assert isinstance(reference, float)
            if math.isnan(best):
                assert math.isnan(reference), "a reference figure without a best one"
            elif not math.isnan(reference):
                assert reference <= best + 1e-9
