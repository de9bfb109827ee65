"""Benchmarks by name for the surrogate analysis scripts (predictor quality, search efficiency).

A name is one of ``naslab.benchmarks.available()`` (``synthetic``, ``digits``,
``nb201_c10``, ...); anything else is a path to a naslab HDF5 benchmark file. When
``nb201_c10`` was not imported, it is imported in memory from ``../shared/benchmarks``
with naslab's importer (nothing is written).
"""

from __future__ import annotations

from pathlib import Path

from naslab import benchmarks
from naslab.benchmarks import importers
from naslab.benchmarks.tabular import BenchmarkFileError, TabularBenchmark, load_benchmark

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared" / "benchmarks"


def resolve_benchmark(spec: str) -> TabularBenchmark:
    """The benchmark ``spec`` names; a one-sentence error if it is unavailable."""
    if spec not in benchmarks.available():
        return load_benchmark(spec)
    try:
        return benchmarks.get(spec)
    except BenchmarkFileError:
        if spec != "nb201_c10":
            raise
    return importers.get("nb201_c10")(
        SHARED / "nb201-cifar10-12ep" / "cifar10_12ep_seedmean.csv",
        SHARED / "nb201-cifar10-valid-200ep" / "cifar10-valid_200ep_seedmean.csv",
    )


def benchmark_label(spec: str, bench: TabularBenchmark) -> str:
    return spec if spec in benchmarks.available() else f"{bench.space_name}/{bench.dataset}"
