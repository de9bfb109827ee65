"""Hydra's plugin scan without the launcher plugins, for a command line that runs one job.

Before it composes anything, Hydra 1.3 imports every module under the ``hydra_plugins``
namespace package to find its plugins (``Plugins._scan_all_plugins``). With the launchers
naslab's configs name installed (hydra-ray-launcher, hydra-submitit-launcher,
hydra-joblib-launcher) that is about 0.10 CPU s of ``python -m naslab strategy=evolution``
(1.1 in all; the Ray launcher's AWS module alone 0.07: it builds its structured configs).
A launcher runs only the jobs of a multirun, and its configs are reached only through the
``hydra/launcher`` group. So for a command line without flags (no ``-m``, ``--help``,
``--info``, ``--cfg``, ``-sc``, ``--config-dir``...) that
:func:`naslab.hydra_mode.mode_is_default` passes (no ``hydra/`` group, no ``hydra.mode``,
no config file that mentions ``hydra``), naslab leaves these three packages out of the
scan. Every other plugin (search paths, config sources, sweepers, completion, and any other
package under ``hydra_plugins``) is found as Hydra finds it.
``tests/test_hydra_plugin_scan.py`` checks that such a run writes the same run folder,
``.hydra/`` included, as one with the full scan.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from naslab.hydra_mode import mode_is_default

# Hydra's own launcher plugins: Launcher classes and their hydra/launcher configs, nothing else
LAUNCHER_PACKAGES = (
    "hydra_plugins.hydra_ray_launcher",
    "hydra_plugins.hydra_submitit_launcher",
    "hydra_plugins.hydra_joblib_launcher",
)


def needs_launchers(config_dir: Path, args: list[str]) -> bool:
    """Whether Hydra may use a launcher plugin (or list the plugins) for this command line."""
    return any(arg.startswith("-") for arg in args) or not mode_is_default(config_dir, args)


def is_launcher_module(name: str) -> bool:
    return any(name == package or name.startswith(package + ".") for package in LAUNCHER_PACKAGES)


class _PkgutilWithoutLaunchers:
    """``pkgutil`` as Hydra's plugin scan sees it: ``walk_packages`` skips the launcher packages."""

    def __init__(self, pkgutil: ModuleType) -> None:
        self.pkgutil = pkgutil

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pkgutil, name)

    def walk_packages(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        return (info for info in self.pkgutil.walk_packages(*args, **kwargs) if not is_launcher_module(info.name))


def install_lean_plugin_scan(config_dir: Path, args: list[str]) -> bool:
    """Leave the launcher plugins out of Hydra's scan if :func:`needs_launchers` says they are
    not needed; returns whether it did. Before Hydra's first scan only (``python -m naslab``)."""
    if needs_launchers(config_dir, args):
        return False
    from hydra.core import plugins

    if not isinstance(plugins.pkgutil, _PkgutilWithoutLaunchers):
        plugins.pkgutil = _PkgutilWithoutLaunchers(plugins.pkgutil)  # type: ignore[assignment]
    return True
