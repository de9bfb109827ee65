"""python -m naslab.train: retrains one arch, writes checkpoint + metrics; one-sentence errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from naslab.train import RetrainError, retrain

REPO = Path(__file__).resolve().parent.parent
ARCH = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_1x1~2|"


def _train(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "naslab.train", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_bad_arch_string_is_one_sentence(tmp_path: Path) -> None:
    proc = _train("arch=|conv~0|", f"hydra.run.dir={tmp_path / 'run'}", cwd=REPO)
    assert proc.returncode == 2
    assert "is not a NAS-Bench-201 arch string" in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_dataset_is_one_sentence(tmp_path: Path) -> None:
    cfg = OmegaConf.load(REPO / "naslab" / "conf" / "train.yaml")
    cfg.pop("hydra")
    cfg.arch, cfg.dataset = ARCH, "imagenet"
    with pytest.raises(RetrainError, match="unknown dataset 'imagenet'"):
        retrain(cfg, tmp_path)


def test_retrain_writes_checkpoint_and_metrics(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    out = tmp_path / "run"
    proc = _train(f"arch={ARCH}", "recipe.epochs=2", "recipe.channels=4", "recipe.train_size=64",
                  "recipe.val_size=64", "recipe.test_size=64", "threads=1", f"hydra.run.dir={out}", cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("epoch ") == 2 and "epoch    2/2" in proc.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["arch"] == ARCH and metrics["epochs"] == [1, 2] and metrics["status"] == "ok"
    assert len(metrics["curves"]["val_acc"]) == 2 and 0 <= metrics["final"]["val_acc"] <= 100
    import torch

    checkpoint = torch.load(out / "checkpoint.pt", weights_only=False)
    assert checkpoint["arch"] == ARCH and checkpoint["recipe"]["epochs"] == 2
    assert any(k.startswith("classifier") for k in checkpoint["state_dict"])
