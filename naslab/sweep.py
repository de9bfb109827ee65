"""`python -m naslab.sweep strategy=a,b seed='range(0,100)'`: a Hydra sweep without Hydra's per-job cost.

``python -m naslab -m ...`` composes every job's config from the YAML files (about
0.15 s a job here) and reconfigures logging per job: for hundreds of short tabular
searches that is most of the time. This mode expands the same sweep overrides with
Hydra's own basic sweeper, composes the config *once per combination of config-group
choices* (``strategy=...``, ``benchmark=...``), derives each job's config from it by
applying the job's value overrides (``seed=3``) with Hydra's own override code, and
runs the jobs in a pool of processes. Each group's derived config is checked against
a full Hydra composition of one of its jobs before anything runs, and a group that
differs is composed job by job instead, so the run folders (``.hydra/*.yaml``,
``trajectory.csv``, ``summary.json``) are the ones the CLI would write.

As under Hydra's launchers, each job logs through ``hydra.job_logging`` (its file
handlers: the job log; console handlers are left out, the parent shows a progress bar
and the failures instead), and the callbacks in ``hydra.callbacks`` are fired:
``on_multirun_start``/``on_multirun_end`` in this process, ``on_job_start``/``on_job_end``
in the worker that runs the job (for skipped jobs too, as under the CLI). The config a
callback receives is reused for the next job: copy what it keeps.

Skipping finished runs, retrying failed ones and ``failed.json`` work as in the CLI
(:mod:`naslab.jobs`). The exit status is 0 when every job finished or was skipped, 1
when some failed (one line each), 2 when the sweep itself is wrong.
"""

from __future__ import annotations

import argparse
import copy
import logging
import logging.config
import multiprocessing as mp
import os
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.override_parser.types import OverrideType
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from naslab.errors import NaslabError
from naslab.progress import progress_bar, quiet

log = logging.getLogger("naslab")

CONFIG_NAME = "config"
# python -m naslab runs naslab/__main__.py: Hydra names the job (and its log file) after it
CLI_JOB_NAME = "__main__"
BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
EXECUTORS = ("processes", "dask")


class SweepError(NaslabError, ValueError):
    """The sweep cannot start; the message is one sentence for the user."""


@dataclass(frozen=True)
class Job:
    """One job of the sweep: its number (as Hydra numbers it) and its own overrides."""

    index: int
    overrides: tuple[str, ...]


@dataclass
class SweepReport:
    sweep_dir: Path
    finished: int = 0
    skipped: int = 0
    failures: list[tuple[Path, str]] = field(default_factory=list)
    wall_time_s: float = 0.0
    exact_groups: int = 0
    recomposed_groups: int = 0

    @property
    def total(self) -> int:
        return self.finished + self.skipped + len(self.failures)


