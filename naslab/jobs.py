"""One job of a sweep: skip it if its run folder already finished, record it if it fails.

A run folder is *finished* when it holds ``summary.json`` written for the same resolved
config (``summary.json`` is written last, see :mod:`naslab.run_folder`). A folder whose
finished run had a different config (say, a larger budget) is refused unless
``overwrite=true``; a folder is locked while a run writes it (:mod:`naslab.locks`). A job that
fails leaves ``failed.json`` (the one-sentence reason, the error type and the
traceback) so that re-running the sweep retries exactly those jobs; a job that then
succeeds removes it. The CLI (``python -m naslab -m ...``) and the in-process sweep
(``python -m naslab.sweep``) share this logic.
"""

from __future__ import annotations

import json
import logging
import os
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from hydra.errors import CompactHydraException
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from naslab.app import NothingUsable
from naslab.errors import NaslabError, user_error_message
from naslab.files import atomic_write_text
from naslab.locks import RunFolderBusy, run_folder_lock
from naslab.logs import REPORTED
from naslab.run_folder import FAILED_FILE, SUMMARY_FILE, is_finished

log = logging.getLogger("naslab")

JobStatus = Literal["finished", "skipped"]
RunFn = Callable[[DictConfig, Path, "str | None"], Any]  # writes one run folder


# knobs that say how to run, not what: two runs differing only in them are the same run
HOW_TO_RUN_KEYS = ("overwrite",)


class RunFolderTaken(NaslabError, ValueError):
    """The run folder holds a finished run of another config (one sentence for the user)."""


def resolved_config(cfg: DictConfig) -> Any:
    """The config as ``summary.json`` stores it (resolved, JSON types)."""
    return json.loads(json.dumps(OmegaConf.to_container(cfg, resolve=True), default=str))


def _what_run(config: Any) -> Any:
    return {k: v for k, v in config.items() if k not in HOW_TO_RUN_KEYS} if isinstance(config, dict) else config


def config_differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two resolved configs."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(set(old) | set(new), key=str)
        return [d for k in keys for d in config_differences(old.get(k), new.get(k), f"{prefix}{k}.")]
    return [] if old == new else [prefix.rstrip(".") or "config"]


def finished_config(run_dir: Path) -> Any | None:
    """The config a finished run folder recorded, or None if the folder has not finished."""
    if not is_finished(run_dir):
        return None
    try:
        return json.loads((run_dir / SUMMARY_FILE).read_text()).get("config")
    except (OSError, ValueError, AttributeError):
        return None  # unreadable summary: treat the run as not finished


def failure_reason(exc: BaseException) -> str:
    """One sentence: the user-facing message for input errors, the type and first line for bugs."""
    message = user_error_message(exc)
    if message is not None:
        return message
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def finished_with(out_dir: Path, cfg: DictConfig) -> bool:
    """Whether ``out_dir`` holds a finished run of exactly this config."""
    previous = finished_config(out_dir)
    return previous is not None and _what_run(previous) == _what_run(resolved_config(cfg))


