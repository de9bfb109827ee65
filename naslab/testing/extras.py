"""Skip a test whose optional extra is not installed, naming the ``pip install`` that adds it."""

from __future__ import annotations

from importlib.util import find_spec

import pytest


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (nothing is imported; a missing parent package is False)."""
    try:
        return find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def requires(*modules: str, extra: str) -> pytest.MarkDecorator:
    """``@requires("matplotlib", extra="analysis")``: skip unless every module is installed."""
    missing = [m for m in modules if not installed(m)]
    return pytest.mark.skipif(bool(missing), reason=f"needs {missing}: pip install 'naslab[{extra}]'")
