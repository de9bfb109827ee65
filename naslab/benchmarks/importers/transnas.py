"""TransNAS-Bench-101 micro and macro on its 7 tasks, read in place from the zips in
``../shared/benchmarks/transnas-bench-101/`` (NASLib's copies, Apache-2.0; README there).

Each zip holds ``zen/benchmark--transbench101_<micro|macro>--<task>--<start>.json``:
chunks of ``{"idx", "arch", "zen": {"score", "time"}, "val_accuracy"}`` records, one per
architecture and task. ``arch`` is the tuple of TNB101 codes as a string, ``"(1, 3, 0, 3,
2, 1)"`` (micro: the six edge ops; macro: the 4-6 module codes).
``val_accuracy`` is the task's final validation metric as NASLib's TNB101 API returns
it, higher is better for every task; there is no test value, no training time and no
learning curve. naslab stores it under its true name per task (:data:`TASKS`): a top-1
accuracy as ``val_acc``, mIoU as ``val_miou``, SSIM as ``val_ssim``, and room layout's
negative L2 loss as the loss ``val_l2_loss`` (its negation, minimised). The zen
zero-cost score and its computation time are static metrics.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from functools import cache
from pathlib import Path

import numpy as np

from naslab.benchmarks.importers.common import SourceFileError
from naslab.benchmarks.tabular import TabularBenchmark
from naslab.spaces.transnas import TNB101MacroSpace, TNB101MicroSpace

# task -> (naslab metric, direction, sign applied to val_accuracy, unit, meaning)
TASKS: dict[str, tuple[str, str, float, str, str]] = {
    "class_object": ("val_acc", "max", 1.0, "percent", "object classification (Taskonomy), top-1 validation accuracy"),
    "class_scene": ("val_acc", "max", 1.0, "percent", "scene classification (Taskonomy), top-1 validation accuracy"),
    "jigsaw": ("val_acc", "max", 1.0, "percent", "jigsaw puzzle (self-supervised), validation accuracy"),
    "segmentsemantic": ("val_miou", "max", 1.0, "percent", "semantic segmentation, validation mIoU"),
    "normal": ("val_ssim", "max", 1.0, "SSIM", "surface normal estimation, validation SSIM"),
    "autoencoder": ("val_ssim", "max", 1.0, "SSIM", "autoencoding, validation SSIM"),
    "room_layout": ("val_l2_loss", "min", -1.0, "L2", "room layout regression, validation L2 loss (NASLib stores its negation)"),
}
FILES = {"micro": "tnb101_micro_zen.zip", "macro": "tnb101_macro_zen.zip"}
SOURCE = {
    "source": "automl/NASLib branch zerocost (commit 8c45f19d): naslib/data/zc_benchmarks/all_benchmarks_zen.zip "
    "(micro), run/results/benchmarks/tnb101_macro_zen.zip (macro)",
    "licence": "Apache-2.0",
}


def _space(kind: str) -> TNB101MicroSpace | TNB101MacroSpace:
    from naslab.spaces.registry import get_space

    return get_space(f"tnb101_{kind}")  # type: ignore[return-value]


@cache
def _read(zip_path: str, kind: str, task: str) -> tuple[list[dict], str]:
    path = Path(zip_path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = sorted(n for n in archive.namelist() if f"--transbench101_{kind}--{task}--" in n)
            if not names:
                raise SourceFileError(f"{path} holds no {kind} records of task {task}")
            records = [r for n in names for r in json.loads(archive.read(n))]
    except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceFileError(f"{path} is not a TransNAS-Bench-101 zip of JSON records ({exc})") from None
    return records, hashlib.sha256(path.read_bytes()).hexdigest()


def load(space: str = "micro", task: str = "class_object", folder: str | os.PathLike[str] = ".") -> TabularBenchmark:
    """TNB101 ``space`` (micro | macro) on ``task``, from the zip in ``folder``."""
    if space not in FILES:
        raise SourceFileError(f"TransNAS-Bench-101 space {space!r} is unknown; expected micro or macro")
    if task not in TASKS:
        raise SourceFileError(f"TransNAS-Bench-101 task {task!r} is unknown; expected one of {sorted(TASKS)}")
    path = Path(folder) / FILES[space]
    if not path.is_file():
        raise SourceFileError(
            f"{path} does not exist; point benchmark.loader.folder (or $NASLAB_SHARED_BENCHMARKS/transnas-bench-101) "
            "at the folder holding the TransNAS-Bench-101 zips"
        )
    records, sha = _read(str(path.resolve()), space, task)
    sp = _space(space)
    metric, direction, sign, unit, meaning = TASKS[task]
    where = f"{path} ({space}, {task})"
    position: dict[str, int] = {}
    values = np.empty((len(records), 3))
    for p, record in enumerate(records):
        try:
            codes = tuple(int(c) for c in str(record["arch"]).strip("()").split(","))
            values[p] = (sign * float(record["val_accuracy"]), float(record["zen"]["score"]), float(record["zen"]["time"]))
        except (KeyError, TypeError, ValueError):
            raise SourceFileError(f"{where}: record {p} lacks a numeric arch tuple, val_accuracy or zen score") from None
        key = _key(sp, codes, where)
        if key in position:
            raise SourceFileError(f"{where}: architecture {record['arch']} appears twice")
        position[key] = p
    rows = np.array([position.get(k, -1) for k in _canonical_keys(sp)], dtype=np.int64)
    expected = 4096 if space == "micro" else 3256
    if len(position) != expected or (space == "micro" and np.any(rows < 0)):
        raise SourceFileError(f"{where} holds {len(position)} architectures, expected {expected}")

    def column(j: int) -> np.ndarray:
        return np.where(rows >= 0, values[np.maximum(rows, 0), j], np.nan)

    source = {**SOURCE, "file": FILES[space], "space": space, "task": task}
    return TabularBenchmark(
        space_name=sp.name,
        dataset=task,
        archs=list(sp.all_strings),
        epochs=np.array([1], dtype=np.int32),
        seeds=np.array([-1], dtype=np.int32),
        metrics={metric: column(0)[:, None, None].astype(np.float32)},
        static={"zen_score": column(1).astype(np.float32), "zen_time_s": column(2).astype(np.float32)},
        attrs={
            "source": json.dumps(source, sort_keys=True),
            "licence": SOURCE["licence"],
            "sha256": sha,
            "created_by": "naslab, read in place from the TransNAS-Bench-101 zip",
            "search_metric": metric,
            "search_direction": direction,
            "units": {metric: unit},
            "description": {
                metric: f"TransNAS-Bench-101 {space}, task {task}: {meaning}, final; one value per architecture",
                "zen_score": "static: the zen zero-cost proxy score NASLib computed",
                "zen_time_s": "static: seconds the zen score took",
            },
            "recipe": {"values": "final validation metric (TNB101's training recipe per task)"},
        },
    )


def _key(space: TNB101MicroSpace | TNB101MacroSpace, codes: tuple[int, ...], where: str) -> str:
    if isinstance(space, TNB101MicroSpace):
        if len(codes) != 6 or any(not 0 <= c <= 3 for c in codes):
            raise SourceFileError(f"{where}: {codes} is not six micro op codes 0..3")
        return space.to_string(codes)
    chain = tuple(c for c in codes if c)
    if not space.is_network(chain):
        raise SourceFileError(f"{where}: {codes} is not a TransNAS-Bench-101 macro network")
    return "".join(map(str, chain))


def _canonical_keys(space: TNB101MicroSpace | TNB101MacroSpace) -> list[str]:
    """Per vector, the key its record is filed under (micro: its string; macro: its chain)."""
    if isinstance(space, TNB101MicroSpace):
        return space.all_strings
    return [space.canonical(tuple(row)) for row in space.all_archs.tolist()]
