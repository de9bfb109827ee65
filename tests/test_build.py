"""The benchmark builder: resumes after kill -9 with nothing lost; shards + merge; checks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
h5py = pytest.importorskip("h5py")

from omegaconf import OmegaConf  # noqa: E402

from naslab import build  # noqa: E402
from naslab.benchmarks.tabular import load_benchmark  # noqa: E402
from naslab.training.trainer import TIME_METRICS  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TINY = [
    "recipe.channels=4", "recipe.train_size=32", "recipe.val_size=32", "recipe.test_size=32",
    "recipe.epochs=2", "recipe.eval_epochs=[1,2]", "recipe.batch_size=16", "seeds=[0,1]",
    "limit_classes=10", "chunk_size=1", "workers=1",
]


def _config(**overrides):
    base = OmegaConf.load(REPO / "naslab" / "conf" / "build.yaml")
    base.pop("hydra")
    base.pop("defaults")
    base.space = "nb201"  # what the defaults list selects when Hydra composes it
    dotlist = [o for o in TINY] + [f"{k}={v}" for k, v in overrides.items()]
    return OmegaConf.merge(base, OmegaConf.from_dotlist(dotlist))


def _cli(tmp: Path, name: str, *extra: str, **popen) -> subprocess.Popen:
    args = [sys.executable, "-m", "naslab.build", *TINY, f"output={tmp / name}.h5",
            f"work_dir={tmp / ('work-' + name)}", f"hydra.run.dir={tmp / 'hydra'}", *extra]
    return subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)


def _same_benchmark(a: Path, b: Path) -> None:
    """Equal except measured time and the attributes that name when/where it ran."""
    with h5py.File(a) as fa, h5py.File(b) as fb:
        names: list[str] = []
        fa.visit(names.append)
        other: list[str] = []
        fb.visit(other.append)
        assert names == other
        for name in names:
            if isinstance(fa[name], h5py.Dataset) and name.removeprefix("metrics/") not in TIME_METRICS:
                np.testing.assert_array_equal(fa[name][()], fb[name][()], err_msg=name)
        skip = {"created_at", "build_command", "hardware", "created_by"}
        assert {k: v for k, v in fa.attrs.items() if k not in skip} == {
            k: v for k, v in fb.attrs.items() if k not in skip
        }
        for name in TIME_METRICS:
            assert np.isfinite(fb[f"metrics/{name}"][()][fb["complete"][()]]).all()


@pytest.mark.slow  # trains a build twice (52 s of the default suite's wall time)
def test_kill_9_mid_build_then_resume_equals_uninterrupted(tmp_path: Path) -> None:
    work = tmp_path / "work-killed"
    proc = _cli(tmp_path, "killed", start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(work.glob("chunk-*.npz"))) < 2:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # the parent and its worker, like a session ending
    proc.wait()
    chunks_at_kill = len(list(work.glob("chunk-*.npz")))
    assert 2 <= chunks_at_kill < 10, "the build was not interrupted mid-way"
    assert not (tmp_path / "killed.h5").exists()  # never a half-written output

    resumed = _cli(tmp_path, "killed", env={**os.environ, "NASLAB_PROGRESS": "1"})  # the bar, though not a tty
    out, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, out
    assert f"{chunks_at_kill} of 10 chunks already done" in out
    assert "10/10 [" in out and "class" in out.rsplit("10/10 [", 1)[1].splitlines()[0]  # tqdm: classes, rate

    # the uninterrupted reference, built as two shards and a merge, in-process
    ref_work = tmp_path / "work-ref"
    for shard in (0, 1):
        build.run(_config(output=str(tmp_path / "ref.h5"), work_dir=str(ref_work), stage="build",
                          shard=shard, num_shards=2))
    build.run(_config(output=str(tmp_path / "ref.h5"), work_dir=str(ref_work), stage="merge", num_shards=2))
    _same_benchmark(tmp_path / "ref.h5", tmp_path / "killed.h5")

    bench = load_benchmark(tmp_path / "killed.h5")
    ids = bench.space.canonical_ids
    assert bench.complete.sum() == np.isin(ids, np.arange(10)).sum()  # every member of the 10 classes
    biggest = max(range(10), key=lambda c: int((ids == c).sum()))
    members = np.flatnonzero(ids == biggest)
    assert len(members) > 1
    for member in members[1:]:  # isomorphic cells share the class's one training
        np.testing.assert_array_equal(bench.metrics["val_acc"][members[0]], bench.metrics["val_acc"][member])

    # merging the same journal again gives the same bytes
    before = (tmp_path / "ref.h5").read_bytes()
    build.run(_config(output=str(tmp_path / "ref.h5"), work_dir=str(ref_work), stage="merge", num_shards=2))
    assert (tmp_path / "ref.h5").read_bytes() == before


def test_merge_refuses_missing_chunks_and_foreign_work_dirs(tmp_path: Path) -> None:
    plan = build.plan_from_config(_config())
    work = tmp_path / "work"
    build.prepare_work_dir(work, plan, "test")
    with pytest.raises(build.BuildError, match="10 of 10 chunks are missing"):
        build.merge(plan, work, tmp_path / "out.h5")
    assert not (tmp_path / "out.h5").exists()
    other = build.plan_from_config(_config(**{"recipe.epochs": 3, "recipe.eval_epochs": "[3]"}))
    with pytest.raises(build.BuildError, match="belongs to a different build"):
        build.prepare_work_dir(work, other, "test")


def test_cli_errors_are_one_sentence(tmp_path: Path) -> None:
    proc = _cli(tmp_path, "bad", "dataset=mnist")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert "unknown dataset 'mnist'" in out and "Traceback" not in out
