"""Optuna's samplers as naslab strategies, through Optuna's ask/tell interface.

Each decision of the space becomes a categorical parameter ``d0, d1, ...`` with
choices ``0 .. cardinality − 1``; a proposal is ``study.ask(distributions)``, a
result ``study.tell(trial, value)`` — or ``TrialState.FAIL`` for a failed result, so
the sampler knows the point was tried but has no value. The sampler's seed is drawn
from the run's generator (same run seed → same proposals). Optuna's logging and
experimental-feature warnings are silenced: the runner reports progress.

With several workers, ``ask`` comes before earlier trials are told; TPE then uses
Optuna's *constant liar* (running trials count as bad), on by default whenever
``context.num_workers > 1``.

Samplers (``strategy=optuna strategy.sampler=...``): ``tpe`` (Bergstra et al. 2011;
Optuna's defaults, ``multivariate`` as an option; ``strategy=tpe`` is the same
algorithm in numpy, :mod:`naslab.strategies.tpe`, ~20x faster), ``gp`` (Optuna's
GPSampler: ~0.25 s per proposal on a 2-core machine, so a 300-query run takes
minutes — use ``strategy=gp_bo`` for a fast GP), ``random``. Optuna is an optional
extra (``pip install 'naslab[bo]'``).
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict, deque
from typing import Any, Literal

from naslab.errors import InvalidValueError, MissingExtraError
from naslab.results import Result
from naslab.spaces import Arch
from naslab.strategies.base import SearchContext, Strategy

SamplerName = Literal["tpe", "gp", "random"]


def import_optuna() -> Any:
    """Optuna with its logging silenced, or a one-sentence error if it is not installed."""
    try:
        import optuna
    except ModuleNotFoundError:
        raise MissingExtraError(
            "this strategy needs optuna, an optional extra: pip install 'naslab[bo]' (or pip install optuna)"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna


class OptunaStrategy(Strategy):
    """Ask/tell bridge to an Optuna study; subclasses choose the sampler and the values."""

    requires = ("optuna",)
    extra = "bo"
    directions: tuple[str, ...] = ("maximize",)

    def __init__(self, context: SearchContext) -> None:
        super().__init__(context)
        self.optuna = import_optuna()
        from optuna.distributions import CategoricalDistribution

        self._names = [f"d{i}" for i in range(self.space.num_decisions)]
        self._distributions = {
            name: CategoricalDistribution(list(range(card)))
            for name, card in zip(self._names, self.space.cardinalities)
        }
        self._pending: dict[Arch, deque[Any]] = defaultdict(deque)  # asked, not yet told
        self.study: Any = None

    def _sampler_seed(self) -> int:
        return int(self.rng.integers(2**31 - 1))

    def _create_study(self, sampler: Any) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ExperimentalWarning for sampler options
            self.study = self.optuna.create_study(directions=list(self.directions), sampler=sampler)

    def ask(self) -> Arch:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trial = self.study.ask(self._distributions)
        arch = tuple(int(trial.params[name]) for name in self._names)
        self._pending[arch].append(trial)
        return arch

    def tell(self, arch: Arch, result: Result) -> None:
        waiting = self._pending.get(arch)
        if not waiting:
            return  # not one of ours (cannot happen with the runner); nothing to tell
        trial = waiting.popleft()
        if not waiting:
            del self._pending[arch]
        values = self._values(result)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if values is None:
                self.study.tell(trial, state=self.optuna.trial.TrialState.FAIL)
            else:
                self.study.tell(trial, values)

    def _values(self, result: Result) -> float | list[float] | None:
        """The value(s) to tell, or None for a failed trial."""
        score = self.score(result)
        return score if math.isfinite(score) else None


class OptunaSampler(OptunaStrategy):
    """A single-objective Optuna sampler maximising ``self.score``."""

    def __init__(
        self,
        context: SearchContext,
        sampler: SamplerName = "tpe",
        n_startup_trials: int = 10,
        multivariate: bool = True,
        constant_liar: bool | None = None,
    ) -> None:
        super().__init__(context)
        if n_startup_trials < 0:
            raise InvalidValueError(f"n_startup_trials must be >= 0, got {n_startup_trials}")
        samplers = self.optuna.samplers
        seed = self._sampler_seed()
        if constant_liar is None:
            constant_liar = context.num_workers > 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if sampler == "tpe":
                built = samplers.TPESampler(
                    seed=seed,
                    n_startup_trials=n_startup_trials,
                    multivariate=multivariate,
                    constant_liar=constant_liar,
                )
            elif sampler == "gp":
                if not hasattr(samplers, "GPSampler"):
                    raise InvalidValueError(
                        f"sampler 'gp' needs optuna >= 3.6 with GPSampler; this is optuna "
                        f"{self.optuna.__version__}: upgrade it or use strategy=gp_bo"
                    )
                built = samplers.GPSampler(seed=seed, n_startup_trials=n_startup_trials)
            elif sampler == "random":
                built = samplers.RandomSampler(seed=seed)
            else:
                raise InvalidValueError(f"sampler must be 'tpe', 'gp' or 'random', got {sampler!r}")
        self.sampler_name = sampler
        self._create_study(built)