class SweepComposer:
    """Builds every job's full config (``hydra`` node included) as ``python -m naslab -m`` would."""

    def __init__(self, overrides: Sequence[str], config_dir: Path | None = None) -> None:
        from hydra import initialize_config_dir
        from hydra.core.global_hydra import GlobalHydra
        from hydra.core.override_parser.overrides_parser import OverridesParser
        from hydra.errors import HydraException
        from hydra.types import RunMode

        from naslab.app import CONFIG_DIR, register_resolvers

        register_resolvers()
        config_dir = config_dir or CONFIG_DIR
        GlobalHydra.instance().clear()
        self._context = initialize_config_dir(str(config_dir), job_name=CLI_JOB_NAME, version_base="1.3")
        self._context.__enter__()
        self.hydra = GlobalHydra.instance().hydra
        self.loader = self.hydra.config_loader
        try:
            # `-m` makes the CLI append this override; the saved hydra.yaml shows it
            self.master = self.hydra.compose_config(
                CONFIG_NAME, [*overrides, "hydra.mode=MULTIRUN"], run_mode=RunMode.MULTIRUN
            )
        except HydraException as exc:
            raise SweepError(f"the sweep overrides do not compose: {str(exc).splitlines()[0]}") from None
        sweeper = str(self.master.hydra.sweeper.get("_target_"))
        if sweeper != BASIC_SWEEPER:
            raise SweepError(
                f"python -m naslab.sweep runs Hydra's basic sweeper only, this config asks for {sweeper}; "
                "use python -m naslab -m for other sweepers"
            )
        self.parser = OverridesParser.create()
        self.hydra_overrides = list(OmegaConf.to_container(self.master.hydra.overrides.hydra))
        self._groups: dict[tuple[str, ...], _Group] = {}

    def close(self) -> None:
        self._context.__exit__(None, None, None)

    def jobs(self) -> list[Job]:
        """The jobs in Hydra's order (the basic sweeper's cartesian product)."""
        from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

        params = self.master.hydra.sweeper.get("params") or {}
        arguments = [f"{key}={value}" for key, value in params.items()]
        arguments += list(OmegaConf.to_container(self.master.hydra.overrides.task, resolve=False))
        batches = BasicSweeper.split_arguments(self.parser.parse_overrides(arguments), None)
        return [Job(i, tuple(overrides)) for i, overrides in enumerate(batches[0])]

    def split(self, job: Job) -> tuple[tuple[str, ...], list[Any], list[Any]]:
        """(the overrides that change composition, the value overrides, the task overrides) of a job."""
        repo = self.loader.repository
        composition: list[str] = []
        values, task = [], []
        for override in self.parser.parse_overrides(list(job.overrides)):
            is_group = repo.group_exists(override.key_or_group) and not isinstance(override.value(), dict)
            if override.is_hydra_override() or is_group:
                composition.append(override.input_line)
            else:
                values.append(override)
            if not override.is_hydra_override():
                task.append(override)
        return tuple(composition), values, task

    def compose_fully(self, job: Job) -> DictConfig:
        """The job's config by a full Hydra composition (what the basic launcher does)."""
        cfg = self.loader.load_sweep_config(self.master, list(job.overrides))
        self._number(cfg, job)
        return cfg

    def config(self, job: Job, exact: dict[tuple[str, ...], bool]) -> DictConfig:
        """The job's config: derived where its group was checked exact, else fully composed."""
        split = self.split(job)
        return self.derive(job, split) if exact.get(split[0], False) else self.compose_fully(job)

    def derive(self, job: Job, split: tuple[tuple[str, ...], list[Any], list[Any]] | None = None) -> DictConfig:
        """The job's config from its group's composed template plus its value overrides.

        Consecutive jobs of a group that set the same keys to plain values (``seed=3``)
        reuse one config object, each job overwriting the previous job's values: a
        deep copy of the whole config (hydra node included) per job would cost more
        than the search. Do not keep the returned config past the next call.
        """
        from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname
        from hydra.types import RunMode

        key, values, task = split or self.split(job)
        group = self._groups.get(key)
        if group is None:
            template = self.loader.load_configuration(
                config_name=str(self.master.hydra.job.config_name),
                overrides=self.hydra_overrides + list(key),
                run_mode=RunMode.RUN,
            )
            group = self._groups[key] = _Group(template)
        keys = tuple(o.get_key_element() for o in values)
        plain = all(o.type == OverrideType.CHANGE and not isinstance(o.value(), (dict, list)) for o in values)
        if group.working is not None and plain and keys == group.keys:
            cfg = group.working
        else:
            cfg = copy.deepcopy(group.template)
            group.working, group.keys = (cfg, keys) if plain else (None, ())
        ConfigLoaderImpl._apply_overrides_to_config(values, cfg)
        with read_write(cfg.hydra), open_dict(cfg.hydra):
            cfg.hydra.overrides.task = [o.input_line for o in task]
            dirname = cfg.hydra.job.config.override_dirname
            cfg.hydra.job.override_dirname = get_overrides_dirname(
                overrides=task, kv_sep=dirname.kv_sep, item_sep=dirname.item_sep, exclude_keys=dirname.exclude_keys
            )
        OmegaConf.copy_cache(from_config=self.master, to_config=cfg)
        self._number(cfg, job)
        return cfg

    @staticmethod
    def _number(cfg: DictConfig, job: Job) -> None:
        with read_write(cfg.hydra), open_dict(cfg):
            cfg.hydra.job.id = job.index
            cfg.hydra.job.num = job.index

    def groups_match_full_composition(self, jobs: list[Job]) -> dict[tuple[str, ...], bool]:
        """For each group, whether a derived config equals Hydra's full composition of that job.

        The second job of a group is checked (derived after the first, so the reuse
        of the first job's config object is checked too).
        """
        members: dict[tuple[str, ...], list[Job]] = {}
        for job in jobs:
            members.setdefault(self.split(job)[0], []).append(job)
        checked = {}
        for key, group_jobs in members.items():
            for job in group_jobs[:2]:
                derived = OmegaConf.to_yaml(self.derive(job))
            checked[key] = derived == OmegaConf.to_yaml(self.compose_fully(job))
        return checked


@dataclass
class _Group:
    """A composed config-group combination, and the config object its jobs reuse."""

    template: DictConfig
    working: DictConfig | None = None
    keys: tuple[str, ...] = ()


