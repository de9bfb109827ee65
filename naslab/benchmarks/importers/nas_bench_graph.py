"""NAS-Bench-Graph (9 graph datasets), read from the installed ``nas-bench-graph``
package (PyPI 1.4.0, Apache-2.0; ``pip install naslab[benchmarks]``).

The package ships the "light" benchmark, ``nas_bench_graph/light/<dataset>.bench``: a
pickled dict from an integer key to ``{"valid_perf", "perf", "latency", "para"}`` for
each unique architecture (26,206 per dataset, 2,021 for proteins): validation and
test performance (accuracy as a fraction; for arxiv and proteins as NAS-Bench-Graph
reports them), inference latency in seconds and parameters in millions. The light
files hold one value per architecture (no per-seed or per-epoch values, no training
time: budgets count queries here).

Key. The package's ``Arch.hash_arch`` (``architecture.py``) writes the key of a
canonical ``(link, ops)`` as ``link_position * 10**4 + sum(op_i * 10**(3 - i))``:
``link_position`` = the position of the link in the package's 9 canonical links
(:data:`CANONICAL_LINKS`), ``op_i`` = the position of the op in its 9-op list (also
for proteins). naslab decodes every key of the table into its network, computes its
own canonical key (:meth:`~naslab.spaces.nas_bench_graph.NASBenchGraphSpace.canonical`)
and gives every one of the space's vectors the record of its class, so no code of
the package runs here; the tests check that the classes match the table one to one.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from functools import cache
from pathlib import Path

import numpy as np

from naslab.benchmarks.importers.common import SourceFileError
from naslab.benchmarks.tabular import TabularBenchmark
from naslab.spaces.nas_bench_graph import OPS, NASBenchGraphSpace

PACKAGE = "nas-bench-graph"
VERSION = "1.4.0"
LICENCE = "Apache-2.0"
DATASETS = ("cora", "citeseer", "pubmed", "cs", "physics", "photo", "computers", "arxiv", "proteins")
CANONICAL_LINKS: tuple[tuple[int, ...], ...] = (
    (0, 0, 0, 0), (0, 0, 0, 1), (0, 0, 1, 1), (0, 0, 1, 2), (0, 0, 1, 3),
    (0, 1, 1, 1), (0, 1, 1, 2), (0, 1, 2, 2), (0, 1, 2, 3),
)
_BASE = len(OPS) + 1
MISSING = (
    f"the {PACKAGE} package is not installed; install naslab's benchmark data with "
    f"pip install 'naslab[benchmarks]' (or pip install {PACKAGE}=={VERSION})"
)


def package_file(dataset: str) -> Path:
    try:
        import nas_bench_graph
    except ModuleNotFoundError:
        raise SourceFileError(MISSING) from None
    path = Path(nas_bench_graph.__file__).resolve().parent / "light" / f"{dataset}.bench"
    if not path.is_file():
        raise SourceFileError(f"{path} is missing from the installed {PACKAGE}; reinstall {PACKAGE}=={VERSION}")
    return path


def decode_key(key: int) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """The canonical ``(link, op names)`` a table key stands for."""
    link_position, digits = divmod(int(key), _BASE**4)
    ops = []
    for power in (3, 2, 1, 0):
        digit, digits = divmod(digits, _BASE**power)
        ops.append(OPS[digit])
    return CANONICAL_LINKS[link_position], tuple(ops)


def space_for(dataset: str) -> NASBenchGraphSpace:
    from naslab.spaces.registry import get_space

    return get_space("nas_bench_graph_proteins" if dataset == "proteins" else "nas_bench_graph")  # type: ignore[return-value]


@cache
def _read(dataset: str) -> tuple[dict[int, dict[str, float]], str]:
    data = package_file(dataset).read_bytes()
    return pickle.loads(data), hashlib.sha256(data).hexdigest()


def record_rows(space: NASBenchGraphSpace, keys: list[int], where: str) -> np.ndarray:
    """``rows[i]`` = position in ``keys`` of the record of vector ``i`` (-1: no network)."""
    position: dict[str, int] = {}
    for p, key in enumerate(keys):
        try:
            link, ops = decode_key(key)
        except (IndexError, ValueError):
            raise SourceFileError(f"{where}: key {key!r} does not decode to a NAS-Bench-Graph architecture") from None
        canonical = space.canonical_of(link, ops)
        if canonical in position:
            raise SourceFileError(f"{where}: keys {keys[position[canonical]]} and {key} are the same network")
        position[canonical] = p
    rows = np.full(space.size, -1, dtype=np.int64)
    for i, canonical in enumerate(space.canonical_keys):
        rows[i] = position.get(canonical, -1)
    return rows


def load(dataset: str = "cora") -> TabularBenchmark:
    """NAS-Bench-Graph on one of :data:`DATASETS`: every vector of the space, one value each."""
    if dataset not in DATASETS:
        raise SourceFileError(f"NAS-Bench-Graph dataset {dataset!r} is unknown; {PACKAGE} has {list(DATASETS)}")
    records, sha = _read(dataset)
    space = space_for(dataset)
    where = f"{PACKAGE} light/{dataset}.bench"
    keys = list(records)
    rows = record_rows(space, keys, where)
    skip = space.ops.index("skip")
    valid = np.any(space.all_archs[:, [0, 2, 4, 6]] != skip, axis=1)
    if np.any((rows < 0) & valid):
        missing = space.arch(int(np.flatnonzero((rows < 0) & valid)[0]))
        raise SourceFileError(f"{where} has no entry for {space.to_string(missing)} (nor any network of its class)")

    def column(name: str, scale: float = 1.0) -> np.ndarray:
        try:
            values = np.array([float(records[k][name]) for k in keys], dtype=np.float64) * scale
        except (KeyError, TypeError, ValueError):
            raise SourceFileError(f"{where}: an entry lacks a numeric {name!r}") from None
        out = np.where(rows >= 0, values[np.maximum(rows, 0)], np.nan)
        return out

    per_arch = {"val_acc": column("valid_perf", 100.0), "test_acc": column("perf", 100.0)}
    source = {"package": PACKAGE, "version": VERSION, "file": f"nas_bench_graph/light/{dataset}.bench"}
    return TabularBenchmark(
        space_name=space.name,
        dataset=dataset,
        archs=list(space.all_strings),
        epochs=np.array([1], dtype=np.int32),
        seeds=np.array([-1], dtype=np.int32),
        metrics={k: v[:, None, None].astype(np.float32) for k, v in per_arch.items()},
        static={
            "params": column("para").astype(np.float32),
            "latency_ms": column("latency", 1000.0).astype(np.float32),
        },
        attrs={
            "source": json.dumps(source, sort_keys=True),
            "licence": LICENCE,
            "sha256": sha,
            "created_by": f"naslab, read from the installed {PACKAGE} {VERSION}",
            "unique_architectures": len(keys),
            "description": {
                "val_acc": f"NAS-Bench-Graph {dataset}: validation performance in percent (the package's "
                "valid_perf x 100), one value per unique architecture (the light benchmark)",
                "test_acc": "test performance in percent (perf x 100)",
                "params": "static: parameters, millions (para)",
                "latency_ms": "static: inference latency in milliseconds (latency x 1000)",
            },
            "splits": "the datasets' standard splits as NAS-Bench-Graph used them",
            "recipe": {"epochs": "per dataset (NAS-Bench-Graph's tuned setting)", "values": "final"},
        },
    )
