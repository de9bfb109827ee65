"""REINFORCE controllers (Williams 1992; Zoph & Le 2017; the NAS-Bench-201 baseline).

A policy over the space's decisions is trained with the policy gradient
``(R − b) · ∇ log π(arch) + β · ∇ H(π)``: ``R`` is the reward of a told result,
``b`` a moving-average baseline, ``H`` the policy's entropy (bonus weight ``β``).

* :class:`Reinforce` — one independent softmax per decision, exactly the NB201
  baseline (``exps/NAS-Bench-201-algos/reinforce.py``): logits initialised to
  ``1e-3 · N(0, 1)``, Adam, learning rate 0.001, EMA baseline with momentum 0.9
  and bias correction, updated with the reward *before* the advantage is taken.
  Pure numpy: no torch needed, ~20 µs per step.
* :class:`LSTMReinforce` — Zoph & Le's controller: an LSTM emits the decisions one
  after another, each conditioned on the previous choices (numpy; the same network
  and Adam as torch's, checked against torch autograd in the tests).

Reward = ``self.score(result)`` (validation accuracy, or a scalarized objective),
optionally shaped: ``rank`` replaces it by its quantile among the results told so
far (scale-free, so the same learning rate works for any objective). A failed
result gets the lowest reward seen so far (it is penalised, not ignored).
With several workers, results are told after later proposals were asked; the
gradient uses the current policy (a slightly off-policy update, as in async RL).
"""

from __future__ import annotations

import bisect
import math
from typing import Literal

import numpy as np

from naslab.errors import InvalidValueError
from naslab.results import Result
from naslab.spaces import Arch
from naslab.strategies.base import Proposal, SearchContext, Strategy

RewardShaping = Literal["none", "rank"]


class ExponentialMovingAverage:
    """EMA with bias correction (numerator / denominator), as the NB201 baseline keeps it."""

    def __init__(self, momentum: float) -> None:
        self.momentum = momentum
        self._numerator = 0.0
        self._denominator = 0.0

    def update(self, value: float) -> None:
        self._numerator = self.momentum * self._numerator + (1 - self.momentum) * value
        self._denominator = self.momentum * self._denominator + (1 - self.momentum)

    @property
    def value(self) -> float:
        return self._numerator / self._denominator if self._denominator else 0.0


class Adam:
    """Adam (Kingma & Ba 2015) for one numpy array, as gradient *ascent*."""

    def __init__(self, shape: tuple[int, ...], learning_rate: float, beta1=0.9, beta2=0.999, eps=1e-8) -> None:
        self.learning_rate, self.beta1, self.beta2, self.eps = learning_rate, beta1, beta2, eps
        self.m = np.zeros(shape)
        self.v = np.zeros(shape)
        self.t = 0

    def step(self, gradient: np.ndarray) -> np.ndarray:
        """The change to add to the parameters for this ascent ``gradient``."""
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * gradient
        self.v = self.beta2 * self.v + (1 - self.beta2) * gradient * gradient
        m_hat = self.m / (1 - self.beta1**self.t)
        v_hat = self.v / (1 - self.beta2**self.t)
        return self.learning_rate * m_hat / (np.sqrt(v_hat) + self.eps)


class _PolicyGradient(Strategy):
    """Reward shaping, baseline and failure handling shared by both controllers."""

    def __init__(
        self,
        context: SearchContext,
        learning_rate: float,
        ema_momentum: float,
        entropy_weight: float,
        temperature: float,
        reward_shaping: RewardShaping,
    ) -> None:
        super().__init__(context)
        name = type(self).__name__
        if not learning_rate > 0:
            raise InvalidValueError(f"{name}: learning_rate must be > 0, got {learning_rate}")
        if not 0 <= ema_momentum < 1:
            raise InvalidValueError(f"{name}: ema_momentum must be in [0, 1), got {ema_momentum}")
        if not entropy_weight >= 0:
            raise InvalidValueError(f"{name}: entropy_weight must be >= 0, got {entropy_weight}")
        if not temperature > 0:
            raise InvalidValueError(f"{name}: temperature must be > 0, got {temperature}")
        if reward_shaping not in ("none", "rank"):
            raise InvalidValueError(f"{name}: reward_shaping must be 'none' or 'rank', got {reward_shaping!r}")
        self.learning_rate = learning_rate
        self.entropy_weight = entropy_weight
        self.temperature = temperature
        self.reward_shaping = reward_shaping
        self.baseline = ExponentialMovingAverage(ema_momentum)
        self._told_scores: list[float] = []  # sorted finite scores, for rank shaping and failures

    def _reward(self, result: Result) -> float | None:
        score = self.score(result)
        if math.isfinite(score):
            bisect.insort(self._told_scores, score)
        elif self._told_scores:
            score = self._told_scores[0]  # failed: as bad as the worst result so far
        else:
            return None  # nothing to compare a failure with yet
        if self.reward_shaping == "rank":
            return bisect.bisect_right(self._told_scores, score) / len(self._told_scores)
        return score

    def tell(self, arch: Arch, result: Result) -> None:
        reward = self._reward(result)
        if reward is None:
            return
        self.baseline.update(reward)
        self._update(arch, reward - self.baseline.value)

    def ask(self) -> Arch:
        return self._sample(1)[0]

    def ask_batch(self, n: int) -> list[Proposal]:
        return list(self._sample(n))

    def _sample(self, n: int) -> list[Arch]:
        raise NotImplementedError

    def _update(self, arch: Arch, advantage: float) -> None:
        raise NotImplementedError


