"""Where naslab's own files are, in a repository checkout and in an installed wheel alike.

The configs (``naslab/conf``) and the embedded benchmark (``naslab/data``) travel inside
the package, so they are found next to this module however naslab was installed.
Benchmarks that naslab *imports* from published data are not part of the package and
may be large, so they go to a data folder outside it (:func:`data_dir`):

1. ``$NASLAB_DATA`` when set;
2. in a repository checkout (the package folder sits beside ``pyproject.toml`` and
   ``.git``), ``<repository>/data/imported`` (git-ignored), as before packaging;
3. otherwise the user's data folder, ``$XDG_DATA_HOME/naslab`` (default
   ``~/.local/share/naslab``): a wheel's site-packages is no place for user data.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CONFIG_DIR = PACKAGE_DIR / "conf"
EMBEDDED_BENCHMARK = PACKAGE_DIR / "data" / "nb201_digits.h5"
DATA_ENV = "NASLAB_DATA"


@cache
def checkout_root() -> Path | None:
    """The repository naslab runs from, or None for an installed (non-editable) package.

    Checked, not assumed: a wheel installed in a virtual environment that sits inside some
    other git repository must not report that repository's commit as naslab's.
    """
    root = PACKAGE_DIR.parent
    if (root / "pyproject.toml").is_file() and (root / ".git").exists():
        return root
    return None


def data_dir() -> Path:
    """The folder for imported benchmark files (see the module docstring for the order)."""
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    root = checkout_root()
    if root is not None:
        return root / "data" / "imported"
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg).expanduser() / "naslab"


def register_resolvers() -> None:
    """The config resolvers naming these folders: ``${naslab_data:}``, ``${naslab_package:}``, ``${basename:p}``."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("naslab_data"):
        # not cached: NASLAB_DATA may change between runs of one process (tests, notebooks)
        OmegaConf.register_new_resolver("naslab_data", lambda: str(data_dir()), use_cache=False)
    if not OmegaConf.has_resolver("naslab_package"):
        OmegaConf.register_new_resolver("naslab_package", lambda: str(PACKAGE_DIR))
    if not OmegaConf.has_resolver("basename"):
        OmegaConf.register_new_resolver("basename", lambda p: Path(str(p)).stem)
