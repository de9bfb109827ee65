"""The benchmarks by name: ``naslab.benchmarks.get("digits")`` is the loaded :class:`TabularBenchmark`.

The names are the CLI's ``benchmark=`` choices: every ``naslab/conf/benchmark/<name>.yaml``
that names a file (``path``, and the ``import_command`` that makes it when it has to be
imported first) or a ``loader`` (installed package data) is registered from that config,
so the config stays the one place that says where a benchmark lives. ``synthetic`` is the planted-optimum test benchmark (never
real data). ``register(name, loader)`` adds one: a path, or a zero-argument callable
that returns a :class:`TabularBenchmark`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from naslab.benchmarks.tabular import BenchmarkFileError, TabularBenchmark, load_benchmark
from naslab.registry import Registry


@dataclass(frozen=True)
class BenchmarkFile:
    """A benchmark stored in a naslab HDF5 file; ``import_command`` makes it if it is imported data."""

    path: Path
    import_command: str | None = None

    def __call__(self) -> TabularBenchmark:
        return open_benchmark(self.path, self.import_command)


def open_benchmark(path: str | os.PathLike[str], import_command: str | None = None) -> TabularBenchmark:
    """Load ``path`` once per process (sweeps run many searches on one file; reloaded if it changed)."""
    path = Path(path)
    if not path.is_file():
        if import_command:
            raise BenchmarkFileError(f"benchmark file {path} does not exist; import it first: {import_command}")
        load_benchmark(path)  # raises the one-sentence error
    return _load_cached(str(path.resolve()), path.stat().st_mtime_ns)


@cache
def _load_cached(path: str, mtime_ns: int) -> TabularBenchmark:
    return load_benchmark(path)


@cache
def _read_installed(loader_yaml: str) -> TabularBenchmark:
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from naslab.benchmarks.tabular import _validate

    bench = instantiate(OmegaConf.create(loader_yaml))
    _validate(bench, f"<{bench.space_name}/{bench.dataset}>")  # once per process, not once per run
    return bench


def read_installed_benchmark(loader: Any) -> TabularBenchmark:
    """A benchmark read from installed package data (a config's ``benchmark.loader``), once per process."""
    from omegaconf import OmegaConf

    from naslab.benchmarks.importers.common import SourceFileError

    try:
        return _read_installed(OmegaConf.to_yaml(loader, resolve=True))
    except SourceFileError as exc:
        raise BenchmarkFileError(str(exc)) from None
    except Exception as exc:  # hydra wraps the importer's own error
        if isinstance(exc.__cause__, SourceFileError):
            raise BenchmarkFileError(str(exc.__cause__)) from None
        raise


def _synthetic() -> TabularBenchmark:
    from naslab.benchmarks.synthetic import make_synthetic_benchmark

    return make_synthetic_benchmark()


@dataclass(frozen=True)
class ConfiguredBenchmark:
    """A benchmark named by a ``conf/benchmark/<name>.yaml``; its path is resolved when loaded
    (``${naslab_data:}`` follows ``NASLAB_DATA`` as it is then)."""

    config: Path

    def __call__(self) -> TabularBenchmark:
        from omegaconf import OmegaConf

        from naslab.paths import register_resolvers

        register_resolvers()
        cfg = OmegaConf.load(self.config)
        if cfg.get("loader") is not None:
            return read_installed_benchmark(cfg.loader)
        return open_benchmark(str(cfg.path), cfg.get("import_command"))


def _configured() -> dict[str, Any]:
    """One entry per ``conf/benchmark/*.yaml`` that names a file or a loader (not ``file.yaml``'s ``???``)."""
    from omegaconf import OmegaConf

    from naslab.paths import CONFIG_DIR

    entries: dict[str, Any] = {}
    for config in sorted((CONFIG_DIR / "benchmark").glob("*.yaml")):
        cfg = OmegaConf.load(config)
        if cfg.get("loader") is not None or ("path" in cfg and not OmegaConf.is_missing(cfg, "path")):
            entries[config.stem] = ConfiguredBenchmark(config)
    return entries


class _BenchmarkRegistry(Registry[Callable[[], TabularBenchmark]]):
    def _read_entry_points(self) -> None:
        if not self._entry_points_read:
            for name, entry in _configured().items():
                self._targets.setdefault(name, entry)
        super()._read_entry_points()


REGISTRY = _BenchmarkRegistry("benchmark", "naslab.benchmarks", {"synthetic": _synthetic})


def get(name: str) -> TabularBenchmark:
    """The benchmark registered as ``name``, loaded (a one-sentence error if its file is missing)."""
    return loader(name)()


def loader(name: str) -> Callable[[], TabularBenchmark]:
    """What ``get`` calls: a :class:`BenchmarkFile` for file benchmarks."""
    return REGISTRY.get(name)


def available() -> list[str]:
    return REGISTRY.available()


def register(name: str, loader: Callable[[], TabularBenchmark] | str | os.PathLike[str] | None = None,
             *, replace: bool = False) -> Any:
    """Register a benchmark: a path to a naslab HDF5 file, or a callable returning a TabularBenchmark."""
    is_file = isinstance(loader, os.PathLike) or (isinstance(loader, str) and loader.endswith((".h5", ".hdf5")))
    if is_file:
        loader = BenchmarkFile(Path(loader))
    return REGISTRY.register(name, loader, replace=replace)
