"""The DARTS cell space: genotype strings, the canonical key, encodings, and its network."""

from __future__ import annotations

import numpy as np
import pytest

from naslab.spaces import get_space
from naslab.spaces.base import InvalidArchError, NotEnumerableError
from naslab.spaces.darts import OPS, PAIRS, _decisions_of, cell_orbit

# DARTS_V2 of quark0/darts cnn/genotypes.py (its node inputs listed in the order DARTS prints them)
DARTS_V2 = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)


@pytest.fixture(scope="module")
def space():
    return get_space("darts")


def test_size_and_decisions(space):
    assert space.num_decisions == 22
    assert space.size == (7**8 * 3 * 6 * 10) ** 2
    assert not space.enumerable
    assert len(space.neighbours(space.sample(np.random.default_rng(0)))) == 128


def test_genotype_strings_round_trip_to_the_normalised_form(space):
    arch = space.from_string(DARTS_V2)
    text = space.to_string(arch)
    # the normalised string lists each node's lower input first: node 4 of the normal cell swapped
    assert "('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('dil_conv_3x3', 2)" in text
    assert text.startswith("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)")
    assert space.from_string(text) == arch and space.to_string(space.from_string(text)) == text
    # what DARTS's model_search.py prints: range(2, 6) for the concatenations, other spacing
    printed = DARTS_V2.replace("[2, 3, 4, 5]", "range(2, 6)").replace(", ", ",")
    assert space.from_string(printed) == arch
    rng = np.random.default_rng(0)
    for _ in range(200):
        a = space.sample(rng)
        assert space.from_string(space.to_string(a)) == a