class Reinforce(_PolicyGradient):
    """Independent softmax per decision (the NAS-Bench-201 REINFORCE baseline)."""

    def __init__(
        self,
        context: SearchContext,
        learning_rate: float = 0.001,
        ema_momentum: float = 0.9,
        entropy_weight: float = 0.0,
        temperature: float = 1.0,
        reward_shaping: RewardShaping = "none",
        init_scale: float = 1e-3,
    ) -> None:
        super().__init__(context, learning_rate, ema_momentum, entropy_weight, temperature, reward_shaping)
        cards = np.asarray(self.space.cardinalities)
        self._cards = cards
        # logits padded to the widest decision; padded choices are masked out
        self._valid = np.arange(cards.max())[None, :] < cards[:, None]
        self.logits = np.where(self._valid, init_scale * self.rng.standard_normal(self._valid.shape), 0.0)
        self._optimizer = Adam(self.logits.shape, learning_rate)

    def probabilities(self) -> np.ndarray:
        """``[num_decisions, max_choices]`` choice probabilities (0 for padded choices)."""
        z = np.where(self._valid, self.logits / self.temperature, -np.inf)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def _sample(self, n: int) -> list[Arch]:
        cumulative = np.cumsum(self.probabilities(), axis=1)
        u = self.rng.random((n, len(self._cards)))
        # inverse CDF per decision; the clip guards against cumsum rounding below 1
        choices = np.minimum((cumulative[None, :, :] <= u[:, :, None]).sum(axis=2), self._cards - 1)
        return [tuple(row) for row in choices.tolist()]

    def gradient(self, arch: Arch, advantage: float) -> np.ndarray:
        """∇ over the logits of ``advantage · log π(arch) + entropy_weight · H(π)``."""
        p = self.probabilities()
        chosen = np.zeros_like(p)
        chosen[np.arange(len(arch)), arch] = 1.0
        gradient = advantage * (chosen - p)
        if self.entropy_weight:
            with np.errstate(divide="ignore", invalid="ignore"):
                log_p = np.where(p > 0, np.log(p), 0.0)
            entropy = -(p * log_p).sum(axis=1, keepdims=True)
            gradient += self.entropy_weight * -p * (log_p + entropy)
        return gradient / self.temperature * self._valid

    def _update(self, arch: Arch, advantage: float) -> None:
        self.logits += self._optimizer.step(self.gradient(arch, advantage)) * self._valid


class LSTMReinforce(_PolicyGradient):
    """Zoph & Le's LSTM controller: decisions emitted one after another (numpy).

    The input at step ``d`` is an embedding of the choice made at step ``d − 1``
    (a learned start vector at step 0); a linear head per decision gives its
    logits, divided by ``temperature`` and, if ``tanh_constant`` is set, squashed to
    ``c · tanh(logits)`` (ENAS). Weights start uniform in ±0.1 (ENAS), drawn from
    the run's generator so runs are reproducible.

    Archs are sampled ``batch_size`` at a time from one policy and the policy is
    updated once per ``batch_size`` told results (Zoph & Le's batch of m child
    models). The network is :class:`~naslab.strategies.lstm_controller.LSTMController`:
    the torch version's arithmetic in numpy, without torch's per-call overhead (which,
    not arithmetic, was the time of a controller this small), checked against torch
    autograd in the tests.
    """

    def __init__(
        self,
        context: SearchContext,
        learning_rate: float = 0.01,
        ema_momentum: float = 0.9,
        entropy_weight: float = 0.0,
        temperature: float = 1.0,
        reward_shaping: RewardShaping = "none",
        hidden_size: int = 64,
        tanh_constant: float | None = None,
        batch_size: int = 8,
    ) -> None:
        super().__init__(context, learning_rate, ema_momentum, entropy_weight, temperature, reward_shaping)
        if hidden_size < 1 or batch_size < 1:
            raise InvalidValueError(
                f"LSTMReinforce: hidden_size and batch_size must be >= 1, got {hidden_size}, {batch_size}"
            )
        from naslab.strategies.lstm_controller import LSTMController

        self.batch_size = batch_size
        self.tanh_constant = tanh_constant
        self._proposals: list[Arch] = []  # sampled from the current policy, not yet asked
        self._told: list[tuple[Arch, float]] = []  # (arch, advantage) awaiting an update
        self._controller = LSTMController(self.space.cardinalities, hidden_size, temperature, tanh_constant)
        self._controller.init_uniform(self.rng)

    def _sample(self, n: int) -> list[Arch]:
        if len(self._proposals) < n:
            k = max(self.batch_size, n - len(self._proposals))
            choices, _ = self._controller.unroll(k, u=self.rng.random((k, self.space.num_decisions)))
            self._proposals.extend(tuple(row) for row in choices.tolist())
        batch, self._proposals = self._proposals[:n], self._proposals[n:]
        return batch

    def _update(self, arch: Arch, advantage: float) -> None:
        self._told.append((arch, advantage))
        if len(self._told) < self.batch_size:
            return
        archs = np.asarray([a for a, _ in self._told], dtype=np.int64)
        advantages = np.asarray([adv for _, adv in self._told], dtype=np.float64)
        self._told = []
        _, steps = self._controller.unroll(len(archs), given=archs)
        self._controller.adam_step(self._controller.gradient(steps, advantages, self.entropy_weight),
                                   self.learning_rate)
        self._proposals = []  # proposals from the old policy are stale after an update
