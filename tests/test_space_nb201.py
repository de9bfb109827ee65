"""The NAS-Bench-201 cell space: strings, official index order, operators, canonical keys."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from naslab.spaces import NB201Space, get_space
from naslab.spaces.nb201 import EDGES, OPS

SPACE = NB201Space()
INDEX0 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
archs = st.tuples(*[st.integers(0, 4)] * 6)


def test_size_and_index_zero():
    assert SPACE.size == 15625
    assert SPACE.to_string(SPACE.arch(0)) == INDEX0
    assert get_space("nb201") is get_space("nb201")


def test_official_index_order_matches_published_benchmark(shared_benchmarks):
    path = shared_benchmarks / "nb201-cifar10-12ep" / "cifar10_12ep_seedmean.csv"
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == SPACE.size
    mismatches = [r["index"] for r in rows if SPACE.to_string(SPACE.arch(int(r["index"]))) != r["arch"]]
    assert mismatches == []


def test_all_strings_are_each_index_s_string_in_index_order():
    strings = NB201Space().all_strings  # a fresh space: built here, not cached by another test
    assert len(strings) == SPACE.size and strings[0] == INDEX0
    assert strings == [SPACE.to_string(SPACE.arch(i)) for i in range(SPACE.size)]


@given(archs)
def test_string_index_round_trip(arch):
    text = SPACE.to_string(arch)
    assert SPACE.from_string(text) == arch
    assert SPACE.arch(SPACE.index(arch)) == arch
    assert SPACE.indices(np.array([arch]))[0] == SPACE.index(arch)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "|nor_conv_3x3~0|",
        INDEX0.replace("avg_pool_3x3", "max_pool_3x3"),
        INDEX0.replace("~0|+", "~1|+", 1),
        INDEX0[:-1],
        None,
    ],
)
def test_bad_string_is_one_clear_sentence(bad):
    with pytest.raises(ValueError) as info:
        SPACE.from_string(bad)
    message = str(info.value)
    assert repr(bad) in message and "expected" in message and "\n" not in message


@settings(max_examples=200)
@given(archs, st.integers(0, 2**32 - 1))
def test_mutate_changes_exactly_one_decision(arch, seed):
    child = SPACE.mutate(arch, np.random.default_rng(seed))
    assert sum(a != b for a, b in zip(arch, child)) == 1
    assert SPACE.validate(child) == child


@given(archs, archs, st.integers(0, 2**32 - 1))
def test_crossover_takes_every_decision_from_a_parent(a, b, seed):
    child = SPACE.crossover(a, b, np.random.default_rng(seed))
    assert all(c in (x, y) for c, x, y in zip(child, a, b))


def test_crossover_mixes_parents():
    rng = np.random.default_rng(0)
    children = {SPACE.crossover((0,) * 6, (1,) * 6, rng) for _ in range(50)}
    assert len(children) > 10


@given(archs)
def test_neighbours_are_all_single_changes(arch):
    neighbours = SPACE.neighbours(arch)
    assert len(neighbours) == len(set(neighbours)) == 6 * 4
    assert all(sum(a != b for a, b in zip(arch, n)) == 1 for n in neighbours)


def test_sample_is_uniform_enough_and_seeded():
    rng = np.random.default_rng(0)
    draws = np.array([SPACE.sample(rng) for _ in range(5000)])
    counts = np.stack([np.bincount(draws[:, d], minlength=5) for d in range(6)])
    assert counts.min() > 850 and counts.max() < 1150
    assert SPACE.sample(np.random.default_rng(5)) == SPACE.sample(np.random.default_rng(5))


def test_one_hot():
    arch = (0, 1, 2, 3, 4, 0)
    encoded = SPACE.one_hot(arch)
    assert encoded.shape == (30,)
    assert np.flatnonzero(encoded).tolist() == [0, 6, 12, 18, 24, 25]
    batch = SPACE.one_hot(SPACE.all_archs[:10])
    assert batch.shape == (10, 30) and (batch.sum(axis=1) == 6).all()


def s(text: str) -> tuple[int, ...]:
    return SPACE.from_string(text)


def test_canonical_merges_cells_computing_the_same_function():
    # node 1 feeds nothing that reaches the output: its incoming op is irrelevant
    a = s("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|skip_connect~2|")
    b = s("|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|skip_connect~2|")
    assert SPACE.canonical(a) == SPACE.canonical(b)
    # summands commute: conv3 on 0->1->3 plus skip, vs the same with edges swapped roles
    c = s("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_1x1~1|none~2|")
    d = s("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_1x1~1|none~2|")
    assert SPACE.canonical(c) == SPACE.canonical(d)
    # every cell whose output is cut off from the input shares one key
    dead1 = s("|none~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    dead2 = s("|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert SPACE.canonical(dead1) == SPACE.canonical(dead2)
    assert SPACE.canonical(dead1).startswith("0 ")


def test_canonical_separates_different_functions():
    a = s("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|nor_conv_1x1~1|none~2|")
    b = s("|nor_conv_1x1~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|")  # order of ops matters
    c = s("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_1x1~1|none~2|")  # extra skip
    assert len({SPACE.canonical(x) for x in (a, b, c)}) == 3


def nb201_rule(arch):
    """NAS-Bench-201's own key, ``to_unique_str(consider_zero=True)``."""
    nodes = ["0"]
    for node in range(1, 4):
        terms = []
        for d, (dst, src) in enumerate(EDGES):
            if dst != node:
                continue
            op = OPS[arch[d]]
            if op == "none" or nodes[src] == "#":
                terms.append("#")
            elif op == "skip_connect":
                terms.append(nodes[src])
            else:
                terms.append(f"({nodes[src]})@{op}")
        nodes.append("+".join(sorted(terms)))
    return nodes[-1]


def test_canonical_class_counts():
    assert int(SPACE.canonical_ids.max()) + 1 == 5260
    assert len({nb201_rule(tuple(row)) for row in SPACE.all_archs}) == 6466


def test_we_merge_added_zeros_that_nb201_keeps_apart():
    a = s("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|")
    b = s("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|skip_connect~2|")  # + node 2 = 0
    assert SPACE.canonical(a) == SPACE.canonical(b)
    assert nb201_rule(a) != nb201_rule(b)


def test_we_separate_shared_weights_that_nb201_merges():
    # conv_a(x) + conv_b(conv_a(x)): one conv reused, two convs in all
    shared = s("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|none~0|skip_connect~1|skip_connect~2|")
    # conv_c(x) + conv_b(conv_a(x)): three convs, same expression tree
    separate = s("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|nor_conv_3x3~0|none~1|skip_connect~2|")
    assert nb201_rule(shared) == nb201_rule(separate)
    assert SPACE.canonical(shared) != SPACE.canonical(separate)


def test_live_edges():
    arch = s("|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|")
    # edge 2<-1 is fed by node 1, which is always zero
    assert SPACE.live_edges(arch) == (False, True, False, False, False, True)
    full = s("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
    assert all(SPACE.live_edges(full))


def test_validate_rejects_out_of_space_vectors():
    for bad in [(0, 1, 2), (0, 1, 2, 3, 4, 5), ("a",) * 6]:
        with pytest.raises(ValueError, match="nb201"):
            SPACE.validate(bad)
