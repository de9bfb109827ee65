"""Experiment tracking: finished run folders logged to MLflow (``pip install 'naslab[tracking]'``).

What a run folder holds becomes one MLflow run: the resolved config (``summary.json``'s
``config``, flattened to ``budget.queries`` ...) as params; the trajectory as metrics
over steps (``val_acc``, ``incumbent_val_acc``, ``incumbent_test_acc``, ``regret``,
``sim_time_s``, ``cost_s``); the summary's scalars (final regret, incumbent accuracies,
simulated and wall time) as final metrics; ``summary.json``, ``trajectory.csv``, the
``.hydra`` files and every figure in the folder as artifacts. Tracking reads only the run
folder, so it works the same for the CLI, sweeps, launchers on a cluster and the Python
API, and logging the same finished folder twice adds nothing (the run is found by a tag).

Three ways in:

* ``python -m naslab +tracking=mlflow ...`` (and ``-m`` sweeps, and ``python -m naslab.sweep
  +tracking=mlflow ...``): the config group adds :class:`MLflowCallback` to
  ``hydra.callbacks``; each finished job is logged when it ends, by the process that ran it.
* ``python -m naslab.tracking FOLDER...``: log the finished run folders under each folder.
* :func:`log_run` / :func:`log_runs` from Python, on a run folder the API wrote.

The store is ``MLFLOW_TRACKING_URI`` when set, else ``sqlite:///mlflow.db`` in the current
folder (MLflow 3 refuses plain-folder stores without ``MLFLOW_ALLOW_FILE_STORE``); for
many machines point it at an ``mlflow server`` every node reaches.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from naslab.errors import NaslabError
from naslab.run_folder import PARETO_FILE, SUMMARY_FILE, TRAJECTORY_FILE, is_finished, read_trajectory

DEFAULT_URI = "sqlite:///mlflow.db"
DEFAULT_EXPERIMENT = "naslab"
STEP_METRICS = ("val_acc", "incumbent_val_acc", "incumbent_test_acc", "regret", "sim_time_s", "cost_s")
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")
KEY_TAG = "naslab.run_key"  # identifies one finished run folder: its path and its summary's bytes
# MLflow's log_batch limits (mlflow.utils.validation): 100 params, 1000 entries in all
_PARAMS_PER_BATCH, _ENTRIES_PER_BATCH = 100, 1000


class TrackingError(NaslabError, ValueError):
    """Tracking cannot start (MLflow missing, an unreachable store); one sentence for the user."""


def tracking_uri(uri: str | None = None) -> str:
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI


@cache
def _client(uri: str) -> Any:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise TrackingError("MLflow tracking needs the tracking extra: pip install 'naslab[tracking]'") from None
    return MlflowClient(tracking_uri=uri)


def _experiment_id(client: Any, name: str) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return str(experiment.experiment_id)
    try:
        return str(client.create_experiment(name))
    except Exception:  # noqa: BLE001 - another worker created it first
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return str(experiment.experiment_id)


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """``{"budget": {"queries": 300}}`` -> ``("budget.queries", "300")``; lists stay one value."""
    if isinstance(value, dict):
        for key in sorted(value):
            yield from flatten(value[key], f"{prefix}{key}.")
    else:
        yield prefix.rstrip("."), json.dumps(value) if isinstance(value, (list, bool)) or value is None else str(value)


def _float(text: Any) -> float | None:
    try:
        number = float(text)
    except (TypeError, ValueError):
        return None
    return number


def summary_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """The summary's numbers worth comparing across runs (NaN and missing ones left out)."""
    incumbent = summary.get("incumbent") or {}
    values = {
        "final_regret": summary.get("final_regret"),
        "final_incumbent_val_acc": incumbent.get("val_acc"),
        "final_incumbent_test_acc": incumbent.get("test_acc"),
        "final_sim_time_s": summary.get("sim_time_s"),
        "wall_time_s": summary.get("wall_time_s"),
        "num_evaluations": summary.get("num_evaluations"),
        "num_failed": summary.get("num_failed"),
    }
    numbers = {key: _float(value) for key, value in values.items()}
    return {key: value for key, value in numbers.items() if value is not None and not math.isnan(value)}


def _batches(params: list[Any], metrics: list[Any]) -> Iterator[tuple[list[Any], list[Any]]]:
    for start in range(0, len(params), _PARAMS_PER_BATCH):
        yield params[start:start + _PARAMS_PER_BATCH], []
    for start in range(0, len(metrics), _ENTRIES_PER_BATCH):
        yield [], metrics[start:start + _ENTRIES_PER_BATCH]