def output_dir(cfg: DictConfig) -> Path:
    """The job's run folder: ``hydra.sweep.dir``/``hydra.sweep.subdir``, resolved as Hydra's run_job does.

    Sets ``hydra.runtime.output_dir`` and makes ``cfg`` the current HydraConfig.
    """
    from hydra.core.hydra_config import HydraConfig

    # `${hydra:...}` in the subdir reads the current HydraConfig; point it at this
    # config without the copy set_config makes (the copy is made once, below)
    HydraConfig.instance().cfg = cfg
    out = Path(os.path.abspath(os.path.join(str(cfg.hydra.sweep.dir), str(cfg.hydra.sweep.subdir))))
    with read_write(cfg.hydra.runtime), open_dict(cfg.hydra.runtime):
        cfg.hydra.runtime.output_dir = str(out)
    HydraConfig.instance().set_config(cfg)
    return out


def configure_job_logging(cfg: DictConfig) -> None:
    """Configure logging from the job's ``hydra.job_logging``, without its console handlers.

    Hydra's ``configure_log`` applies the whole dict per job; the console handlers would
    have every worker print every job's log lines over the parent's progress bar. About
    0.4 ms a job here.
    """
    conf = OmegaConf.to_container(cfg.hydra.job_logging, resolve=True)
    if not conf:  # hydra/job_logging=none: Hydra leaves logging alone too
        return
    handlers = conf.get("handlers") or {}
    console = {name for name, spec in handlers.items() if _is_console(spec)}
    conf["handlers"] = {name: spec for name, spec in handlers.items() if name not in console}
    for logger in [conf.get("root") or {}, *(conf.get("loggers") or {}).values()]:
        if "handlers" in logger:
            logger["handlers"] = [h for h in logger["handlers"] if h not in console]
    logging.config.dictConfig(conf)
    log.propagate = True  # naslab's records reach the job's file handlers on the root logger


def _is_console(spec: dict[str, Any]) -> bool:
    handler_class = logging.config.BaseConfigurator({}).resolve(str(spec.get("class", "")))
    return issubclass(handler_class, logging.StreamHandler) and not issubclass(handler_class, logging.FileHandler)


def run_one(cfg: DictConfig, callbacks: Any = None) -> tuple[str, Path, str]:
    """Run one job from its full config, as Hydra's run_job would: (status, run folder, reason).

    ``callbacks`` (Hydra's ``Callbacks`` of ``hydra.callbacks``) get ``on_job_start`` and
    ``on_job_end`` around the job.
    """
    from naslab.jobs import failure_reason

    out_dir = output_dir(cfg)
    # what Hydra's run_job passes to the task: the config without its hydra node
    task_cfg = OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"])
    OmegaConf.set_struct(task_cfg, True)
    if callbacks is not None:
        from naslab.jobs import run_job

        callbacks.on_job_start(config=cfg, task_function=run_job)
    status, reason = "failed", ""
    try:
        status, reason = _run_one(cfg, task_cfg, out_dir)
    except Exception as exc:  # noqa: BLE001 - a failed job is recorded; the sweep goes on
        reason = failure_reason(exc)
    finally:
        if callbacks is not None:
            callbacks.on_job_end(config=cfg, job_return=_job_return(cfg, task_cfg, status, out_dir, reason))
    return status, out_dir, reason


def _run_one(cfg: DictConfig, task_cfg: DictConfig, out_dir: Path) -> tuple[str, str]:
    from hydra.core.hydra_config import HydraConfig

    from naslab import hydra_files
    from naslab.jobs import finished_with, run_job

    try:
        if finished_with(out_dir, task_cfg):
            # its .hydra files already say this; rewriting them is most of a skip's cost
            return "skipped", ""
    except Exception:  # noqa: BLE001 - run_job below records why the config does not resolve
        pass
    rendered = None
    if cfg.hydra.output_subdir is not None:
        # rendered once: naslab.jobs writes them again (and a copy) when the run finishes
        rendered = hydra_files.render(task_cfg, HydraConfig.instance().cfg)
        hydra_files.write(rendered, out_dir / str(cfg.hydra.output_subdir))
    out_dir.mkdir(parents=True, exist_ok=True)
    configure_job_logging(cfg)
    return run_job(task_cfg, out_dir, cfg.hydra.runtime.choices.get("strategy"), rendered), ""


