"""Proxy columns of a proxy table, for surrogate features and the warm start.

A proxy table is a file in naslab's benchmark format with ``/static/zc_<proxy>`` columns
(:mod:`naslab.zero_cost.table`); this module reads them without torch, so strategies
and surrogates can use proxies that were computed once, offline. A bare file name that
is not found in the current folder is looked up in the package's ``naslab/data/``
(where ``nb201_digits_zc.h5``, the proxies of the embedded digits benchmark, lives).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

from naslab.errors import InvalidValueError
from naslab.spaces import CategoricalSpace

PACKAGE_DATA = Path(__file__).resolve().parent.parent / "data"


def resolve_table(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file() and path.parent == Path(".") and (PACKAGE_DATA / path.name).is_file():
        return PACKAGE_DATA / path.name
    return path


@cache
def _load(path: str) -> dict[str, np.ndarray]:
    from naslab.benchmarks.tabular import load_benchmark

    bench = load_benchmark(path)
    return {"__space__": np.asarray(bench.space_name), **bench.static}


def proxy_columns(space: CategoricalSpace, table: str | Path, proxies: Sequence[str]) -> dict[str, np.ndarray]:
    """``{proxy: [space.size] float32}`` in the space's index order (NaN = not scored).

    Raises ``ValueError`` (one sentence) for a table of another space or a proxy it lacks.
    """
    from naslab.zero_cost.table import column

    space.require_enumerable("a zero-cost proxy table (one score per architecture)")
    path = resolve_table(table)
    static = _load(str(path))
    if str(static["__space__"]) != space.name:
        raise InvalidValueError(f"proxy table {path} is of space {str(static['__space__'])!r}, not {space.name!r}")
    out = {}
    for proxy in proxies:
        name = column(proxy)
        if name not in static:
            have = sorted(k[3:] for k in static if k.startswith("zc_") and not k.endswith("_time_s"))
            raise InvalidValueError(f"proxy table {path} has no {proxy!r} scores; it has {have}")
        out[proxy] = np.asarray(static[name], dtype=np.float32)
    return out
