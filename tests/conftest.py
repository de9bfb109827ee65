"""Shared fixtures: small synthetic benchmarks (never real data) and repo paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

try:  # hypothesis is a test dependency; its per-example deadline fails tests on a busy shared machine
    from hypothesis import settings

    settings.register_profile("naslab", deadline=None)
    settings.load_profile("naslab")
except ImportError:
    pass

from naslab.benchmarks.synthetic import make_synthetic_benchmark, write_synthetic_benchmark
from naslab.benchmarks.tabular import TabularBenchmark

REPO_ROOT = Path(__file__).resolve().parent.parent
# the benchmark configs' own override (naslab/conf/benchmark/tnb101_*.yaml): a git worktree elsewhere
# (/work/wt/<branch>) has no ../shared beside it, and its shared-data tests would all skip unnoticed
SHARED_BENCHMARKS = Path(os.environ.get("NASLAB_SHARED_BENCHMARKS") or REPO_ROOT.parent / "shared" / "benchmarks")


@pytest.fixture(scope="session")
def synthetic_bench() -> TabularBenchmark:
    """NB201 synthetic benchmark with a planted optimum, 2 seeds, epochs 1..12."""
    return make_synthetic_benchmark()


@pytest.fixture(scope="session")
def synthetic_bench_with_failures() -> TabularBenchmark:
    """The same, with 10 % of the architectures failed (NaN everywhere)."""
    return make_synthetic_benchmark(failed_fraction=0.1, seed=1)


@pytest.fixture(scope="session")
def synthetic_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_benchmark(tmp_path_factory.mktemp("bench") / "synthetic.h5")


@pytest.fixture(scope="session")
def shared_benchmarks() -> Path:
    if not SHARED_BENCHMARKS.is_dir():
        pytest.skip(f"published benchmark data not found at {SHARED_BENCHMARKS} (../shared beside the repo, or $NASLAB_SHARED_BENCHMARKS)")
    return SHARED_BENCHMARKS


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread, as the builder's workers run: on a busy 2-core machine OpenMP
    threads spin against each other and a tiny training becomes 10x slower."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# Cheaper settings for the model-based strategies in the contract suites (fewer trees and
# members, rarer refits): the search logic is the same, only the predictor is rougher, and
# the suites run their many searches in seconds. Test-only knobs live here, not on the
# classes; keyed by class, so that a config preset of a class (bananas_zero_cost) gets them too.
CONTRACT_KNOBS: dict[str, dict[str, object]] = {
    "Bananas": {"num_trees": 20, "num_members": 2, "refit_every": 30},
    "SurrogateEvolution": {"num_trees": 20, "num_members": 2, "refit_every": 30, "num_offspring": 10},
}
@pytest.fixture(scope="session")
def contract_knobs() -> dict[str, dict[str, object]]:
    return CONTRACT_KNOBS


SYNTHETIC_PROXIES = ("synflow", "jacob_cov", "nwot", "snip", "zen", "params", "grad_norm", "fisher", "grasp")


def _reads_proxies(name: str) -> bool:
    """Whether the strategy's config reads a zero-cost proxy table (plain bananas does not)."""
    from omegaconf import OmegaConf

    from naslab.paths import CONFIG_DIR

    config = CONFIG_DIR / "strategy" / f"{name}.yaml"
    return config.is_file() and OmegaConf.load(config).get("proxy_table") is not None


@pytest.fixture(scope="session")
def contract_strategy(tmp_path_factory):
    """``(name, space) -> factory`` for :class:`naslab.testing.StrategyContract` subclasses: the
    registered strategy with its config and the knobs above; skipped when its extra is missing.
    A strategy that reads zero-cost proxies gets a synthetic proxy table of the space searched."""

    from naslab import strategies
    from naslab.testing.strategies import write_synthetic_proxy_table

    tables: dict[str, str] = {}

    def make(name: str, space: str = "nb201"):
        cls = strategies.get(name)
        missing = cls.missing_requirements()
        if missing:
            pytest.skip(f"strategy {name} needs {missing}: pip install 'naslab[{cls.extra}]'")
        knobs = dict(CONTRACT_KNOBS.get(cls.__name__, {}))
        if _reads_proxies(name):
            if space not in tables:
                path = tmp_path_factory.mktemp("proxies") / f"{space}_zc.h5"
                tables[space] = str(write_synthetic_proxy_table(path, space, SYNTHETIC_PROXIES))
            knobs["proxy_table"] = tables[space]
        return strategies.factory(name, **knobs)

    return make