@pytest.mark.parametrize("bad, says", [
    (DARTS_V2.replace("('sep_conv_3x3', 0)", "('none', 0)", 1), "op 'none'"),
    (DARTS_V2.replace("('skip_connect', 0), ('dil_conv_3x3', 2)", "('skip_connect', 2), ('dil_conv_3x3', 2)"),
     "reads input 2 twice"),
    (DARTS_V2.replace("('sep_conv_3x3', 1), ('skip_connect', 0)", "('sep_conv_3x3', 4), ('skip_connect', 0)"),
     "reads input 4"),
    (DARTS_V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[4, 5]"), "normal_concat is [4, 5]"),
    (DARTS_V2.replace(", reduce_concat=[2, 3, 4, 5]", ""), "reduce_concat are missing"),
    ("Genotype(normal=__import__('os').getcwd(), normal_concat=[2], reduce=[], reduce_concat=[2])", "not a literal"),
    ("|nor_conv_3x3~0|+|", "not a Genotype(...) expression"),
    (None, "not a string"),
])
def test_bad_strings_are_one_sentence_naming_the_problem(space, bad, says):
    with pytest.raises(InvalidArchError) as info:
        space.from_string(bad)
    message = str(info.value)
    assert says in message and "expected Genotype(normal=" in message and "\n" not in message


def _rename(space, arch, cell, new):
    """``arch`` with cell ``cell``'s intermediate states renamed old -> new[old] (a valid renaming)."""
    cells = list(space.cells(arch))
    nodes = [None] * 4
    for i, (a, op_a, b, op_b) in enumerate(cells[cell]):
        a, b = new[a], new[b]
        nodes[new[2 + i] - 2] = (a, op_a, b, op_b) if a < b else (b, op_b, a, op_a)
    cells[cell] = tuple(nodes)
    return _decisions_of(cells[0]) + _decisions_of(cells[1])


def test_canonical_key_merges_renamed_nodes_and_nothing_else(space):
    sep3, skip, avg = OPS.index("sep_conv_3x3"), OPS.index("skip_connect"), OPS.index("avg_pool_3x3")
    # normal cell: nodes 2 and 3 read only the cell inputs, so they can swap names; node 4 reads 2
    normal = ((0, sep3, 1, skip), (0, avg, 1, avg), (1, sep3, 2, sep3), (0, skip, 4, sep3))
    reduce = ((0, avg, 1, avg), (0, skip, 2, sep3), (1, sep3, 3, skip), (2, avg, 4, sep3))
    arch = _decisions_of(normal) + _decisions_of(reduce)
    swapped = _rename(space, arch, 0, (0, 1, 3, 2, 4, 5))
    assert swapped != arch and space.canonical(swapped) == space.canonical(arch)
    # swapping the cell inputs c_{k-2} and c_{k-1} is a different network
    other = _decisions_of(((0, skip, 1, sep3), *normal[1:])) + _decisions_of(reduce)
    assert space.canonical(other) != space.canonical(arch)
    # the reduction cell is a chain 2 -> 3 -> 4 -> 5: no renaming keeps it valid
    assert len(cell_orbit(space.cells(arch)[1])) == 1
    # normal cell: 2 -> 4 -> 5 must keep their order, node 3 (inputs only) goes in any of 4 places
    assert space.class_size(arch) == 4
    # the key is a genotype of the class, and a fixed point
    key_arch = space.from_string(space.canonical(arch))
    assert key_arch in (arch, swapped) and space.canonical(key_arch) == space.canonical(arch)


def test_every_member_of_an_orbit_has_the_key(space):
    rng = np.random.default_rng(4)
    for _ in range(30):
        arch = space.sample(rng)
        normal, reduce = space.cells(arch)
        members = {_decisions_of(n) + _decisions_of(r) for n in cell_orbit(normal) for r in cell_orbit(reduce)}
        assert arch in members and len(members) == space.class_size(arch)
        assert {space.canonical(m) for m in members} == {space.canonical(arch)}


def test_index_based_access_refuses_in_one_sentence(space):
    with pytest.raises(NotEnumerableError, match=r"all_archs needs every architecture of search space 'darts'"):
        space.all_archs
    with pytest.raises(NotEnumerableError):
        space.index(space.sample(np.random.default_rng(0)))


def test_encodings(space):
    rng = np.random.default_rng(5)
    archs = np.array([space.sample(rng) for _ in range(20)])
    adjacency = space.encode(archs, "adjacency")
    assert adjacency.shape == (20, 2 * 14 * 7)
    # every node has exactly two incoming edges, each with one op
    assert (adjacency.reshape(20, 2, 14, 7).sum(axis=(2, 3)) == 8).all()
    computed = space.encode(archs, "computed").reshape(20, 2, 11)
    assert (computed[:, :, :7].sum(axis=2) == 8).all() and (computed[:, :, 7:10].sum(axis=2) == 8).all()
    assert ((computed[:, :, 10] >= 1) & (computed[:, :, 10] <= 4)).all()
    # node 0 of each cell always reads c_{k-2} and c_{k-1}
    assert (computed[:, :, 7] >= 1).all() and (computed[:, :, 8] >= 1).all()
    assert space.choice_labels(2) == tuple(f"{a}+{b}" for a, b in PAIRS[1])


# ----- the network -------------------------------------------------------------------------------
torch = pytest.importorskip("torch")


def test_network_layout(space, one_torch_thread):
    from naslab.training.darts_models import DartsNetwork

    arch = space.sample(np.random.default_rng(6))
    net = space.build_network(arch, channels=4, cells_per_stage=2, num_classes=10, in_channels=1, replicas=1)
    assert isinstance(net, DartsNetwork)
    strides = [any(getattr(m, "stride", (1, 1)) in (2, (2, 2)) for m in cell.ops.modules()) for cell in net.cells]
    assert strides == [False, False, True, False, False, True, False, False]  # 3N+2 cells, reductions at N, 2N+1
    assert net.features == 4 * 4 * 4  # 4 nodes x 4C after two doublings
    assert net(torch.zeros(5, 1, 8, 8)).shape == (5, 1, 10)


def test_replicas_are_independent_networks(space, one_torch_thread):
    """Replica r of an R-replica network trains exactly like a one-replica network of seed r."""
    from naslab.training.models import init_replicas

    arch = space.sample(np.random.default_rng(7))
    seeds = [3, 4, 5]
    x = torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 10, (16,), generator=torch.Generator().manual_seed(1))

    def one_step(net, inputs, replicas):
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        logits = net(inputs)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 10), y[:, None].expand(-1, replicas).reshape(-1))
        (loss * replicas).backward()
        opt.step()
        net.eval()
        with torch.no_grad():
            return net(inputs)

    many = space.build_network(arch, channels=4, cells_per_stage=1, num_classes=10, in_channels=1, replicas=3)
    init_replicas(many, seeds)
    out_many = one_step(many, x.repeat(1, 3, 1, 1), 3)
    for r, seed in enumerate(seeds):
        one = space.build_network(arch, channels=4, cells_per_stage=1, num_classes=10, in_channels=1, replicas=1)
        init_replicas(one, [seed])
        assert torch.allclose(one_step(one, x, 1)[:, 0], out_many[:, r], atol=1e-5)
    assert not torch.allclose(out_many[:, 0], out_many[:, 1])


