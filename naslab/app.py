"""Turn a composed config into a finished search (shared by the CLI, sweeps and ``naslab.search``).

The ``run_*`` family, from the innermost out:

* :func:`naslab.runner.run_search`: the budgeted ask/tell loop, strategy x evaluator -> Trajectory;
* :func:`search_from_config`: a composed config -> a :class:`~naslab.run_folder.Run` in memory;
* :func:`run_from_config`: the same, saved as its run folder (what one CLI search does);
* :func:`naslab.jobs.run_job`: one job of the CLI: skip a finished folder, record ``failed.json``;
  :func:`naslab.jobs.run_sweep_job` is that inside a Hydra multirun;
* :func:`naslab.sweep.run_sweep`: the in-process sweep, :func:`naslab.sweep.run_one` one of its jobs.
"""

from __future__ import annotations

import logging
import math
import time
from functools import cache
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from naslab import __version__, strategies
from naslab.benchmarks.registry import open_benchmark, read_installed_benchmark
from naslab.benchmarks.tabular import TabularBenchmark
from naslab.errors import NaslabError
from naslab.files import file_sha256
from naslab.paths import (  # noqa: F401
    CONFIG_DIR,
    EMBEDDED_BENCHMARK,
    PACKAGE_DIR,
    checkout_root,
    data_dir,
    register_resolvers,
)
from naslab.run_folder import Run, Summary, json_float
from naslab.runner import Budget, Trajectory, run_search
from naslab.strategies.base import validation_accuracy

log = logging.getLogger("naslab")


# the old name of naslab.benchmarks.registry.open_benchmark, for code written against it
load_benchmark_cached = open_benchmark


class ConfigError(NaslabError, ValueError):
    """A config value is wrong; the message is one sentence for the user."""


class NothingUsable(NaslabError, RuntimeError):
    """The run finished and wrote its folder, but produced no usable result (every evaluation
    failed); the CLI exits with :data:`EXIT_NOTHING_USABLE`."""


EXIT_NOTHING_USABLE = 3


_SHARED_EVALUATORS: dict[tuple[int, str], tuple[TabularBenchmark, Any]] = {}


def _shared_evaluator(make: Any, benchmark: TabularBenchmark, evaluator_cfg: DictConfig) -> Any:
    """One evaluator per (benchmark, evaluator config) and process, for evaluators whose
    class says ``shareable`` (answers that depend only on the arch, fidelity and trial
    seed: the tabular one). A sweep's jobs then share its prepared tables and answers:
    building them per job was a fifth of a tabular job's CPU time (perf/sweep_speed.py)."""
    import json

    key = (id(benchmark), json.dumps(OmegaConf.to_container(evaluator_cfg, resolve=True), sort_keys=True, default=str))
    if key not in _SHARED_EVALUATORS:  # the benchmark is kept too: its id stays its own
        _SHARED_EVALUATORS[key] = (benchmark, make(benchmark=benchmark))
    return _SHARED_EVALUATORS[key][1]


def build_evaluator(cfg: DictConfig) -> tuple[Any, TabularBenchmark | None]:
    from hydra.utils import instantiate

    bench_cfg = cfg.get("benchmark")
    path = bench_cfg.get("path") if bench_cfg is not None else None
    loader = bench_cfg.get("loader") if bench_cfg is not None else None
    import_command = bench_cfg.get("import_command") if bench_cfg is not None else None
    benchmark = open_benchmark(path, import_command) if path else read_installed_benchmark(loader) if loader else None
    check_knobs(cfg.evaluator, "evaluator", given=("benchmark",))
    make = instantiate(cfg.evaluator)
    if benchmark is not None and getattr(getattr(make, "func", None), "shareable", False):
        evaluator = _shared_evaluator(make, benchmark, cfg.evaluator)
    else:
        evaluator = make(benchmark=benchmark)
    if cfg.get("space") is not None:
        space = instantiate(cfg.space)
        if space.name != evaluator.space.name:
            raise ConfigError(
                f"space={space.name} does not match the benchmark's space {evaluator.space.name!r}; "
                "drop the space override or pick a benchmark of that space"
            )
    return evaluator, benchmark


def bench_cfg_name(cfg: DictConfig) -> str | None:
    bench_cfg = cfg.get("benchmark")
    return str(bench_cfg.get("name")) if bench_cfg is not None and bench_cfg.get("name") is not None else None


