"""Analysis scripts on a 4-strategy x 10-seed sweep (and a second benchmark for the ranks):
every output exists and holds what it should, and the same runs give the same files."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from naslab.analysis import report
from naslab.analysis.runs import load_runs
from naslab.benchmarks.synthetic import write_synthetic_benchmark
from naslab.sweep import run_sweep
from naslab.testing import requires

needs_matplotlib = requires("matplotlib", extra="analysis")

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BENCHMARK = REPO_ROOT / "naslab" / "data" / "nb201_digits.h5"
STRATEGIES = ("evolution", "genetic", "local_search", "random")
SEEDS = 10
QUERIES = 40
SCRIPTS = ("anytime", "final_table", "average_rank", "pareto_fronts", "ecdf", "report")


@pytest.fixture(scope="module")
def sweeps(synthetic_path: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The comparison on the default benchmark (synthetic until it is built) and on a second benchmark."""
    root = tmp_path_factory.mktemp("analysis")
    first = ["benchmark=digits"] if DEFAULT_BENCHMARK.is_file() else ["benchmark=file",
                                                                     f"benchmark.path={synthetic_path}"]
    second_bench = write_synthetic_benchmark(root / "second.h5", seed=7)
    second = ["benchmark=file", f"benchmark.path={second_bench}"]
    for name, bench, seeds in (("first", first, SEEDS), ("second", second, 3)):
        done = run_sweep([*bench, f"strategy={','.join(STRATEGIES)}", f"seed=range(0,{seeds})",
                          f"budget.queries={QUERIES}", f"hydra.sweep.dir={root / name}"], processes=2)
        assert done.finished == len(STRATEGIES) * seeds and not done.failures
    return root / "first", root / "second"


