"""The search-space protocol shared by every strategy.

A search space is a finite set of *categorical decision vectors*: an architecture is a
tuple of small integers, decision ``d`` taking values ``0 .. cardinalities[d] - 1``.
Strategies only ever manipulate these tuples (sample, mutate, crossover, neighbours,
one-hot), so a new space (a macro chain, another cell) plugs in by subclassing
:class:`CategoricalSpace` and describing its own string format, index order and
canonical (isomorphism-invariant) key.
"""

from __future__ import annotations

import importlib
import math
from abc import ABC, abstractmethod
from functools import cached_property
from typing import Any

import numpy as np

from naslab.errors import InvalidValueError, NaslabError

Arch = tuple[int, ...]
"""An architecture: one integer choice per decision of its space."""


class NotTrainableError(NaslabError, ValueError):
    """The space has no network builder; the message is one sentence for the user."""


class InvalidArchError(NaslabError, ValueError):
    """An architecture (string or decision vector) that is not in the space; one sentence."""


class NotEnumerableError(NaslabError, ValueError):
    """Something needs every architecture of a space, or its index order, and the space is too big."""


class CategoricalSpace(ABC):
    """A space of decision vectors with a fixed number of choices per decision.

    ``rank`` is the mixed-radix number of a vector (first decision most significant);
    ``index`` is the position in the space's official order (which may be a
    permutation of ranks, as for NAS-Bench-201). Subclasses define the names and
    the order; everything a strategy needs is implemented here once.

    A space larger than :attr:`enumeration_limit` (the DARTS cell space, ~1e18) is not
    :attr:`enumerable`: sampling, mutation, crossover, neighbours, encodings, the
    canonical key and strings work as for any space, but everything that needs index
    order or a row per architecture (``all_archs``, ``all_strings``, ``index``,
    ``index_of``, ``indices``, ``arch``, ``rank_of_index``, ``canonical_ids``) raises
    :class:`NotEnumerableError` in one sentence instead of allocating the space.
    """

    name: str
    cardinalities: tuple[int, ...]
    enumeration_limit: int = 10_000_000
    """Spaces with more architectures than this are not enumerable (a table of 1e7 rows of
    int8 decisions is already ~100 MB); a subclass may lower or raise it."""

    # ----- what a concrete space describes -------------------------------------------
    @abstractmethod
    def to_string(self, arch: Arch) -> str:
        """The space's standard string for ``arch``."""

    @abstractmethod
    def from_string(self, text: str) -> Arch:
        """Parse a standard string; raise ``ValueError`` naming the string and format."""

    @abstractmethod
    def canonical(self, arch: Arch) -> str:
        """A key equal for architectures that compute the same function."""

    def _rank_of_index(self) -> np.ndarray:
        """Rank of the architecture at each official index (identity by default)."""
        return np.arange(self.size, dtype=np.int64)

    # ----- shared machinery ------------------------------------------------------------
    @property
    def num_decisions(self) -> int:
        return len(self.cardinalities)

    @cached_property
    def size(self) -> int:
        # a Python int: the product of a large space's cardinalities overflows int64
        return math.prod(int(c) for c in self.cardinalities)

    @property
    def enumerable(self) -> bool:
        """Whether the space is small enough for index order and a row per architecture."""
        return self.size <= self.enumeration_limit

    def require_enumerable(self, what: str) -> None:
        """Raise :class:`NotEnumerableError` (one sentence naming ``what``) if the space is too big."""
        if not self.enumerable:
            raise NotEnumerableError(
                f"{what} needs every architecture of search space {self.name!r} (or its index order), but it "
                f"has {self.size:.3g} architectures, more than can be enumerated ({self.enumeration_limit:,}); "
                "use what works on any space (sampling, mutation, encodings, a sampled or surrogate benchmark)"
            )

    @cached_property
    def _radix(self) -> np.ndarray:
        # weight of each decision in the rank: first decision most significant
        weights = np.ones(self.num_decisions, dtype=np.int64)
        for d in range(self.num_decisions - 2, -1, -1):
            weights[d] = weights[d + 1] * self.cardinalities[d + 1]
        return weights

    @cached_property
    def rank_of_index(self) -> np.ndarray:
        self.require_enumerable("the index order")
        ranks = np.asarray(self._rank_of_index(), dtype=np.int64)
        if not np.array_equal(np.sort(ranks), np.arange(self.size)):
            raise ValueError(f"{self.name}: the index order is not a permutation of the space")
        ranks.setflags(write=False)
        return ranks

    @cached_property
    def index_of_rank(self) -> np.ndarray:
        self.require_enumerable("the index order")
        inverse = np.empty(self.size, dtype=np.int64)
        inverse[self.rank_of_index] = np.arange(self.size, dtype=np.int64)
        inverse.setflags(write=False)
        return inverse

    @cached_property
    def all_archs(self) -> np.ndarray:
        """``[size, num_decisions]`` int8 array; row ``i`` is the arch with index ``i``."""
        self.require_enumerable("all_archs")
        ranks = self.rank_of_index
        cards = np.asarray(self.cardinalities, dtype=np.int64)
        vectors = (ranks[:, None] // self._radix[None, :]) % cards[None, :]
        out = vectors.astype(np.int8)
        out.setflags(write=False)
        return out

    @cached_property
    def all_strings(self) -> list[str]:
        """The string of every architecture, in index order (a benchmark's ``/archs``)."""
        self.require_enumerable("all_strings")
        # .tolist() converts to Python ints in C: 2.8x faster than int() per element (NB201:
        # 30 vs 85 ms), and every NB201 benchmark load checks its rows against this list
        return [self.to_string(tuple(row)) for row in self.all_archs.tolist()]

    def validate(self, arch: Arch) -> Arch:
        """Return ``arch`` as a tuple of ints, or raise ``ValueError`` if it is not in the space."""
        try:
            values = tuple(int(v) for v in arch)
        except (TypeError, ValueError):
            raise InvalidArchError(f"{self.name}: {arch!r} is not a decision vector of integers") from None
        if len(values) != self.num_decisions or any(
            not 0 <= v < c for v, c in zip(values, self.cardinalities)
        ):
            raise InvalidArchError(
                f"{self.name}: {arch!r} is not a valid decision vector; expected "
                f"{self.num_decisions} integers with maxima {[c - 1 for c in self.cardinalities]}"
            )
        return values

    def as_arch(self, arch: Arch | str) -> Arch:
        """``arch`` as a decision tuple: parsed if it is the space's string, validated otherwise;
        :class:`InvalidArchError` (one sentence) if it is neither."""
        if isinstance(arch, str):
            try:
                return self.from_string(arch)
            except InvalidArchError:
                raise
            except ValueError as exc:
                raise InvalidArchError(str(exc)) from None
        return self.validate(arch)

    def rank(self, arch: Arch) -> int:
        r = 0
        for value, weight in zip(arch, self._radix):
            r += int(value) * int(weight)
        return r

    @cached_property
    def _index_by_arch(self) -> dict[Arch, int]:
        # a dict lookup of a small tuple is ~10x faster than computing the rank
        self.require_enumerable("an architecture's index")
        return {tuple(row): i for i, row in enumerate(self.all_archs.tolist())}

    def index(self, arch: Arch) -> int:
        """Official index of ``arch`` (a tuple; see :meth:`validate` for other input)."""
        return self._index_by_arch[arch]

    def index_of(self, arch: Arch | str) -> int:
        """Official index of a decision tuple or an arch string (:class:`InvalidArchError` otherwise)."""
        try:
            return self._index_by_arch[arch]  # type: ignore[index]
        except (KeyError, TypeError):
            return self._index_by_arch[self.as_arch(arch)]

    def indices(self, archs: np.ndarray) -> np.ndarray:
        """Official indices of a ``[n, num_decisions]`` array of archs (vectorised)."""
        return self.index_of_rank[np.asarray(archs, dtype=np.int64) @ self._radix]

    def arch(self, index: int) -> Arch:
        """Decision vector of the architecture with official ``index``."""
        self.require_enumerable("an architecture by index")
        if not 0 <= int(index) < self.size:
            raise InvalidValueError(f"{self.name}: index {index} is outside 0..{self.size - 1}")
        return tuple(int(v) for v in self.all_archs[int(index)])

    def sample(self, rng: np.random.Generator) -> Arch:
        """A uniformly random architecture."""
        # one uniform draw per decision in a single generator call: Generator.integers
        # costs ~1 us per call and would dominate a tabular search loop
        return tuple(int(u * c) for u, c in zip(rng.random(self.num_decisions).tolist(), self.cardinalities))

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """Change exactly one decision to a different value (never a no-op)."""
        u_decision, u_shift = rng.random(2).tolist()
        decision = int(u_decision * self.num_decisions)
        shift = 1 + int(u_shift * (self.cardinalities[decision] - 1))
        out = list(arch)
        out[decision] = (out[decision] + shift) % self.cardinalities[decision]
        return tuple(out)

    def crossover(self, a: Arch, b: Arch, rng: np.random.Generator) -> Arch:
        """Uniform crossover: each decision taken from ``a`` or ``b`` with equal chance."""
        take_a = rng.random(self.num_decisions) < 0.5
        return tuple(int(x if t else y) for x, y, t in zip(a, b, take_a))

    def neighbours(self, arch: Arch) -> list[Arch]:
        """Every architecture that differs from ``arch`` in exactly one decision."""
        out = []
        for d, card in enumerate(self.cardinalities):
            for value in range(card):
                if value != arch[d]:
                    out.append(arch[:d] + (value,) + arch[d + 1 :])
        return out

    # ----- training: the space's own network builder ------------------------------------
    network_builder: str | None = None
    """``"module:function"`` that builds the torch network of an architecture, or None.

    Called as ``function(arch, channels, cells_per_stage, num_classes, in_channels,
    replicas)`` (see :func:`naslab.training.models.build_network`, NB201's): a module that
    maps ``[B, replicas * in_channels, H, W]`` to ``[B, replicas, num_classes]`` and names
    its classifier's input width ``features``. A string, so that a space never imports
    torch (or anything above it) until a network is built.
    """

    def build_network(self, arch: Arch, **recipe: int) -> Any:
        """The network of ``arch`` (see :attr:`network_builder`); one sentence if the space has none."""
        self.check_trainable()
        module, _, function = str(self.network_builder).partition(":")
        return getattr(importlib.import_module(module), function)(self.validate(arch), **recipe)

    def check_trainable(self) -> None:
        """Raise :class:`NotTrainableError` (one sentence) if the space has no network builder."""
        if self.network_builder is None:
            raise NotTrainableError(
                f"search space {self.name!r} has no network builder, so naslab cannot train its "
                "architectures; search a tabular or surrogate benchmark of it, or give the space "
                "a network_builder (as NB201Space does)"
            )

    # ----- what predictors and synthetic benchmarks read (override to specialise) ------
    encodings: tuple[str, ...] = ("onehot", "computed")
    """The encoding kinds :meth:`encode` understands (:mod:`naslab.surrogates.features`)."""
    default_encoding: str = "onehot+computed"
    """What ``encoding=auto`` means for this space (kinds combined with ``+``)."""

    def encode(self, archs: np.ndarray, kind: str) -> np.ndarray:
        """``[n, F]`` float32 encoding ``kind`` (one of :attr:`encodings`) of ``[n, num_decisions]`` archs.

        ``onehot``: :meth:`one_hot`. ``computed``: how many decisions take each value
        (when every decision has the same choices), and how many are not 0 (e.g. the
        non-identity layers of a macro chain). A space adds its own kinds (NB201: path
        and adjacency encodings) by overriding this, :meth:`encoding_names` and
        :attr:`encodings`.
        """
        archs = np.asarray(archs, dtype=np.int64).reshape(-1, self.num_decisions)
        if kind == "onehot":
            return self.one_hot(archs)
        if kind == "computed":
            columns = []
            cards = set(self.cardinalities)
            if len(cards) == 1:
                columns = [(archs == value).sum(axis=1) for value in range(cards.pop())]
            columns.append((archs != 0).sum(axis=1))
            return np.stack(columns, axis=1).astype(np.float32)
        raise InvalidValueError(f"encoding {kind!r} is not available for space {self.name!r}; choose from {list(self.encodings)}")

    def encoding_names(self, kind: str) -> list[str]:
        """A readable name per column of :meth:`encode` (for plots and debugging)."""
        if kind == "onehot":
            return [f"d{d}={label}" for d in range(self.num_decisions) for label in self.choice_labels(d)]
        if kind == "computed":
            cards = set(self.cardinalities)
            names = [f"count={v}" for v in range(cards.pop())] if len(cards) == 1 else []
            return [*names, "nonzero"]
        raise InvalidValueError(f"encoding {kind!r} is not available for space {self.name!r}; choose from {list(self.encodings)}")

    def choice_labels(self, decision: int) -> tuple[str, ...]:
        """Names of the values of ``decision`` (default: the numbers)."""
        return tuple(str(v) for v in range(self.cardinalities[decision]))

    def relative_size(self, archs: np.ndarray) -> np.ndarray:
        """A rough count of parametric operations per architecture, ``[n]`` ints.

        Synthetic benchmarks make training time, params and flops grow with it. The
        default, the sum of the decision values, suits spaces whose choices grow in
        size with their value (NAS-Bench-Macro: identity < MB e3 < MB e6).
        """
        return np.asarray(archs, dtype=np.int64).reshape(-1, self.num_decisions).sum(axis=1)

    @cached_property
    def one_hot_width(self) -> int:
        return int(sum(self.cardinalities))

    @cached_property
    def one_hot_offsets(self) -> np.ndarray:
        """Where each decision's block starts in a one-hot row (computed once: strategies encode per step)."""
        return np.concatenate([[0], np.cumsum(self.cardinalities)[:-1]]).astype(np.int64)

    def one_hot(self, archs: np.ndarray | Arch) -> np.ndarray:
        """One-hot encoding, ``[n, sum(cardinalities)]`` float32 (or 1-D for one arch)."""
        vectors = np.asarray(archs, dtype=np.int64)
        single = vectors.ndim == 1
        vectors = np.atleast_2d(vectors)
        out = np.zeros((vectors.shape[0], self.one_hot_width), dtype=np.float32)
        rows = np.arange(vectors.shape[0])[:, None]
        out[rows, vectors + self.one_hot_offsets[None, :]] = 1.0
        return out[0] if single else out

    @cached_property
    def canonical_ids(self) -> np.ndarray:
        """Canonical class id of every index: equal ids = isomorphic architectures.

        Ids are numbered by the first official index at which a class appears, so the
        array is a pure function of the space.
        """
        self.require_enumerable("canonical_ids")
        seen: dict[str, int] = {}
        ids = np.empty(self.size, dtype=np.int32)
        for i, row in enumerate(self.all_archs.tolist()):
            key = self.canonical(tuple(row))
            ids[i] = seen.setdefault(key, len(seen))
        ids.setflags(write=False)
        return ids
