"""NAS-Bench-Graph read from the installed nas-bench-graph package (real data)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from naslab.spaces import get_space

pytest.importorskip("nas_bench_graph", reason="nas-bench-graph is not installed (pip install 'naslab[benchmarks]')")

from naslab.benchmarks.importers import nas_bench_graph  # noqa: E402


@pytest.fixture(scope="module")
def cora():
    return nas_bench_graph.load("cora")


def _classes(space):
    skip = space.ops.index("skip")
    valid = np.any(space.all_archs[:, [0, 2, 4, 6]] != skip, axis=1)
    return {k for k, ok in zip(space.canonical_keys, valid) if ok}


@pytest.mark.parametrize(("name", "published"), [("nas_bench_graph", 26206), ("nas_bench_graph_proteins", 2021)])
def test_canonical_key_reproduces_the_published_number_of_architectures(name, published):
    assert len(_classes(get_space(name))) == published


def test_every_vector_answers_the_record_of_its_class_as_the_package_hashes_it(cora):
    from nas_bench_graph.architecture import Arch

    table = nas_bench_graph._read("cora")[0]
    space = cora.space
    rng = np.random.default_rng(0)
    checked = 0
    for i in rng.choice(space.size, 400, replace=False).tolist():
        arch = space.arch(i)
        link, ops = space.link_and_ops(arch)
        names = [space.ops[o] for o in ops]
        if names == ["skip"] * 4:
            continue
        record = table[Arch(list(link), names).valid_hash()]  # the package's own lookup
        assert cora.query(i, "val_acc") == pytest.approx(100 * record["valid_perf"], rel=1e-6)
        assert cora.query(i, "test_acc") == pytest.approx(100 * record["perf"], rel=1e-6)
        checked += 1
    assert checked > 350


def test_siblings_commute_and_the_all_skip_cell_fails(cora):
    from naslab.evaluators.tabular import TabularEvaluator

    space = cora.space
    # the package README's example in two orders; its README writes the second as
    # [0,1,1,2], which the package's own valid_hash (and naslab) treat as another network
    a = space.from_string("0,1,2,1|gcn,gin,fc,cheb")
    b = space.from_string("0,1,1,3|gcn,cheb,gin,fc")
    assert space.canonical(space.from_string("0,1,1,2|gcn,cheb,gin,fc")) != space.canonical(a)
    assert a != b and space.canonical(a) == space.canonical(b)
    assert cora.query(space.index(a), "val_acc") == cora.query(space.index(b), "val_acc")
    evaluator = TabularEvaluator(cora)
    assert evaluator.evaluate(space.from_string("0,0,1,2|skip,skip,skip,skip")).status == "failed"
    assert evaluator.evaluate(a).status == "ok" and evaluator.evaluate(a).params > 0


def test_strings_round_trip_and_bad_strings_say_what_is_expected():
    space = get_space("nas_bench_graph_proteins")
    for arch in itertools.islice(itertools.product(*[range(c) for c in space.cardinalities]), 0, None, 997):
        assert space.from_string(space.to_string(arch)) == arch
    with pytest.raises(ValueError, match="is not a nas_bench_graph_proteins architecture; expected"):
        space.from_string("0,1,2,1|gcn,gin,fc,cheb")  # gin is not a proteins op
    with pytest.raises(ValueError, match="expected"):
        space.from_string("0,0,3,1|gcn,gcn,gcn,gcn")  # node 3 cannot read node 3
