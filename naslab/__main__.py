"""`python -m naslab ...`: one search (or a Hydra multirun sweep) from the config in naslab/conf/."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from naslab.app import CONFIG_DIR, EXIT_NOTHING_USABLE, NothingUsable, register_resolvers
from naslab.errors import user_error_message
from naslab.hydra_files import install_fast_save_config
from naslab.hydra_mode import install_fast_get_mode
from naslab.hydra_plugin_scan import install_lean_plugin_scan
from naslab.jobs import run_job, run_sweep_job
from naslab.logs import hide_reported_on_console

register_resolvers()
install_fast_get_mode(CONFIG_DIR)  # Hydra would compose the config twice (naslab.hydra_mode)
install_lean_plugin_scan(CONFIG_DIR, sys.argv[1:])  # one job needs no launcher plugin (naslab.hydra_plugin_scan)
install_fast_save_config()  # Hydra's .hydra/ files with libyaml's emitter (naslab.hydra_files)


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> None:
    if not gc.get_freeze_count():  # once per process, at its first job
        # what exists now (modules, Hydra's config) lives until the process exits: frozen, the
        # cyclic GC no longer walks it in every full collection of the run and again at exit,
        # about 0.2 of the 1.0 CPU s of `python -m naslab strategy=evolution` (perf/startup_speed.py)
        gc.freeze()
    # a failed run is reported once, below or in the sweep's list of failures, not also by the log
    hide_reported_on_console()
    hydra_cfg = HydraConfig.get()
    out_dir, strategy = Path(hydra_cfg.runtime.output_dir), hydra_cfg.runtime.choices.get("strategy")
    if hydra_cfg.mode == RunMode.MULTIRUN:
        # a failed job records failed.json and lets the sweep go on (see naslab.jobs)
        run_sweep_job(cfg, out_dir, strategy, Path(hydra_cfg.sweep.dir))
        return
    try:
        run_job(cfg, out_dir, strategy)
    except Exception as exc:  # noqa: BLE001 - every failure reaches the user as one sentence
        message = user_error_message(exc)
        if message is None:
            raise
        print(f"naslab: error: {message}", file=sys.stderr)
        # 2: bad input, nothing run; 3: the run finished but nothing usable came out of it
        sys.exit(EXIT_NOTHING_USABLE if isinstance(exc, NothingUsable) else 2)


if __name__ == "__main__":
    main()