def _hydra_files() -> list[tuple[Any, str]]:
    """What Hydra's run_job writes into ``.hydra/`` for the current job: (config, file name)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():  # the Python API: no .hydra folder
        return []
    hydra_cfg = HydraConfig.instance().cfg
    return [(hydra_cfg, "hydra.yaml"), (hydra_cfg.hydra.overrides.task, "overrides.yaml")]


def write_hydra_files(cfg: DictConfig, out_dir: Path, rendered: list[tuple[str, str]] | None = None) -> None:
    """(Re)write ``.hydra/`` from this run's own config, and keep a copy in ``.hydra/finished/``.

    Hydra writes ``.hydra/`` before naslab gets control, also for a run that naslab then
    refuses; the run that owns the folder therefore writes it again when it finishes, and a
    refused run puts the owner's copy back (:func:`restore_hydra_files`). ``rendered``:
    the files as :func:`naslab.hydra_files.render` gave them for this run already.
    """
    from hydra.core.hydra_config import HydraConfig

    from naslab import hydra_files

    files = _hydra_files()
    subdir = HydraConfig.instance().cfg.hydra.output_subdir if files else None
    if subdir is None:
        return
    rendered = rendered or hydra_files.render(cfg, HydraConfig.instance().cfg)
    for folder in (out_dir / str(subdir), out_dir / str(subdir) / "finished"):
        hydra_files.write(rendered, folder)


def restore_hydra_files(out_dir: Path) -> None:
    """Put back the ``.hydra/`` files of the run that finished in ``out_dir`` (see above)."""
    from hydra.core.hydra_config import HydraConfig

    if not _hydra_files() or HydraConfig.instance().cfg.hydra.output_subdir is None:
        return
    hydra_dir = out_dir / str(HydraConfig.instance().cfg.hydra.output_subdir)
    for saved in sorted((hydra_dir / "finished").glob("*.yaml")):
        atomic_write_text(hydra_dir / saved.name, saved.read_text())


def run_job(
    cfg: DictConfig, out_dir: Path, strategy_name: str | None, rendered: list[tuple[str, str]] | None = None,
    run: RunFn | None = None,
) -> JobStatus:
    """Run one search into ``out_dir`` unless it already finished with this config.

    ``run(cfg, out_dir, name)`` writes the run folder (default: :func:`naslab.app.run_from_config`;
    the one-shot entry point passes its own loop).

    The folder is locked while the run writes it; a folder another run is writing, or one
    holding a finished run of another config (unless ``overwrite=true``), is refused in one
    sentence with nothing written into it. On failure, writes ``out_dir/failed.json`` and
    re-raises the original exception. ``rendered``: this run's ``.hydra`` files, if the
    caller rendered them already (:func:`write_hydra_files`).
    """
    try:
        with run_folder_lock(out_dir):
            return _run_locked(cfg, out_dir, strategy_name, rendered, run)
    except RunFolderBusy:
        # the run writing the folder puts its own .hydra files back when it finishes
        log.error("run refused: %s is being written by another run", out_dir, extra=REPORTED)
        raise


def _run_locked(
    cfg: DictConfig, out_dir: Path, strategy_name: str | None, rendered: list[tuple[str, str]] | None,
    run: RunFn | None = None,
) -> JobStatus:
    from naslab.app import run_from_config

    run = run or run_from_config
    failed_marker = out_dir / FAILED_FILE
    if finished_with(out_dir, cfg):
        log.info("already finished, skipped: %s", out_dir)
        restore_hydra_files(out_dir)
        return "skipped"
    if is_finished(out_dir) and not cfg.get("overwrite", False):
        restore_hydra_files(out_dir)
        differ = config_differences(_what_run(finished_config(out_dir)), _what_run(resolved_config(cfg)))
        log.error("run refused: %s holds a finished run of a different config", out_dir, extra=REPORTED)
        raise RunFolderTaken(
            f"run folder {out_dir} holds a finished run of a different config (it differs in "
            f"{', '.join(differ[:5])}{', ...' if len(differ) > 5 else ''}); pass overwrite=true to "
            "replace it, or choose another folder (hydra.run.dir=...)"
        )
    try:
        if is_finished(out_dir):
            log.warning("%s holds a finished run of a different config; overwrite=true: replacing it", out_dir)
            # drop the marker first: a crash below must not leave a stale 'finished' folder
            (out_dir / SUMMARY_FILE).unlink()
        try:
            run(cfg, out_dir, strategy_name)
        finally:
            write_hydra_files(cfg, out_dir, rendered)  # a refused run may have replaced them meanwhile
    except NothingUsable as exc:  # finished and recorded; nothing to retry
        log.warning("%s", exc, extra=REPORTED)
        raise
    except Exception as exc:
        reason = failure_reason(exc)
        if user_error_message(exc) is None:  # a bug: the log gets the traceback too
            log.error("run failed: %s\n%s", reason, traceback.format_exc(), extra=REPORTED)
        else:  # bad input: one sentence (failed.json keeps the traceback)
            log.error("run failed: %s", reason, extra=REPORTED)
        record = {
            "reason": reason,
            "error_type": type(exc).__name__,
            "traceback": traceback.format_exc(),
            "strategy": strategy_name,
            "config": OmegaConf.to_container(cfg, resolve=False),
        }
        atomic_write_text(failed_marker, json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
        raise
    failed_marker.unlink(missing_ok=True)
    return "finished"


def failed_runs(sweep_dir: Path) -> list[tuple[Path, str]]:
    """(run folder, reason) for every ``failed.json`` under ``sweep_dir``, sorted by folder."""
    found = []
    for marker in sorted(Path(sweep_dir).rglob(FAILED_FILE)):
        try:
            reason = json.loads(marker.read_text()).get("reason", "unknown reason")
        except (OSError, ValueError, AttributeError):
            reason = "unreadable failed.json"
        found.append((marker.parent, str(reason)))
    return found


class SweepJobFailed(CompactHydraException):
    """Raised by a failed job of a Hydra multirun after it wrote ``failed.json``.

    Hydra finishes the other jobs of the batch first and then prints only this
    exception's message (a ``CompactHydraException``: no traceback) and exits 1. The
    message is built when printed, so it counts every failed run of the sweep.
    """

    def __init__(self, run_dir: str, reason: str, sweep_dir: str) -> None:
        super().__init__(run_dir, reason, sweep_dir)  # args: picklable across joblib workers
        self.run_dir, self.reason, self.sweep_dir = run_dir, reason, sweep_dir

    def __str__(self) -> str:
        failures = failed_runs(Path(self.sweep_dir)) or [(Path(self.run_dir), self.reason)]
        lines = [
            f"naslab: {len(failures)} run(s) of the sweep in {self.sweep_dir} failed "
            "(the others went on; run the same command again to retry only these):"
        ]
        lines += [f"  {folder}: {reason}" for folder, reason in failures]
        return "\n".join(lines)


def run_sweep_job(cfg: DictConfig, out_dir: Path, strategy_name: str | None, sweep_dir: Path,
                  run: RunFn | None = None) -> JobStatus:
    """:func:`run_job` for one job of a Hydra multirun: any failure becomes :class:`SweepJobFailed`."""
    try:
        return run_job(cfg, out_dir, strategy_name, run=run)
    except Exception as exc:
        raise SweepJobFailed(str(out_dir), failure_reason(exc), str(sweep_dir)) from None


class RunFolderCheck(Callback):
    """Hydra callback: a run folder that cannot be made is refused in one sentence.

    Hydra makes the folder and writes ``.hydra/`` into it before naslab's code runs, and a
    failure there (a path under a file, a read-only folder or disk) reaches the user as a
    traceback.
    """

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config, "run")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config, "sweep")

    @staticmethod
    def _check(config: DictConfig, mode: str) -> None:
        import sys

        from hydra.core.hydra_config import HydraConfig

        # `${hydra:...}` in the folder name reads HydraConfig; Hydra sets it properly right after
        # (run_job), so it gets the config itself, not set_config's masked copy of it (~7 ms)
        HydraConfig.instance().cfg = config
        try:
            folder = Path(str(config.hydra[mode].dir))
        except Exception:  # noqa: BLE001 - an unresolvable folder name: Hydra's own message says why
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
            # an existing read-only folder: Hydra's own .hydra/ writes would fail with a traceback
            probe = folder / f".naslab-write-probe-{os.getpid()}"
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            probe.unlink()
        except OSError as exc:
            print(f"naslab: error: cannot write the run folder {folder}: {exc.strerror}; choose another with "
                  f"hydra.{mode}.dir=...", file=sys.stderr)
            sys.exit(2)