def check_knobs(node: Any, group: str, given: tuple[str, ...] = ()) -> None:
    """Refuse a key of ``node`` that its ``_target_`` does not take, naming the valid ones
    (instead of the ``TypeError`` traceback the call would raise)."""
    import inspect

    from hydra.utils import get_object

    target = node.get("_target_") if node is not None else None
    if not target:
        return
    try:
        params = inspect.signature(get_object(str(target))).parameters.values()
    except (ImportError, AttributeError, ValueError, TypeError):
        return  # instantiate says what is wrong with the target itself
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return
    valid = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in given]
    unknown = [str(k) for k in node if not str(k).startswith("_") and k not in valid]
    if unknown:
        raise ConfigError(
            f"{group}.{unknown[0]} is not a knob of {str(target).rsplit('.', 1)[-1]}; "
            f"its knobs are: {', '.join(valid) or 'none'}"
        )


def _number(value: Any, kind: type, key: str) -> Any:
    if value is None:
        return None
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a number or null, got {value!r}") from None
    if kind is int and number != value:
        raise ConfigError(f"{key} must be a whole number, got {value!r}")
    return number


@cache
def retrain_command(arch: str, dataset: str, space: str = "nb201") -> str | None:
    """The `naslab.train` command for ``arch`` on the benchmark's dataset, if naslab can train it."""
    from naslab.spaces import get_space

    # naslab.train's command line reaches only its default space, nb201 (its `space` key shares
    # its name with the search's config group), and only a space with a network builder trains
    if space != "nb201" or get_space(space).network_builder is None:
        return None
    if dataset == "digits":
        return f"python -m naslab.train arch='{arch}' dataset=digits"
    if dataset in ("cifar10", "cifar10-valid"):  # NB201's cifar10-valid / cifar10 splits both train on CIFAR-10
        return f"python -m naslab.train arch='{arch}' dataset=cifar10 data_root=<folder holding cifar-10-batches-py>"
    return None  # synthetic or a dataset naslab's trainer does not know


def _seed(value: Any) -> int:
    seed = _number(value, int, "seed")
    if seed is None or seed < 0:
        raise ConfigError(f"seed must be a whole number >= 0, got {value!r}")
    return int(seed)


@cache
def git_commit() -> str:
    """``naslab VERSION (git COMMIT)``; once per process (a sweep runs hundreds of searches)."""
    from naslab.benchmarks.tabular import created_by

    return created_by()  # not provenance(): its host name runs `uname -p`


@cache
def git_dirty() -> bool | None:
    """Whether tracked files differed from that commit (None: not a git checkout); once per process."""
    import subprocess

    root = checkout_root()
    if root is None:
        return None
    try:
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(status.stdout.strip()) if status.returncode == 0 else None


def checked_objective(cfg: DictConfig, evaluator: Any) -> Any:
    """The configured objective, refusing one the benchmark cannot answer (one sentence)."""
    from hydra.utils import instantiate

    from naslab.objectives import validation_loss

    objective = instantiate(cfg.objective) if cfg.get("objective") is not None else validation_accuracy
    name = bench_cfg_name(cfg) or "this benchmark"
    if objective is validation_accuracy and getattr(evaluator, "val_metric", "val_acc") is None:
        raise ConfigError(
            f"objective=val_acc needs a validation accuracy, but {name} has none (it minimises "
            f"{evaluator.loss_metric}); use objective=search_metric or objective=val_loss"
        )
    if objective is validation_loss() and getattr(evaluator, "loss_metric", "val_loss") is None:
        raise ConfigError(
            f"objective=val_loss needs a validation loss, but {name} has none; use objective=search_metric"
        )
    return objective


def run_from_config(cfg: DictConfig, out_dir: Path, strategy_name: str | None = None) -> dict[str, Any]:
    """Run the search ``cfg`` describes and write its run folder; return the summary."""
    run = search_from_config(cfg, strategy_name)
    run.save(out_dir)
    inc, trajectory = run.trajectory.incumbent, run.trajectory
    if inc is not None and not math.isnan(trajectory.regret):
        log.info("best %s: val_acc %.3f, test_acc %.3f, regret %.3f", inc.arch, inc.val_acc,
                 trajectory.incumbent_test_acc, trajectory.regret)
    log.info("run folder: %s", out_dir)
    dataset = (run.summary.benchmark or {}).get("dataset") or str(cfg.get("dataset", "digits"))
    if run.summary.retrain_command:
        log.info("retrain the incumbent: %s", run.summary.retrain_command)
    elif inc is not None and retrain_command(inc.arch, dataset) is not None:  # the dataset, not the space
        log.info("no retrain command: naslab.train cannot train space %r (it trains NB201 cells)",
                 (run.summary.benchmark or {}).get("space"))
    if inc is None and len(trajectory):
        raise NothingUsable(
            f"every one of the {len(trajectory)} evaluations failed: no incumbent and no regret "
            f"(the run folder {out_dir} records them)"
        )
    return run.summary.to_dict()