def _job_return(cfg: DictConfig, task_cfg: DictConfig, status: str, out_dir: Path, reason: str) -> Any:
    """What Hydra's run_job hands ``on_job_end``; a failure is the CLI's :class:`SweepJobFailed`."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.utils import JobReturn, JobStatus

    from naslab.jobs import SweepJobFailed

    failed = status == "failed"
    return JobReturn(
        overrides=list(cfg.hydra.overrides.task),
        cfg=task_cfg,
        hydra_cfg=HydraConfig.instance().cfg,
        working_dir=os.getcwd(),
        task_name=str(cfg.hydra.job.name),
        status=JobStatus.FAILED if failed else JobStatus.COMPLETED,
        _return_value=SweepJobFailed(str(out_dir), reason, str(cfg.hydra.sweep.dir)) if failed else status,
    )


# ----- worker processes ---------------------------------------------------------------
_composer: SweepComposer | None = None
_exact: dict[tuple[str, ...], bool] = {}
_callbacks: Any = None


def _init_worker(overrides: Sequence[str], exact: dict[tuple[str, ...], bool], cache: Any) -> None:
    global _composer, _exact, _callbacks
    _composer = SweepComposer(overrides)
    # the parent's resolved ${now:...}: a worker composing a second later names the same sweep folder
    OmegaConf.set_cache(_composer.master, cache)
    _exact = exact
    _callbacks = callbacks_of(_composer.master)


def callbacks_of(cfg: DictConfig) -> Any:
    """Hydra's ``Callbacks`` for ``hydra.callbacks``, or None when there are none (the usual case)."""
    if not OmegaConf.select(cfg, "hydra.callbacks"):
        return None
    from hydra._internal.callbacks import Callbacks

    return Callbacks(cfg)


def _run_job(job: Job) -> tuple[int, str, Path, str]:
    assert _composer is not None
    cfg = _composer.config(job, _exact)
    status, out_dir, reason = run_one(cfg, _callbacks)
    return job.index, status, out_dir, reason


def run_sweep(overrides: Sequence[str], processes: int | None = None, executor: str = "processes",
              address: str | None = None) -> SweepReport:
    """Run every job of the sweep ``overrides`` describe; return what happened.

    ``executor``: ``processes`` (a pool of ``processes`` on this machine) or ``dask`` (the
    Dask scheduler at ``address``, else a LocalCluster of ``processes`` workers; see
    :mod:`naslab.dask_cluster`).
    """
    if executor not in EXECUTORS:
        raise SweepError(f"executor {executor!r} is not one of {', '.join(EXECUTORS)}")
    started = time.perf_counter()
    from hydra.errors import HydraException

    composer = SweepComposer(overrides)
    try:
        jobs = composer.jobs()
        exact = composer.groups_match_full_composition(jobs)
        sweep_dir = Path(str(composer.master.hydra.sweep.dir))
        # the first jobs of a sweep differ in its fastest-varying key: a subdir that
        # forgets a swept key shows here, before anything runs (and after, see below)
        folders = [output_dir(composer.derive(job)) for job in jobs[: min(len(jobs), 2 * len(exact) + 1)]]
        cache = OmegaConf.get_cache(composer.master)
    except HydraException as exc:
        raise SweepError(f"a job of this sweep does not compose: {str(exc).strip().splitlines()[0]}") from None
    finally:
        composer.close()
    shared = [folder for i, folder in enumerate(folders) if folder in folders[:i]]
    if shared:
        raise SweepError(
            f"two jobs of this sweep write to the same run folder ({shared[0]}); "
            "make hydra.sweep.subdir name every swept key"
        )
    for key, same in exact.items():
        if not same:
            log.warning("group %s: derived config differs from Hydra's; composing its jobs one by one", key)
    report = SweepReport(sweep_dir=sweep_dir, exact_groups=sum(exact.values()),
                         recomposed_groups=sum(not v for v in exact.values()))
    processes = max(1, min(processes or _available_cores(), len(jobs)))
    callbacks = callbacks_of(composer.master)
    if callbacks is not None:
        callbacks.on_multirun_start(config=composer.master)
    seen: dict[Path, int] = {}
    setup = _Setup(tuple(overrides), exact, cache, os.getcwd(), uuid.uuid4().hex)
    results = _execute_on_dask(jobs, setup, processes, address) if executor == "dask" else \
        _execute(jobs, setup, processes)
    with progress_bar(len(jobs), "sweep", "job") as bar:
        for index, status, out_dir, reason in results:
            if out_dir in seen:
                status, reason = "failed", (
                    f"jobs {seen[out_dir]} and {index} share this run folder; make hydra.sweep.subdir name every swept key"
                )
            seen[out_dir] = index
            if status == "failed":
                report.failures.append((out_dir, reason))
            elif status == "skipped":
                report.skipped += 1
            else:
                report.finished += 1
            bar.set_postfix_str(f"{report.finished} ran, {report.skipped} skipped, {len(report.failures)} failed",
                                refresh=False)
            bar.update()
    if callbacks is not None:
        callbacks.on_multirun_end(config=composer.master)
    report.failures.sort()
    report.wall_time_s = time.perf_counter() - started
    return report