def log_run(run_dir: str | os.PathLike[str], uri: str | None = None, experiment: str = DEFAULT_EXPERIMENT) -> str:
    """Log one finished run folder to MLflow; return the MLflow run id (the existing one if logged before)."""
    from mlflow.entities import Metric, Param

    run_dir = Path(run_dir).resolve()
    if not is_finished(run_dir):
        raise TrackingError(f"{run_dir} is not a finished run folder (it has no {SUMMARY_FILE}); nothing to log")
    summary_bytes = (run_dir / SUMMARY_FILE).read_bytes()
    summary = json.loads(summary_bytes)
    key = hashlib.sha256(str(run_dir).encode() + b"\0" + summary_bytes).hexdigest()
    client = _client(tracking_uri(uri))
    experiment_id = _experiment_id(client, experiment)
    logged = client.search_runs([experiment_id], filter_string=f"tags.`{KEY_TAG}` = '{key}'", max_results=1)
    if logged:
        return str(logged[0].info.run_id)
    name = f"{summary.get('strategy', 'run')}-seed{summary.get('seed', '?')}"
    tags = {"naslab.run_dir": str(run_dir), "naslab.strategy": str(summary.get("strategy")),
            "naslab.seed": str(summary.get("seed")), "naslab.version": str(summary.get("naslab_version"))}
    run = client.create_run(experiment_id, run_name=name, tags=tags)
    run_id = run.info.run_id
    now = int(time.time() * 1000)
    params = [Param(k[:250], v[:6000]) for k, v in flatten(summary.get("config") or {}) if k]
    metrics = [Metric(k, v, now, 0) for k, v in summary_metrics(summary).items()]
    for row in read_trajectory(run_dir / TRAJECTORY_FILE):
        for name in STEP_METRICS:
            value = _float(getattr(row, name, None))
            if value is not None:
                metrics.append(Metric(name, value, now, row.step))
    try:
        for batch_params, batch_metrics in _batches(params, metrics):
            client.log_batch(run_id, metrics=batch_metrics, params=batch_params, tags=[])
        for path in artifacts(run_dir):
            relative = path.parent.relative_to(run_dir)
            client.log_artifact(run_id, str(path), None if str(relative) == "." else str(relative))
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_tag(run_id, KEY_TAG, key)  # last: a run interrupted above does not count as logged
    client.set_terminated(run_id, "FINISHED")
    return str(run_id)


def artifacts(run_dir: Path) -> list[Path]:
    """The files of a run folder that travel to the tracking store."""
    names = [run_dir / SUMMARY_FILE, run_dir / TRAJECTORY_FILE, run_dir / PARETO_FILE]
    names += sorted((run_dir / ".hydra").glob("*.yaml"))
    names += sorted(p for p in run_dir.iterdir() if p.suffix in FIGURE_SUFFIXES)
    return [p for p in names if p.is_file()]


def finished_runs(folders: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Every finished run folder at or below each folder, sorted."""
    found: set[Path] = set()
    for folder in folders:
        found.update(p.parent.resolve() for p in Path(folder).rglob(SUMMARY_FILE))
    return sorted(found)


def log_runs(folders: Iterable[str | os.PathLike[str]], uri: str | None = None,
             experiment: str = DEFAULT_EXPERIMENT) -> list[str]:
    """:func:`log_run` for every finished run folder under ``folders``, with a progress bar."""
    from naslab.progress import progress_bar

    runs = finished_runs(folders)
    ids = []
    with progress_bar(len(runs), "mlflow", "run") as bar:
        for run_dir in runs:
            ids.append(log_run(run_dir, uri, experiment))
            bar.update()
    return ids


class MLflowCallback(Callback):
    """A Hydra callback logging each finished job's run folder (``naslab/conf/tracking/mlflow.yaml``).

    Runs in the process that ran the job (a launcher's worker, a ``naslab.sweep``
    worker), after the job wrote its folder. A failed job is not logged; a tracking
    failure does not fail the job (Hydra turns a callback's exception into a warning).
    """

    def __init__(self, tracking_uri: str | None = None, experiment: str = DEFAULT_EXPERIMENT) -> None:
        self.uri, self.experiment = tracking_uri, experiment

    def on_job_end(self, config: Any, job_return: Any, **kwargs: Any) -> None:
        from hydra.core.utils import JobStatus

        run_dir = Path(str(config.hydra.runtime.output_dir))
        if job_return.status == JobStatus.COMPLETED and is_finished(run_dir):
            log_run(run_dir, self.uri, self.experiment)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m naslab.tracking",
                                     description="Log finished naslab run folders to MLflow (once each).")
    parser.add_argument("folders", nargs="+", help="run folders or sweep folders (searched for summary.json)")
    parser.add_argument("--uri", default=None, help=f"tracking URI (default: $MLFLOW_TRACKING_URI, else {DEFAULT_URI})")
    parser.add_argument("--experiment", default=DEFAULT_EXPERIMENT, help="MLflow experiment name")
    args = parser.parse_args(argv)
    missing = [f for f in args.folders if not Path(f).is_dir()]
    if missing:
        print(f"naslab.tracking: error: {missing[0]} is not a folder", file=sys.stderr)
        return 2
    try:
        ids = log_runs(args.folders, args.uri, args.experiment)
    except TrackingError as exc:
        print(f"naslab.tracking: error: {exc}", file=sys.stderr)
        return 2
    print(f"naslab.tracking: {len(ids)} run folder(s) in experiment {args.experiment!r} at {tracking_uri(args.uri)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