@pytest.fixture(scope="module")
def outputs(sweeps: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    assert report.main([str(sweeps[0]), str(sweeps[1]), "--out", str(out)]) == 0
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@needs_matplotlib
def test_every_figure_is_written_as_png_and_pdf(outputs: Path) -> None:
    stems = {p.stem for p in outputs.glob("*.png")}
    assert {"average_rank", "ecdf_regret"} <= stems
    # single-objective sweeps: the report draws no Pareto figure (pareto_fronts.py still can)
    assert sum(s.startswith("anytime_") for s in stems) == 2 and sum(s.startswith("pareto_") for s in stems) == 0
    for stem in stems:
        png, pdf = outputs / f"{stem}.png", outputs / f"{stem}.pdf"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5_000
    assert not list(outputs.glob("*.tmp"))


@needs_matplotlib
def test_final_table_has_one_row_per_strategy_and_the_best_in_bold(outputs: Path, sweeps: tuple[Path, Path]) -> None:
    from naslab.analysis.final_table import cells as table_cells
    from naslab.analysis.final_table import paired_p_value

    lines = (outputs / "final_table.md").read_text().splitlines()
    rows = [line for line in lines[2:] if line.startswith("| ")]
    assert sorted(row.split("|")[1].strip() for row in rows) == list(STRATEGIES)
    # every benchmark's regret column, recomputed from the run folders' summaries
    header = [c.strip() for c in lines[0].split("|")[1:-1]]
    runs = load_runs(list(sweeps))
    table = table_cells(runs)
    for benchmark in runs.benchmarks():
        column = header.index(f"{benchmark}: regret (pp)")
        means = {s: np.mean([r.summary["final_regret"] for r in runs.select(benchmark, s)]) for s in STRATEGIES}
        leader = min(means, key=lambda s: (means[s], s))
        for row in rows:
            cells = [c.strip() for c in row.split("|")[1:-1]]
            assert float(cells[column].strip("*").split(" ± ")[0]) == pytest.approx(means[cells[0]], abs=0.006)
            # bold: the best mean, and whoever a paired Wilcoxon test cannot tell from it
            tied = paired_p_value(table[(benchmark, cells[0], "regret")], table[(benchmark, leader, "regret")]) >= 0.05
            assert cells[column].startswith("**") == (cells[0] == leader or tied)
    tex = (outputs / "final_table.tex").read_text()
    assert tex.count(r"\\") == 2 + len(STRATEGIES) and r"local\_search" in tex and r"\mathbf" in tex


@needs_matplotlib
def test_anytime_curves_follow_the_incumbent(sweeps: tuple[Path, Path], outputs: Path) -> None:
    """The incumbent (best validation accuracy so far) never gets worse, per seed and on average.

    Its *test* regret may rise when a better-validated architecture tests worse, so the
    regret curve is checked against the trajectories instead.
    """
    runs = load_runs(list(sweeps))
    for run in runs.runs:
        assert np.all(np.diff(run.columns["incumbent_val_acc"]) >= 0), run.folder
    benchmark = load_runs([sweeps[0]]).benchmarks()[0]
    data = read_csv(outputs / f"anytime_{benchmark}.csv")
    curves = defaultdict(list)
    for row in data:
        if row["axis"] == "queries":
            curves[(row["strategy"], row["metric"])].append(float(row["mean"]))
    assert sorted({s for s, _ in curves}) == list(STRATEGIES)
    for strategy in STRATEGIES:
        val = curves[(strategy, "incumbent_val_acc")]
        assert len(val) == QUERIES and np.all(np.diff(val) >= -1e-9), strategy
        chosen = runs.select(benchmark, strategy)
        expected = np.mean([np.maximum(r.columns["regret"], 1e-3) for r in chosen], axis=0)
        assert np.allclose(curves[(strategy, "regret")], expected), strategy
        assert len(chosen) == SEEDS


@needs_matplotlib
def test_average_ranks_are_a_permutation_average(outputs: Path) -> None:
    rows = read_csv(outputs / "average_rank.csv")
    by_point = defaultdict(list)
    for row in rows:
        by_point[(row["axis"], row["fraction"])].append(float(row["average_rank"]))
    assert len(by_point) == 200
    for ranks in by_point.values():
        assert len(ranks) == len(STRATEGIES) and sum(ranks) == pytest.approx(10.0)
        assert min(ranks) >= 1.0 and max(ranks) <= len(STRATEGIES)


@needs_matplotlib
def test_ecdf_reaches_one_with_every_seed(outputs: Path) -> None:
    by_curve = defaultdict(list)
    for row in read_csv(outputs / "ecdf_regret.csv"):
        by_curve[(row["benchmark"], row["strategy"])].append((float(row["final_regret"]), float(row["fraction"])))
    assert len(by_curve) == 2 * len(STRATEGIES)
    for points in by_curve.values():
        regrets, fractions = zip(*points)
        assert len(points) in (SEEDS, 3) and fractions[-1] == 1.0
        assert list(regrets) == sorted(regrets) and list(fractions) == sorted(fractions)


@needs_matplotlib
def test_hypervolume_grows_and_fronts_are_non_dominated(sweeps: tuple[Path, Path], tmp_path: Path) -> None:
    from naslab.analysis import pareto_fronts

    outputs = tmp_path / "pareto"
    assert pareto_fronts.main([str(sweeps[0]), str(sweeps[1]), "--out", str(outputs), "--formats", "pdf"]) == 0
    assert len(list(outputs.glob("pareto_*_hypervolume.csv"))) == 2
    for path in outputs.glob("pareto_*_hypervolume.csv"):
        per_strategy = defaultdict(list)
        for row in read_csv(path):
            per_strategy[row["strategy"]].append(float(row["mean_hypervolume"]))
        assert sorted(per_strategy) == list(STRATEGIES)
        for values in per_strategy.values():
            assert values[-1] > 0 and np.all(np.diff(values) >= -1e-9)
    for path in outputs.glob("pareto_*_fronts.csv"):
        per_run = defaultdict(list)
        for row in read_csv(path):
            per_run[row["strategy"], row.get("seed")].append((float(row["params"]), float(row["val_acc"])))
        for front in per_run.values():
            costs, accs = zip(*front)
            # cheaper never better: along a front, more cost buys more accuracy
            assert list(costs) == sorted(costs) and all(b > a for a, b in zip(accs, accs[1:]))


@needs_matplotlib
def test_same_runs_give_byte_identical_outputs(sweeps: tuple[Path, Path], tmp_path: Path) -> None:
    for name in ("a", "b"):  # PNG carries no data the PDF lacks: leave it out to save time
        assert report.main([str(sweeps[1]), "--out", str(tmp_path / name), "--formats", "pdf"]) == 0
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert len([f for f in files if f.endswith(".csv")]) >= 3 and not [f for f in files if f.endswith(".png")]
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_failed_runs_are_left_out_with_a_note(tmp_path: Path, sweeps: tuple[Path, Path],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "failed_run"
    folder.mkdir()
    (folder / "failed.json").write_text(json.dumps({"reason": "boom"}))
    from naslab.analysis import final_table

    assert final_table.main([str(sweeps[0]), str(tmp_path), "--out", str(tmp_path / "out")]) == 0
    assert "1 failed run folder(s) left out" in capsys.readouterr().err


def test_a_folder_without_runs_is_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from naslab.analysis import anytime

    assert anytime.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("anytime.py: error: no finished run folder") and len(err.splitlines()) == 1


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_has_help(script: str) -> None:
    done = subprocess.run([sys.executable, str(REPO_ROOT / "analysis" / f"{script}.py"), "--help"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "usage:" in done.stdout and "--out" in done.stdout


@needs_matplotlib
def test_pareto_fronts_use_a_runs_pareto_csv(sweeps: tuple[Path, Path], tmp_path: Path) -> None:
    """A run's pareto.csv (what a multi-objective strategy reports) is drawn instead of its evaluations."""
    import shutil

    from naslab.analysis import pareto_fronts

    copy = tmp_path / "runs"
    # run folders are <benchmark>/<strategy>/seed<seed>: the second sweep's one benchmark
    shutil.copytree(next(sweeps[1].glob("*/random")), copy / "random")
    chosen = {}
    for folder in sorted((copy / "random").iterdir()):
        row = read_csv(folder / "trajectory.csv")[3]  # any evaluated architecture: a one-point front
        chosen[folder.name] = (float(row["params"]), float(row["val_acc"]))
        (folder / "pareto.csv").write_text(f"arch,val_acc,params\n{row['arch']},{row['val_acc']},{row['params']}\n")
    assert pareto_fronts.main([str(copy), "--out", str(tmp_path / "out"), "--formats", "pdf"]) == 0
    fronts = read_csv(next((tmp_path / "out").glob("pareto_*_fronts.csv")))
    assert len(fronts) == 1
    assert (float(fronts[0]["params"]), float(fronts[0]["val_acc"])) == chosen[f"seed{fronts[0]['seed']}"]


def test_unknown_figure_format_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from naslab.analysis import ecdf

    with pytest.raises(SystemExit) as exit_info:
        ecdf.main([str(tmp_path), "--formats", "png,gif"])
    assert exit_info.value.code == 2 and "png, pdf, svg" in capsys.readouterr().err
