"""The NB201 paper protocol: official index order, the preset, and a small reproduction."""

from __future__ import annotations

import csv
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from naslab.benchmarks.convert import main as convert_main
from naslab.spaces.nb201 import NB201Space

REPO_ROOT = Path(__file__).resolve().parent.parent
# as tests/conftest.py's shared_benchmarks (the paths are needed at collection, for the parametrisation)
SHARED = Path(os.environ.get("NASLAB_SHARED_BENCHMARKS") or REPO_ROOT.parent / "shared" / "benchmarks")
CSV_12 = SHARED / "nb201-cifar10-12ep/cifar10_12ep_seedmean.csv"
CSV_200 = SHARED / "nb201-cifar10-valid-200ep/cifar10-valid_200ep_seedmean.csv"
LATENCY = SHARED / "nb201-latency/nb201_latency_ms_23devices.csv"


def load_script():
    spec = importlib.util.spec_from_file_location("reproduce_nb201", REPO_ROOT / "analysis" / "reproduce_nb201.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def nb201_file(tmp_path_factory):
    if not SHARED.is_dir():
        pytest.skip(f"published benchmark data not found at {SHARED} (../shared beside the repo)")
    out = tmp_path_factory.mktemp("imported") / "nb201_c10.h5"
    assert convert_main(["nb201_c10", str(CSV_12), str(CSV_200), str(out), "--latency", str(LATENCY)]) == 0
    return out


@pytest.mark.shared
@pytest.mark.parametrize("path,arch_column", [(CSV_12, "arch"), (CSV_200, "arch_str"), (LATENCY, "arch")])
def test_nb201_space_index_matches_every_published_row(path, arch_column, shared_benchmarks):
    space = NB201Space()
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == space.size == 15625
    for row in rows:
        assert space.to_string(space.arch(int(row["index"]))) == row[arch_column], row["index"]


def test_preset_sets_the_paper_protocol():
    script = load_script()
    cfg = script.compose(["+experiment=nb201_c10_paper", "strategy=evolution"])
    assert cfg.fidelity == 12 and cfg.budget.sim_seconds == 12000 and cfg.budget.queries is None
    assert cfg.benchmark.name == "nb201_c10" and cfg.evaluator.val_metric == "val_acc"
    assert cfg.paper.report_epoch == 200 and cfg.paper.seeds == 100
    assert dict(cfg.paper.strategies.evolution) == {"population_size": 10, "sample_size": 3}


@pytest.mark.shared
def test_small_reproduction_follows_the_protocol(nb201_file, tmp_path):
    """10 seeds of RS and REA: budget, cost per query and the reported column are the paper's."""
    from naslab.benchmarks.tabular import load_benchmark
    from naslab.run_folder import load_runs

    script = load_script()
    rows = script.nb201_paper(nb201_file, ["random", "evolution"], range(10), tmp_path)
    bench = load_benchmark(nb201_file)
    mean_cost = float(np.mean(bench.table("train_time_s", 12)))
    for row in rows:
        # ~12,000 s / ~113 s per query; REA drifts to slower, better cells
        assert 12000 / mean_cost - 15 < row["queries"] < 12000 / mean_cost + 5, row
        assert row["sim_time_s"] <= 12000
        # reported = 200-epoch validation accuracy: above every 12-epoch value (<= 84.9), at most the optimum
        assert float(np.max(bench.table("val_acc", 12))) < row["mean"] <= float(np.max(bench.table("val_acc", 200)))
    assert rows[0]["label"] == "RS" and rows[1]["label"] == "REA"
    # every run is a run folder naming its chosen architecture; the table is computed from them
    runs = load_runs(tmp_path / "runs" / "nb201" / "random")
    assert sorted(run.seed for run in runs) == list(range(10)) and {run.strategy for run in runs} == {"random"}
    chosen = [bench.index_of(run.summary.incumbent["arch"]) for run in runs]
    assert rows[0]["mean"] == pytest.approx(float(np.mean(bench.table("val_acc", 200)[chosen])))
    for run in runs:  # the incumbent is the best 12-epoch signal seen
        assert run.incumbent.epoch == 12 and run.incumbent.val_acc == max(row.val_acc for row in run.rows)
        assert (run.folder / ".hydra" / "config.yaml").is_file()


@pytest.mark.shared
@pytest.mark.slow
def test_the_readme_reproduction_table_is_what_the_code_gives(nb201_file, tmp_path):
    """Regenerates the README's NB201 table (4 strategies x 100 seeds, ~1 min) and compares it line by line."""
    script = load_script()
    readme = (REPO_ROOT / "README.md").read_text().splitlines()
    start = readme.index(script.README_HEADER)
    end = next(i for i in range(start, len(readme)) if not readme[i].startswith("|"))
    rows = script.nb201_paper(nb201_file, list(script.README_LABELS), range(100), tmp_path)
    assert script.readme_table(rows).splitlines() == readme[start:end], (
        "the README's reproduction table differs from what analysis/reproduce_nb201.py gives now; "
        "replace it with:\n" + script.readme_table(rows))


def test_missing_benchmark_is_one_sentence_naming_the_fix(tmp_path, capsys):
    script = load_script()
    code = script.main(["--benchmark", str(tmp_path / "none.h5"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "none.h5 does not exist" in err[0] and "--sources" in err[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.shared
def test_latency_fronts_measure_a_run_against_the_true_front(nb201_file, tmp_path):
    pytest.importorskip("naslab.pareto", reason="the Pareto module is not in this checkout")
    script = load_script()
    rows = script.latency_fronts(nb201_file, ["pixel3", "raspi4"], ["random"], seeds=range(3), queries=30,
                                 plot_path=None, out=tmp_path / "a")
    assert [r["device"] for r in rows] == ["pixel3", "raspi4"]
    for r in rows:
        assert 0.5 < r["hv_ratio_mean"] < 1.0  # 30 random cells never cover the whole true front
        assert 0 <= r["true_front_found"] <= min(30, r["true_front_size"])
    more = script.latency_fronts(nb201_file, ["pixel3"], ["random"], seeds=range(3), queries=300, plot_path=None,
                                 out=tmp_path / "b")
    assert more[0]["hv_ratio_mean"] > rows[0]["hv_ratio_mean"]  # more queries, a better front


@pytest.mark.shared
def test_budget_ignoring_evaluator_answers_every_rung_like_nb201s_bohb_worker(nb201_file):
    from naslab import evaluators
    from naslab.benchmarks.tabular import load_benchmark
    from naslab.evaluators.tabular import TabularEvaluator

    bench = load_benchmark(nb201_file)
    inner = TabularEvaluator(bench)
    wrapped = evaluators.get("budget_ignoring")(bench)
    assert wrapped.fidelities == (12, 22, 66, 200)
    arch = bench.space.arch(6111)
    at12 = inner.evaluate(arch, 12)
    for rung in (22, 66, 200):
        result = wrapped.evaluate(arch, rung)
        assert result.epoch == rung
        assert (result.val_acc, result.cost_s) == (at12.val_acc, at12.cost_s)  # 12-epoch answer and cost
    assert inner.evaluate(arch, 200).val_acc > at12.val_acc  # what the worker never looked at


def test_budget_ignoring_evaluator_labels_rungs_and_refuses_a_missing_epoch(synthetic_bench):
    from naslab.errors import NaslabError
    from naslab.evaluators.budget_ignoring import BudgetIgnoringEvaluator

    evaluator = BudgetIgnoringEvaluator(synthetic_bench, answer_at=2, budgets=(2, 4, 12))
    arch = synthetic_bench.space.arch(17)
    answers = [evaluator.evaluate(arch, rung) for rung in (2, 4, 12, None)]
    assert [a.epoch for a in answers] == [2, 4, 12, 12]
    assert len({(a.val_acc, a.cost_s) for a in answers}) == 1  # one answer, the 2-epoch one
    with pytest.raises(NaslabError, match="answer_at=3 is not an epoch"):
        BudgetIgnoringEvaluator(synthetic_bench, answer_at=3)
