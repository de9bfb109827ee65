"""Importers: convert published benchmark files into naslab's HDF5 tabular format.

Each importer reads one published format and returns a :class:`TabularBenchmark`
with provenance attributes (``source``, ``licence``, ``commit``, ``description`` =
what every metric means); :mod:`naslab.benchmarks.convert` is the command line.
A missing or malformed source raises :class:`SourceFileError` with one sentence
naming the file and the problem.
"""

from naslab.benchmarks.importers.common import SourceFileError

__all__ = ["SourceFileError"]
