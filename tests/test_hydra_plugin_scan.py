"""The CLI leaves Hydra's launcher plugins out of its plugin scan only where no launcher can run,
and such a run writes the same run folder as with Hydra's full scan."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from naslab.app import CONFIG_DIR
from naslab.hydra_plugin_scan import LAUNCHER_PACKAGES, is_launcher_module, needs_launchers

REPO = Path(__file__).resolve().parent.parent
ONE_JOB = [[], ["strategy=evolution"], ["strategy=random", "seed=3", "budget.queries=20", "hydra.run.dir=/tmp/x"]]
LAUNCHERS_POSSIBLE = [
    ["-m", "strategy=random"],
    ["--multirun", "strategy=random"],
    ["--help"],
    ["--info", "plugins"],
    ["-sc", "install=bash"],
    ["--cfg", "hydra"],
    ["hydra/launcher=ray_local"],
    ["+experiment=digits_comparison"],
    ["hydra.mode=MULTIRUN"],
    ["strategy=random,evolution"],
]
# the scanned launcher classes, then the run (runpy: as `python -m naslab` runs it)
RUN = (
    "import atexit, runpy, sys\n"
    "import naslab.hydra_plugin_scan as scan\n"
    "if sys.argv.pop(1) == 'full': scan.install_lean_plugin_scan = lambda config_dir, args: False\n"
    "def launchers():\n"
    "    from hydra.core.plugins import Plugins\n"
    "    from hydra.plugins.launcher import Launcher\n"
    "    print('LAUNCHERS', sorted(c.__module__ for c in Plugins.instance().discover(Launcher)))\n"
    "atexit.register(launchers)\n"
    "runpy.run_module('naslab', run_name='__main__', alter_sys=True)\n"
)


@pytest.mark.parametrize("args", ONE_JOB)
def test_a_command_line_of_one_job_needs_no_launcher(args):
    assert not needs_launchers(CONFIG_DIR, args)


@pytest.mark.parametrize("args", LAUNCHERS_POSSIBLE)
def test_sweeps_flags_and_hydra_groups_keep_the_full_scan(args):
    assert needs_launchers(CONFIG_DIR, args)


def test_only_the_launcher_packages_are_left_out():
    assert all(is_launcher_module(p) and is_launcher_module(p + ".config") for p in LAUNCHER_PACKAGES)
    assert not is_launcher_module("hydra_plugins.hydra_ray_launcher_extra")
    assert not is_launcher_module("hydra_plugins.my_searchpath_plugin")
    assert not is_launcher_module("hydra._internal.core_plugins.basic_launcher")


def _run(scan: str, folder: Path) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HYDRA_FULL_ERROR": "0"}
    proc = subprocess.run([sys.executable, "-c", RUN, scan, "strategy=evolution", "budget.queries=30",
                           f"hydra.run.dir={folder}"], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    (line,) = [line for line in proc.stdout.splitlines() if line.startswith("LAUNCHERS")]
    return json.loads(line.split(" ", 1)[1].replace("'", '"'))


def test_a_lean_scan_writes_the_same_run_folder_as_the_full_scan(tmp_path):
    folder = tmp_path / "run"  # the same folder for both: hydra.yaml records it
    full = _run("full", folder)
    full_files = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    summary = json.loads((folder / "summary.json").read_text())
    for p in sorted(folder.rglob("*"), reverse=True):
        p.unlink() if p.is_file() else p.rmdir()
    lean = _run("lean", folder)

    assert all(not is_launcher_module(m) for m in lean)  # the basic launcher only
    assert set(full) - set(lean) == {m for m in full if is_launcher_module(m)}
    lean_files = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert set(lean_files) == set(full_files)
    for name in full_files:
        if name.name == "summary.json":  # its wall time differs from run to run
            lean_summary = json.loads(lean_files[name])
            assert {**lean_summary, "wall_time_s": None} == {**summary, "wall_time_s": None}
        elif name.suffix in (".yaml", ".csv"):
            assert lean_files[name] == full_files[name], name
    assert (folder / ".hydra" / "hydra.yaml").is_file()
