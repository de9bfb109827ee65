"""The search spaces by name (the name benchmark files and configs store).

``get(name)`` answers the space instance, built once and shared (spaces are
immutable); ``register(name, factory)`` adds one (a class or any zero-argument
callable that returns a :class:`CategoricalSpace`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from naslab.registry import CachedRegistry
from naslab.spaces.base import CategoricalSpace

REGISTRY: CachedRegistry[CategoricalSpace] = CachedRegistry(
    "search space",
    "naslab.spaces",
    {
        "nb201": "naslab.spaces.nb201:NB201Space",
        "nasbench_macro": "naslab.spaces.macro:MacroSpace",
        "fcnet": "naslab.spaces.grid:fcnet_space",
        "hpobench_mlp": "naslab.spaces.grid:hpobench_mlp_space",
        "nas_bench_graph": "naslab.spaces.nas_bench_graph:NASBenchGraphSpace",
        "nas_bench_graph_proteins": "naslab.spaces.registry:_nas_bench_graph_proteins",
        "tnb101_micro": "naslab.spaces.transnas:TNB101MicroSpace",
        "tnb101_macro": "naslab.spaces.transnas:TNB101MacroSpace",
        "darts": "naslab.spaces.darts:DartsSpace",
    },
)


def _nas_bench_graph_proteins() -> CategoricalSpace:
    from naslab.spaces.nas_bench_graph import PROTEINS_OPS, NASBenchGraphSpace

    return NASBenchGraphSpace("nas_bench_graph_proteins", PROTEINS_OPS)


def get(name: str) -> CategoricalSpace:
    """The (shared, immutable) space called ``name``; ``UnknownNameError`` lists the known ones."""
    return REGISTRY.get(name)


def register(name: str, factory: Callable[[], CategoricalSpace] | str | None = None, *, replace: bool = False) -> Any:
    """Register a space class (or factory, or ``"module:Class"``) as ``name``; a decorator without ``factory``."""
    return REGISTRY.register(name, factory, replace=replace)


def name_of(value: Any) -> str:
    """The space a config names: a plain name, or a node of the ``space`` group (``{_target_, name}``)."""
    name = value.get("name") if hasattr(value, "get") else value
    return str(name)


def available() -> list[str]:
    return REGISTRY.available()


# the names every module used before the registries had one shape; kept as aliases
get_space = get
register_space = register
