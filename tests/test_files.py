"""Written files get the umask's permissions (mkstemp alone would make them 0600)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from naslab.files import file_mode


@pytest.fixture(params=[0o022, 0o007])
def umask(request: pytest.FixtureRequest):
    """Run the test under this umask (the mode is read once per process: clear the cache)."""
    previous = os.umask(request.param)
    file_mode.cache_clear()
    yield request.param
    os.umask(previous)
    file_mode.cache_clear()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_run_files_benchmarks_chunks_and_figures_follow_the_umask(umask: int, tmp_path: Path) -> None:
    from naslab.benchmarks.synthetic import write_synthetic_benchmark
    from naslab.build import _atomic_write_bytes
    from naslab.files import atomic_write_text

    expected = 0o666 & ~umask
    assert file_mode() == expected
    # what open() gives a new file under this umask: the reference the others must match
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert _mode(plain) == expected

    atomic_write_text(tmp_path / "summary.json", "{}\n")
    _atomic_write_bytes(tmp_path / "chunk-00000.npz", lambda handle: handle.write(b"data"))
    write_synthetic_benchmark(tmp_path / "bench.h5")
    written = [tmp_path / "summary.json", tmp_path / "chunk-00000.npz", tmp_path / "bench.h5"]
    assert {path.name: _mode(path) for path in written} == {path.name: expected for path in written}


def test_figures_follow_the_umask(umask: int, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from naslab.analysis.style import pyplot, save_figure

    written = save_figure(pyplot().figure(), tmp_path, "figure", formats=("png", "pdf"))
    assert [_mode(path) for path in written] == [0o666 & ~umask] * 2
