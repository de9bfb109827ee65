"""Sweeps and builds on a Dask LocalCluster (processes, one thread each, 127.0.0.1, no dashboard)
write what the local run writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from naslab.sweep import SweepError, run_sweep  # noqa: E402


def _folders(sweep_dir: Path) -> dict[str, Path]:
    return {str(p.parent.relative_to(sweep_dir)): p.parent for p in sorted(sweep_dir.rglob("summary.json"))}


def test_sweep_on_dask_writes_the_local_sweeps_files(synthetic_path: Path, tmp_path: Path) -> None:
    common = ["benchmark=file", f"benchmark.path={synthetic_path}", "strategy=random,evolution", "seed=0,1,-1",
              "budget.queries=15"]
    cwd = os.getcwd()
    os.chdir(tmp_path)  # hydra.yaml records the working directory
    try:
        local = run_sweep([*common, "hydra.sweep.dir=local"], processes=1)
        dask = run_sweep([*common, "hydra.sweep.dir=dask"], processes=2, executor="dask")
    finally:
        os.chdir(cwd)
    assert (dask.finished, dask.skipped, len(dask.failures)) == (local.finished, 0, 2) == (4, 0, 2)
    assert [reason for _, reason in dask.failures] == [reason for _, reason in local.failures]
    reference, ours = _folders(tmp_path / "local"), _folders(tmp_path / "dask")
    assert sorted(ours) == sorted(reference) and len(ours) == 4
    for name, folder in reference.items():
        for file in ("trajectory.csv", ".hydra/config.yaml", ".hydra/overrides.yaml"):
            assert (folder / file).read_bytes() == (ours[name] / file).read_bytes(), (name, file)
        hydra_yaml = (ours[name] / ".hydra/hydra.yaml").read_text()  # names its own sweep folder
        for dask_name, local_name in ((str(tmp_path / "dask"), str(tmp_path / "local")), ("dir: dask", "dir: local"),
                                      ("dir=dask", "dir=local")):
            hydra_yaml = hydra_yaml.replace(dask_name, local_name)
        assert hydra_yaml == (folder / ".hydra/hydra.yaml").read_text()
        summary = (ours[name] / "summary.json").read_text().splitlines()
        assert [line for line in summary if "wall_time_s" not in line] == [
            line for line in (folder / "summary.json").read_text().splitlines() if "wall_time_s" not in line
        ]


def test_unreachable_scheduler_is_one_sentence(synthetic_path: Path, tmp_path: Path) -> None:
    with pytest.raises(SweepError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        run_sweep(["benchmark=file", f"benchmark.path={synthetic_path}", "strategy=random",
                   f"hydra.sweep.dir={tmp_path}"], executor="dask", address="tcp://127.0.0.1:9")


def test_build_on_dask_equals_the_local_build(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from test_build import _config, _same_benchmark

    from naslab import build

    small = {"limit_classes": 2, "workers": 1}
    build.run(_config(output=str(tmp_path / "local.h5"), work_dir=str(tmp_path / "work-local"), **small))
    # half of the work already done, as after an interrupted build: the rest goes to Dask
    build.run(_config(output=str(tmp_path / "dask.h5"), work_dir=str(tmp_path / "work-dask"), stage="build",
                      shard=0, num_shards=2, **small))
    build.run(_config(output=str(tmp_path / "dask.h5"), work_dir=str(tmp_path / "work-dask"), executor="dask",
                      **small))
    _same_benchmark(tmp_path / "local.h5", tmp_path / "dask.h5")
