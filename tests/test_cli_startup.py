"""`python -m naslab` freezes what exists at its first job (the cyclic GC then skips it), once per process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# counts gc.freeze calls and prints them with the frozen objects at exit (runpy: as `python -m naslab` runs)
RUN = (
    "import atexit, gc, runpy, sys\n"
    "calls = []\n"
    "freeze = gc.freeze\n"
    "gc.freeze = lambda: (calls.append(1), freeze())[1]\n"
    "atexit.register(lambda: print('FROZE', len(calls), gc.get_freeze_count()))\n"
    "runpy.run_module('naslab', run_name='__main__', alter_sys=True)\n"
)


def _froze(*args: str) -> tuple[int, int]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HYDRA_FULL_ERROR": "0"}
    proc = subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    (line,) = [line for line in proc.stdout.splitlines() if line.startswith("FROZE")]
    calls, frozen = line.split()[1:]
    return int(calls), int(frozen)


def test_a_run_freezes_the_objects_that_exist_when_its_job_starts(tmp_path):
    calls, frozen = _froze("strategy=random", "budget.queries=5", f"hydra.run.dir={tmp_path / 'run'}")
    assert calls == 1 and frozen > 10_000  # modules and Hydra's config


def test_a_multirun_freezes_once_not_at_every_job(tmp_path):
    calls, _ = _froze("-m", "strategy=random", "seed=0,1,2", "budget.queries=5", f"hydra.sweep.dir={tmp_path / 'sweep'}")
    assert calls == 1
    assert len(list((tmp_path / "sweep").rglob("summary.json"))) == 3
