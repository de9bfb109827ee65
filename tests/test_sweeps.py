"""Sweeps: the CLI multirun (basic and joblib launchers) and the in-process mode write the same
run folders; finished runs are skipped, failed ones recorded and retried, one failure
never stops the others; launcher presets for SLURM and Ray compose."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from naslab.jobs import FAILED_FILE
from naslab.sweep import SweepError, run_sweep
from naslab.testing import requires
from naslab.testing.extras import installed

HAVE_JOBLIB = installed("hydra_plugins.hydra_joblib_launcher")
needs_joblib = requires("hydra_plugins.hydra_joblib_launcher", extra="sweep")

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BENCHMARK = REPO_ROOT / "naslab" / "data" / "nb201_digits.h5"
STRATEGIES = ("random", "evolution")


@pytest.fixture(scope="module")
def bench(synthetic_path: Path) -> list[str]:
    """Overrides selecting the default benchmark once it is built, the synthetic file until then."""
    if DEFAULT_BENCHMARK.is_file():
        return ["benchmark=digits"]
    return ["benchmark=file", f"benchmark.path={synthetic_path}"]


def cli_sweep(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "naslab", "-m", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def run_folders(sweep_dir: Path) -> dict[str, Path]:
    """Finished run folders by ``strategy/seedN``; each sweep here searches one benchmark, whose
    name is the first level of the layout (``<benchmark>/<strategy>/seed<seed>``)."""
    folders = {}
    for p in sorted(sweep_dir.rglob("summary.json")):
        _, *rest = p.parent.relative_to(sweep_dir).parts
        folders["/".join(rest)] = p.parent
    return folders


def without_wall_time(folder: Path) -> dict:
    summary = json.loads((folder / "summary.json").read_text())
    summary.pop("wall_time_s")
    return summary


@pytest.fixture(scope="module")
def cli_and_fast(bench: list[str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The same sweep (one job of each strategy fails: seed -1) by the CLI's basic and joblib launchers
    and by the in-process mode."""
    root = tmp_path_factory.mktemp("sweeps")
    common = [*bench, f"strategy={','.join(STRATEGIES)}", "seed=0,1,-1", "budget.queries=25"]
    basic = cli_sweep([*common, f"hydra.sweep.dir={root / 'basic'}"], root)
    joblib = None
    if HAVE_JOBLIB:
        joblib = cli_sweep([*common, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                            f"hydra.sweep.dir={root / 'joblib'}"], root)
    cwd = os.getcwd()
    os.chdir(root)  # hydra.yaml records the working directory; run where the CLI ran
    try:
        fast = run_sweep([*common, f"hydra.sweep.dir={root / 'fast'}"], processes=2)
    finally:
        os.chdir(cwd)
    return {"root": root, "basic": basic, "joblib": joblib, "fast": fast}


def test_cli_sweep_goes_on_after_a_failed_run_and_exits_1(cli_and_fast: dict) -> None:
    root = cli_and_fast["root"]
    for launcher in ("basic", "joblib") if HAVE_JOBLIB else ("basic",):
        done = cli_and_fast[launcher]
        assert done.returncode == 1, done.stderr
        assert "2 run(s) of the sweep" in done.stderr and "Traceback" not in done.stderr
        assert sorted(run_folders(root / launcher)) == [f"{s}/seed{i}" for s in sorted(STRATEGIES) for i in (0, 1)]
        for strategy in STRATEGIES:
            failed = json.loads(next((root / launcher).glob(f"*/{strategy}/seed-1/{FAILED_FILE}")).read_text())
            assert failed["reason"] and "\n" not in failed["reason"]
            assert failed["config"]["seed"] == -1


def test_fast_sweep_reports_the_failures(cli_and_fast: dict) -> None:
    report = cli_and_fast["fast"]
    assert (report.finished, report.skipped, len(report.failures)) == (4, 0, 2)
    assert sorted(p.name for p, _ in report.failures) == ["seed-1", "seed-1"]
    assert report.recomposed_groups == 0 and report.exact_groups == len(STRATEGIES)


