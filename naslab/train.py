"""Retrain one architecture with a full recipe: ``python -m naslab.train arch='|...|'``.

Shows per-epoch progress, then writes ``checkpoint.pt`` (weights, arch, recipe, seed)
and ``metrics.json`` (per-epoch curves, params, FLOPs, device, wall time) into the
output folder (Hydra's run folder unless ``output_dir`` is set). A bad arch string or
an unknown dataset is reported in one sentence.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from naslab.errors import NaslabError
from naslab.progress import progress_bar
from naslab.training.trainer import Recipe

log = logging.getLogger("naslab.train")


EXIT_DIVERGED = 3  # the training ran but produced nothing usable


class RetrainError(NaslabError, ValueError):
    """Bad input to the retrain command."""


def retrain(cfg: Any, output_dir: Path) -> dict[str, Any]:
    from naslab.spaces import get_space
    from naslab.spaces.registry import name_of
    from naslab.training.data import DATASETS, load_dataset

    if cfg.dataset not in DATASETS:
        raise RetrainError(f"unknown dataset {cfg.dataset!r}; expected one of {list(DATASETS)}")
    space = get_space(name_of(cfg.space))
    space.check_trainable()  # one sentence (NotTrainableError) for a space without a network builder
    if OmegaConf.is_missing(cfg, "arch") or cfg.arch is None or str(cfg.arch) in ("", "???"):
        raise RetrainError("no architecture given; pass arch='|nor_conv_3x3~0|+|...|' (an NB201 arch string)")
    arch = space.from_string(str(cfg.arch))
    fields = dict(cfg.recipe)
    fields["dataset"] = cfg.dataset
    recipe = Recipe.from_mapping(fields)
    splits = load_dataset(recipe.dataset, recipe.train_size, recipe.val_size, recipe.test_size, cfg.data_root)

    import torch

    from naslab.training.models import count_flops, count_params
    from naslab.training.trainer import train_seeds

    if cfg.threads:  # null: the thread policy's (one thread, or NASLAB_THREADS)
        torch.set_num_threads(int(cfg.threads))
    log.info("%s on %s for %d epochs", space.to_string(arch), splits.describe(), recipe.epochs)

    started = time.time()
    with progress_bar(recipe.epochs, "train", "epoch") as bar:

        def show(epoch: int, values: dict[str, Any]) -> None:
            test = values["test_acc"][0]
            test_text = f"  test_acc {test:6.2f}" if test == test else ""
            log.info(
                "epoch %4d/%d  train_loss %.4f  val_loss %.4f  val_acc %6.2f%s  time %.1fs", epoch, recipe.epochs,
                values["train_loss"][0], values["val_loss"][0], values["val_acc"][0], test_text,
                values["train_time_s"][0],
            )
            bar.update(epoch - bar.n)

        record, model = train_seeds(arch, recipe, splits, [int(cfg.seed)], device=str(cfg.device),
                                    on_epoch=show, return_model=True, space=space)
    shape = (arch, recipe.channels, recipe.cells_per_stage, splits.num_classes, splits.in_channels)
    metrics = {
        "arch": space.to_string(arch),
        "dataset": recipe.dataset,
        "seed": int(cfg.seed),
        "recipe": recipe.to_dict(),
        "splits": splits.describe(),
        "device": record.device,
        "epochs": record.epochs,
        "curves": {name: [float(v) for v in values[0]] for name, values in record.metrics.items()},
        "final": {name: float(values[0, -1]) for name, values in record.metrics.items()},
        "params_m": count_params(*shape, space=space),
        "flops_m": count_flops(*shape, splits.image_size, space=space),
        "wall_s": time.time() - started,
        "status": "failed" if bool(record.diverged[0]) else "ok",
    }
    output_dir.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"state_dict": model.state_dict(), "arch": metrics["arch"], "recipe": recipe.to_dict(),
         "seed": int(cfg.seed), "num_classes": splits.num_classes, "in_channels": splits.in_channels},
        output_dir / "checkpoint.pt",
    )
    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=1, allow_nan=True))
    log.info("%s: val_acc %.2f  test_acc %.2f  -> %s/checkpoint.pt, metrics.json", metrics["status"],
             metrics["final"]["val_acc"], metrics["final"]["test_acc"], output_dir)
    return metrics


def quote_arch_override(arg: str) -> str:
    """Quote the value of ``arch=...`` for Hydra.

    NB201 strings contain ``|``, ``~`` and ``+``, which Hydra's override grammar rejects
    unless quoted, and the shell strips the quotes of ``arch='|...|'``; we put them back
    so the command printed by a search works as typed.
    """
    for prefix in ("arch=", "+arch=", "++arch="):
        if arg.startswith(prefix):
            value = arg[len(prefix):]
            if value and value[0] not in "'\"":
                return f"{prefix}'{value}'"
    return arg


def main() -> None:
    import hydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import DictConfig

    @hydra.main(version_base="1.3", config_path="conf", config_name="train")
    def _app(cfg: DictConfig) -> None:
        output_dir = Path(cfg.output_dir) if cfg.output_dir else Path(HydraConfig.get().runtime.output_dir)
        try:
            metrics = retrain(cfg, output_dir)
        except ValueError as exc:  # RetrainError, DatasetError, a bad arch string or recipe field
            print(f"naslab.train: error: {exc}", file=sys.stderr)
            sys.exit(2)
        except ModuleNotFoundError as exc:
            from naslab.errors import missing_module_message

            print(f"naslab.train: error: {missing_module_message(exc, 'naslab.train')}", file=sys.stderr)
            sys.exit(2)
        if metrics["status"] != "ok":
            print(f"naslab.train: error: the training diverged (non-finite loss); {output_dir}/metrics.json "
                  "records it as failed; try a smaller recipe.lr", file=sys.stderr)
            sys.exit(EXIT_DIVERGED)

    sys.argv = [sys.argv[0], *(quote_arch_override(a) for a in sys.argv[1:])]
    _app()


if __name__ == "__main__":
    main()
