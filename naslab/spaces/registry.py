"""Look up a search space by the name stored in benchmark files and configs."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from naslab.spaces.base import CategoricalSpace

_FACTORIES: dict[str, Callable[[], CategoricalSpace]] = {}


def register_space(name: str, factory: Callable[[], CategoricalSpace]) -> None:
    _FACTORIES[name] = factory


@cache
def get_space(name: str) -> CategoricalSpace:
    """The (shared, immutable) space called ``name``; ``ValueError`` if unknown."""
    _register_builtin()
    if name not in _FACTORIES:
        raise ValueError(f"unknown search space {name!r}; known spaces: {sorted(_FACTORIES)}")
    return _FACTORIES[name]()


def _register_builtin() -> None:
    from naslab.spaces.grid import fcnet_space, hpobench_mlp_space
    from naslab.spaces.macro import MacroSpace
    from naslab.spaces.nas_bench_graph import PROTEINS_OPS, NASBenchGraphSpace
    from naslab.spaces.nb201 import NB201Space
    from naslab.spaces.transnas import TNB101MacroSpace, TNB101MicroSpace

    _FACTORIES.setdefault("nb201", NB201Space)
    _FACTORIES.setdefault("nasbench_macro", MacroSpace)
    _FACTORIES.setdefault("fcnet", fcnet_space)
    _FACTORIES.setdefault("hpobench_mlp", hpobench_mlp_space)
    _FACTORIES.setdefault("nas_bench_graph", NASBenchGraphSpace)
    _FACTORIES.setdefault("tnb101_micro", TNB101MicroSpace)
    _FACTORIES.setdefault("tnb101_macro", TNB101MacroSpace)
    _FACTORIES.setdefault("nas_bench_graph_proteins", lambda: NASBenchGraphSpace("nas_bench_graph_proteins", PROTEINS_OPS))
