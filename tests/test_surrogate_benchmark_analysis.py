"""analysis/surrogate_benchmark.py: visited archs feed the sampled build; check trains incumbents."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("xgboost")
pytest.importorskip("h5py")

from naslab.benchmarks.sample import sample_of_table  # noqa: E402
from naslab.benchmarks.tabular import load_benchmark  # noqa: E402
from naslab.surrogates import benchmark_model as bm  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "analysis" / "surrogate_benchmark.py"


def _script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=REPO, capture_output=True, text=True, timeout=600)


def _model(sample, path: Path) -> Path:
    return bm.write_model(path, bm.fit(bm.SampleData.of(sample), sample.space, "xgb", seed=0, num_trees=40), sample)


def test_visited_archs_become_the_builds_extra_chunks(tmp_path: Path) -> None:
    sample = sample_of_table(load_benchmark(REPO / "naslab" / "data" / "nb201_digits.h5"), 200, 30, seed=0)
    model = _model(sample, tmp_path / "first.h5")
    out = tmp_path / "visited.txt"
    proc = _script("visited", "--model", str(model), "--output", str(out), "--strategies", "random", "evolution",
                   "--seeds", "2", "--queries", "25")
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in out.read_text().splitlines() if not line.startswith("#")]
    space = sample.space
    keys = [space.canonical(space.from_string(a)) for a in lines]
    assert len(set(keys)) == len(keys) > 20  # one per canonical class, and searches do visit new ones
    assert not set(keys) & {space.canonical(space.from_string(a)) for a in sample.archs}
    assert f"wrote {len(lines)} architectures" in proc.stdout

    from omegaconf import OmegaConf

    from naslab import build

    cfg = OmegaConf.load(REPO / "naslab" / "conf" / "build.yaml")
    cfg.pop("hydra")
    cfg.pop("defaults")
    cfg.space = "nb201"
    cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(["kind=sample", "sample.archs=5", "sample.multi_seed=0",
                                                      f"sample.extra_archs={out}", "chunk_size=4"]))
    plan = build.plan_from_config(cfg)
    assert plan.extras == [a for a in lines if space.canonical(space.from_string(a)) not in
                           {space.canonical(space.from_string(u)) for u in plan.uniform}]


@pytest.mark.slow  # a tiny sampled build, a fit, searches and trainings (~40 s)
def test_check_trains_the_incumbents_and_compares_rankings(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from omegaconf import OmegaConf

    from naslab import build

    cfg = OmegaConf.load(REPO / "naslab" / "conf" / "build.yaml")
    cfg.pop("hydra")
    cfg.pop("defaults")
    cfg.space = "nb201"
    tiny = ["recipe.channels=4", "recipe.train_size=32", "recipe.val_size=32", "recipe.test_size=32",
            "recipe.epochs=1", "recipe.eval_epochs=[1]", "recipe.batch_size=16", "seeds=[0,1]", "kind=sample",
            "sample.archs=16", "sample.multi_seed=8", "chunk_size=4", "workers=1",
            f"output={tmp_path / 's.h5'}", f"work_dir={tmp_path / 'w'}"]
    build.run(OmegaConf.merge(cfg, OmegaConf.from_dotlist(tiny)))
    model = _model(load_benchmark(tmp_path / "s.h5"), tmp_path / "m.h5")
    result_file = tmp_path / "check.json"
    proc = _script("check", "--model", str(model), "--strategies", "random", "local_search", "--seeds", "2",
                   "--queries", "12", "--train-seeds", "0", "1", "--json", str(result_file))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(result_file.read_text())
    assert [r["strategy"] for r in result["strategies"]] == ["random", "local_search"]
    assert 1 <= result["incumbents"] <= 4
    assert all(0 <= r["measured_val"] <= 100 and np.isfinite(r["predicted_val"]) for r in result["strategies"])
    assert "Kendall tau of the strategy rankings, predicted vs measured" in proc.stdout
