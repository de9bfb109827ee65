"""Multi-fidelity search with training epochs as the fidelity: successive halving,
Hyperband (Li et al. 2018) and BOHB (Falkner et al. 2018).

Rungs. With reduction factor ``η`` and fidelities ``r_min .. r_max`` (the epochs the
evaluator can answer, ``context.fidelities``), Hyperband has ``s_max + 1`` brackets,
``s_max = ⌊log_η(r_max / r_min)⌋``. The rung fidelities are ``r_max · η^{-i}``,
``i = s_max .. 0``, each rounded *down* to the nearest stored epoch (HpBandSter's
``int(budget)``, as NB201's BOHB baseline queries ``iepoch = int(budget) − 1``).
Bracket ``s`` starts ``n = ⌈(s_max + 1) / (s + 1) · η^s⌉`` new architectures at the
fidelity of rung ``s_max − s`` and keeps the best ``⌊n_i / η⌋`` of each rung for
the next (failed results are never promoted). Successive halving is the most
exploratory bracket (``s = s_max``) repeated; Hyperband cycles ``s = s_max .. 0``.

Asynchronous workers. A bracket promotes only when its rung is complete
(synchronous successive halving). When every running bracket is waiting for
results, a new bracket is started rather than leaving the worker idle — the way
HpBandSter runs several iterations at once — so W workers stay busy.

Cost of a promotion. A promoted architecture is proposed again as
``Query(arch, higher_fidelity)`` and the evaluator charges the full training time
to that epoch (the tabular ``train_time_s`` is cumulative): it is trained again from
scratch. This is what NAS-Bench-201's BOHB baseline does (HpBandSter calls
``compute(config, budget)`` for each budget and the NB201 API charges the time of a
whole training to that epoch). syne-tune's promotion-type schedulers instead pause
and resume trials from checkpoints, and its simulator backend charges only the
increment from the paused epoch (fixed in syne-tune PR #317); naslab's evaluators
answer a fidelity as one training, so resumption would need an evaluator that
knows the earlier epoch (see docs/strategies.md).

BOHB replaces the random sampling of new architectures by a TPE-like model, own
numpy code after HpBandSter: on the highest fidelity with enough results, the best
``top_n_percent`` form a "good" and the rest a "bad" kernel density (an
Aitchison–Aitken kernel per categorical decision: keep the value with probability
``1 − λ``, move to each other value with ``λ / (c − 1)``); ``num_samples``
candidates drawn from the good density with ``λ`` widened by ``bandwidth_factor``
are ranked by good/bad density ratio. A ``random_fraction`` of new architectures
stays random. Bandwidth: HpBandSter takes statsmodels' normal-reference rule on the
integer codes of the choices, which for five-choice decisions gives ``λ ≈ 1``, past
the kernel's uniform limit ``(c − 1) / c`` — the densities go flat (or prefer the
*other* values); we use a fixed ``λ = bandwidth`` (default 0.3, NB201's
``min_bandwidth``, the floor HpBandSter clips to). Other defaults are the NB201
baseline's (``scripts-search/algos/BOHB.sh`` and ``exps/NATS-algos/bohb.py``):
``η = 3``, ``num_samples = 4``, ``random_fraction = 0``, ``bandwidth_factor = 3``
(so with five choices the candidates are drawn uniformly and only the density ratio
guides); ``top_n_percent = 15`` is HpBandSter's.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from typing import Literal

import numpy as np

from naslab.errors import InvalidValueError
from naslab.results import Result
from naslab.spaces import Arch
from naslab.strategies.base import Query, SearchContext, Strategy

BracketChoice = Literal["all", "most_exploratory"]


def rung_fidelities(fidelities: tuple[int, ...], eta: float, min_fidelity: int | None, max_fidelity: int | None) -> list[int]:
    """Hyperband's rung fidelities (ascending, distinct), rounded down to stored epochs."""
    if eta <= 1:
        raise InvalidValueError(f"eta must be > 1, got {eta}")
    stored = sorted(int(f) for f in fidelities)
    low = stored[0] if min_fidelity is None else int(min_fidelity)
    high = stored[-1] if max_fidelity is None else int(max_fidelity)
    if low not in stored or high not in stored or low > high:
        raise InvalidValueError(
            f"min_fidelity {min_fidelity} and max_fidelity {max_fidelity} must be stored epochs with "
            f"min <= max; the evaluator has epochs {stored}"
        )
    usable = [f for f in stored if low <= f <= high]
    s_max = int(math.floor(math.log(high / low) / math.log(eta) + 1e-9))
    rungs: list[int] = []
    for i in range(s_max, -1, -1):
        target = high * eta ** (-i)
        below = [f for f in usable if f <= target + 1e-9]
        rung = below[-1] if below else low
        if not rungs or rung > rungs[-1]:
            rungs.append(rung)
    return rungs


