"""The sampled build (kind=sample): plan, kill -9 + resume, shards, merge bytes, the sample file kind."""

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
from naslab.benchmarks.tabular import BenchmarkFileError, load_benchmark  # noqa: E402
from naslab.build_sample import SamplePlan  # noqa: E402
from naslab.spaces import get_space  # noqa: E402
from naslab.training.trainer import TIME_METRICS  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TINY = [
    "recipe.channels=4", "recipe.train_size=32", "recipe.val_size=32", "recipe.test_size=32",
    "recipe.epochs=2", "recipe.eval_epochs=[1,2]", "recipe.batch_size=16", "seeds=[0,1,2]",
    "kind=sample", "sample.archs=6", "sample.multi_seed=2", "chunk_size=1", "workers=1",
]


def _config(*extra: str):
    base = OmegaConf.load(REPO / "naslab" / "conf" / "build.yaml")
    base.pop("hydra")
    base.pop("defaults")
    base.space = "nb201"  # what the defaults list selects when Hydra composes it
    return OmegaConf.merge(base, OmegaConf.from_dotlist([*TINY, *extra]))


def _cli(tmp: Path, name: str, *extra: str, **popen) -> subprocess.Popen:
    args = [sys.executable, "-m", "naslab.build", "space=nb201", *TINY, f"output={tmp / name}.h5",
            f"work_dir={tmp / ('work-' + name)}", f"hydra.run.dir={tmp / 'hydra'}", *extra]
    return subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)


def _build_in_process(tmp: Path, name: str, *extra: str, shards: int = 1) -> Path:
    out, work = tmp / f"{name}.h5", tmp / f"work-{name}"
    for shard in range(shards):
        build.run(_config(f"output={out}", f"work_dir={work}", "stage=build", f"shard={shard}",
                          f"num_shards={shards}", *extra))
    build.run(_config(f"output={out}", f"work_dir={work}", "stage=merge", f"num_shards={shards}", *extra))
    return out


def test_plan_draws_distinct_classes_and_puts_extras_in_chunks_of_their_own(tmp_path: Path) -> None:
    space = get_space("nb201")
    plan = build.plan_from_config(_config("sample.archs=40", "chunk_size=3"))
    assert isinstance(plan, SamplePlan)
    assert len(plan.uniform) == 40
    assert len({space.canonical(space.from_string(a)) for a in plan.uniform}) == 40
    assert build.plan_from_config(_config("sample.archs=40", "chunk_size=3")).chunks == plan.chunks
    assert build.plan_from_config(_config("sample.archs=40", "sample.seed=1")).uniform != plan.uniform
    # the first multi_seed draws get every seed, the rest one
    assert [k for chunk in plan.chunks for _, k in chunk][:4] == [3, 3, 1, 1]

    # two new architectures (one a duplicate of a drawn class, one repeated): one extra chunk
    new = next(a for a in (space.to_string(space.sample(np.random.default_rng(i))) for i in range(100, 200))
               if space.canonical(space.from_string(a)) not in {space.canonical(space.from_string(u)) for u in plan.uniform})
    extra = tmp_path / "visited.txt"
    extra.write_text(f"# visited by searches\n{plan.uniform[5]}\n{new}\n\n{new}\n")
    with_extra = build.plan_from_config(_config("sample.archs=40", "chunk_size=3", f"sample.extra_archs={extra}"))
    assert with_extra.extras == [new]
    assert with_extra.chunks[:-1] == plan.chunks and with_extra.chunks[-1] == [(new, 1)]
    assert [with_extra.chunk_path(tmp_path, k) for k in range(plan.num_chunks)] == [
        plan.chunk_path(tmp_path, k) for k in range(plan.num_chunks)]  # uniform chunk files stay valid


@pytest.mark.parametrize(("extra", "message"), [
    (("sample.archs=0",), "sample.archs=0 must be a whole number >= 1"),
    (("sample.multi_seed=9",), "sample.multi_seed=9 exceeds sample.archs=6"),
    (("seeds=[0]",), "needs at least 2 seeds to measure noise"),
    (("kind=tablet",), "kind='tablet' is not one of auto, table, sample"),
    (("sample.archs=6000", "sample.multi_seed=0"), r"draws of space .nb201. found only \d+ distinct architectures"),
])
def test_bad_sample_settings_are_one_sentence(extra: tuple[str, ...], message: str) -> None:
    with pytest.raises(build.BuildError, match=message):
        build.plan_from_config(_config(*extra)).chunks  # noqa: B018 (the draws run lazily)


def test_bad_extra_arch_file_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|\nnot-an-arch\n")
    with pytest.raises(build.BuildError, match=f"{bad} line 2: "):
        build.plan_from_config(_config(f"sample.extra_archs={bad}"))
    with pytest.raises(build.BuildError, match="does not exist"):
        build.plan_from_config(_config(f"sample.extra_archs={tmp_path / 'missing.txt'}"))


