"""Builds on a local Ray instance through hydra-ray-launcher (hydra/launcher=ray_local: 127.0.0.1, no
dashboard): sharded, and surviving the kill of the worker processes mid-build (Ray runs the jobs
again, the build journal resumes them). The sweep path is in tests/test_sweeps.py."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray")
pytest.importorskip("hydra_plugins.hydra_ray_launcher")
pytest.importorskip("torch")
psutil = pytest.importorskip("psutil")

from test_build import TINY  # noqa: E402

from naslab.benchmarks.tabular import load_benchmark  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RAY = ["hydra/launcher=ray_local", "+hydra.launcher.ray.init.num_cpus=2",
       "+hydra.launcher.ray.init.object_store_memory=80000000"]


def _ray_jobs() -> list:
    """The Ray worker processes running a Hydra job (Ray names them after the task: ray::_run_job)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if any("ray::_run_job" in part for part in proc.info["cmdline"] or []):
            found.append(proc)
    return found


def test_sharded_build_survives_killed_ray_workers(tmp_path: Path) -> None:
    # 40 one-class chunks, 20 per shard (shard 0 trains the even chunks, shard 1 the odd ones):
    # enough that the kill lands mid-shard on a fast machine too (with 2 chunks per shard, a
    # fast CI machine finished both before the test saw the first one)
    work = tmp_path / "work"
    classes = 40
    args = [sys.executable, "-m", "naslab.build", "-m", *RAY, *[a for a in TINY if not a.startswith("limit")],
            f"limit_classes={classes}", "shard=0,1", "num_shards=2", "stage=build", f"output={tmp_path / 'out.h5'}",
            f"work_dir={work}", f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    sweep = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             env={**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_raylet_start_wait_time_s": "120"})
    try:
        deadline = time.monotonic() + 300
        victims: list = []
        # kill once both shards have written a chunk and their Ray jobs are still running
        while time.monotonic() < deadline and not victims:
            assert sweep.poll() is None, sweep.communicate()[0][-3000:]
            if all((work / f"chunk-{k:05d}.npz").is_file() for k in (0, 1)):
                victims = _ray_jobs()
            time.sleep(0.05)
        assert victims, "no Ray job process found"
        done_at_kill = len(list(work.glob("chunk-*.npz")))
        for proc in victims:
            proc.send_signal(signal.SIGKILL)
        out, _ = sweep.communicate(timeout=300)
    finally:
        if sweep.poll() is None:
            sweep.kill()
    assert sweep.returncode == 0, out[-3000:]
    logs = "".join(p.read_text() for p in sorted((tmp_path / "sweep").glob("*/build.log")))
    assert done_at_kill < classes, "the build finished before the kill; the test proves nothing"
    resumed = [int(n) for n in re.findall(r"shard \d/2: (\d+) of 20 chunks already done", logs)]
    assert len(resumed) >= 3 and max(resumed) >= 1, logs  # the jobs ran again and found their chunks

    merge = subprocess.run([sys.executable, "-m", "naslab.build", *[a for a in TINY if not a.startswith("limit")],
                            f"limit_classes={classes}", "num_shards=2", "stage=merge", f"output={tmp_path / 'out.h5'}",
                            f"work_dir={work}", f"hydra.run.dir={tmp_path / 'merge'}"],
                           cwd=REPO, capture_output=True, text=True, timeout=300)
    assert merge.returncode == 0, merge.stdout[-2000:] + merge.stderr[-2000:]
    bench = load_benchmark(tmp_path / "out.h5")
    members = np.isin(bench.space.canonical_ids, np.arange(classes))
    assert bench.complete.sum() == members.sum()
    assert np.isfinite(bench.metrics["val_acc"][members]).all()