def bracket_sizes(num_rungs: int, eta: float, s: int) -> list[int]:
    """Architectures per rung of bracket ``s`` (which uses the last ``s + 1`` rungs)."""
    s_max = num_rungs - 1
    n = int(math.ceil((s_max + 1) / (s + 1) * eta**s))
    return [max(1, int(math.floor(n * eta ** (-i)))) for i in range(s + 1)]


class _Bracket:
    """One run of synchronous successive halving over ``fidelities``."""

    def __init__(self, fidelities: list[int], sizes: list[int]) -> None:
        self.fidelities = fidelities
        self.sizes = list(sizes)
        self.level = 0
        self.new_to_sample = sizes[0]
        self.promoted: list[Arch] = []  # waiting to be asked at the current level
        self.results: list[tuple[float, int, Arch]] = []  # (score, order, arch) at the current level
        self.finished = False

    @property
    def fidelity(self) -> int:
        return self.fidelities[self.level]

    def can_propose(self) -> bool:
        return not self.finished and (self.new_to_sample > 0 if self.level == 0 else bool(self.promoted))

    def record(self, score: float, arch: Arch) -> None:
        self.results.append((score, len(self.results), arch))
        if len(self.results) < self.sizes[self.level]:
            return
        if self.level == len(self.fidelities) - 1:
            self.finished = True
            return
        ranked = sorted((r for r in self.results if math.isfinite(r[0])), key=lambda r: (-r[0], r[1]))
        self.promoted = [arch for _, _, arch in ranked[: self.sizes[self.level + 1]]]
        self.level += 1
        self.results = []
        self.sizes[self.level] = len(self.promoted)
        if not self.promoted:
            self.finished = True
        else:
            self.promoted.reverse()  # pop() from the end asks the best first


class Hyperband(Strategy):
    """Hyperband; ``brackets='most_exploratory'`` gives successive halving."""

    multi_fidelity = True

    def __init__(
        self,
        context: SearchContext,
        eta: float = 3.0,
        min_fidelity: int | None = None,
        max_fidelity: int | None = None,
        brackets: BracketChoice = "all",
    ) -> None:
        super().__init__(context)
        if brackets not in ("all", "most_exploratory"):
            raise InvalidValueError(f"brackets must be 'all' or 'most_exploratory', got {brackets!r}")
        self.eta = float(eta)
        self.rungs = rung_fidelities(context.fidelities, self.eta, min_fidelity, max_fidelity)
        s_max = len(self.rungs) - 1
        self._cycle = [s_max] if brackets == "most_exploratory" else list(range(s_max, -1, -1))
        self._next_bracket = 0
        self.active: list[_Bracket] = []
        self._owners: dict[tuple[Arch, int], deque[_Bracket]] = defaultdict(deque)

    def _start_bracket(self) -> _Bracket:
        s = self._cycle[self._next_bracket % len(self._cycle)]
        self._next_bracket += 1
        bracket = _Bracket(self.rungs[len(self.rungs) - 1 - s :], bracket_sizes(len(self.rungs), self.eta, s))
        self.active.append(bracket)
        return bracket

    def sample_new(self, fidelity: int) -> Arch:
        """A new architecture for the lowest rung of a bracket (random in Hyperband)."""
        return self.space.sample(self.rng)

    def ask(self) -> Query:
        bracket = next((b for b in self.active if b.can_propose()), None) or self._start_bracket()
        if bracket.level == 0:
            bracket.new_to_sample -= 1
            arch = self.sample_new(bracket.fidelity)
        else:
            arch = bracket.promoted.pop()
        self._owners[(arch, bracket.fidelity)].append(bracket)
        return Query(arch, bracket.fidelity)

    def tell(self, arch: Arch, result: Result) -> None:
        key = self._owner_key(arch, int(result.epoch))
        if key is None:
            return  # not one of ours (cannot happen with the runner)
        owners = self._owners[key]
        bracket = owners.popleft()
        if not owners:
            del self._owners[key]
        score = self.score(result)
        self.observe(arch, key[1], score)
        bracket.record(score, arch)
        if bracket.finished:
            self.active.remove(bracket)

    def _owner_key(self, arch: Arch, epoch: int) -> tuple[Arch, int] | None:
        if self._owners.get((arch, epoch)):
            return (arch, epoch)
        # an evaluator that reports another epoch than asked: find the bracket by arch
        return next((k for k, v in self._owners.items() if k[0] == arch and v), None)

    def observe(self, arch: Arch, fidelity: int, score: float) -> None:
        """Hook for model-based subclasses: every told result, with its fidelity."""


