"""`python -m naslab.one_shot method=darts_v1 seed=0`: one one-shot search (or a Hydra multirun sweep).

The run folder is handled as a search's (:mod:`naslab.jobs`): locked while written, skipped
when it already holds this finished run, refused when it holds another, ``failed.json``
on failure, and a failed job of a multirun lets the others go on.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from naslab.app import register_resolvers
from naslab.errors import user_error_message
from naslab.jobs import run_job, run_sweep_job
from naslab.logs import hide_reported_on_console

register_resolvers()


def _run(cfg: DictConfig, out_dir: Path, method: str | None) -> None:
    from naslab.one_shot.search import run_one_shot

    run_one_shot(cfg, out_dir, method)


@hydra.main(version_base="1.3", config_path="../conf/one_shot", config_name="config")
def main(cfg: DictConfig) -> None:
    hide_reported_on_console()  # a failed run is reported once, below, not also by the log
    hydra_cfg = HydraConfig.get()
    out_dir, method = Path(hydra_cfg.runtime.output_dir), hydra_cfg.runtime.choices.get("method")
    if hydra_cfg.mode == RunMode.MULTIRUN:
        run_sweep_job(cfg, out_dir, method, Path(hydra_cfg.sweep.dir), run=_run)
        return
    try:
        run_job(cfg, out_dir, method, run=_run)
    except Exception as exc:  # noqa: BLE001 - every failure caused by input reaches the user as one sentence
        message = user_error_message(exc)
        if message is None:
            raise
        print(f"naslab.one_shot: error: {message}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
