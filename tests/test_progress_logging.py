"""Progress bars only on a terminal (or when forced), logs through Hydra's job_logging, and
the Hydra callbacks a user configures fired by ``naslab.sweep`` as by the launchers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from naslab.sweep import run_sweep

REPO_ROOT = Path(__file__).resolve().parent.parent


class RecordingCallback:
    """A Hydra callback that appends one line per event to ``path`` (one file for all workers)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def _write(self, line: str) -> None:
        with open(self.path, "a") as f:
            f.write(line + "\n")

    def on_multirun_start(self, config, **kwargs) -> None:
        self._write("multirun_start")

    def on_multirun_end(self, config, **kwargs) -> None:
        self._write("multirun_end")

    def on_job_start(self, config, task_function, **kwargs) -> None:
        self._write(f"job_start seed={config.seed} dir={config.hydra.runtime.output_dir}")

    def on_job_end(self, config, job_return, **kwargs) -> None:
        self._write(f"job_end seed={config.seed} {job_return.status.name} {type(job_return._return_value).__name__}")


def _common(synthetic_path: Path, tmp_path: Path) -> list[str]:
    return ["benchmark=file", f"benchmark.path={synthetic_path}", "strategy=random", "seed=0,1,-1",
            "budget.queries=5", f"hydra.sweep.dir={tmp_path / 'sweep'}"]


@pytest.mark.parametrize("processes", [1, 2])
def test_sweep_fires_the_configured_hydra_callbacks(synthetic_path: Path, tmp_path: Path, processes: int) -> None:
    events = tmp_path / "events.txt"
    callback = [f"+hydra.callbacks.record._target_={__name__}.RecordingCallback",
                f"+hydra.callbacks.record.path={events}"]
    report = run_sweep([*_common(synthetic_path, tmp_path), *callback], processes=processes)
    assert report.finished == 2 and len(report.failures) == 1
    lines = events.read_text().splitlines()
    assert lines[0] == "multirun_start" and lines[-1] == "multirun_end"
    jobs = sorted(lines[1:-1])
    sweep = tmp_path / "sweep" / "synthetic" / "random"
    assert jobs == sorted([
        "job_end seed=-1 FAILED SweepJobFailed", "job_end seed=0 COMPLETED str", "job_end seed=1 COMPLETED str",
        f"job_start seed=-1 dir={sweep / 'seed-1'}", f"job_start seed=0 dir={sweep / 'seed0'}",
        f"job_start seed=1 dir={sweep / 'seed1'}",
    ])
    # a second sweep skips the finished jobs, and still tells the callbacks (as the CLI's run_job does)
    events.unlink()
    report = run_sweep([*_common(synthetic_path, tmp_path), *callback], processes=processes)
    assert report.skipped == 2
    assert sum(line.startswith("job_end") for line in events.read_text().splitlines()) == 3


def test_jobs_log_through_hydra_job_logging(synthetic_path: Path, tmp_path: Path) -> None:
    fmt = ["hydra.job_logging.formatters.simple.format='JOB %(levelname)s %(message)s'"]
    run_sweep([*_common(synthetic_path, tmp_path), *fmt], processes=2)
    log_lines = (tmp_path / "sweep" / "synthetic" / "random" / "seed0" / "__main__.log").read_text().splitlines()
    assert log_lines and all(line.startswith("JOB INFO ") for line in log_lines)
    failed_log = (tmp_path / "sweep" / "synthetic" / "random" / "seed-1" / "__main__.log").read_text()
    assert failed_log.startswith("JOB ERROR run failed: ")
    # hydra/job_logging=disabled: no job log at all, as under the CLI
    quiet = tmp_path / "quiet"
    run_sweep([*_common(synthetic_path, quiet), "hydra/job_logging=disabled"], processes=1)
    assert (quiet / "sweep" / "synthetic" / "random" / "seed0" / "summary.json").is_file()
    assert not list(quiet.rglob("*.log"))


def _sweep_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "naslab.sweep", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **env}, cwd=REPO_ROOT)


def test_sweep_progress_bar_only_on_a_terminal_or_when_forced(synthetic_path: Path, tmp_path: Path) -> None:
    common = _common(synthetic_path, tmp_path)
    plain = _sweep_cli([*common, "-j", "1"], {"NASLAB_PROGRESS": ""})
    assert plain.returncode == 1  # seed -1 fails
    assert "\r" not in plain.stderr and "job/s" not in plain.stderr
    assert plain.stderr.count("seed-1") == 1, plain.stderr  # the failure, once
    forced = _sweep_cli([*common, "-j", "1"], {"NASLAB_PROGRESS": "1"})
    assert "sweep: 100%" in forced.stderr and "3/3" in forced.stderr
    assert "0 ran, 3 skipped, 0 failed" not in forced.stderr  # the failed job was retried, not skipped
    assert "2 skipped, 1 failed" in forced.stderr
    asked = _sweep_cli([*common, "-j", "1", "--quiet"], {"NASLAB_PROGRESS": "1"})
    assert "sweep:" not in asked.stderr and asked.returncode == 1


@pytest.mark.parametrize("multirun", [False, True])
def test_cli_prints_each_error_once_and_logs_it(synthetic_path: Path, tmp_path: Path, multirun: bool) -> None:
    common = ["benchmark=file", f"benchmark.path={synthetic_path}", "seed=-1", "budget.queries=5"]
    where = [f"hydra.sweep.dir={tmp_path}", "hydra.sweep.subdir=job"] if multirun else [f"hydra.run.dir={tmp_path / 'job'}"]
    done = subprocess.run([sys.executable, "-m", "naslab", *(["-m"] if multirun else []), *common, *where],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == (1 if multirun else 2)
    sentence = "seed must be a whole number >= 0, got -1"
    assert (done.stdout + done.stderr).count(sentence) == 1, done.stdout + done.stderr
    assert f"run failed: {sentence}" in (tmp_path / "job" / "__main__.log").read_text()
