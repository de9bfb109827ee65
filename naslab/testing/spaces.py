"""The contract every search space keeps (fixture ``space``: a :class:`CategoricalSpace`).

Strings round-trip and bad strings are refused in one sentence; the index order is a
permutation that ``arch``/``index``/``indices``/``all_archs`` agree on; the canonical
key is a deterministic string, equal within a class, numbered by first index; mutation
changes exactly one decision (never a no-op); neighbours are every one-decision change,
once; crossover takes each decision from a parent; every encoding the space declares
has one named float32 column per feature; sampling covers the space.

Checks that look at every architecture run on all of them when the space is small
(``exhaustive_limit``), else on a seeded sample of ``num_samples``. A space that is not
:attr:`~naslab.spaces.CategoricalSpace.enumerable` (DARTS, ~1e18) must instead refuse
everything index-based in one sentence (:class:`~naslab.spaces.base.NotEnumerableError`),
and every other check runs on samples.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

import numpy as np
import pytest

from naslab.spaces import CategoricalSpace
from naslab.spaces.base import NotEnumerableError


class SpaceContract:
    """Subclass as ``TestMySpace(SpaceContract)`` and provide the ``space`` fixture."""

    exhaustive_limit: ClassVar[int] = 20_000
    num_samples: ClassVar[int] = 500
    bad_strings: ClassVar[tuple[Any, ...]] = ("", "not an architecture", None)
    """Strings ``from_string`` must refuse (add the near-misses of your format)."""

    @pytest.fixture
    def space(self) -> CategoricalSpace:
        raise NotImplementedError("a SpaceContract subclass defines the space fixture")

    @staticmethod
    def archs(space: CategoricalSpace, limit: int, num_samples: int) -> list[tuple[int, ...]]:
        if space.enumerable and space.size <= limit:
            return [space.arch(i) for i in range(space.size)]
        rng = np.random.default_rng(0)
        return [space.sample(rng) for _ in range(num_samples)]

    def _archs(self, space: CategoricalSpace) -> list[tuple[int, ...]]:
        return self.archs(space, self.exhaustive_limit, self.num_samples)

    def test_declares_its_decisions(self, space):
        assert isinstance(space.name, str) and space.name
        assert space.num_decisions >= 1 and all(int(c) >= 2 for c in space.cardinalities)
        for d in range(space.num_decisions):
            assert len(space.choice_labels(d)) == space.cardinalities[d]

    def test_string_round_trip(self, space):
        strings = set()
        for arch in self._archs(space):
            text = space.to_string(arch)
            assert isinstance(text, str) and space.from_string(text) == arch
            strings.add(text)
        assert len(strings) == len(set(self._archs(space))), "two architectures share a string"

    def test_bad_strings_are_refused_in_one_sentence(self, space):
        for bad in self.bad_strings:
            with pytest.raises(ValueError) as info:
                space.from_string(bad)
            assert "\n" not in str(info.value) and repr(bad) in str(info.value)

    def test_validate_refuses_what_is_not_in_the_space(self, space):
        arch = space.sample(np.random.default_rng(0))
        too_big = (space.cardinalities[0], *arch[1:])
        for bad in (arch[:-1], (*arch, 0), too_big, (-1, *arch[1:])):
            with pytest.raises(ValueError):
                space.validate(bad)
        assert space.validate([int(v) for v in arch]) == arch

    def test_index_order(self, space):
        if not space.enumerable:
            arch = space.sample(np.random.default_rng(0))
            for needs_every_arch in (
                lambda: space.all_archs, lambda: space.all_strings, lambda: space.index(arch),
                lambda: space.index_of(space.to_string(arch)), lambda: space.indices(np.array([arch])),
                lambda: space.arch(0), lambda: space.rank_of_index, lambda: space.canonical_ids,
            ):
                with pytest.raises(NotEnumerableError) as info:
                    needs_every_arch()
                assert "\n" not in str(info.value) and space.name in str(info.value)
            return
        ranks = space.rank_of_index
        assert sorted(ranks.tolist()) == list(range(space.size))
        archs = self._archs(space)
        indices = [space.index(a) for a in archs]
        assert [space.arch(i) for i in indices] == archs
        assert space.indices(np.array(archs)).tolist() == indices
        assert [tuple(int(v) for v in space.all_archs[i]) for i in indices] == archs
        with pytest.raises(ValueError):
            space.arch(space.size)

    def test_canonical_key_invariants(self, space):
        archs = self._archs(space)
        keys = [space.canonical(a) for a in archs]
        assert all(isinstance(k, str) for k in keys)
        assert keys == [space.canonical(tuple(a)) for a in archs], "the key is not deterministic"
        if space.enumerable and space.size <= self.exhaustive_limit:
            ids = space.canonical_ids
            assert ids.shape == (space.size,)
            first_seen: dict[int, int] = {}
            for index, class_id in enumerate(ids.tolist()):
                first_seen.setdefault(class_id, index)
            # classes are numbered 0, 1, 2 ... in order of their first member's index
            assert sorted(first_seen, key=first_seen.__getitem__) == list(range(len(first_seen)))
            by_key = {}
            for index, key in enumerate(keys):
                assert by_key.setdefault(key, ids[index]) == ids[index], "one key, two class ids"
            assert len(by_key) == len(first_seen)

    def test_mutate_changes_exactly_one_decision(self, space):
        rng = np.random.default_rng(1)
        for arch in self._archs(space)[: self.num_samples]:
            child = space.mutate(arch, rng)
            assert space.validate(child) == child and all(type(v) is int for v in child)
            assert sum(a != b for a, b in zip(arch, child)) == 1, f"mutate({arch}) gave {child}"

    def test_neighbours_are_every_one_decision_change_once(self, space):
        expected = sum(c - 1 for c in space.cardinalities)
        for arch in self._archs(space)[:50]:
            neighbours = space.neighbours(arch)
            assert len(neighbours) == len(set(neighbours)) == expected
            for other in neighbours:
                assert space.validate(other) == other
                assert sum(a != b for a, b in zip(arch, other)) == 1

    def test_crossover_takes_each_decision_from_a_parent(self, space):
        rng = np.random.default_rng(2)
        for _ in range(100):
            a, b = space.sample(rng), space.sample(rng)
            child = space.crossover(a, b, rng)
            assert space.validate(child) == child
            assert all(c in (x, y) for c, x, y in zip(child, a, b))

    def test_sample_is_valid_and_covers_every_choice(self, space):
        rng = np.random.default_rng(3)
        samples = [space.sample(rng) for _ in range(50 * max(space.cardinalities))]
        for arch in samples:
            assert space.validate(arch) == arch and all(type(v) is int for v in arch)
        for d, card in enumerate(space.cardinalities):
            assert set(Counter(a[d] for a in samples)) == set(range(card)), f"decision {d} not covered"
        again = np.random.default_rng(3)
        assert [space.sample(again) for _ in range(len(samples))] == samples

    def test_every_declared_encoding(self, space):
        assert "onehot" in space.encodings
        for part in space.default_encoding.split("+"):
            assert part in space.encodings
        archs = np.array(self._archs(space)[:200])
        for kind in space.encodings:
            features = space.encode(archs, kind)
            assert features.dtype == np.float32 and features.shape[0] == len(archs)
            assert len(space.encoding_names(kind)) == features.shape[1], kind
            assert np.isfinite(features).all(), kind
            assert np.array_equal(space.encode(archs[:1], kind), features[:1]), f"{kind} depends on the batch"
        with pytest.raises(ValueError):
            space.encode(archs, "no-such-encoding")
        sizes = space.relative_size(archs)
        assert sizes.shape == (len(archs),) and (sizes >= 0).all()
