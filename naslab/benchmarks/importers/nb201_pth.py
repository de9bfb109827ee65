"""The official NAS-Bench-201 ``.pth`` / NATS-Bench topology pickle files.

Written against the structure documented by the NB201 API (``nas_201_api/api_201.py``
and ``api_utils.py`` of D-X-Y/NAS-Bench-201; NATS-Bench's ``api_topology.py`` has the
same layout with other hp keys). The file holds plain dicts::

    {"meta_archs": [15625 arch strings, official index order],
     "evaluated_indexes": [...],
     "arch2infos": {index: {"less": ArchResults, "full": ArchResults}}}   # NB201 .pth
                   {index: {"12": ArchResults, "200": ArchResults}}       # NATS-Bench
    ArchResults  = {"arch_index", "arch_str", "dataset_seed": {dataset: [seeds]},
                    "all_results": {(dataset, seed): ResultsCount}, ...}
    ResultsCount = {"epochs": E, "train_acc1es": {epoch: acc}, "train_losses": {...},
                    "train_times": {epoch: s} or None, "eval_names": [...],
                    "eval_acc1es": {"x-valid@<epoch>": acc}, "eval_losses": {...},
                    "eval_times": {...}, "params": M, "flop": M, "seed", "latency", ...}

We keep the final epoch of the 12-epoch ("less"/"12") and 200-epoch ("full"/"200")
runs as the epoch axis ``[12, 200]`` and every training seed on the seed axis, for
one dataset: ``val_acc`` = ``x-valid``; ``test_acc`` = ``ori-test`` for
``cifar10-valid`` and ``x-test`` for cifar100 / ImageNet16-120. With
``cifar10-valid`` the separately trained ``cifar10`` (train+valid) results are added
as ``cifar10_test_acc``/``cifar10_test_loss``. ``train_time_s`` = the summed epoch
times + one pass over x-valid, the NB201 baselines' query cost. Architectures absent
from ``arch2infos`` stay NaN and are marked incomplete.

A NATS-Bench archive *folder* (``meta.pickle.pbz2`` + ``<index>.pickle.pbz2`` per
architecture, each ``{hp: ArchResults}``) is read the same way.

Pickle can run code: only import files you obtained from a source you trust.
"""

from __future__ import annotations

import bz2
import json
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from naslab.benchmarks.importers.common import SourceFileError, existing_file
from naslab.benchmarks.tabular import TabularBenchmark, provenance
from naslab.progress import track
from naslab.spaces.nb201 import NB201Space

HP_KEYS = {12: ("less", "12"), 200: ("full", "200")}
DATASETS = ("cifar10-valid", "cifar100", "ImageNet16-120")
TEST_SET = {"cifar10-valid": "ori-test", "cifar100": "x-test", "ImageNet16-120": "x-test"}


def _unpickle(path: Path) -> Any:
    """One ``.pth`` (torch), ``.pbz2`` (bz2 pickle) or plain pickle file."""
    try:
        if path.name.endswith(".pth"):
            try:
                import torch
            except ImportError:
                raise SourceFileError(
                    f"{path} is a torch file and torch is not installed; pip install torch (see README)"
                ) from None
            return torch.load(path, map_location="cpu", weights_only=False)
        opener = bz2.open if path.name.endswith(".pbz2") else open
        with opener(path, "rb") as handle:
            return pickle.load(handle)
    except SourceFileError:
        raise
    except Exception as exc:  # a corrupt pickle can raise almost anything
        raise SourceFileError(f"{path} could not be unpickled ({type(exc).__name__}: {exc})") from None


