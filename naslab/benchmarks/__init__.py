"""Tabular benchmarks: the HDF5 format, loading, validation, queries, importers.

``naslab.benchmarks.get("digits")`` is a loaded benchmark by name (the CLI's
``benchmark=`` choices, see :mod:`naslab.benchmarks.registry`); ``available()`` lists them.
"""

from naslab.benchmarks.registry import available, get, open_benchmark, register
from naslab.benchmarks.tabular import (
    BenchmarkFileError,
    TabularBenchmark,
    load_benchmark,
    provenance,
    write_benchmark,
)

__all__ = [
    "BenchmarkFileError",
    "TabularBenchmark",
    "available",
    "get",
    "load_benchmark",
    "open_benchmark",
    "provenance",
    "register",
    "write_benchmark",
]
