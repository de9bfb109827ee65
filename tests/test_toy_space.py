"""A search space defined outside the package plugs in with one module and one config.

``tests/toy_plugin/naslab_toy.py`` (a 384-architecture MLP space) is registered by name
in this process, and through an entry point (group ``naslab.spaces``) in the CLI and
sweep subprocesses, as an installed plug-in package would be. Nothing in naslab names it.
It gets the space and strategy contract suites, every registered strategy, the
surrogate benchmark, a sweep, and a one-sentence refusal to train it.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from naslab import spaces

# the suites parametrise over the registries (naslab.strategies, naslab.spaces.available);
# until a checkout has them this module has nothing to run
if not hasattr(spaces, "available"):
    pytest.skip("needs the strategy and space registries (naslab.strategies)", allow_module_level=True)

from naslab import strategies  # noqa: E402
from naslab.benchmarks.synthetic import write_synthetic_benchmark
from naslab.evaluators.surrogate import SurrogateEvaluator
from naslab.evaluators.tabular import TabularEvaluator
from naslab.spaces.base import NotTrainableError
from naslab.spaces.registry import REGISTRY
from naslab.testing import EvaluatorContract, SpaceContract, StrategyContract, synthetic_benchmark

PLUGIN_DIR = Path(__file__).resolve().parent / "toy_plugin"
REPO = Path(__file__).resolve().parent.parent
TOY = "toy_mlp"


def _load_plugin():
    spec = importlib.util.spec_from_file_location("naslab_toy", PLUGIN_DIR / "naslab_toy.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["naslab_toy"] = module
    spec.loader.exec_module(module)
    return module


naslab_toy = sys.modules.get("naslab_toy") or _load_plugin()


@pytest.fixture(scope="module", autouse=True)
def registered():
    """The plug-in registers its space by name, as its package would on import."""
    spaces.register(TOY, naslab_toy.ToyMLPSpace, replace=True)
    yield
    REGISTRY.unregister(TOY)


class TestToySpace(SpaceContract):
    bad_strings = ("", "64-0-32/relu", "64-0-32/relu/0.5", "64-0-8/relu/0.1", "64-0/tanh/0", None)

    @pytest.fixture
    def space(self):
        return spaces.get(TOY)


class TestEveryStrategyOnTheToySpace(StrategyContract):
    # 384 architectures: 300 random queries find the planted optimum about half the time,
    # so "beats random search" says little here; NB201's suite checks it
    compare_on_spaces = ()

    @pytest.fixture(params=strategies.available())
    def strategy_factory(self, request, space, contract_strategy):
        return contract_strategy(request.param, space)

    @pytest.fixture
    def space(self):
        return TOY


class TestSurrogateOfTheToySpace(EvaluatorContract):
    @pytest.fixture
    def evaluator(self):
        return SurrogateEvaluator(synthetic_benchmark(TOY), n_train=150, num_members=2, num_trees=50)


def test_surrogate_learns_the_toy_space_from_its_generic_encodings():
    bench = synthetic_benchmark(TOY)
    surrogate = SurrogateEvaluator(bench, n_train=150, num_members=2, num_trees=50)
    truth = TabularEvaluator(bench)
    held_out = np.setdiff1d(np.arange(bench.space.size), surrogate.train_rows)
    predicted = [surrogate.evaluate(bench.space.arch(int(i))).val_acc for i in held_out]
    true = [truth.evaluate(bench.space.arch(int(i))).val_acc for i in held_out]
    rank = lambda x: np.argsort(np.argsort(x))  # noqa: E731
    spearman = np.corrcoef(rank(predicted), rank(true))[0, 1]
    assert spearman > 0.6, f"Spearman {spearman:.2f} on {len(held_out)} held-out architectures"


def test_training_the_toy_space_is_refused_in_one_sentence():
    space = spaces.get(TOY)
    with pytest.raises(NotTrainableError) as info:
        space.build_network(space.arch(0), channels=4)
    assert "toy_mlp" in str(info.value) and "no network builder" in str(info.value) and "\n" not in str(info.value)
    pytest.importorskip("torch")
    from naslab.evaluators.train import TrainEvaluator

    with pytest.raises(NotTrainableError):
        TrainEvaluator(space=TOY, cache_path=None, device="cpu")


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory) -> dict[str, str]:
    """The environment of a subprocess that has the plug-in "installed": its module on the path
    and a distribution's metadata declaring the entry point, as ``pip install`` would leave them."""
    site = tmp_path_factory.mktemp("site")
    info = site / "naslab_toy-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: naslab-toy\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[naslab.spaces]\n{TOY} = naslab_toy:ToyMLPSpace\n")
    path = os.pathsep.join([str(REPO), str(PLUGIN_DIR), str(site)])
    return {**os.environ, "PYTHONPATH": path, "HYDRA_FULL_ERROR": "0", "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def toy_file(tmp_path_factory) -> Path:
    return write_synthetic_benchmark(tmp_path_factory.mktemp("toy") / "toy.h5", space=TOY)


def test_cli_searches_the_toy_space_with_its_one_config(plugin_env, toy_file, tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "naslab", "benchmark=file", f"benchmark.path={toy_file}", "space=toy_mlp",
         f"hydra.searchpath=[file://{PLUGIN_DIR / 'conf'}]", "strategy=bananas", "budget.queries=30",
         f"hydra.run.dir={out}"],
        cwd=tmp_path, env=plugin_env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["benchmark"]["space"] == TOY and summary["num_evaluations"] == 30
    space = naslab_toy.ToyMLPSpace()
    with open(out / "trajectory.csv", newline="") as f:
        for row in csv.DictReader(f):
            space.from_string(row["arch"])


def test_sweep_over_strategies_on_the_toy_space(plugin_env, toy_file, tmp_path):
    sweep_dir = tmp_path / "sweep"
    proc = subprocess.run(
        [sys.executable, "-m", "naslab.sweep", "benchmark=file", f"benchmark.path={toy_file}",
         "strategy=random,evolution,local_search", "seed=0,1", "budget.queries=20", f"hydra.sweep.dir={sweep_dir}"],
        cwd=tmp_path, env=plugin_env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summaries = sorted(sweep_dir.rglob("summary.json"))
    assert len(summaries) == 6
    for path in summaries:
        summary = json.loads(path.read_text())
        assert summary["benchmark"]["space"] == TOY and summary["num_evaluations"] == 20
