"""NAS-Bench-Macro (xiusu/NAS-Bench-Macro, Apache-2.0) from its published JSON.

The JSON maps each 8-digit architecture to ``{"test_acc": [3 runs], "mean_acc", "std",
"params", "flops"}``. Its training script (``train/train.py``) trains each network 3
times (seeds 0, 1, 2) for 50 epochs on the 50k CIFAR-10 training images and records,
per run, the *best* accuracy on the 10k test set over the 50 epochs.

NAS-Bench-Macro has no validation split: the accuracy it publishes is a test
accuracy. naslab's loader needs a ``val_acc`` (the search signal), so the file stores
the same values under ``val_acc`` and ``test_acc`` and says so in its ``description``
attribute — searching this benchmark means searching on test accuracy, as the
NAS-Bench-Macro paper does. No training times are published: budgets on this
benchmark are counted in queries.
"""

from __future__ import annotations

import json
import os

import numpy as np

from naslab.benchmarks.importers.common import SourceFileError, existing_file
from naslab.benchmarks.tabular import TabularBenchmark, provenance
from naslab.spaces.macro import MacroSpace

EPOCHS = 50
RUNS = 3
SOURCE = {
    "source": "xiusu/NAS-Bench-Macro, data/nas-bench-macro_cifar10.json",
    "commit": "61a2bfc",
    "licence": "Apache-2.0",
}
DESCRIPTION = {
    "test_acc": "CIFAR-10: best top-1 accuracy (percent) on the 10k test set over 50 training epochs, one value per run (seeds 0, 1, 2), training on the 50k train images",
    "val_acc": "the same values as test_acc: NAS-Bench-Macro publishes no validation accuracy, so its search signal is the test accuracy",
    "params": "static: parameters, millions",
    "flops": "static: FLOPs of one 32x32 inference, millions",
}


def import_nasbench_macro(json_path: str | os.PathLike[str]) -> TabularBenchmark:
    space = MacroSpace()
    path = existing_file(json_path, "NAS-Bench-Macro JSON")
    try:
        with open(path, encoding="utf-8") as handle:
            records = json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceFileError(f"NAS-Bench-Macro JSON {path} is not valid JSON ({exc})") from None
    if not isinstance(records, dict):
        raise SourceFileError(f"NAS-Bench-Macro JSON {path} holds a {type(records).__name__}, expected an object keyed by arch strings")
    n = space.size
    if len(records) != n:
        raise SourceFileError(f"NAS-Bench-Macro JSON {path} has {len(records)} architectures, expected {n}")
    accuracy = np.full((n, RUNS), np.nan)
    params = np.full(n, np.nan)
    flops = np.full(n, np.nan)
    for key, record in records.items():
        try:
            i = space.index(space.from_string(key))
        except ValueError as exc:
            raise SourceFileError(f"NAS-Bench-Macro JSON {path}: {exc}") from None
        try:
            runs = [float(v) for v in record["test_acc"]]
            params[i] = float(record["params"]) / 1e6
            flops[i] = float(record["flops"]) / 1e6
        except (KeyError, TypeError, ValueError):
            raise SourceFileError(
                f"NAS-Bench-Macro JSON {path}: the record of {key} lacks a numeric test_acc list, params or flops"
            ) from None
        if len(runs) != RUNS:
            raise SourceFileError(f"NAS-Bench-Macro JSON {path}: {key} has {len(runs)} test_acc runs, expected {RUNS}")
        accuracy[i] = runs
    per_run = accuracy[:, :, None].astype(np.float32)  # [N, 3 runs, 1 epoch]
    attrs = provenance(
        source=json.dumps({**SOURCE, "file": path.name}, sort_keys=True),
        licence=SOURCE["licence"],
        commit=SOURCE["commit"],
        description=DESCRIPTION,
        recipe={
            "epochs": EPOCHS,
            "optimiser": "SGD lr 0.1 momentum 0.9 wd 5e-4, cosine, batch 256",
            "network": "stem 32 ch; stages of 2, 3, 3 layers, first layer of a stage stride 2 and 2x channels; 1x1 conv 1280; linear",
            "accuracy": "best test accuracy over the 50 epochs",
        },
        splits="CIFAR-10: train 50k / test 10k (no validation split)",
    )
    return TabularBenchmark(
        space_name=space.name,
        dataset="cifar10",
        archs=[space.to_string(space.arch(i)) for i in range(n)],
        epochs=np.array([EPOCHS], dtype=np.int32),
        seeds=np.arange(RUNS, dtype=np.int32),
        metrics={"val_acc": per_run.copy(), "test_acc": per_run},
        static={"params": params.astype(np.float32), "flops": flops.astype(np.float32)},
        attrs=attrs,
    )
