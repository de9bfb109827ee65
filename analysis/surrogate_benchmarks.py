"""Benchmarks by short name for the surrogate analysis scripts (predictor quality, search efficiency).

``synthetic``  the planted-optimum synthetic NB201 benchmark (tests only, never real data)
``digits``     the embedded default, ``naslab/data/nb201_digits.h5``
``nb201-c10``  NAS-Bench-201 CIFAR-10 (published): ``nb201_c10.h5`` in naslab's data folder
               (:func:`naslab.paths.data_dir`) if it was imported, else imported in memory from
               ``../shared/benchmarks`` with naslab's importer (nothing is written)
anything else  a path to a naslab HDF5 benchmark file
"""

from __future__ import annotations

from pathlib import Path

from naslab.benchmarks.tabular import TabularBenchmark, load_benchmark
from naslab.paths import data_dir

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared" / "benchmarks"
NAMES = ("synthetic", "digits", "nb201-c10")


def resolve_benchmark(spec: str) -> TabularBenchmark:
    """The benchmark ``spec`` names; ``ValueError`` with one sentence if it is unavailable."""
    if spec == "synthetic":
        from naslab.benchmarks.synthetic import make_synthetic_benchmark

        return make_synthetic_benchmark()
    if spec == "digits":
        path = REPO_ROOT / "naslab" / "data" / "nb201_digits.h5"
        if not path.is_file():
            raise ValueError(f"the digits benchmark {path} does not exist yet (it is built by python -m naslab.build)")
        return load_benchmark(path)
    if spec == "nb201-c10":
        imported = data_dir() / "nb201_c10.h5"
        if imported.is_file():
            return load_benchmark(imported)
        from naslab.benchmarks.importers.nb201_csv import import_nb201_c10

        return import_nb201_c10(
            SHARED / "nb201-cifar10-12ep" / "cifar10_12ep_seedmean.csv",
            SHARED / "nb201-cifar10-valid-200ep" / "cifar10-valid_200ep_seedmean.csv",
        )
    return load_benchmark(spec)


def benchmark_label(spec: str, bench: TabularBenchmark) -> str:
    return spec if spec in NAMES else f"{bench.space_name}/{bench.dataset}"