def _read_archive_dir(path: Path) -> dict[str, Any]:
    """A NATS-Bench archive folder: ``meta.pickle.pbz2`` + one ``<index>.pickle.pbz2`` per arch."""
    meta_path = path / "meta.pickle.pbz2"
    if not meta_path.is_file():
        raise SourceFileError(f"{path} is a folder without meta.pickle.pbz2, so it is not a NATS-Bench archive")
    meta = _unpickle(meta_path)
    if not isinstance(meta, dict) or "meta_archs" not in meta:
        raise SourceFileError(f"{meta_path} has no 'meta_archs'; it is not a NATS-Bench meta file")
    arch2infos = {}
    for item in sorted(path.iterdir()):
        stem = item.name[: -len(".pickle.pbz2")] if item.name.endswith(".pickle.pbz2") else ""
        if stem.isdigit():  # 000123.pickle.pbz2 or 123.pickle.pbz2: {hp: ArchResults}
            arch2infos[int(stem)] = _unpickle(item)
    return {"meta_archs": meta["meta_archs"], "arch2infos": arch2infos,
            "evaluated_indexes": sorted(arch2infos)}


def read_official_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load an NB201 ``.pth``, a NATS-Bench ``.pickle[.pbz2]`` file or NATS archive folder into a dict."""
    path = Path(path)
    if path.is_dir():
        data = _read_archive_dir(path)
    else:
        data = _unpickle(existing_file(path, "NB201/NATS-Bench file"))
    if not isinstance(data, dict) or "meta_archs" not in data or "arch2infos" not in data:
        keys = sorted(data)[:5] if isinstance(data, dict) else type(data).__name__
        raise SourceFileError(
            f"{path} is not an NB201/NATS-Bench topology file: expected a dict with 'meta_archs' and 'arch2infos', got {keys}"
        )
    return data


def _at(table: Any, key: Any) -> float:
    """``table[key]`` as float (int and str epoch keys both occur), NaN if absent."""
    if not isinstance(table, dict):
        return float("nan")
    value = table.get(key, table.get(str(key)) if not isinstance(key, str) else None)
    return float("nan") if value is None else float(value)


def _final_metrics(run: dict[str, Any], valid: str, test: str | None) -> dict[str, float]:
    last = int(run["epochs"]) - 1
    times = run.get("train_times")
    train_time = (
        sum(_at(times, e) for e in range(last + 1)) if isinstance(times, dict) and times else float("nan")
    )
    out = {
        "train_acc": _at(run.get("train_acc1es"), last),
        "train_loss": _at(run.get("train_losses"), last),
        "train_time": train_time,
        "val_acc": _at(run.get("eval_acc1es"), f"{valid}@{last}"),
        "val_loss": _at(run.get("eval_losses"), f"{valid}@{last}"),
        "valid_pass": _at(run.get("eval_times"), f"{valid}@{last}"),
        "params": float(run.get("params") or "nan"),
        "flops": float(run.get("flop") or "nan"),
    }
    if test is not None:
        out["test_acc"] = _at(run.get("eval_acc1es"), f"{test}@{last}")
        out["test_loss"] = _at(run.get("eval_losses"), f"{test}@{last}")
    return out


def import_nb201_official(path: str | os.PathLike[str], dataset: str = "cifar10-valid") -> TabularBenchmark:
    if dataset not in DATASETS:
        raise SourceFileError(
            f"dataset {dataset!r} cannot be imported: expected one of {list(DATASETS)} "
            "(NB201's 'cifar10' has no validation split; import 'cifar10-valid', which adds cifar10's test accuracy)"
        )
    path = Path(path)
    data = read_official_file(path)
    space = NB201Space()
    n = space.size
    meta = list(data["meta_archs"])
    if len(meta) != n:
        raise SourceFileError(f"{path}: meta_archs has {len(meta)} entries, expected {n}")
    expected = [space.to_string(space.arch(i)) for i in range(n)]
    if meta != expected:  # the official order must be naslab's NB201 order
        i = next(i for i in range(n) if meta[i] != expected[i])
        raise SourceFileError(f"{path}: meta_archs[{i}] is {meta[i]!r}, expected {expected[i]!r} (NB201's official order)")

    # (index, hp epochs, dataset, seed) -> final metrics of that run
    runs: dict[tuple[int, int, str, int], dict[str, float]] = {}
    for key, hp_results in track(data["arch2infos"].items(), len(data["arch2infos"]), f"import {dataset}", "arch"):
        index = int(key)
        if not 0 <= index < n or not isinstance(hp_results, dict):
            raise SourceFileError(f"{path}: arch2infos has an invalid entry for key {key!r}")
        for epochs, hp_names in HP_KEYS.items():
            arch_results = next((hp_results[k] for k in hp_names if k in hp_results), None)
            if arch_results is None:
                continue
            try:
                for (name, seed), run in arch_results["all_results"].items():
                    if name == dataset:
                        runs[(index, epochs, name, int(seed))] = _final_metrics(run, "x-valid", TEST_SET[dataset])
                    elif name == "cifar10" and dataset == "cifar10-valid":
                        runs[(index, epochs, name, int(seed))] = _final_metrics(run, "ori-test", None)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise SourceFileError(
                    f"{path}: arch2infos[{key!r}] is not an ArchResults state dict ({type(exc).__name__}: {exc})"
                ) from None
    if not any(k[2] == dataset for k in runs):
        raise SourceFileError(f"{path} has no results for dataset {dataset!r}")

    seeds = sorted({k[3] for k in runs})
    seed_pos = {s: j for j, s in enumerate(seeds)}
    epoch_axis = sorted(HP_KEYS)
    epoch_pos = {e: j for j, e in enumerate(epoch_axis)}
    names = ["val_acc", "val_loss", "test_acc", "test_loss", "train_acc", "train_loss", "train_time_s"]
    if dataset == "cifar10-valid":
        names += ["cifar10_test_acc", "cifar10_test_loss"]
    metrics = {m: np.full((n, len(seeds), len(epoch_axis)), np.nan, dtype=np.float32) for m in names}
    params = np.full(n, np.nan)
    flops = np.full(n, np.nan)
    complete = np.zeros(n, dtype=bool)
    for (index, epochs, name, seed), m in runs.items():
        at = (index, seed_pos[seed], epoch_pos[epochs])
        if name == dataset:
            for metric in ("val_acc", "val_loss", "test_acc", "test_loss", "train_acc", "train_loss"):
                metrics[metric][at] = m[metric]
            metrics["train_time_s"][at] = m["train_time"] + m["valid_pass"]
            complete[index] = True
            if epochs == 200:
                params[index], flops[index] = m["params"], m["flops"]
        else:  # cifar10 trained on train+valid: kept under its own names
            metrics["cifar10_test_acc"][at] = m["val_acc"]
            metrics["cifar10_test_loss"][at] = m["val_loss"]

    test_name = TEST_SET[dataset]
    description = {
        "val_acc": f"{dataset}: top-1 accuracy (percent) on the x-valid split at the last epoch of the run",
        "val_loss": f"{dataset}: cross-entropy on x-valid",
        "test_acc": f"{dataset}: top-1 accuracy on the {test_name} split",
        "test_loss": f"{dataset}: cross-entropy on {test_name}",
        "train_acc": f"{dataset}: accuracy on the training split, last epoch",
        "train_loss": f"{dataset}: training cross-entropy, last epoch",
        "train_time_s": "simulated query cost: summed training epoch times + one x-valid pass, seconds",
        "params": "static: parameters, millions", "flops": "static: FLOPs, millions",
    }
    if dataset == "cifar10-valid":
        description["cifar10_test_acc"] = "cifar10 (trained on train+valid, 50k images): accuracy on the original test set"
        description["cifar10_test_loss"] = "cifar10 (train+valid): cross-entropy on the original test set"
    attrs = provenance(
        source=json.dumps({"source": "official NAS-Bench-201 / NATS-Bench topology file", "file": path.name}),
        licence="MIT (NAS-Bench-201 / NATS-Bench)",
        commit=path.name,
        description=description,
        units={"cifar10_test_acc": "percent", "cifar10_test_loss": "nats"},
        recipe={"12": "hp='12' (12-epoch schedule)", "200": "hp='200'", "seeds": seeds},
    )
    return TabularBenchmark(
        space_name=space.name,
        dataset=dataset,
        archs=meta,
        epochs=np.array(epoch_axis, dtype=np.int32),
        seeds=np.array(seeds, dtype=np.int32),
        metrics=metrics,
        static={"params": params.astype(np.float32), "flops": flops.astype(np.float32)},
        complete=complete,
        attrs=attrs,
    )
