"""Shared fixtures: small synthetic benchmarks (never real data) and repo paths."""

from __future__ import annotations

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
SHARED_BENCHMARKS = REPO_ROOT.parent / "shared" / "benchmarks"


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


@pytest.fixture
def shared_benchmarks() -> Path:
    if not SHARED_BENCHMARKS.is_dir():
        pytest.skip(f"published benchmark data not found at {SHARED_BENCHMARKS} (../shared beside the repo)")
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
