"""Tabular benchmarks: the HDF5 format, loading, validation, queries, importers."""

from naslab.benchmarks.tabular import (
    BenchmarkFileError,
    TabularBenchmark,
    load_benchmark,
    provenance,
    write_benchmark,
)

__all__ = ["BenchmarkFileError", "TabularBenchmark", "load_benchmark", "provenance", "write_benchmark"]