def test_shards_merge_to_a_sample_file_with_the_same_bytes_every_time(tmp_path: Path) -> None:
    out = _build_in_process(tmp_path, "two", shards=2)
    bench = load_benchmark(out)
    plan = build.plan_from_config(_config())
    assert bench.kind == "sample" and bench.space_name == "nb201"
    assert bench.archs == plan.uniform and bench.attrs["sample"]["multi_seed"] == 2
    trained = np.isfinite(bench.metrics["val_acc"][:, :, -1])
    np.testing.assert_array_equal(trained.sum(axis=1), [3, 3, 1, 1, 1, 1])  # NaN where a seed was not trained
    assert trained[:, 0].all() and np.isfinite(bench.metrics["train_time_s"][trained.nonzero()[0], 0]).all()
    assert (bench.static["params"] > 0).all() and bench.attrs["recipe"]["channels"] == 4
    before = out.read_bytes()
    build.run(_config(f"output={out}", f"work_dir={tmp_path / 'work-two'}", "stage=merge", "num_shards=2"))
    assert out.read_bytes() == before

    # the same chunks trained in one shard: the same results (time aside)
    one = load_benchmark(_build_in_process(tmp_path, "one"))
    for name in ("val_acc", "test_acc", "train_loss"):
        np.testing.assert_array_equal(one.metrics[name], bench.metrics[name], err_msg=name)


def test_partial_merge_writes_the_finished_chunks_only(tmp_path: Path) -> None:
    out, work = tmp_path / "part.h5", tmp_path / "work-part"
    build.run(_config(f"output={out}", f"work_dir={work}", "stage=build", "shard=0", "num_shards=2",
                      "sample.archs=4"))
    with pytest.raises(build.BuildError, match="2 of 4 chunks are missing"):
        build.run(_config(f"output={out}", f"work_dir={work}", "stage=merge", "sample.archs=4"))
    build.run(_config(f"output={out}", f"work_dir={work}", "stage=merge", "partial=true", "sample.archs=4"))
    bench = load_benchmark(out)
    uniform = build.plan_from_config(_config("sample.archs=4")).uniform
    assert bench.archs == [uniform[0], uniform[2]]  # chunks 0 and 2 (shard 0 of 2)
    assert bench.attrs["sample"] == {"uniform": 2, "multi_seed": 1, "extra": 0, "sample_seed": 0}
    with pytest.raises(build.BuildError, match="partial=true merges part of a sample"):
        build.merge(build.plan_from_config(_config("kind=table", "limit_classes=2")), work, out, partial=True)


def test_tabular_evaluators_refuse_a_sample_in_one_sentence(tmp_path: Path) -> None:
    from naslab.evaluators.surrogate import SurrogateEvaluator
    from naslab.evaluators.tabular import TabularEvaluator

    bench = load_benchmark(_build_in_process(tmp_path, "s", "sample.archs=3", "sample.multi_seed=1"))
    for make in (TabularEvaluator, SurrogateEvaluator):
        with pytest.raises(BenchmarkFileError, match="is a sample of space 'nb201' .*cannot answer an arbitrary"):
            make(bench)
    proc = subprocess.run([sys.executable, "-m", "naslab", "benchmark=file", f"benchmark.path={tmp_path / 's.h5'}",
                           f"hydra.run.dir={tmp_path / 'run'}"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode != 0 and "cannot answer an arbitrary architecture" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_sample_file_with_repeated_rows_is_refused(tmp_path: Path) -> None:
    path = _build_in_process(tmp_path, "s", "sample.archs=2", "sample.multi_seed=1")
    with h5py.File(path, "r+") as f:
        archs = f["archs"][()]
        del f["archs"]
        f["archs"] = np.array([archs[0], archs[0]])
    with pytest.raises(BenchmarkFileError, match="row 1 repeats architecture"):
        load_benchmark(path)


def test_space_override_selects_the_space_group(tmp_path: Path) -> None:
    """`space=<name>` used to fail with Hydra's "No match in the defaults list"."""
    proc = _cli(tmp_path, "cli", "sample.archs=2", "sample.multi_seed=1")
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    assert load_benchmark(tmp_path / "cli.h5").num_archs == 2
    proc = _cli(tmp_path, "cli2", "space=nb999")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "nb999" in out and "No match in the defaults list" not in out
    train = subprocess.run([sys.executable, "-m", "naslab.train", "space=nb201", "arch=|conv~0|",
                            f"hydra.run.dir={tmp_path / 'train'}"], cwd=REPO, capture_output=True, text=True)
    assert train.returncode == 2 and "is not a NAS-Bench-201 arch string" in train.stderr


@pytest.mark.slow  # trains a sample twice (~30 s)
def test_kill_9_mid_sample_build_then_resume_equals_uninterrupted(tmp_path: Path) -> None:
    work = tmp_path / "work-killed"
    proc = _cli(tmp_path, "killed", start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(work.glob("sample-*.npz"))) < 2:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    at_kill = len(list(work.glob("sample-*.npz")))
    assert 2 <= at_kill < 6, "the build was not interrupted mid-way"
    assert not (tmp_path / "killed.h5").exists()
    resumed = _cli(tmp_path, "killed")
    out, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, out
    assert f"{at_kill} of 6 chunks already done" in out
    ref = load_benchmark(_build_in_process(tmp_path, "ref", shards=3))
    killed = load_benchmark(tmp_path / "killed.h5")
    assert killed.archs == ref.archs
    for name in ref.metrics:
        if name not in TIME_METRICS:
            np.testing.assert_array_equal(killed.metrics[name], ref.metrics[name], err_msg=name)
