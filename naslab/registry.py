"""Registries by name, one per kind of plug-in (strategies, spaces, evaluators, benchmarks, importers).

A registry maps a short name (the one configs, the CLI and the run folders use) to an
object: a class, a function, or a ``"module:attribute"`` string imported only when the
name is first asked for, so registering the built-ins costs no import of torch or
optuna. Third-party packages register theirs by calling ``register`` on import, or
declare an entry point in the group ``naslab.<kind>`` (``name = "package.module:Class"``),
read the first time a name is missing. Modelled on syne-tune's ``baselines`` dict and
Optuna's package-level sampler exports; the kinds live in ``naslab.strategies``,
``naslab.spaces``, ``naslab.evaluators``, ``naslab.benchmarks`` and
``naslab.benchmarks.importers``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from naslab.errors import NaslabError, UnknownNameError

T = TypeVar("T")


def import_target(target: str) -> Any:
    """The object a ``"package.module:attribute"`` (or ``"package.module.attribute"``) string names."""
    module_name, sep, attribute = target.partition(":")
    if not sep:
        module_name, _, attribute = target.rpartition(".")
    obj = importlib.import_module(module_name)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """Names of one kind of plug-in; ``get`` imports lazily registered targets on first use."""

    def __init__(self, kind: str, group: str, builtins: dict[str, Any] | None = None) -> None:
        self.kind = kind  # singular, for messages: "strategy", "search space", ...
        self.group = group  # entry-point group of third-party plug-ins: "naslab.strategies"
        self._targets: dict[str, Any] = dict(builtins or {})
        self._loaded: dict[str, T] = {}
        self._entry_points_read = False

    def register(self, name: str, target: Any = None, *, replace: bool = False) -> Any:
        """Register ``target`` (an object or a ``"module:attribute"`` string) as ``name``.

        Without ``target`` this is a decorator: ``@strategies.register("greedy")``.
        Registering a different object under a taken name needs ``replace=True``.
        """
        if target is None:
            return lambda obj: self.register(name, obj, replace=replace)
        if not isinstance(name, str) or not name:
            raise NaslabError(f"a {self.kind} name must be a non-empty string, got {name!r}")
        previous = self._targets.get(name)
        if previous is not None and not replace and previous is not target and previous != target:
            raise NaslabError(
                f"{self.kind} {name!r} is already registered ({_describe(previous)}); "
                "pass replace=True to replace it"
            )
        self._targets[name] = target
        self._loaded.pop(name, None)
        return target

    def unregister(self, name: str) -> None:
        self._targets.pop(name, None)
        self._loaded.pop(name, None)

    def get(self, name: str) -> T:
        """The object registered as ``name``; :class:`UnknownNameError` lists the known names."""
        if name in self._loaded:
            return self._loaded[name]
        if name not in self._targets:
            self._read_entry_points()
        if name not in self._targets:
            raise UnknownNameError(f"unknown {self.kind} {name!r}; known: {', '.join(self.available())}")
        target = self._targets[name]
        obj = import_target(target) if isinstance(target, str) else target
        self._loaded[name] = obj
        return obj

    def available(self) -> list[str]:
        """Every registered name, sorted."""
        self._read_entry_points()
        return sorted(self._targets)

    def name_of(self, obj: Any) -> str | None:
        """The name ``obj`` is registered under (the first, sorted), or None; imports nothing new."""
        path = f"{getattr(obj, '__module__', '')}:{getattr(obj, '__qualname__', '')}"
        for name in sorted(self._targets):
            target = self._targets[name]
            if self._loaded.get(name) is obj or target is obj or target == path:
                return name
        return None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.available()

    def __iter__(self) -> Iterator[str]:
        return iter(self.available())

    def _read_entry_points(self) -> None:
        if self._entry_points_read:
            return
        self._entry_points_read = True
        from importlib.metadata import entry_points

        for point in entry_points(group=self.group):
            self._targets.setdefault(point.name, point.value)


def _describe(target: Any) -> str:
    if isinstance(target, str):
        return target
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(target))}"


class CachedRegistry(Registry[T]):
    """A registry whose ``get`` answers ``make(registered object)``, built once per name.

    For the kinds a user wants ready to use: a search space instance, a loaded benchmark.
    """

    def __init__(self, kind: str, group: str, builtins: dict[str, Any] | None = None,
                 make: Callable[[Any], T] | None = None) -> None:
        super().__init__(kind, group, builtins)
        self._make = make or (lambda factory: factory())
        self._made: dict[str, T] = {}

    def register(self, name: str, target: Any = None, *, replace: bool = False) -> Any:
        if target is not None:
            self._made.pop(name, None)
        return super().register(name, target, replace=replace)

    def unregister(self, name: str) -> None:
        self._made.pop(name, None)
        super().unregister(name)

    def factory(self, name: str) -> Any:
        """The registered object itself (a class or a loader), not what it makes."""
        return super().get(name)

    def get(self, name: str) -> T:
        if name not in self._made:
            self._made[name] = self._make(self.factory(name))
        return self._made[name]