@pytest.mark.parametrize("launcher", [pytest.param("joblib", marks=needs_joblib), "fast"])
def test_run_folders_are_byte_identical_to_the_basic_launchers(cli_and_fast: dict, launcher: str) -> None:
    root = cli_and_fast["root"]
    reference, other = run_folders(root / "basic"), run_folders(root / launcher)
    assert sorted(reference) == sorted(other)
    for name, folder in reference.items():
        twin = other[name]
        for file in ("trajectory.csv", ".hydra/config.yaml", ".hydra/overrides.yaml"):
            assert (folder / file).read_bytes() == (twin / file).read_bytes(), (name, file)
        # hydra.yaml names its own sweep folder (and the launcher, for joblib); the rest is the same
        if launcher == "fast":
            ours = (twin / ".hydra/hydra.yaml").read_text().replace(str(root / "fast"), str(root / "basic"))
            assert ours == (folder / ".hydra/hydra.yaml").read_text()
        assert without_wall_time(folder) == without_wall_time(twin)


def test_run_folder_records_versions_commit_checksum_and_config(cli_and_fast: dict, bench: list[str]) -> None:
    folder = run_folders(cli_and_fast["root"] / "fast")["evolution/seed1"]
    summary = json.loads((folder / "summary.json").read_text())
    bench_path = Path(summary["benchmark"]["path"])
    assert summary["benchmark"]["sha256"] == hashlib.sha256(bench_path.read_bytes()).hexdigest()
    assert summary["naslab_version"] and "git" in summary["naslab"] and summary["git_dirty"] in (True, False)
    assert summary["config"]["seed"] == 1 and summary["config"]["budget"]["queries"] == 25
    assert summary["config"]["strategy"]["_target_"].endswith("RegularizedEvolution")


