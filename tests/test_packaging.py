"""A non-editable install works: the wheel carries the configs and the embedded benchmark,
the ``naslab`` console script searches from any folder, and Hydra's tab completion answers.

The wheel is built from a copy of the sources without network (no build isolation, no
dependencies: the test's own environment provides setuptools and naslab's dependencies,
which the fresh venv sees through ``--system-site-packages``). About 10 s.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from naslab import paths

REPO = Path(__file__).resolve().parent.parent


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding naslab installed from its wheel; returns the venv's bin folder."""
    # setuptools >= 70.1 builds wheels by itself (older ones need the wheel package)
    pytest.importorskip("setuptools", minversion="70.1", reason="building the wheel offline needs setuptools>=70.1 (naslab[test])")
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    shutil.copytree(REPO / "naslab", src / "naslab", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
          "-q", "-w", str(root / "dist"), str(src)], cwd=root)
    (wheel,) = (root / "dist").glob("naslab-*.whl")
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], cwd=root)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    _run([sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install", "--no-deps",
          "--no-index", "-q", str(wheel)], cwd=root)
    return bin_dir


def clean_env(tmp: Path) -> dict[str, str]:
    """No PYTHONPATH (it would import the checkout instead of the wheel), a fresh user data folder."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", paths.DATA_ENV)}
    return {**env, "XDG_DATA_HOME": str(tmp / "xdg"), "HYDRA_FULL_ERROR": "0", "OMP_NUM_THREADS": "1"}


def test_wheel_carries_configs_and_the_embedded_benchmark(installed):
    (wheel,) = installed.parent.parent.glob("dist/naslab-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "naslab/data/nb201_digits.h5" in names
    assert "naslab/conf/config.yaml" in names and "naslab/conf/__init__.py" in names
    shipped = {n for n in names if n.startswith("naslab/conf/") and n.endswith(".yaml")}
    in_repo = {p.relative_to(REPO).as_posix() for p in (REPO / "naslab" / "conf").rglob("*.yaml")}
    assert shipped == in_repo


def test_console_script_searches_from_another_folder(installed, tmp_path):
    env = clean_env(tmp_path)
    where = _run([str(installed / "python"), "-c", "import naslab; print(naslab.__file__)"], tmp_path, env)
    assert Path(where.stdout.strip()).is_relative_to(installed.parent), "the venv imported another naslab"
    run_dir = tmp_path / "run"
    _run([str(installed / "naslab"), "strategy=evolution", "budget.queries=25", f"hydra.run.dir={run_dir}"],
         tmp_path, env)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["num_evaluations"] == 25 and summary["benchmark"]["dataset"] == "digits"
    assert Path(summary["benchmark"]["path"]).is_relative_to(installed.parent)
    # an installed wheel is no git checkout: it must not report some other repository's state
    assert summary["naslab"].endswith("(git unknown)") and summary["git_dirty"] is None
    # `python -m naslab` is kept and gives the same trajectory
    again = tmp_path / "again"
    _run([str(installed / "python"), "-m", "naslab", "strategy=evolution", "budget.queries=25",
          f"hydra.run.dir={again}"], tmp_path, env)
    assert (again / "trajectory.csv").read_bytes() == (run_dir / "trajectory.csv").read_bytes()


def test_console_script_tab_completion(installed, tmp_path):
    env = clean_env(tmp_path)
    script = _run([str(installed / "naslab"), "-sc", "install=bash"], tmp_path, env).stdout
    assert "complete -o nospace -o default -F hydra_bash_completion naslab" in script
    line = "naslab strategy="
    choices = _run([str(installed / "naslab"), "-sc", "query=bash"], tmp_path,
                   {**env, "COMP_LINE": line, "COMP_POINT": str(len(line))}).stdout.split()
    expected = {f"strategy={p.stem}" for p in (REPO / "naslab" / "conf" / "strategy").glob("*.yaml")}
    assert set(choices) == expected


def test_imported_benchmarks_go_to_the_user_data_folder_outside_a_checkout(installed, tmp_path):
    env = clean_env(tmp_path)
    proc = subprocess.run([str(installed / "naslab"), "benchmark=nb201_c10", f"hydra.run.dir={tmp_path / 'r'}"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode != 0
    expected = tmp_path / "xdg" / "naslab" / "nb201_c10.h5"
    # one sentence naming the missing file and the import command that writes exactly there
    assert f"benchmark file {expected} does not exist; import it first: " in proc.stderr
    assert proc.stderr.count(str(expected)) >= 2 and "Traceback" not in proc.stderr


def test_data_dir_order(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "mine"))
    assert paths.data_dir() == tmp_path / "mine"
    monkeypatch.delenv(paths.DATA_ENV)
    if paths.checkout_root() is None:
        pytest.skip("this test run imports an installed naslab, not a checkout")
    assert paths.data_dir() == REPO / "data" / "imported"