def test_fast_depthwise_conv_is_torchs_conv(one_torch_thread):
    import torch.nn.functional as F

    from naslab.training.darts_models import DepthwiseConv2d

    gen = torch.Generator().manual_seed(0)
    for size in (2, 4, 5, 8):
        for kernel, dilation, stride in ((3, 1, 1), (5, 1, 2), (3, 2, 1), (5, 2, 2)):
            conv = DepthwiseConv2d(6, 6, kernel, stride, padding=dilation * (kernel // 2), dilation=dilation,
                                   groups=6, bias=False)
            x = torch.randn(3, 6, size, size, generator=gen).contiguous(memory_format=torch.channels_last)
            x.requires_grad_()
            out = conv(x)
            ref = F.conv2d(x, conv.weight, None, conv.stride, conv.padding, conv.dilation, conv.groups)
            grad = torch.randn(ref.shape, generator=gen)
            got = torch.autograd.grad(out, (x, conv.weight), grad)
            want = torch.autograd.grad(ref, (x, conv.weight), grad)
            assert out.shape == ref.shape and torch.allclose(out, ref, atol=1e-5)
            assert all(torch.allclose(g, w, atol=1e-4) for g, w in zip(got, want))


def test_renamed_nodes_build_the_same_sized_network(space):
    from naslab.training.models import count_flops, count_params

    arch = space.sample(np.random.default_rng(8))
    twin = space.from_string(space.canonical(arch))
    shape = (arch, 8, 1, 10, 1)
    assert count_params(*shape, space=space) == count_params(twin, *shape[1:], space=space) > 0
    assert count_flops(*shape, 8, space=space) == count_flops(twin, *shape[1:], 8, space=space) > 0


def test_trains_through_the_fast_trainer(space, one_torch_thread):
    from naslab.training.data import load_dataset
    from naslab.training.trainer import Recipe, train_seeds

    splits = load_dataset("digits", 200, 200, 100)
    recipe = Recipe(train_size=200, val_size=200, test_size=100, epochs=3, channels=4, batch_size=64)
    arch = space.from_string(DARTS_V2)
    record = train_seeds(arch, recipe, splits, [0, 1], device="cpu", space=space)
    assert record.metrics["val_acc"].shape == (2, 3)
    assert np.isfinite(record.metrics["val_acc"]).all()
    assert (record.metrics["train_loss"][:, -1] < 0.7 * np.log(10)).all()  # it learns: chance is ln 10
    again = train_seeds(arch, recipe, splits, [1], device="cpu", space=space)
    # the same training as replica 1 of 2, up to float rounding (which chaotic SGD grows over the epochs)
    np.testing.assert_allclose(again.metrics["train_loss"][0, 0], record.metrics["train_loss"][1, 0], rtol=1e-3)
