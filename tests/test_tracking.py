"""MLflow tracking: a CLI run, a naslab.sweep sweep and a run folder logged from Python land in a
local SQLite store, read back here: config as params, trajectory as step metrics, files as artifacts."""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mlflow")
pytest.importorskip("sqlalchemy")

from naslab import tracking  # noqa: E402
from naslab.app import run_from_config  # noqa: E402
from naslab.sweep import run_sweep  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


def _runs(store: str, experiment: str) -> list:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=store)
    found = client.get_experiment_by_name(experiment)
    return [] if found is None else client.search_runs([found.experiment_id])


def _check_run_matches_folder(store: str, run, folder: Path) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=store)
    with open(folder / "trajectory.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    history = client.get_metric_history(run.info.run_id, "regret")
    assert [m.step for m in history] == [int(r["step"]) for r in rows]
    assert [m.value for m in history] == pytest.approx([float(r["regret"]) for r in rows], nan_ok=True)
    assert len(client.get_metric_history(run.info.run_id, "incumbent_val_acc")) == len(rows)
    assert run.data.params["budget.queries"] == str(len(rows))
    assert run.data.tags["naslab.run_dir"] == str(folder.resolve())
    assert not math.isnan(run.data.metrics["final_sim_time_s"])
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"summary.json", "trajectory.csv"} <= names
    assert (".hydra" in names) == (folder / ".hydra").is_dir()


def test_python_api_run_folder_is_logged_once(store: str, synthetic_path: Path, tmp_path: Path) -> None:
    from hydra import compose, initialize_config_dir

    from naslab.app import CONFIG_DIR, register_resolvers

    register_resolvers()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["benchmark=file", f"benchmark.path={synthetic_path}",
                                           "strategy=random", "budget.queries=12"])
    run_from_config(cfg, tmp_path / "run", "random")
    run_id = tracking.log_run(tmp_path / "run", store, "api")
    assert tracking.log_run(tmp_path / "run", store, "api") == run_id  # the same folder: nothing new
    (runs,) = [_runs(store, "api")]
    assert [r.info.run_id for r in runs] == [run_id]
    _check_run_matches_folder(store, runs[0], tmp_path / "run")
    with pytest.raises(tracking.TrackingError, match="not a finished run folder"):
        tracking.log_run(tmp_path, store, "api")


def test_cli_run_is_logged_by_the_tracking_config_group(store: str, synthetic_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    done = subprocess.run(
        [sys.executable, "-m", "naslab", "+tracking=mlflow", "hydra.callbacks.mlflow.experiment=cli",
         "benchmark=file", f"benchmark.path={synthetic_path}", "strategy=evolution", "budget.queries=15",
         f"hydra.run.dir={out}"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env={**os.environ, "MLFLOW_TRACKING_URI": store},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Callback" not in done.stderr, done.stderr[-2000:]  # Hydra's warning when a callback raised
    (run,) = _runs(store, "cli")
    _check_run_matches_folder(store, run, out)
    assert run.data.tags["naslab.strategy"] == "evolution"


def test_sweep_jobs_are_logged_by_the_callback_once(store: str, synthetic_path: Path, tmp_path: Path) -> None:
    overrides = ["+tracking=mlflow", f"hydra.callbacks.mlflow.tracking_uri={store}",
                 "hydra.callbacks.mlflow.experiment=sweep", "benchmark=file", f"benchmark.path={synthetic_path}",
                 "strategy=random", "seed=0,1,-1", "budget.queries=10", f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    report = run_sweep(overrides, processes=2)
    assert report.finished == 2 and len(report.failures) == 1
    runs = _runs(store, "sweep")
    assert sorted(r.data.tags["naslab.seed"] for r in runs) == ["0", "1"]  # the failed job is not logged
    for run in runs:
        _check_run_matches_folder(store, run, Path(run.data.tags["naslab.run_dir"]))
    assert run_sweep(overrides, processes=2).skipped == 2
    assert len(_runs(store, "sweep")) == 2


def test_tracking_command_logs_every_finished_folder_once(store: str, synthetic_path: Path, tmp_path: Path) -> None:
    run_sweep(["benchmark=file", f"benchmark.path={synthetic_path}", "strategy=random", "seed=0,1",
               "budget.queries=5", f"hydra.sweep.dir={tmp_path / 'sweep'}"], processes=1)
    args = [str(tmp_path / "sweep"), "--uri", store, "--experiment", "posthoc"]
    assert tracking.main(args) == 0 and tracking.main(args) == 0
    assert sorted(r.data.tags["naslab.seed"] for r in _runs(store, "posthoc")) == ["0", "1"]
    assert tracking.main([str(tmp_path / "nowhere"), "--uri", store]) == 2
