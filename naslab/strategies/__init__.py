"""Search strategies by name: ``naslab.strategies.get("bananas")`` is the class, ``available()`` the names.

The names are those of the CLI's config group (``python -m naslab strategy=bananas``;
``naslab/conf/strategy/<name>.yaml`` holds the same knobs as the class's defaults, a
test checks that). A strategy class declares what it can do on the class
(:class:`~naslab.strategies.base.Strategy`: ``multi_objective``, ``multi_fidelity``,
``requires``). Add one with ``naslab.strategies.register("greedy", Greedy)`` or an entry
point in the group ``naslab.strategies``.
"""

from __future__ import annotations

from typing import Any

from naslab.registry import Registry

REGISTRY: Registry[Any] = Registry(
    "strategy",
    "naslab.strategies",
    {
        "bananas": "naslab.strategies.bananas:Bananas",
        "bananas_zero_cost": "naslab.strategies.bananas:Bananas",  # with proxy features: see its config
        "bohb": "naslab.strategies.hyperband:BOHB",
        "evolution": "naslab.strategies.evolution:RegularizedEvolution",
        "genetic": "naslab.strategies.genetic:GeneticAlgorithm",
        "gp_bo": "naslab.strategies.gp_bo:GaussianProcessBO",
        "hyperband": "naslab.strategies.hyperband:Hyperband",
        "local_search": "naslab.strategies.local_search:LocalSearch",
        "nsga2": "naslab.strategies.nsga2:NSGA2",
        "optuna": "naslab.strategies.optuna_sampler:OptunaSampler",  # Optuna's TPE (or GP, random) sampler
        "optuna_nsga2": "naslab.strategies.nsga2:OptunaNSGA2",  # Optuna's NSGAIISampler
        "random": "naslab.strategies.random_search:RandomSearch",
        "reinforce": "naslab.strategies.reinforce:Reinforce",
        "reinforce_lstm": "naslab.strategies.reinforce:LSTMReinforce",
        "successive_halving": "naslab.strategies.hyperband:SuccessiveHalving",
        "surrogate_evolution": "naslab.strategies.surrogate_evolution:SurrogateEvolution",
        "tpe": "naslab.strategies.tpe:TPE",
        "zero_cost_warm_start": "naslab.strategies.zero_cost_warm_start:ZeroCostWarmStart",
    },
)
get, available, register, name_of = REGISTRY.get, REGISTRY.available, REGISTRY.register, REGISTRY.name_of


def factory(name: str, **knobs: Any) -> Any:
    """What ``strategy=name strategy.<knob>=<value>`` builds: a ``functools.partial`` taking the context.

    The knobs of ``naslab/conf/strategy/<name>.yaml`` come first (a config may preset knobs
    of a shared class, as ``bananas_zero_cost`` does, or nest another strategy), then
    ``knobs``; a strategy without a config gets its class defaults.
    """
    import functools

    from naslab.paths import CONFIG_DIR

    config = CONFIG_DIR / "strategy" / f"{name}.yaml"
    cls = get(name)
    if not config.is_file():
        return functools.partial(cls, **knobs)
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(config)
    for knob, value in knobs.items():
        cfg[knob] = value
    return instantiate(cfg)


def strategy_class(factory: Any) -> Any:
    """The class a factory builds: the class itself, or the function of a ``functools.partial``."""
    while hasattr(factory, "func"):
        factory = factory.func
    return factory


def recorded_name(cls: Any, chosen: str | None = None) -> str:
    """The strategy name a run records: the name it was chosen by (``strategy=random``) when
    that name's registered class is the one that ran; else the class's own registered name;
    else its import path (``mine.Greedy``), so a run of a custom class never reads as a
    built-in one."""
    if chosen is not None and chosen in REGISTRY._targets:
        try:
            if REGISTRY.get(chosen) is cls:
                return chosen
        except ImportError:
            pass
    return REGISTRY.name_of(cls) or f"{cls.__module__}.{cls.__qualname__}"
