"""`python -m naslab.one_shot method=darts_v1 seed=0`: one one-shot search (or a Hydra multirun sweep)."""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from naslab.app import register_resolvers
from naslab.errors import user_error_message

register_resolvers()


def run(cfg: DictConfig, out_dir: Path, method: str | None) -> None:
    import torch

    from naslab.one_shot.search import run_one_shot

    if int(cfg.get("threads", 0)) > 0:
        torch.set_num_threads(int(cfg.threads))
    run_one_shot(cfg, out_dir, method)


@hydra.main(version_base="1.3", config_path="../conf/one_shot", config_name="config")
def main(cfg: DictConfig) -> None:
    hydra_cfg = HydraConfig.get()
    out_dir, method = Path(hydra_cfg.runtime.output_dir), hydra_cfg.runtime.choices.get("method")
    try:
        run(cfg, out_dir, method)
    except Exception as exc:  # noqa: BLE001 - every failure caused by input reaches the user as one sentence
        message = user_error_message(exc)
        if message is None:
            raise
        print(f"naslab.one_shot: error: {message}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
