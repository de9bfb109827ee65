"""Encodings of architectures for performance predictors, cached per space.

Every encoding is a float32 matrix with one row per architecture **in the space's
official index order** (row ``i`` encodes ``space.arch(i)``), computed once per space
and process and shared read-only; a predictor picks rows with ``space.indices``. A
space that is not enumerable (DARTS, ~1e18) has no such matrix: :func:`encode`
computes its rows on demand, and :func:`encode_all` refuses it in one sentence.

The space computes its encodings (:meth:`CategoricalSpace.encode`, kinds listed in
``space.encodings``), so a new space brings its own and this module never asks which
space it has. Every space has ``onehot`` (the decision vector) and ``computed``
(simple counts); NB201 adds the BANANAS ``path`` encoding and ``adjacency``
(:mod:`naslab.spaces.nb201_encodings`). Kinds combine with ``+``, e.g.
``"path+computed"``; ``auto`` is the space's ``default_encoding``. Benchmark statics
(params, flops) are architecture facts but live in a benchmark, not a space: pass them
with :func:`with_statics`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from naslab.errors import InvalidValueError
from naslab.spaces import CategoricalSpace

_cache: dict[tuple[type, str, tuple[int, ...], str], np.ndarray] = {}


def available_encodings(space: CategoricalSpace) -> tuple[str, ...]:
    """The encoding kinds ``space`` supports."""
    return tuple(space.encodings)


def resolve_encoding(space: CategoricalSpace, kind: str) -> str:
    """``kind`` with ``auto`` resolved; ``ValueError`` (one sentence) if unsupported."""
    if kind == "auto":
        return space.default_encoding
    parts = kind.split("+")
    supported = available_encodings(space)
    for part in parts:
        if part not in supported:
            raise InvalidValueError(
                f"encoding {part!r} is not available for space {space.name!r}; "
                f"choose from {list(supported)} (combine with '+') or 'auto'"
            )
    return kind


def encode_all(space: CategoricalSpace, kind: str = "auto") -> np.ndarray:
    """``[space.size, F]`` float32 encoding of every architecture (cached, read-only)."""
    kind = resolve_encoding(space, kind)
    space.require_enumerable(f"the {kind} encoding of every architecture")
    key = (type(space), space.name, tuple(space.cardinalities), kind)
    cached = _cache.get(key)
    if cached is None:
        parts = [np.asarray(space.encode(space.all_archs, part), dtype=np.float32) for part in kind.split("+")]
        cached = parts[0] if len(parts) == 1 else np.hstack(parts).astype(np.float32)
        cached.setflags(write=False)
        _cache[key] = cached
    return cached


def encode(space: CategoricalSpace, archs: np.ndarray | list, kind: str = "auto") -> np.ndarray:
    """Encodings of some architectures (``[n, num_decisions]`` decision vectors): rows of the
    cached :func:`encode_all`, or computed on demand for a space that is not enumerable."""
    vectors = np.asarray(archs, dtype=np.int64).reshape(-1, space.num_decisions)
    if not space.enumerable:
        parts = [np.asarray(space.encode(vectors, part), dtype=np.float32) for part in resolve_encoding(space, kind).split("+")]
        return parts[0] if len(parts) == 1 else np.hstack(parts)
    return encode_all(space, kind)[space.indices(vectors)]


def feature_names(space: CategoricalSpace, kind: str = "auto") -> list[str]:
    """A readable name per column of :func:`encode_all` (for plots and debugging)."""
    kind = resolve_encoding(space, kind)
    names: list[str] = []
    for part in kind.split("+"):
        names.extend(space.encoding_names(part))
    return names


def with_statics(features: np.ndarray, statics: Mapping[str, np.ndarray]) -> np.ndarray:
    """Append per-architecture statics (e.g. a benchmark's params, flops) as columns.

    Missing values (NaN) are kept: XGBoost treats them as missing; other regressors
    need them imputed by the caller.
    """
    if not statics:
        return features
    columns = [np.asarray(statics[name], dtype=np.float32).reshape(-1, 1) for name in sorted(statics)]
    for name, column in zip(sorted(statics), columns):
        if column.shape[0] != features.shape[0]:
            raise ValueError(
                f"static {name!r} has {column.shape[0]} values, expected one per architecture ({features.shape[0]})"
            )
    return np.hstack([features, *columns]).astype(np.float32)


def encode_with_statics(
    space: CategoricalSpace, kind: str, statics: Mapping[str, np.ndarray] | None
) -> np.ndarray:
    """:func:`encode_all` with per-architecture columns appended (e.g. zero-cost proxies
    from :func:`naslab.zero_cost.features.proxy_columns`); ``kind="none"`` gives the
    columns alone (at least one is needed then)."""
    if kind == "none":
        if not statics:
            raise InvalidValueError("encoding 'none' needs feature columns (e.g. proxies) to stand on")
        return with_statics(np.zeros((space.size, 0), dtype=np.float32), statics)
    return with_statics(encode_all(space, kind), statics or {})
