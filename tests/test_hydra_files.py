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
