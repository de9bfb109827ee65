"""Hydra's run mode without a second composition of the config at start-up.

Hydra 1.3's ``@hydra.main`` composes the whole config once only to read
``hydra.mode`` (``Hydra.get_mode``) and then again to run: the first composition is
about a fifth of ``python -m naslab strategy=evolution``'s CPU time. No config in
``naslab/conf`` sets ``hydra.mode``, so for command lines that cannot set it either
the answer is known without composing: ``None`` (Hydra then takes RUN, or MULTIRUN
with ``-m``). A command line that may set it keeps Hydra's own answer:
``hydra.mode``/``hydra.searchpath`` or a ``hydra/`` group override, a sweep or
interpolation in a value, a config file that is not in ``naslab/conf`` or that
mentions ``hydra``. ``tests/test_cli.py`` compares
this with ``Hydra.get_mode`` over such command lines.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

SPECIAL = set(",()[]{}*$")


def mode_is_default(config_dir: Path, overrides: list[str]) -> bool:
    """Whether no override can make the composed ``hydra.mode`` differ from the primary config's."""
    for override in overrides:
        key, sep, value = override.partition("=")
        key = key.lstrip("+~")
        if not sep or SPECIAL & set(value) or key in ("hydra", "hydra.mode", "hydra.searchpath"):
            return False
        if key.startswith("hydra/"):
            return False  # a Hydra config group (launcher, sweeper, ...)
        if "." in key:
            continue  # a value (seed=3, budget.queries=10, hydra.run.dir=...): selects no config file
        group = config_dir / key
        if not group.is_dir():
            continue  # a plain top-level value (seed=3)
        option = group / f"{value}.yaml"
        if not option.is_file() or "hydra" in option.read_text():
            return False
    return True


def install_fast_get_mode(config_dir: Path) -> None:
    """Make ``Hydra.get_mode`` skip its composition when :func:`mode_is_default` says it may."""
    from hydra._internal.hydra import Hydra

    original: Callable[..., Any] = Hydra.get_mode
    if getattr(original, "naslab_fast", False):
        return

    def get_mode(self: Any, config_name: str | None, overrides: list[str]) -> Any:
        if mode_is_default(config_dir, list(overrides)):
            return None  # what composing naslab/conf/config.yaml gives (checked in the tests)
        return original(self, config_name, overrides)

    get_mode.naslab_fast = True  # type: ignore[attr-defined]
    get_mode.original = original  # type: ignore[attr-defined]
    Hydra.get_mode = get_mode  # type: ignore[method-assign]
