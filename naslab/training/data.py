"""Datasets as in-memory tensors with fixed, documented train/validation/test splits.

``digits`` — scikit-learn's bundled 8x8 handwritten digits (1,797 images, 1 channel,
10 classes), always available offline. The split is fixed once for all:
``numpy.random.default_rng(0).permutation(1797)``; positions 0–699 are the training
pool, 700–1399 the validation pool, 1400–1796 (397 images) the test set. A recipe's
``train_size`` / ``val_size`` take the first images of their pool, so smaller recipes
use nested subsets. Pixels are scaled to [0, 1] (divided by 16) and standardised
with the mean and standard deviation of the whole training pool (two constants).
No augmentation (flips and crops change a digit's meaning at 8x8).

``cifar10`` — read from a folder the user names that holds the standard
``cifar-10-batches-py`` files (the ones torchvision downloads); naslab never downloads.
Split as NAS-Bench-201's ``cifar10-valid``: the first 25,000 training images train, the
other 25,000 validate, the official 10,000 test images test. Per-channel
standardisation with the usual CIFAR-10 mean/std. Augmentation (random crop with
4-pixel padding + horizontal flip) is applied by the trainer when the recipe asks for
it (``augment: true``).
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from naslab.errors import NaslabError

DATASETS = ("digits", "cifar10")
DIGITS_SPLIT_SEED = 0
DIGITS_POOLS = {"train": (0, 700), "val": (700, 1400), "test": (1400, 1797)}
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


class DatasetError(NaslabError, ValueError):
    """A dataset name, folder or size that cannot be served."""


@dataclass(frozen=True)
class Splits:
    """Normalised float32 images ``[n, C, H, W]`` and int64 labels as torch tensors."""

    name: str
    train_x: torch.Tensor  # noqa: F821
    train_y: torch.Tensor  # noqa: F821
    val_x: torch.Tensor  # noqa: F821
    val_y: torch.Tensor  # noqa: F821
    test_x: torch.Tensor  # noqa: F821
    test_y: torch.Tensor  # noqa: F821
    num_classes: int
    in_channels: int
    image_size: int

    def describe(self) -> dict[str, int | str]:
        return {
            "dataset": self.name,
            "train": int(self.train_x.shape[0]),
            "val": int(self.val_x.shape[0]),
            "test": int(self.test_x.shape[0]),
        }


def load_dataset(
    name: str,
    train_size: int | None = None,
    val_size: int | None = None,
    test_size: int | None = None,
    root: str | os.PathLike[str] | None = None,
) -> Splits:
    """The named dataset's splits; sizes take the first images of each pool (None = all)."""
    if name == "digits":
        x, y, pools = _digits_arrays()
    elif name == "cifar10":
        x, y, pools = _cifar10_arrays(root)
    else:
        raise DatasetError(f"unknown dataset {name!r}; expected one of {list(DATASETS)}")
    import torch

    parts = {}
    for split, size in (("train", train_size), ("val", val_size), ("test", test_size)):
        start, stop = pools[split]
        available = stop - start
        if size is not None and not 1 <= int(size) <= available:
            raise DatasetError(
                f"{name}: {split}_size={size} is outside 1..{available} (the {split} pool's size)"
            )
        stop = start + int(size) if size is not None else stop
        parts[split] = (torch.from_numpy(x[start:stop]), torch.from_numpy(y[start:stop]))
    return Splits(
        name=name,
        train_x=parts["train"][0], train_y=parts["train"][1],
        val_x=parts["val"][0], val_y=parts["val"][1],
        test_x=parts["test"][0], test_y=parts["test"][1],
        num_classes=10,
        in_channels=int(x.shape[1]),
        image_size=int(x.shape[2]),
    )


def _digits_arrays() -> tuple[np.ndarray, np.ndarray, dict[str, tuple[int, int]]]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(DIGITS_SPLIT_SEED).permutation(len(digits.target))
    images = (digits.images[order] / 16.0).astype(np.float32)[:, None, :, :]
    labels = digits.target[order].astype(np.int64)
    start, stop = DIGITS_POOLS["train"]
    pool = images[start:stop]
    images = (images - pool.mean()) / pool.std()
    return np.ascontiguousarray(images, dtype=np.float32), labels, DIGITS_POOLS


def _cifar10_arrays(
    root: str | os.PathLike[str] | None,
) -> tuple[np.ndarray, np.ndarray, dict[str, tuple[int, int]]]:
    if root is None:
        raise DatasetError("cifar10 needs data_root=<folder holding cifar-10-batches-py>; naslab never downloads it")
    folder = Path(root).expanduser()
    if (folder / "cifar-10-batches-py").is_dir():
        folder = folder / "cifar-10-batches-py"
    files = [folder / f"data_batch_{i}" for i in range(1, 6)] + [folder / "test_batch"]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise DatasetError(
            f"cifar10: {folder} lacks {', '.join(missing)}; expected the standard cifar-10-batches-py "
            "files there (naslab never downloads)"
        )
    images, labels = [], []
    for f in files:
        # the official CIFAR-10 python format is a pickle; only open files you trust
        with open(f, "rb") as handle:
            batch = pickle.load(handle, encoding="latin1")
        images.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.append(np.asarray(batch["labels"], dtype=np.int64))
    x = np.concatenate(images).astype(np.float32) / 255.0
    mean = np.asarray(CIFAR10_MEAN, dtype=np.float32)[None, :, None, None]
    std = np.asarray(CIFAR10_STD, dtype=np.float32)[None, :, None, None]
    x = np.ascontiguousarray((x - mean) / std, dtype=np.float32)
    pools = {"train": (0, 25_000), "val": (25_000, 50_000), "test": (50_000, 60_000)}
    return x, np.concatenate(labels), pools