def search_from_config(
    cfg: DictConfig,
    strategy_name: str | None = None,
    *,
    make_strategy: Any = None,
    evaluator: Any = None,
    benchmark: TabularBenchmark | None = None,
    objective: Any = None,
) -> Run:
    """Run the search ``cfg`` describes and return it in memory (nothing is written).

    The keyword arguments replace what ``cfg`` would build (``naslab.search`` given objects
    rather than names); ``cfg`` then only describes them in the summary.
    """
    from hydra.utils import instantiate

    started = time.perf_counter()
    if evaluator is None:
        evaluator, benchmark = build_evaluator(cfg)
    if make_strategy is None:
        check_knobs(cfg.strategy, "strategy", given=("context",))
        make_strategy = instantiate(cfg.strategy)
    if objective is None:
        objective = checked_objective(cfg, evaluator)
    budget = Budget(
        queries=_number(cfg.budget.get("queries"), int, "budget.queries"),
        sim_seconds=_number(cfg.budget.get("sim_seconds"), float, "budget.sim_seconds"),
    )
    every = max(1, (budget.queries or 1000) // 10)

    def progress(step: int, result: Any, trajectory: Trajectory) -> None:
        if step % every == 0:
            last = trajectory.rows[-1]
            log.info("step %d: sim time %.0f s, incumbent val_acc %.3f, regret %.3f",
                     step, last.sim_time_s, last.incumbent_val_acc, last.regret)

    trajectory = run_search(
        make_strategy,
        evaluator,
        seed=_seed(cfg.seed),
        budget=budget,
        num_workers=_number(cfg.get("workers", 1), int, "workers"),
        fidelity=_number(cfg.get("fidelity"), int, "fidelity"),
        objective=objective,
        on_result=progress,
    )
    inc = trajectory.incumbent
    sources = evaluator.metric_sources() if hasattr(evaluator, "metric_sources") else None
    if sources is not None and ("validation metric" in sources["regret"] or sources["regret"].startswith("none")):
        log.warning("regret: %s", sources["regret"])
    strategy_class = strategies.strategy_class(make_strategy)
    dataset = benchmark.dataset if benchmark is not None else str(cfg.get("dataset", "digits"))
    summary = Summary(
        strategy=strategies.recorded_name(strategy_class, strategy_name),
        seed=int(cfg.seed),
        budget={"queries": budget.queries, "sim_seconds": budget.sim_seconds},
        workers=int(cfg.get("workers", 1)),
        num_evaluations=len(trajectory),
        num_failed=sum(1 for row in trajectory.rows if row.status != "ok"),
        sim_time_s=trajectory.sim_time_s,
        wall_time_s=round(time.perf_counter() - started, 4),
        incumbent=None if inc is None else {
            "arch": inc.arch,
            "val_acc": json_float(inc.val_acc),
            "epoch": inc.epoch,
            "test_acc": json_float(trajectory.incumbent_test_acc),
        },
        best_test_acc_in_benchmark=json_float(evaluator.best_test_acc()),
        final_regret=json_float(trajectory.regret),
        # file, metric, dataset and split of every number above: nobody mistakes one test set for another
        metrics=sources,
        retrain_command=retrain_command(inc.arch, dataset, evaluator.space.name) if inc is not None else None,
        benchmark=None if benchmark is None else {
            "name": bench_cfg_name(cfg),
            "path": str(benchmark.path) if benchmark.path else None,
            "source": benchmark.attrs.get("source") if not benchmark.path else None,
            "sha256": file_sha256(benchmark.path) if benchmark.path else benchmark.attrs.get("sha256"),
            "space": benchmark.space_name,
            "dataset": benchmark.dataset,
            "search_metric": f"{benchmark.search_metric} ({benchmark.search_direction})",
        },
        naslab=git_commit(),
        naslab_version=__version__,
        git_dirty=git_dirty(),
        config=OmegaConf.to_container(cfg, resolve=True),  # type: ignore[arg-type]
    )
    if strategy_class.multi_fidelity and len(evaluator.fidelities) == 1:
        # the issue this answers: Hyperband on a one-epoch table silently equalled random search
        summary.fidelity_note = (
            f"{summary.strategy} ran as its single-fidelity equivalent: the benchmark stores one fidelity "
            f"(epoch {evaluator.fidelities[0]}), so every rung evaluates at full fidelity"
        )
        log.warning("%s", summary.fidelity_note)
    front_csv = None
    if strategy_class.multi_objective:
        from naslab.pareto import benchmark_worst, trajectory_front

        worst = benchmark_worst(benchmark, cfg.evaluator.get("latency_metric")) if benchmark is not None else {}
        front_csv, summary.pareto = trajectory_front(trajectory, list(cfg.strategy.objectives), worst)
    return Run(summary=summary, trajectory=trajectory, pareto_csv=front_csv, config=cfg)
