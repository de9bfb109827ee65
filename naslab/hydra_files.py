"""The ``.hydra/`` files of a run folder (config.yaml, hydra.yaml, overrides.yaml), rendered fast.

Hydra writes them with ``OmegaConf.to_yaml``: PyYAML's pure-Python emitter, about half
of the CPU time of a tabular sweep job once a run folder gets them twice (``.hydra/``
and ``.hydra/finished/``, see :mod:`naslab.jobs`). :func:`to_yaml` gives the same text
with libyaml's C emitter (PyYAML's ``CDumper``, with OmegaConf's rule for quoting
strings that look like numbers or booleans): 5x faster here for a hydra.yaml
(``perf/sweep_speed.py``). The first renders of a process are compared with
``OmegaConf.to_yaml``; on any difference (or without libyaml) naslab uses
``OmegaConf.to_yaml`` from then on, so the files stay byte-identical to Hydra's.
The CLI also has Hydra's own first write of them go through :func:`to_yaml`
(:func:`install_fast_save_config`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf

CHECKED_RENDERS = 3  # per process, compared with OmegaConf.to_yaml before it is trusted

_checked = 0
_fast_ok = getattr(yaml, "__with_libyaml__", False)


def _fast_dumper() -> Any:
    from omegaconf._utils import get_omega_conf_dumper

    omega = get_omega_conf_dumper()

    class FastOmegaConfDumper(yaml.CDumper):  # type: ignore[misc,name-defined]
        pass

    FastOmegaConfDumper.add_representer(str, omega.str_representer)
    return FastOmegaConfDumper


_DUMPER: Any = _fast_dumper() if _fast_ok else None


def to_yaml(cfg: DictConfig | ListConfig) -> str:
    """``OmegaConf.to_yaml(cfg)``, byte for byte, faster."""
    global _checked, _fast_ok
    if not _fast_ok:
        return OmegaConf.to_yaml(cfg)
    container = OmegaConf.to_container(cfg, resolve=False, enum_to_str=True)
    text = yaml.dump(container, Dumper=_DUMPER, default_flow_style=False, allow_unicode=True, sort_keys=False)
    if _checked < CHECKED_RENDERS:
        _checked += 1
        reference = OmegaConf.to_yaml(cfg)
        if text != reference:
            _fast_ok = False
            return reference
    return text


def render(task_cfg: DictConfig, hydra_cfg: DictConfig | None) -> list[tuple[str, str]]:
    """(file name, text) of the ``.hydra/`` files: the task config, and with a hydra
    config (the current HydraConfig: a config holding the ``hydra`` node) hydra.yaml and
    the task overrides."""
    files = [("config.yaml", to_yaml(task_cfg))]
    if hydra_cfg is not None:
        files += [("hydra.yaml", to_yaml(hydra_cfg)), ("overrides.yaml", to_yaml(hydra_cfg.hydra.overrides.task))]
    return files


def write(files: list[tuple[str, str]], folder: Path) -> None:
    """Write rendered files into ``folder`` as Hydra's ``_save_config`` does (plain writes)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files:
        with open(folder / name, "w", encoding="utf-8") as f:
            f.write(text)


def install_fast_save_config() -> None:
    """Make Hydra's ``run_job`` write ``.hydra/`` through :func:`to_yaml` (checked as above).

    A CLI run then renders the three files with PyYAML's pure-Python emitter three times
    (the checks of Hydra's write) instead of six (Hydra's write, then the checks of naslab's
    rewrite, :func:`naslab.jobs.write_hydra_files`), and a multirun's later jobs not at all.
    """
    from hydra.core import utils

    if getattr(utils._save_config, "naslab_fast", False):
        return

    def save_config(cfg: DictConfig | ListConfig, filename: str, output_dir: Path) -> None:
        write([(filename, to_yaml(cfg))], Path(output_dir))  # Hydra's _save_config, faster

    save_config.naslab_fast = True  # type: ignore[attr-defined]
    utils._save_config = save_config  # type: ignore[assignment]