@dataclass(frozen=True)
class _Setup:
    """What a worker needs to derive any job's config, as the parent does."""

    overrides: tuple[str, ...]
    exact: dict[tuple[str, ...], bool]
    cache: Any  # the parent's resolver cache (its ${now:...})
    cwd: str  # where relative paths (hydra.sweep.dir, the benchmark) start, and hydra.runtime.cwd
    token: str = ""  # names this sweep: a worker composes once per token, not once per batch


def _execute(jobs: list[Job], setup: _Setup, processes: int) -> Iterator[tuple[int, str, Path, str]]:
    overrides, exact, cache = list(setup.overrides), setup.exact, setup.cache
    if processes == 1:
        global _composer, _exact
        root = logging.getLogger()
        # the jobs' logging config replaces this process's; put it back afterwards
        saved = root.level, root.handlers[:], log.level, log.handlers[:], log.propagate
        _init_worker(overrides, exact, cache)
        try:
            yield from map(_run_job, jobs)
        finally:
            assert _composer is not None
            _composer.close()
            _composer = None
            root.handlers[:], log.handlers[:] = saved[1], saved[3]
            root.setLevel(saved[0])
            log.setLevel(saved[2])
            log.propagate = saved[4]
        return
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    ctx = mp.get_context(method)
    chunk = max(1, min(16, len(jobs) // (4 * processes)))
    with ctx.Pool(processes, initializer=_init_worker, initargs=(overrides, exact, cache)) as pool:
        yield from pool.imap_unordered(_run_job, jobs, chunksize=chunk)


def _execute_on_dask(jobs: list[Job], setup: _Setup, workers: int,
                     address: str | None) -> Iterator[tuple[int, str, Path, str]]:
    from functools import partial

    from naslab.dask_cluster import DaskError, dask_client, run_on_dask

    size = max(1, min(16, len(jobs) // (4 * workers)))  # batches: Dask's per-task cost is about a millisecond
    batches = [jobs[i:i + size] for i in range(0, len(jobs), size)]
    try:
        with dask_client(address, workers) as client:
            for results in run_on_dask(client, partial(_run_batch, setup), batches):
                yield from results
    except DaskError as exc:
        raise SweepError(str(exc)) from None


_setup: _Setup | None = None


def _run_batch(setup: _Setup, jobs: list[Job]) -> list[tuple[int, str, Path, str]]:
    """Run ``jobs`` in a Dask worker, which composes the sweep once (again when a new sweep comes)."""
    global _setup
    os.chdir(setup.cwd)  # before composing: hydra.runtime.cwd records it
    if _setup is None or _setup.token != setup.token:
        if _composer is not None:
            _composer.close()
        # a copy: resolving the jobs adds to the cache, and setup must stay as it came
        _init_worker(list(setup.overrides), setup.exact, copy.deepcopy(setup.cache))
        _setup = setup
    return [_run_job(job) for job in jobs]


def _available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m naslab.sweep",
        description="Run a Hydra sweep of naslab searches in a pool of processes: the same run folders "
        "as `python -m naslab -m OVERRIDES`, without Hydra's per-job cost.",
        epilog="example: python -m naslab.sweep strategy=random,evolution 'seed=range(0,100)'",
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, sweeps as in the CLI (a,b  range(0,10))")
    parser.add_argument("-j", "--processes", type=int, default=None,
                        help="worker processes (default: the cores this process may use)")
    parser.add_argument("--executor", choices=EXECUTORS, default="processes",
                        help="where jobs run: a pool of processes here, or a Dask cluster (naslab[dask])")
    parser.add_argument("--address", default=None,
                        help="--executor dask: the scheduler, tcp://HOST:8786 (default: a LocalCluster of -j workers)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar (it is drawn only on a terminal anyway; NASLAB_PROGRESS=0 does the same)")
    args = parser.parse_args(argv)
    if args.quiet:
        quiet()
    if args.processes is not None and args.processes < 1:
        parser.error(f"--processes must be >= 1, got {args.processes}")
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    try:
        report = run_sweep(args.overrides, args.processes, args.executor, args.address)
    except SweepError as exc:
        print(f"naslab.sweep: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"naslab.sweep: {report.total} jobs in {report.wall_time_s:.1f} s: {report.finished} ran, "
        f"{report.skipped} already finished, {len(report.failures)} failed; run folders in {report.sweep_dir}"
    )
    for folder, reason in report.failures:
        print(f"  failed {folder}: {reason}", file=sys.stderr)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
