"""The contract every benchmark importer keeps (fixtures ``imported`` and ``expected_values``).

``imported`` is the :class:`TabularBenchmark` the importer made from (small) source
files; ``expected_values`` lists ``(metric, arch_string, seed_position, epoch, value)``
read off those sources by hand. The output must be a valid benchmark that writes and
loads back unchanged, with one row per architecture in the space's index order, a unit
for every metric (accuracies in percent, times and sizes non-negative), and the
expected values in the right cells.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from naslab.benchmarks.tabular import ACCURACY_UNIT, KNOWN_UNITS, load_benchmark, write_benchmark


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


class ImporterContract:
    """Subclass as ``TestMyImporter(ImporterContract)``; provide ``imported`` and ``expected_values``."""

    @pytest.fixture
    def imported(self):
        raise NotImplementedError("an ImporterContract subclass defines the imported fixture")

    @pytest.fixture
    def expected_values(self) -> list[tuple[str, str, int, int, float]]:
        raise NotImplementedError("an ImporterContract subclass defines the expected_values fixture")

    def test_output_is_valid_and_loads_back_unchanged(self, imported, tmp_path):
        # load_benchmark validates shapes, dtypes, units and the space's row order
        loaded = load_benchmark(write_benchmark(tmp_path / "imported.h5", imported))
        assert loaded.space_name == imported.space_name and loaded.dataset == imported.dataset
        assert list(loaded.archs) == list(imported.archs)
        assert _same(loaded.epochs, imported.epochs) and _same(loaded.seeds, imported.seeds)
        assert sorted(loaded.metrics) == sorted(imported.metrics) and sorted(loaded.static) == sorted(imported.static)
        for name in imported.metrics:
            assert _same(loaded.metrics[name], imported.metrics[name]), name
        for name in imported.static:
            assert _same(loaded.static[name], imported.static[name]), name

    def test_rows_in_the_space_index_order(self, imported):
        space = imported.space
        assert len(imported.archs) == space.size
        assert list(imported.archs) == [space.to_string(space.arch(i)) for i in range(space.size)]

    def test_units(self, imported, tmp_path):
        units = load_benchmark(write_benchmark(tmp_path / "units.h5", imported)).attrs["units"]
        for name, values in [*imported.metrics.items(), *imported.static.items()]:
            assert name in units, f"{name} has no unit"
            if name in KNOWN_UNITS:
                assert units[name] == KNOWN_UNITS[name], name
            finite = values[np.isfinite(values)]
            if units[name] == ACCURACY_UNIT:
                assert ((finite >= 0) & (finite <= 100)).all(), f"{name} is not in percent"
            elif units[name] in ("seconds", "millions", "nats"):
                assert (finite >= 0).all(), f"{name} has negative values"

    def test_expected_values_in_their_cells(self, imported, expected_values):
        assert expected_values, "give at least one value read off the sources"
        index = {arch: i for i, arch in enumerate(imported.archs)}
        epochs = [int(e) for e in imported.epochs]
        for metric, arch, seed_position, epoch, value in expected_values:
            got = float(imported.metrics[metric][index[arch], seed_position, epochs.index(epoch)])
            if math.isnan(value):
                assert math.isnan(got), (metric, arch, seed_position, epoch)
            else:
                assert got == pytest.approx(value, rel=1e-6, abs=1e-4), (metric, arch, seed_position, epoch)
