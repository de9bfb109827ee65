"""``naslab.search(...)``: one search from Python, ending in the same run the CLI makes.

A facade over the same objects as ``python -m naslab`` (as pymoo's ``minimize()`` is over
its ask/tell algorithms, and Optuna's ``create_study().optimize()``): names are composed
into the CLI's Hydra config, so ``search("evolution", seed=3).save(folder)`` writes the
``trajectory.csv``, ``summary.json`` and ``.hydra/config.yaml`` that ``python -m naslab
strategy=evolution seed=3`` writes (``run.overrides`` is that command line). Objects (a
Strategy subclass, a TabularBenchmark, an evaluator, an objective function) replace what
the config would build, and the summary's config names them by their import path.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from naslab.errors import NaslabError
from naslab.paths import CONFIG_DIR
from naslab.run_folder import Run


class SearchArgumentError(NaslabError, ValueError):
    """An argument of ``naslab.search`` that names nothing usable; one sentence."""


def override_value(value: Any) -> str:
    """``value`` written in Hydra's override grammar (``strategy.objectives=[val_acc,params]``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(override_value(v) for v in value) + "]"
    text = str(value)
    plain = text and all(c.isalnum() or c in "_-./" for c in text) and text not in ("null", "true", "false")
    return text if plain else "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def compose(overrides: Sequence[str]) -> Any:
    """The CLI's config for ``overrides``, composed as ``python -m naslab`` composes it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException

    from naslab.paths import register_resolvers

    register_resolvers()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            return hydra_compose(config_name="config", overrides=list(overrides))
    except HydraException as exc:
        raise SearchArgumentError(f"the search does not compose: {str(exc).splitlines()[0]}") from None


def _has_config(group: str, name: Any) -> bool:
    return isinstance(name, str) and (CONFIG_DIR / group / f"{name}.yaml").is_file()


def _import_path(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def search(
    strategy: str | type = "evolution",
    benchmark: Any = "digits",
    *,
    seed: int = 0,
    budget: int | None = 300,
    sim_seconds: float | None = None,
    evaluator: Any = "tabular",
    space: Any = None,
    objective: str | Callable | None = None,
    workers: int = 1,
    fidelity: int | None = None,
    **knobs: Any,
) -> Run:
    """Run one search and return it; nothing is written until ``run.save(folder)``.

    ``strategy``: a registered name (``naslab.strategies.available()``) or a
    :class:`~naslab.strategies.base.Strategy` subclass; ``knobs`` are its keyword
    arguments (``population_size=50``). ``benchmark``: a registered name
    (``naslab.benchmarks.available()``), the path of a naslab HDF5 file, or a
    :class:`~naslab.benchmarks.tabular.TabularBenchmark`. ``evaluator``: a registered
    name, built on the benchmark, or an evaluator object. ``space``: a name or a space,
    checked against the benchmark's. ``objective``: a name of ``naslab/conf/objective``
    or a function of a Result. ``budget``: queries (None = no limit); ``sim_seconds``:
    simulated seconds (None = no limit).
    """
    from hydra.utils import instantiate
    from omegaconf import open_dict

    from naslab import benchmarks, spaces, strategies
    from naslab.app import build_evaluator, search_from_config
    from naslab.benchmarks.tabular import TabularBenchmark
    from naslab.strategies.base import Strategy

    overrides = [f"{key}={override_value(value)}" for key, value in (
        ("seed", seed), ("budget.queries", budget), ("budget.sim_seconds", sim_seconds),
        ("workers", workers), ("fidelity", fidelity))]
    strategy_class = None  # set when the strategy is not one of the CLI's configs
    if _has_config("strategy", strategy):
        from omegaconf import OmegaConf

        known = [k for k in OmegaConf.load(CONFIG_DIR / "strategy" / f"{strategy}.yaml") if not str(k).startswith("_")]
        unknown = [knob for knob in knobs if knob not in known]
        if unknown:
            raise SearchArgumentError(f"strategy {strategy} has no knob {unknown[0]!r}; its knobs: {', '.join(known)}")
        overrides.append(f"strategy={strategy}")
        overrides += [f"strategy.{knob}={override_value(value)}" for knob, value in knobs.items()]
    elif isinstance(strategy, str):
        strategy_class = strategies.get(strategy)  # a plug-in registered in Python, or one sentence
    elif isinstance(strategy, type) and issubclass(strategy, Strategy):
        strategy_class = strategy
    else:
        raise SearchArgumentError(f"strategy must be a registered name or a Strategy subclass, got {strategy!r}")

    bench = None  # set when the benchmark is not one of the CLI's configs
    if isinstance(benchmark, TabularBenchmark):
        bench = benchmark
    elif _has_config("benchmark", benchmark) and benchmark != "file":
        overrides.append(f"benchmark={benchmark}")
    elif isinstance(benchmark, (str, Path)) and Path(benchmark).suffix in (".h5", ".hdf5"):
        overrides += ["benchmark=file", f"benchmark.path={override_value(str(Path(benchmark).resolve()))}"]
    elif isinstance(benchmark, str):
        bench = benchmarks.get(benchmark)  # a plug-in registered in Python, or one sentence
    elif benchmark is not None or isinstance(evaluator, str):
        raise SearchArgumentError(
            f"benchmark must be a registered name, a naslab .h5 file or a TabularBenchmark, got {benchmark!r}"
        )

    evaluator_obj = None
    if isinstance(evaluator, str):
        overrides.append(f"evaluator={evaluator}")
    elif hasattr(evaluator, "evaluate") and hasattr(evaluator, "space"):
        evaluator_obj = evaluator
        bench = bench if bench is not None else getattr(evaluator, "benchmark", None)
    else:
        raise SearchArgumentError(f"evaluator must be a registered name or an evaluator object, got {evaluator!r}")
    space_obj = None
    if _has_config("space", space):
        overrides.append(f"space={space}")
    elif space is not None:
        space_obj = spaces.get(space) if isinstance(space, str) else space
    objective_fn = None
    if isinstance(objective, str):
        overrides.append(f"objective={objective}")
    elif callable(objective):
        objective_fn = objective
    elif objective is not None:
        raise SearchArgumentError(f"objective must be a name of naslab/conf/objective or a function, got {objective!r}")

    cfg = compose(overrides)
    with open_dict(cfg):  # describe the objects in the config the summary records
        if strategy_class is not None:
            cfg.strategy = {"_target_": _import_path(strategy_class), "_partial_": True, **knobs}
        if bench is not None:
            cfg.benchmark = {"name": benchmark if isinstance(benchmark, str) else Path(bench.path).stem if bench.path
                             else bench.dataset,
                             "path": str(bench.path) if bench.path else None}
        if evaluator_obj is not None:
            cfg.evaluator = {"_target_": _import_path(type(evaluator_obj))}
        if objective_fn is not None:
            cfg.objective = {"_target_": _import_path(objective_fn)}
    if evaluator_obj is None and bench is not None:
        evaluator_obj = instantiate(cfg.evaluator)(benchmark=bench)
    if space_obj is not None:
        if evaluator_obj is None:
            evaluator_obj, bench = build_evaluator(cfg)
        if space_obj.name != evaluator_obj.space.name:
            raise SearchArgumentError(
                f"space {space_obj.name} does not match the benchmark's space {evaluator_obj.space.name!r}"
            )
    run = search_from_config(
        cfg,
        strategy if isinstance(strategy, str) else None,
        make_strategy=functools.partial(strategy_class, **knobs) if strategy_class is not None else None,
        evaluator=evaluator_obj,
        benchmark=bench,
        objective=objective_fn,
    )
    if strategy_class is None and bench is None and evaluator_obj is None and objective_fn is None:
        run.overrides = overrides  # the CLI command that makes the same run folder
    return run
