"""`python -m naslab ...`: one search (or a Hydra multirun sweep) from the config in conf/."""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from naslab.app import register_resolvers, run_from_config
from naslab.errors import user_error_message

register_resolvers()


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> None:
    hydra_cfg = HydraConfig.get()
    try:
        run_from_config(cfg, Path(hydra_cfg.runtime.output_dir), hydra_cfg.runtime.choices.get("strategy"))
    except Exception as exc:  # noqa: BLE001 - every failure reaches the user as one sentence
        message = user_error_message(exc)
        if message is None:
            raise
        print(f"naslab: error: {message}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
