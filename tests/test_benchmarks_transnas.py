"""TransNAS-Bench-101 micro and macro read in place from ../shared (real data)."""

from __future__ import annotations

import numpy as np
import pytest

from naslab.benchmarks.importers import transnas
from naslab.evaluators.tabular import TabularEvaluator
from naslab.runner import Budget, run_search
from naslab.spaces import get_space
from naslab.strategies.random_search import RandomSearch

pytestmark = pytest.mark.shared


@pytest.fixture
def folder(shared_benchmarks):
    return shared_benchmarks / "transnas-bench-101"


@pytest.mark.parametrize(("space", "count", "low", "high"), [("micro", 4096, 21.2, 45.6), ("macro", 3256, 39.1, 47.4)])
def test_every_published_architecture_lands_in_its_row(folder, space, count, low, high):
    bench = transnas.load(space, "class_object", folder)
    values = bench.table("val_acc")
    known = ~np.isnan(values)
    sp = bench.space
    # every published network has a row (macro: its chain); the macro vectors left out break TNB101's rules
    key = sp.to_string if space == "micro" else sp.canonical
    assert len({key(sp.arch(int(i))) for i in np.flatnonzero(known)}) == count
    assert round(float(np.nanmin(values)), 1) == low and round(float(np.nanmax(values)), 1) == high
    if space == "macro":
        for i in np.flatnonzero(~known)[:200].tolist():
            assert not sp.is_network(sp.chain(sp.arch(i)))
        same = [sp.from_string(s) for s in ("123400", "102034", "001234")]
        assert len({bench.query(sp.index(a), "val_acc") for a in same}) == 1


def test_room_layout_is_a_minimised_loss_and_regret_is_on_it(folder):
    bench = transnas.load("micro", "room_layout", folder)
    assert bench.search_metric == "val_l2_loss" and bench.search_direction == "min"
    loss = bench.table("val_l2_loss")
    assert np.nanmin(loss) == pytest.approx(0.601, abs=1e-3)  # the README's range: -1.09 to -0.60
    evaluator = TabularEvaluator(bench)
    trajectory = run_search(RandomSearch, evaluator, seed=0, budget=Budget(queries=100),
                            objective=__import__("naslab.objectives", fromlist=["x"]).search_metric())
    inc = bench.index_of(trajectory.incumbent.arch)
    assert trajectory.regret == pytest.approx(float(loss[inc]) - float(np.nanmin(loss.astype(np.float64))), abs=1e-5)
    assert trajectory.incumbent.val_loss == pytest.approx(float(np.nanmin([r for r in trajectory.column("val_loss")])))


def test_micro_strings_are_tnb101_encodings_and_isomorphic_cells_share_a_key():
    sp = get_space("tnb101_micro")
    arch = sp.from_string("64-41414-1_02_333")
    assert arch == (1, 0, 2, 3, 3, 3) and sp.to_string(arch) == "64-41414-1_02_333"
    # node 1 unused (its only consumers are 'none'): the op on edge 0->1 does not matter
    assert sp.canonical(sp.from_string("64-41414-2_30_300")) == sp.canonical(sp.from_string("64-41414-3_30_300"))
    with pytest.raises(ValueError, match="not a TransNAS-Bench-101 micro cell"):
        sp.from_string("64-41414-4_00_000")


def test_missing_folder_is_one_sentence(tmp_path):
    with pytest.raises(transnas.SourceFileError, match="does not exist; point benchmark.loader.folder"):
        transnas.load("micro", "jigsaw", tmp_path)
