"""The CLI's start-up shortcut for Hydra's run mode must give Hydra's own answer."""

from __future__ import annotations

import pytest
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from naslab.app import CONFIG_DIR
from naslab.hydra_mode import mode_is_default

SHORTCUT = [
    [],
    ["strategy=evolution"],
    ["strategy=bananas", "seed=3", "budget.queries=20", "benchmark=digits"],
    ["+tag=x", "evaluator.seed_mode=random", "hydra.run.dir=/tmp/x", "hydra.job.chdir=true"],
]
FULL = [
    ["hydra.mode=MULTIRUN"],
    ["experiment=digits_comparison"],
    ["strategy=random,evolution"],
    ["seed=range(0,3)"],
    ["strategy=no_such_strategy"],
    ["hydra/launcher=joblib"],
    ["hydra.searchpath=[file:///tmp]"],
]


def hydra_get_mode(overrides):
    from hydra._internal.hydra import Hydra

    original = getattr(Hydra.get_mode, "original", Hydra.get_mode)
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        return original(GlobalHydra.instance().hydra, "config", list(overrides))


@pytest.mark.parametrize("overrides", SHORTCUT)
def test_shortcut_command_lines_are_ones_where_hydra_finds_no_mode(overrides):
    assert mode_is_default(CONFIG_DIR, overrides)
    assert hydra_get_mode(overrides) is None


@pytest.mark.parametrize("overrides", FULL)
def test_command_lines_that_may_set_the_mode_ask_hydra(overrides):
    assert not mode_is_default(CONFIG_DIR, overrides)


def test_an_experiment_that_sets_the_mode_is_seen_by_hydra(tmp_path):
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "multi.yaml").write_text("# @package _global_\nhydra:\n  mode: MULTIRUN\n")
    assert not mode_is_default(tmp_path, ["experiment=multi"])
