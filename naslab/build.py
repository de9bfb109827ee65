"""Build a tabular benchmark by training every unique architecture: ``python -m naslab.build``.

One training per canonical class (:attr:`CategoricalSpace.canonical_ids`, 5,273 for
NB201), all seeds at once (:func:`naslab.training.trainer.train_seeds`), copied to
every member of the class in the final file.

**Resumable by construction.** Classes are cut into fixed chunks (chunk ``k`` = class
ids ``k*chunk_size ..``). A worker that finishes a chunk writes ``chunk-<k>.npz`` into
the work folder atomically (temporary file + fsync + rename); nothing else is state.
Kill the build at any moment (``kill -9`` included) and start the same command again:
finished chunks are skipped, the rest is trained. A training depends only on (recipe,
architecture, seed), never on which worker ran it or when, so the final file equals
that of an uninterrupted build — except ``train_time_s``, which is measured wall time.
The merge step reads the chunks in order and writes the HDF5 file; its attributes come
from the work folder's ``manifest.json`` (written once, at the first start), so merging
the same chunks twice gives the same bytes.

**Shards.** ``shard=i num_shards=n`` trains only chunks with ``k % n == i``; run the
shards as a Hydra multirun on any launcher (joblib, submitit/SLURM, Ray), all pointing
at one shared ``work_dir``, then ``stage=merge`` checks that every chunk is there and
writes the file. Inside one shard, ``workers`` processes (default: one per core) each
run one thread.

**Kinds.** ``kind=table`` (above) needs an enumerable space; ``kind=sample``
(:mod:`naslab.build_sample`) trains a uniform sample of any space, with a multi-seed
subset and extra architectures, through the same journal, shards and merge;
``kind=auto`` (the default) is ``table`` for an enumerable space, ``sample`` otherwise.
A plan (:class:`BuildPlan`, :class:`naslab.build_sample.SamplePlan`) says what its
chunks hold (``num_chunks``, ``chunk_len``, ``chunk_path``, ``train_chunk``, ``merge``);
everything here is the same for both.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from naslab.build_sample import METRIC_DESCRIPTIONS, BuildError, check_whole_number
from naslab.files import publish
from naslab.progress import progress_bar
from naslab.training.trainer import METRIC_NAMES, Recipe

log = logging.getLogger("naslab.build")

MANIFEST = "manifest.json"
_WORKER_STATE: dict[str, Any] = {}


@dataclass(frozen=True)
class BuildPlan:
    """What a build trains: a space, a recipe, seeds, and the chunking of its classes."""

    space_name: str
    recipe: Recipe
    seeds: tuple[int, ...]
    chunk_size: int
    data_root: str | None = None
    limit_classes: int | None = None  # build only the first classes (tests, smoke runs)

    kind: ClassVar[str] = "table"
    unit: ClassVar[str] = "class"

    def __post_init__(self) -> None:
        # 0 is not "no limit" (null is): limit_classes=0 used to start the full build
        check_whole_number("chunk_size", self.chunk_size)
        check_whole_number("limit_classes", self.limit_classes, allow_null=True)

    def manifest(self) -> dict[str, Any]:
        return {
            "space": self.space_name,
            "recipe": self.recipe.to_dict(),
            "seeds": list(self.seeds),
            "chunk_size": self.chunk_size,
            "limit_classes": self.limit_classes,
        }

    @property
    def space(self) -> Any:
        from naslab.spaces import get_space

        return get_space(self.space_name)

    def representatives(self) -> np.ndarray:
        """Official index of each class's first member, in class-id order."""
        reps = class_representatives(self.space)
        return reps if self.limit_classes is None else reps[: self.limit_classes]

    @property
    def num_classes(self) -> int:
        return len(self.representatives())

    @property
    def num_chunks(self) -> int:
        return -(-self.num_classes // self.chunk_size)

    def chunk_classes(self, chunk: int) -> range:
        return range(chunk * self.chunk_size, min((chunk + 1) * self.chunk_size, self.num_classes))

    def chunk_len(self, chunk: int) -> int:
        return len(self.chunk_classes(chunk))

    def chunk_path(self, work_dir: Path, chunk: int) -> Path:
        return chunk_path(work_dir, chunk)

    def train_chunk(self, splits: Any, chunk: int, device: str = "cpu") -> dict[str, np.ndarray]:
        return train_chunk(self, splits, chunk, device)

    def merge(self, work_dir: Path, output: Path, manifest: dict[str, Any], splits: Any) -> Path:
        return merge_table(self, work_dir, output, manifest, splits)


def class_representatives(space: Any) -> np.ndarray:
    """Official index of each canonical class's first member, in class-id order."""
    ids = space.canonical_ids
    _, first = np.unique(ids, return_index=True)
    return first[np.argsort(ids[first])]


def chunk_path(work_dir: Path, chunk: int) -> Path:
    return work_dir / f"chunk-{chunk:05d}.npz"


def _chunk_file(plan: Any, work_dir: Path, chunk: int) -> Path:
    # plans of other journals (naslab.zero_cost.table) use the table's names
    own = getattr(plan, "chunk_path", None)
    return own(work_dir, chunk) if own is not None else chunk_path(work_dir, chunk)


def done_chunks(work_dir: Path, plan: Any) -> set[int]:
    return {k for k in range(plan.num_chunks) if _chunk_file(plan, work_dir, k).is_file()}


def _atomic_write_bytes(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def prepare_work_dir(work_dir: Path, plan: BuildPlan, command: str) -> dict[str, Any]:
    """Create the work folder with its manifest, or check that it belongs to this plan."""
    from naslab.benchmarks.tabular import provenance

    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / MANIFEST
    wanted = plan.manifest()
    if path.is_file():
        stored = json.loads(path.read_text())
        if stored.get("plan") != wanted:
            raise BuildError(
                f"work folder {work_dir} belongs to a different build (its manifest.json differs from this "
                "recipe/seeds/chunking); delete it or choose another work_dir"
            )
        # folders started before eval_time_s was measured name no metrics: chunks of both must not mix
        started_with = stored.get("metrics", [m for m in METRIC_NAMES if m != "eval_time_s"])
        if started_with != list(METRIC_NAMES):
            raise BuildError(
                f"work folder {work_dir} was started by a naslab that stores the metrics {started_with}, "
                f"this one stores {list(METRIC_NAMES)}; finish it with that version, or delete it"
            )
        return stored
    manifest = {"plan": wanted, "metrics": list(METRIC_NAMES), "provenance": provenance(), "command": command}
    _atomic_write_bytes(path, lambda h: h.write(json.dumps(manifest, indent=1, sort_keys=True).encode()))
    return manifest


# ----- workers ------------------------------------------------------------------------
def _init_worker(plan: BuildPlan) -> None:
    # threads: naslab's policy (naslab.threads), applied when a spawned worker imports naslab
    from naslab.training.data import load_dataset

    r = plan.recipe
    _WORKER_STATE["splits"] = load_dataset(r.dataset, r.train_size, r.val_size, r.test_size, plan.data_root)
    _WORKER_STATE["plan"] = plan


def train_chunk(plan: BuildPlan, splits: Any, chunk: int, device: str = "cpu") -> dict[str, np.ndarray]:
    """Train every class of one chunk; a failure of one class is NaN rows, never an exception."""
    from naslab.training.models import count_flops, count_params
    from naslab.training.trainer import train_seeds

    reps = plan.representatives()
    classes = list(plan.chunk_classes(chunk))
    r, s, e = plan.recipe, len(plan.seeds), len(plan.recipe.stored_epochs)
    out = {name: np.full((len(classes), s, e), np.nan, dtype=np.float32) for name in METRIC_NAMES}
    out["class_ids"] = np.asarray(classes, dtype=np.int32)
    out["params"] = np.zeros(len(classes), dtype=np.float32)
    out["flops"] = np.zeros(len(classes), dtype=np.float32)
    space = plan.space
    for row, class_id in enumerate(classes):
        arch = space.arch(int(reps[class_id]))
        shape = (arch, r.channels, r.cells_per_stage, splits.num_classes, splits.in_channels)
        out["params"][row] = count_params(*shape)
        out["flops"][row] = count_flops(*shape, splits.image_size)
        try:
            record = train_seeds(arch, r, splits, plan.seeds, device=device)
        except (RuntimeError, FloatingPointError) as exc:  # a numerical blow-up, not a bug
            log.warning("class %d (%s) failed: %s", class_id, space.to_string(arch), exc)
            continue
        for name in METRIC_NAMES:
            out[name][row] = record.metrics[name]
    return out


def _run_chunk(args: tuple[int, str]) -> tuple[int, int]:
    chunk, work_dir = args
    plan = _WORKER_STATE["plan"]
    result = plan.train_chunk(_WORKER_STATE["splits"], chunk)
    _atomic_write_bytes(plan.chunk_path(Path(work_dir), chunk), lambda h: np.savez(h, **result))
    return chunk, plan.chunk_len(chunk)


def _run_chunk_on_dask(plan: BuildPlan, cwd: str, args: tuple[int, str]) -> tuple[int, int]:
    """:func:`_run_chunk` in a Dask worker, which loads the data once per plan."""
    os.chdir(cwd)  # relative data_root and work_dir mean what they mean to the command
    chunk, work_dir = args
    if plan.chunk_path(Path(work_dir), chunk).is_file():  # a retry after its worker died: the chunk got written
        return chunk, plan.chunk_len(chunk)
    if _WORKER_STATE.get("plan") != plan:
        _init_worker(plan)
    return _run_chunk(args)


def run_shard(plan: Any, work_dir: Path, shard: int, num_shards: int, workers: int,
              executor: str = "local", address: str | None = None) -> int:
    """Train this shard's missing chunks; returns how many chunks it trained.

    ``executor``: ``local`` (``workers`` processes here) or ``dask`` (the Dask scheduler at
    ``address``, else a LocalCluster of ``workers`` processes; :mod:`naslab.dask_cluster`).
    """
    import multiprocessing

    if not 0 <= shard < num_shards:
        raise BuildError(f"shard={shard} is outside 0..{num_shards - 1} (num_shards={num_shards})")
    mine = [k for k in range(plan.num_chunks) if k % num_shards == shard]
    finished = done_chunks(work_dir, plan)
    pending = [k for k in mine if k not in finished]
    done_classes = sum(plan.chunk_len(k) for k in mine if k in finished)
    total_classes = sum(plan.chunk_len(k) for k in mine)
    log.info(
        "shard %d/%d: %d of %d chunks already done, %d to train with %d worker(s) -> %s",
        shard, num_shards, len(mine) - len(pending), len(mine), len(pending), workers, work_dir,
    )
    if not pending:
        return 0
    tasks = [(k, str(work_dir)) for k in pending]
    with progress_bar(total_classes, f"build shard {shard}/{num_shards}", plan.unit, initial=done_classes) as bar:
        if executor == "dask":
            from functools import partial

            from naslab.dask_cluster import DaskError, dask_client, run_on_dask

            try:
                with dask_client(address, workers) as client:
                    for _chunk, count in run_on_dask(client, partial(_run_chunk_on_dask, plan, os.getcwd()), tasks):
                        bar.update(count)
            except DaskError as exc:
                raise BuildError(str(exc)) from None
            return len(pending)
        if workers == 1:
            # in this process: no pool to start, and it works inside launchers whose job
            # processes may not have children (a SLURM/joblib job with one core)
            _init_worker(plan)
            for task in tasks:
                bar.update(_run_chunk(task)[1])
            return len(pending)
        context = multiprocessing.get_context("spawn")
        with context.Pool(workers, initializer=_init_worker, initargs=(plan,)) as pool:
            for _chunk, count in pool.imap_unordered(_run_chunk, tasks):
                bar.update(count)
    return len(pending)


# ----- merge --------------------------------------------------------------------------
def merge(plan: Any, work_dir: Path, output: Path, partial: bool = False) -> Path:
    """Check that every chunk exists and write the benchmark file (deterministic bytes).

    ``partial`` (a sample only): merge the chunks finished so far, e.g. to fit a first
    surrogate while the build goes on; the same finished chunks give the same bytes.
    """
    from naslab.training.data import load_dataset

    if partial and plan.kind != "sample":
        raise BuildError("partial=true merges part of a sample (kind=sample); a table needs every chunk")
    finished = done_chunks(work_dir, plan)
    missing = sorted(set(range(plan.num_chunks)) - finished)
    if partial and not finished:
        raise BuildError(f"cannot merge {work_dir}: none of its {plan.num_chunks} chunks is finished yet")
    if missing and not partial:
        raise BuildError(
            f"cannot merge {work_dir}: {len(missing)} of {plan.num_chunks} chunks are missing "
            f"(first: chunk {missing[0]}); run the remaining shards first"
        )
    manifest = json.loads((work_dir / MANIFEST).read_text())
    r = plan.recipe
    splits = load_dataset(r.dataset, r.train_size, r.val_size, r.test_size, plan.data_root)
    if partial:
        log.info("partial merge: %d of %d chunks (%d missing)", len(finished), plan.num_chunks, len(missing))
        return plan.merge(work_dir, output, manifest, splits, sorted(finished))
    return plan.merge(work_dir, output, manifest, splits)


def merge_table(plan: BuildPlan, work_dir: Path, output: Path, manifest: dict[str, Any], splits: Any) -> Path:
    """The full table: each class's training copied to every member of the class."""
    from naslab.benchmarks.tabular import TabularBenchmark, write_benchmark

    space = plan.space
    class_rows: dict[str, np.ndarray] = {}
    for k in range(plan.num_chunks):
        with np.load(chunk_path(work_dir, k)) as data:
            expected = np.asarray(list(plan.chunk_classes(k)), dtype=np.int32)
            if not np.array_equal(data["class_ids"], expected):
                raise BuildError(f"{chunk_path(work_dir, k)} holds classes other than chunk {k}'s; delete it and resume")
            for name in (*METRIC_NAMES, "params", "flops"):
                class_rows.setdefault(name, []).append(data[name])  # type: ignore[attr-defined]
    per_class = {name: np.concatenate(parts) for name, parts in class_rows.items()}
    ids = np.asarray(space.canonical_ids, dtype=np.int64)
    built = ids < plan.num_classes
    metrics, static = {}, {}
    s, e = len(plan.seeds), len(plan.recipe.stored_epochs)
    for name in METRIC_NAMES:
        values = np.full((space.size, s, e), np.nan, dtype=np.float32)
        values[built] = per_class[name][ids[built]]
        metrics[name] = values
    for name in ("params", "flops"):
        values = np.full(space.size, np.nan, dtype=np.float32)
        values[built] = per_class[name][ids[built]]
        static[name] = values
    r = plan.recipe
    attrs: dict[str, Any] = dict(manifest["provenance"])
    attrs.update(
        recipe=r.to_dict(),
        seeds=list(plan.seeds),
        splits=splits.describe(),
        source="trained by naslab.build: one training per canonical class, copied to all its members",
        build_command=manifest.get("command", ""),
        num_classes=int(plan.num_classes),
        description=dict(METRIC_DESCRIPTIONS),
    )
    bench = TabularBenchmark(
        space_name=plan.space_name,
        dataset=r.dataset,
        archs=[space.to_string(space.arch(i)) for i in range(space.size)],
        epochs=np.asarray(r.stored_epochs, dtype=np.int32),
        seeds=np.asarray(plan.seeds, dtype=np.int32),
        metrics=metrics,
        static=static,
        complete=built,
        attrs=attrs,
    )
    return write_benchmark(output, bench, compress=True)


# ----- the command line ---------------------------------------------------------------
KINDS = ("auto", "table", "sample")


def plan_from_config(cfg: Any) -> Any:
    """The plan of a build config: a :class:`BuildPlan` or a :class:`~naslab.build_sample.SamplePlan`."""
    from naslab.spaces import get_space
    from naslab.spaces.registry import name_of

    space_name = name_of(cfg.space)
    kind = str(cfg.get("kind") or "auto")
    if kind not in KINDS:
        raise BuildError(f"kind={kind!r} is not one of {', '.join(KINDS)}")
    enumerable = getattr(get_space(space_name), "enumerable", True)
    if kind == "auto":
        kind = "table" if enumerable else "sample"
    if kind == "table" and not enumerable:
        raise BuildError(
            f"kind=table trains every architecture, but space {space_name!r} is too large to enumerate; use kind=sample"
        )
    recipe_fields = dict(cfg.recipe)
    recipe_fields["dataset"] = cfg.dataset
    try:
        recipe = Recipe.from_mapping(recipe_fields)
    except (TypeError, ValueError) as exc:
        raise BuildError(str(exc)) from None
    seeds = tuple(int(s) for s in cfg.seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise BuildError(f"seeds={list(seeds)} must be a non-empty list of distinct integers")
    if kind == "sample":
        from naslab.build_sample import SamplePlan, read_arch_file

        sample = cfg.get("sample") or {}
        extra = sample.get("extra_archs")
        return SamplePlan(
            space_name=space_name,
            recipe=recipe,
            seeds=seeds,
            chunk_size=cfg.chunk_size,
            num_archs=sample.get("archs"),
            multi_seed=sample.get("multi_seed", 0),
            sample_seed=int(sample.get("seed", 0)),
            extra_archs=tuple(read_arch_file(get_space(space_name), extra)) if extra else (),
            data_root=str(cfg.data_root) if cfg.data_root else None,
        )
    return BuildPlan(
        space_name=space_name,
        recipe=recipe,
        seeds=seeds,
        chunk_size=cfg.chunk_size,
        data_root=str(cfg.data_root) if cfg.data_root else None,
        limit_classes=cfg.limit_classes,
    )


def default_output(plan: Any) -> Path:
    """``naslab/data/<space>_<dataset>.h5`` for a table, ``..._sample.h5`` for a sample."""
    suffix = "_sample" if plan.kind == "sample" else ""
    return Path("naslab") / "data" / f"{plan.space_name}_{plan.recipe.dataset}{suffix}.h5"


def default_work_dir(output: Path) -> Path:
    """``work-build/<output stem>`` under the current folder (ignored by git as /work-*/)."""
    return Path("work-build") / output.stem


def build_command_line() -> str:
    return "python -m naslab.build " + " ".join(sys.argv[1:])


def run(cfg: Any) -> Path | None:
    from naslab.training.data import DATASETS

    if cfg.dataset not in DATASETS:
        raise BuildError(f"unknown dataset {cfg.dataset!r}; expected one of {list(DATASETS)}")
    if cfg.stage not in ("all", "build", "merge"):
        raise BuildError(f"stage={cfg.stage!r} is not one of all, build, merge")
    partial = bool(cfg.get("partial", False))
    if partial and cfg.stage != "merge":
        raise BuildError("partial=true is for stage=merge (merge what is finished while shards still train)")
    plan = plan_from_config(cfg)
    output = Path(cfg.output) if cfg.get("output") else default_output(plan)
    work_dir = Path(cfg.work_dir) if cfg.work_dir else default_work_dir(output)
    prepare_work_dir(work_dir, plan, build_command_line())
    if cfg.stage in ("all", "build"):
        workers = int(cfg.workers) if cfg.workers else (os.cpu_count() or 1)
        started = time.monotonic()
        executor = str(cfg.get("executor", "local"))
        if executor not in ("local", "dask"):
            raise BuildError(f"executor={executor!r} is not one of local, dask")
        trained = run_shard(plan, work_dir, int(cfg.shard), int(cfg.num_shards), workers, executor,
                            cfg.get("dask_address"))
        log.info("trained %d chunk(s) in %.0f s", trained, time.monotonic() - started)
    if cfg.stage == "build":
        return None
    missing = plan.num_chunks - len(done_chunks(work_dir, plan))
    if missing and cfg.stage == "all" and int(cfg.num_shards) > 1:
        log.info(
            "shard %s done; %d chunk(s) of other shards still missing, run stage=merge once every shard has finished",
            cfg.shard, missing,
        )
        return None
    path = merge(plan, work_dir, output, partial=partial)
    if partial:
        log.info("wrote %s (the finished chunks of a sample)", path)
    elif plan.kind == "sample":
        log.info("wrote %s (sample of %d archs, %d with %d seeds)", path, plan.num_rows, plan.multi_seed,
                 len(plan.seeds))
    else:
        log.info("wrote %s (%d classes, %d seeds)", path, plan.num_classes, len(plan.seeds))
    return path


def main() -> None:
    import hydra
    from omegaconf import DictConfig

    @hydra.main(version_base="1.3", config_path="conf", config_name="build")
    def _app(cfg: DictConfig) -> None:
        try:
            run(cfg)
        except BuildError as exc:
            print(f"naslab.build: error: {exc}", file=sys.stderr)
            sys.exit(2)
        except (ValueError, FileNotFoundError) as exc:
            print(f"naslab.build: error: {exc}", file=sys.stderr)
            sys.exit(2)

    _app()


if __name__ == "__main__":
    main()
