"""The fast .hydra renderer must give OmegaConf.to_yaml's text byte for byte."""

from __future__ import annotations

from omegaconf import OmegaConf

from naslab import hydra_files
from naslab.app import CONFIG_DIR


def test_fast_yaml_equals_omegaconf_on_awkward_values():
    cfg = OmegaConf.create({
        "numbers_as_strings": ["1", "1.5", "1e3", "0x10", "inf", ".nan"],
        "booleans_as_strings": ["true", "no", "off", "Yes", "null", "~"],
        "special": ["a: b", "- x", "#c", "'q'", '"dq"', "é ü 中", "", " lead", "trail ", "a\nb", "${x}"],
        "long": "word " * 40,
        "nested": {"empty": {}, "list": [], "none": None, "float": 0.1, "big": 1e300, "neg": -3, "flag": True},
        "x": 1,
    })
    assert hydra_files.to_yaml(cfg) == OmegaConf.to_yaml(cfg)
    assert hydra_files._fast_ok  # the fast path was the one compared (libyaml is installed)


def test_fast_yaml_equals_omegaconf_on_the_composed_config():
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", ["strategy=bananas", "seed=3"], return_hydra_config=True)
    for node in (cfg, cfg.hydra, cfg.hydra.overrides.task):
        assert hydra_files.to_yaml(node) == OmegaConf.to_yaml(node)


def test_hydra_writes_dot_hydra_through_the_fast_renderer_with_the_same_text(tmp_path, monkeypatch):
    from hydra import compose, initialize_config_dir
    from hydra.core import utils

    monkeypatch.setattr(utils, "_save_config", utils._save_config)  # put back after the test
    original = utils._save_config
    hydra_files.install_fast_save_config()
    hydra_files.install_fast_save_config()  # a second install keeps the first
    assert utils._save_config is not original and not getattr(original, "naslab_fast", False)
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", ["strategy=nsga2", "seed=2"], return_hydra_config=True)
    for node, name in ((cfg, "config.yaml"), (cfg.hydra, "hydra.yaml"), (cfg.hydra.overrides.task, "overrides.yaml")):
        utils._save_config(node, name, tmp_path / "out" / ".hydra")
        assert (tmp_path / "out" / ".hydra" / name).read_bytes() == OmegaConf.to_yaml(node).encode()