def test_rerun_skips_finished_runs_and_retries_failed_ones(bench: list[str], tmp_path: Path) -> None:
    missing = tmp_path / "later.h5"
    sweep = ["benchmark=file", f"benchmark.path={missing}", "strategy=random,local_search", "seed=0,1",
             "budget.queries=15", f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    first = run_sweep(sweep, processes=1)
    assert (first.finished, len(first.failures)) == (0, 4)
    assert all((folder / FAILED_FILE).is_file() for folder, _ in first.failures)
    assert all("later.h5" in reason for _, reason in first.failures)

    # the input problem is fixed: the failed runs run again, their failed.json goes
    source = next(a.split("=", 1)[1] for a in bench if a.startswith("benchmark.path=")) if len(bench) > 1 \
        else str(DEFAULT_BENCHMARK)
    missing.write_bytes(Path(source).read_bytes())
    second = run_sweep(sweep, processes=2)
    assert (second.finished, second.skipped, len(second.failures)) == (4, 0, 0)
    folders = run_folders(tmp_path / "sweep")
    assert len(folders) == 4 and not list((tmp_path / "sweep").rglob(FAILED_FILE))
    stamps = {name: (f / "trajectory.csv").stat().st_mtime_ns for name, f in folders.items()}

    third = run_sweep(sweep, processes=2)
    assert (third.finished, third.skipped) == (0, 4)
    assert stamps == {name: (f / "trajectory.csv").stat().st_mtime_ns for name, f in folders.items()}

    # a different config in the same folders is refused (nothing overwritten) unless asked to
    refused = run_sweep([*sweep[:-2], "budget.queries=20", sweep[-1]], processes=1)
    assert (refused.finished, refused.skipped, len(refused.failures)) == (0, 0, 4)
    assert all("overwrite=true" in reason for _, reason in refused.failures)
    assert stamps == {name: (f / "trajectory.csv").stat().st_mtime_ns for name, f in folders.items()}
    assert not list((tmp_path / "sweep").rglob(FAILED_FILE))
    fourth = run_sweep([*sweep[:-2], "budget.queries=20", "overwrite=true", sweep[-1]], processes=1)
    assert (fourth.finished, fourth.skipped) == (4, 0)
    rows = (folders["random/seed0"] / "trajectory.csv").read_text().splitlines()
    assert len(rows) == 1 + 20


def test_same_sweep_twice_gives_byte_identical_trajectories(bench: list[str], tmp_path: Path) -> None:
    common = [*bench, "strategy=genetic,local_search", "seed=range(0,3)", "budget.queries=30"]
    run_sweep([*common, f"hydra.sweep.dir={tmp_path / 'a'}"], processes=2)
    run_sweep([*common, f"hydra.sweep.dir={tmp_path / 'b'}"], processes=1)
    a, b = run_folders(tmp_path / "a"), run_folders(tmp_path / "b")
    assert len(a) == 6 and sorted(a) == sorted(b)
    for name in a:
        assert (a[name] / "trajectory.csv").read_bytes() == (b[name] / "trajectory.csv").read_bytes()
    # and seeds differ from one another (the comparison above is not vacuous)
    assert (a["genetic/seed0"] / "trajectory.csv").read_bytes() != (a["genetic/seed1"] / "trajectory.csv").read_bytes()


def test_two_jobs_writing_one_folder_is_refused(bench: list[str], tmp_path: Path) -> None:
    with pytest.raises(SweepError, match="same run folder"):
        run_sweep([*bench, "strategy=random", "seed=0", "workers=1,2", f"hydra.sweep.dir={tmp_path}"], processes=1)


def test_sweep_command_line_errors_are_one_sentence(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "naslab.sweep", "strategy=nope", f"hydra.sweep.dir={tmp_path}"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("naslab.sweep: error:") and len(done.stderr.strip().splitlines()) == 1


# ----- launchers for clusters ---------------------------------------------------------
def compose_with(overrides: list[str]):
    from hydra import compose, initialize_config_dir

    from naslab.app import register_resolvers

    register_resolvers()
    with initialize_config_dir(str(REPO_ROOT / "naslab" / "conf"), version_base="1.3"):
        return compose("config", overrides=overrides, return_hydra_config=True)


def test_slurm_preset_composes_with_the_submitit_launcher() -> None:
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    cfg = compose_with(["hydra/launcher=slurm", "hydra.launcher.partition=gpu"])
    launcher = cfg.hydra.launcher
    assert launcher._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    assert launcher.partition == "gpu" and launcher.cpus_per_task == 2 and launcher.array_parallelism == 64
    assert launcher.timeout_min == 60 and launcher.submitit_folder.startswith(str(cfg.hydra.sweep.dir))


def test_submitit_local_launcher_runs_a_sweep(bench: list[str], tmp_path: Path) -> None:
    """The same code path as SLURM (pickled jobs, submitit workers), on this machine."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    done = cli_sweep([*bench, "hydra/launcher=submitit_local", "strategy=random", "seed=0,1", "budget.queries=10",
                      f"hydra.sweep.dir={tmp_path}"], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(run_folders(tmp_path)) == ["random/seed0", "random/seed1"]


def test_ray_preset_composes_with_the_ray_launcher() -> None:
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    cfg = compose_with(["hydra/launcher=ray_cluster"])
    assert cfg.hydra.launcher._target_ == "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher"
    assert cfg.hydra.launcher.ray.remote.num_cpus == 1


@pytest.mark.slow
def test_ray_launcher_runs_a_sweep_on_a_local_ray(bench: list[str], tmp_path: Path) -> None:
    """A local Ray instance (about 15 s to start here): the failed job is recorded, the other runs."""
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    done = cli_sweep([*bench, "hydra/launcher=ray_cluster", "strategy=random", "seed=0,-1", "budget.queries=10",
                      f"hydra.sweep.dir={tmp_path}"], tmp_path)
    assert done.returncode == 1 and "1 run(s) of the sweep" in done.stderr
    assert sorted(run_folders(tmp_path)) == ["random/seed0"]
    assert next(tmp_path.glob(f"*/random/seed-1/{FAILED_FILE}")).is_file()


def test_comparison_preset_is_eight_strategies_by_100_seeds_by_300_queries() -> None:
    cfg = compose_with(["+experiment=digits_comparison"])
    params = cfg.hydra.sweeper.params
    strategies = str(params.strategy).split(",")
    assert len(strategies) == len(set(strategies)) == 8 and params.seed == "range(0,100)"
    assert cfg.budget.queries == 300 and cfg.benchmark.name == "digits"
    assert all((REPO_ROOT / "naslab" / "conf" / "strategy" / f"{s}.yaml").is_file() for s in strategies)
    assert str(cfg.hydra.sweep.dir) == "multirun/digits_comparison"  # fixed: a re-run skips finished runs