class SuccessiveHalving(Hyperband):
    """Successive halving (Jamieson & Talwalkar 2016): Hyperband's most exploratory bracket, repeated."""

    def __init__(
        self,
        context: SearchContext,
        eta: float = 3.0,
        min_fidelity: int | None = None,
        max_fidelity: int | None = None,
        brackets: BracketChoice = "most_exploratory",
    ) -> None:
        super().__init__(context, eta, min_fidelity, max_fidelity, brackets)


class BOHB(Hyperband):
    """Hyperband whose new architectures come from a TPE-like density-ratio model."""

    def __init__(
        self,
        context: SearchContext,
        eta: float = 3.0,
        min_fidelity: int | None = None,
        max_fidelity: int | None = None,
        num_samples: int = 4,
        random_fraction: float = 0.0,
        top_n_percent: float = 15.0,
        bandwidth_factor: float = 3.0,
        bandwidth: float = 0.3,
        min_points_in_model: int | None = None,
    ) -> None:
        super().__init__(context, eta, min_fidelity, max_fidelity, brackets="all")
        if (
            num_samples < 1
            or not 0 <= random_fraction <= 1
            or not 0 < top_n_percent < 100
            or not 0 < bandwidth < 1
            or not bandwidth_factor >= 1
        ):
            raise InvalidValueError(
                "BOHB needs num_samples >= 1, 0 <= random_fraction <= 1, 0 < top_n_percent < 100, "
                f"0 < bandwidth < 1 and bandwidth_factor >= 1, got {num_samples}, {random_fraction}, "
                f"{top_n_percent}, {bandwidth}, {bandwidth_factor}"
            )
        self.num_samples = num_samples
        self.random_fraction = random_fraction
        self.top_n_percent = top_n_percent
        self.bandwidth_factor = bandwidth_factor
        d = self.space.num_decisions
        self.min_points_in_model = d + 1 if min_points_in_model is None else int(min_points_in_model)
        self._cards = np.asarray(self.space.cardinalities)
        uniform = (self._cards - 1) / self._cards  # the kernel's flat limit
        self._bandwidth = np.minimum(bandwidth, uniform)
        self._sampling_bandwidth = np.minimum(bandwidth * bandwidth_factor, uniform)
        self._data: dict[int, tuple[list[Arch], list[float]]] = defaultdict(lambda: ([], []))

    def observe(self, arch: Arch, fidelity: int, score: float) -> None:
        if math.isfinite(score):
            archs, scores = self._data[fidelity]
            archs.append(arch)
            scores.append(score)

    def _model_data(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Good and bad archs on the highest fidelity with enough results (HpBandSter's rule)."""
        for fidelity in sorted(self._data, reverse=True):
            archs, scores = self._data[fidelity]
            n = len(scores)
            n_good = max(self.min_points_in_model, int(self.top_n_percent * n / 100))
            n_bad = max(self.min_points_in_model, int((100 - self.top_n_percent) * n / 100))
            if n < n_good + n_bad or n < self.min_points_in_model + 2:
                continue
            order = np.argsort(-np.asarray(scores), kind="stable")
            x = np.asarray(archs, dtype=np.int64)[order]
            return x[:n_good], x[n_good:]
        return None

    def _density(self, candidates: np.ndarray, data: np.ndarray, bw: np.ndarray) -> np.ndarray:
        same = candidates[:, None, :] == data[None, :, :]
        kernel = np.where(same, 1 - bw, bw / (self._cards - 1))  # Aitchison-Aitken
        return kernel.prod(axis=2).mean(axis=1)

    def sample_new(self, fidelity: int) -> Arch:
        data = self._model_data()
        if data is None or self.rng.random() < self.random_fraction:
            return self.space.sample(self.rng)
        good, bad = data
        centres = good[self.rng.integers(len(good), size=self.num_samples)]
        # the kernel's "move this decision" chance, then a uniformly chosen other value
        move = self.rng.random(centres.shape) < self._sampling_bandwidth
        other = (centres + 1 + (self.rng.random(centres.shape) * (self._cards - 1)).astype(np.int64)) % self._cards
        candidates = np.where(move, other, centres)
        bw = self._bandwidth
        ratio = self._density(candidates, good, bw) / np.maximum(self._density(candidates, bad, bw), 1e-300)
        return tuple(int(v) for v in candidates[int(np.argmax(ratio))])
