"""The Python API: docs/api.md runs as written, and search().save() writes the CLI's run folder."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import naslab
from naslab.run_folder import SUMMARY_FILE, TRAJECTORY_FILE, load_run

REPO = Path(__file__).resolve().parent.parent
API_PAGE = REPO / "docs" / "api.md"


def code_blocks(page: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", page.read_text(), flags=re.S | re.M)


def test_every_code_block_of_the_api_page_runs(tmp_path, monkeypatch, capsys):
    pytest.importorskip("pandas")
    blocks = code_blocks(API_PAGE)
    assert len(blocks) >= 6
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "docs_api"}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"{API_PAGE}:block{i + 1}", "exec"), namespace)
        except Exception as exc:  # name the block that failed
            raise AssertionError(f"code block {i + 1} of docs/api.md failed: {exc!r}") from exc
    printed = capsys.readouterr().out
    assert "strategy evolution has no knob 'popsize'" in printed
    assert "docs_api.Greedy" in printed  # a custom class records its import path
    assert (tmp_path / "runs" / "evolution_seed0" / SUMMARY_FILE).is_file()


def _without_volatile(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in ("wall_time_s",)}


@pytest.mark.parametrize("strategy, knobs", [("evolution", {"population_size": 20}), ("nsga2", {})])
def test_save_writes_the_run_folder_the_cli_writes(tmp_path, strategy, knobs):
    if strategy == "nsga2":
        pytest.importorskip("optuna")
    run = naslab.search(strategy, "digits", seed=4, budget=40, **knobs)
    api = run.save(tmp_path / "api")
    cli = tmp_path / "cli"
    proc = subprocess.run([sys.executable, "-m", "naslab", *run.overrides, f"hydra.run.dir={cli}"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    assert (api / TRAJECTORY_FILE).read_bytes() == (cli / TRAJECTORY_FILE).read_bytes()
    summaries = [json.loads((d / SUMMARY_FILE).read_text()) for d in (api, cli)]
    assert _without_volatile(summaries[0]) == _without_volatile(summaries[1])
    assert (api / ".hydra" / "config.yaml").read_text() == (cli / ".hydra" / "config.yaml").read_text()
    assert (api / ".hydra" / "overrides.yaml").read_text() == (cli / ".hydra" / "overrides.yaml").read_text()
    files = {p.name for p in api.iterdir()}
    assert files == {p.name for p in cli.iterdir()} - {"__main__.log", ".naslab.lock"}  # the CLI job's own
    assert ("pareto.csv" in files) == (strategy == "nsga2")


def test_a_loaded_run_has_the_rows_and_incumbent_of_the_search(tmp_path, synthetic_bench):
    run = naslab.search("random", synthetic_bench, seed=5, budget=30)
    loaded = load_run(run.save(tmp_path / "run"))
    assert len(loaded.rows) == 30
    for mine, theirs in zip(run.rows, loaded.rows):
        assert type(theirs) is naslab.TrajectoryRow
        for a, b in zip(mine, theirs):  # NaN never equals itself: compare as the CSV does
            assert (a == b) or (isinstance(a, float) and math.isnan(a) and math.isnan(b)), (mine, theirs)
    assert loaded.incumbent.arch == run.incumbent.arch and loaded.incumbent.val_acc == run.incumbent.val_acc
    assert loaded.regret == run.regret and loaded.strategy == "random" and loaded.seed == 5
    assert loaded.summary.config["benchmark"]["name"] == "synthetic"
    again = tmp_path / "again"
    loaded.save(again)  # what was read writes back byte for byte
    assert (again / TRAJECTORY_FILE).read_bytes() == (tmp_path / "run" / TRAJECTORY_FILE).read_bytes()
    assert (again / SUMMARY_FILE).read_bytes() == (tmp_path / "run" / SUMMARY_FILE).read_bytes()


def test_bad_arguments_are_one_sentence(synthetic_bench):
    cases = [
        (dict(strategy="banana"), "unknown strategy 'banana'; known: bananas"),
        (dict(strategy=dict), "strategy must be a registered name or a Strategy subclass"),
        (dict(benchmark="cifar1000"), "unknown benchmark 'cifar1000'"),
        (dict(evaluator=3), "evaluator must be a registered name or an evaluator object"),
        (dict(strategy="evolution", popsize=3), "strategy evolution has no knob 'popsize'; its knobs: population_size"),
        (dict(benchmark=synthetic_bench, space="nasbench_macro"), "space nasbench_macro does not match"),
    ]
    for kwargs, message in cases:
        with pytest.raises(naslab.NaslabError) as info:
            naslab.search(budget=5, **kwargs)
        assert message in str(info.value) and "\n" not in str(info.value)
