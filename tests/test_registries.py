"""Registries by name: one per kind, the same names as the CLI's config groups, plug-ins by registration."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from naslab import benchmarks, evaluators, spaces, strategies
from naslab.benchmarks import importers
from naslab.errors import NaslabError, UnknownNameError
from naslab.registry import Registry
from naslab.strategies.base import Strategy

REPO = Path(__file__).resolve().parent.parent
CONF = REPO / "naslab" / "conf"


@pytest.mark.parametrize("registry, group", [
    (strategies, "strategy"), (evaluators, "evaluator"), (spaces, "space"), (benchmarks, "benchmark"),
])
def test_every_config_of_a_group_is_a_registered_name(registry, group):
    names = {p.stem for p in (CONF / group).glob("*.yaml")} - {"file"}  # benchmark=file: any path
    assert names and names <= set(registry.available())


def test_every_registered_strategy_has_a_config_naming_its_class_and_knobs():
    """The config group is a view of the registry: same target, knobs that the class takes;
    ``naslab.strategies.factory(name)`` builds what ``python -m naslab strategy=name`` builds."""
    configs = {p.stem for p in (CONF / "strategy").glob("*.yaml")}
    assert configs == set(strategies.available())
    for name in strategies.available():
        cfg = OmegaConf.to_container(OmegaConf.load(CONF / "strategy" / f"{name}.yaml"))
        cls = strategies.get(name)
        assert issubclass(cls, Strategy), name
        assert cfg.pop("_target_") == f"{cls.__module__}.{cls.__qualname__}", name
        assert cfg.pop("_partial_") is True
        parameters = inspect.signature(cls.__init__).parameters
        for knob in cfg:
            assert knob in parameters, f"{name}: config knob {knob} is not a parameter of {cls.__qualname__}"
        factory = strategies.factory(name)
        assert strategies.strategy_class(factory) is cls
        assert {k: v for k, v in factory.keywords.items() if not hasattr(v, "func")} == {
            k: v for k, v in cfg.items() if not isinstance(v, dict)}


def test_configs_of_plain_strategies_repeat_the_class_defaults():
    """Except where a config presets a shared class (bananas_zero_cost), the class defaults
    are the config's, so ``strategies.get(name)(context)`` runs like the CLI."""
    for name in set(strategies.available()) - {"bananas_zero_cost", "zero_cost_warm_start"}:
        cfg = OmegaConf.to_container(OmegaConf.load(CONF / "strategy" / f"{name}.yaml"))
        parameters = inspect.signature(strategies.get(name).__init__).parameters
        for knob, value in cfg.items():
            if not knob.startswith("_"):
                default = parameters[knob].default
                assert (list(default) if isinstance(default, tuple) else default) == value, f"{name}.{knob}"


def test_evaluator_configs_target_the_registered_classes():
    for name in sorted(p.stem for p in (CONF / "evaluator").glob("*.yaml")):
        cfg = OmegaConf.load(CONF / "evaluator" / f"{name}.yaml")
        cls = evaluators.get(name)
        assert cfg._target_ == f"{cls.__module__}.{cls.__qualname__}"


def test_unknown_names_are_one_sentence_listing_the_known_ones():
    with pytest.raises(UnknownNameError) as info:
        strategies.get("banana")
    message = str(info.value)
    assert isinstance(info.value, NaslabError)
    assert message.startswith("unknown strategy 'banana'; known: bananas, ") and "\n" not in message
    with pytest.raises(UnknownNameError, match="unknown search space 'hexagons'; known: .*nb201"):
        spaces.get("hexagons")
    with pytest.raises(UnknownNameError, match="unknown benchmark 'cifar1000'"):
        benchmarks.get("cifar1000")
    with pytest.raises(UnknownNameError, match="unknown importer"):
        importers.get("nb201-c10")  # one spelling: nb201_c10


def test_registering_a_plug_in_and_taken_names():
    registry = Registry("widget", "naslab.widgets", {"lazy": "naslab.strategies.random_search:RandomSearch"})

    @registry.register("mine")
    class Mine:
        pass

    assert registry.get("mine") is Mine and registry.name_of(Mine) == "mine"
    assert registry.name_of(strategies.get("random")) == "lazy"  # a lazy target, matched by its path
    with pytest.raises(NaslabError, match="widget 'mine' is already registered"):
        registry.register("mine", object)
    registry.register("mine", object, replace=True)
    assert registry.get("mine") is object
    assert registry.available() == ["lazy", "mine"]


def test_spaces_are_shared_instances_and_benchmarks_load_by_name():
    assert spaces.get("nb201") is spaces.get("nb201") is spaces.get_space("nb201")
    bench = benchmarks.get("digits")
    assert bench.space_name == "nb201" and bench.dataset == "digits"
    assert benchmarks.get("digits") is bench  # loaded once per process


def test_a_missing_benchmark_file_is_one_sentence_saying_how_to_make_it(tmp_path):
    from naslab.benchmarks.registry import REGISTRY, BenchmarkFile

    benchmarks.register("elsewhere", tmp_path / "none.h5")
    try:
        with pytest.raises(NaslabError, match="none.h5"):
            benchmarks.get("elsewhere")
    finally:
        REGISTRY.unregister("elsewhere")
    with pytest.raises(NaslabError, match=r"none.h5 does not exist; import it first: python -m naslab.benchmarks"):
        BenchmarkFile(tmp_path / "none.h5", "python -m naslab.benchmarks.convert nb201_c10 A B C")()


def test_importer_names_are_the_converter_subcommands():
    from naslab.benchmarks.convert import _build_parser

    parser = _build_parser()
    choices = next(a for a in parser._actions if a.dest == "format").choices
    assert set(choices) <= set(importers.available()) and "nb201_c10" in choices


def test_capabilities_are_declared_on_the_class():
    assert strategies.get("nsga2").multi_objective and not strategies.get("evolution").multi_objective
    assert strategies.get("bohb").multi_fidelity and strategies.get("successive_halving").multi_fidelity
    assert strategies.get("optuna").requires == ("optuna",) and strategies.get("optuna").extra == "bo"
    assert strategies.get("tpe").requires == ()  # numpy only

    class NeedsSomething(strategies.get("random")):
        requires = ("naslab_no_such_module_x", "json")

    assert NeedsSomething.missing_requirements() == ["naslab_no_such_module_x"]


def test_the_recorded_strategy_name_is_that_of_the_class_that_ran(tmp_path, synthetic_path):
    """``strategy=random strategy._target_=mine.Greedy`` runs Greedy: the run must not say random."""
    (tmp_path / "mine.py").write_text(
        "from naslab.strategies.random_search import RandomSearch\n\n"
        "class Greedy(RandomSearch):\n    pass\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}

    def run(*overrides: str) -> dict:
        out = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
        proc = subprocess.run(
            [sys.executable, "-m", "naslab", "benchmark=file", f"benchmark.path={synthetic_path}",
             "budget.queries=5", f"hydra.run.dir={out}", *overrides],
            cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env,
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads((out / "summary.json").read_text())

    assert run("strategy=random", "strategy._target_=mine.Greedy")["strategy"] == "mine.Greedy"
    assert run("strategy=random")["strategy"] == "random"
    # a registered class chosen through another config's name records its own name
    assert run("strategy=random", "strategy._target_=naslab.strategies.evolution.RegularizedEvolution")[
        "strategy"] == "evolution"
