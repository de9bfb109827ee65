"""A table of zero-cost proxies for every unique architecture of a space:
``python -m naslab.zero_cost.table``.

One score per proxy and canonical class (:attr:`CategoricalSpace.canonical_ids`),
copied to every member, stored as ``/static/zc_<proxy>`` (and the scoring seconds as
``/static/zc_<proxy>_time_s``) of a file in naslab's benchmark format; the ``zc_``
prefix keeps them apart from a benchmark's own ``params`` and ``flops``, which were
counted by whoever trained it. With
``base_benchmark=<file>`` the output is that benchmark plus the proxy columns (so the
tabular and surrogate evaluators, the surrogates' features and the warm start read
one file); without it the file holds the proxies and a NaN ``val_acc`` placeholder.
``synflow`` is stored as its natural logarithm: the raw score of the NB201 CIFAR
network (~1e59) overflows float32; ranks are unchanged.

The work is journaled and sharded with :mod:`naslab.build`'s machinery (work folder,
``manifest.json``, atomic ``chunk-<k>.npz`` files, ``shard=i num_shards=n``, progress
line): kill it at any time and rerun the same command to resume. Chunks follow a
seeded random permutation of the classes (``order=random``, the default), so the
chunks finished at any moment are a uniform random sample of the space, and
``partial=true`` merges such a sample (unscored rows NaN, ``complete`` False).
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from naslab.build import (
    MANIFEST,
    _atomic_write_bytes,
    chunk_path,
    class_representatives,
    done_chunks,
    prepare_work_dir,
)
from naslab.progress import progress_bar
from naslab.zero_cost.base import PROXY_NAMES, ZeroCostError, ZeroCostScorer

LOG_STORED = ("synflow",)  # stored as ln(score): the raw values overflow float32
PREFIX = "zc_"


def column(proxy: str) -> str:
    """The static column holding ``proxy``'s scores."""
    return PREFIX + proxy


def time_column(proxy: str) -> str:
    return f"{PREFIX}{proxy}_time_s"


@dataclass(frozen=True)
class ProxyPlan:
    """Which proxies of which space on which dataset, and the chunking of its classes."""

    space_name: str
    dataset: str
    proxies: tuple[str, ...]
    seed: int = 0
    chunk_size: int = 20
    order: str = "random"
    batch_size: int | None = None
    network: dict[str, Any] = field(default_factory=dict)
    limit_classes: int | None = None

    def manifest(self) -> dict[str, Any]:
        return {
            "space": self.space_name, "dataset": self.dataset, "proxies": list(self.proxies),
            "seed": self.seed, "chunk_size": self.chunk_size, "order": self.order,
            "batch_size": self.batch_size, "network": dict(self.network), "limit_classes": self.limit_classes,
        }

    @property
    def space(self) -> Any:
        from naslab.spaces import get_space

        return get_space(self.space_name)

    def representatives(self) -> np.ndarray:
        return class_representatives(self.space)

    def class_order(self) -> np.ndarray:
        """Class ids in scoring order (a seeded permutation, or id order)."""
        n = len(self.representatives())
        order = np.random.default_rng(self.seed).permutation(n) if self.order == "random" else np.arange(n)
        return order if self.limit_classes is None else order[: self.limit_classes]

    @property
    def num_classes(self) -> int:
        return len(self.class_order())

    @property
    def num_chunks(self) -> int:
        return -(-self.num_classes // self.chunk_size)

    def chunk_classes(self, chunk: int) -> np.ndarray:
        return self.class_order()[chunk * self.chunk_size : (chunk + 1) * self.chunk_size]


def stored_value(proxy: str, value: float) -> float:
    """What the table stores for a score (ln for :data:`LOG_STORED` proxies)."""
    if proxy in LOG_STORED:
        return math.log(value) if value > 0 else math.nan
    return value


def score_chunk(plan: ProxyPlan, scorer: ZeroCostScorer, chunk: int) -> dict[str, np.ndarray]:
    reps = plan.representatives()
    classes = plan.chunk_classes(chunk)
    out: dict[str, np.ndarray] = {"class_ids": np.asarray(classes, dtype=np.int32)}
    for proxy in plan.proxies:
        out[column(proxy)] = np.full(len(classes), np.nan, dtype=np.float64)
        out[time_column(proxy)] = np.full(len(classes), np.nan, dtype=np.float64)
    for row, class_id in enumerate(classes):
        arch = plan.space.arch(int(reps[class_id]))
        for proxy in plan.proxies:
            result = scorer.score(arch, proxy)
            out[column(proxy)][row] = stored_value(proxy, result.value) if result.ok else np.nan
            out[time_column(proxy)][row] = result.time_s
    return out


def run_shard(plan: ProxyPlan, scorer: ZeroCostScorer, work_dir: Path, shard: int, num_shards: int) -> int:
    """Score this shard's missing chunks in this process; returns how many it scored."""
    if not 0 <= shard < num_shards:
        raise ZeroCostError(f"shard={shard} is outside 0..{num_shards - 1} (num_shards={num_shards})")
    mine = [k for k in range(plan.num_chunks) if k % num_shards == shard]
    finished = done_chunks(work_dir, plan)
    pending = [k for k in mine if k not in finished]
    print(f"naslab.zero_cost.table: shard {shard}/{num_shards}: {len(mine) - len(pending)} of {len(mine)} "
          f"chunks done, {len(pending)} to score -> {work_dir}", file=sys.stderr, flush=True)
    total = sum(len(plan.chunk_classes(k)) for k in mine)
    done = sum(len(plan.chunk_classes(k)) for k in mine if k in finished)
    with progress_bar(total, f"zero-cost shard {shard}/{num_shards}", "class", initial=done) as bar:
        for k in pending:
            result = score_chunk(plan, scorer, k)
            _atomic_write_bytes(chunk_path(work_dir, k), lambda h, r=result: np.savez(h, **r))
            bar.update(len(result["class_ids"]))
    return len(pending)


def merge(plan: ProxyPlan, work_dir: Path, output: Path, benchmark: str | None, partial: bool) -> Path:
    """Write the proxy table (deterministic bytes for the same chunks and inputs)."""
    from naslab.benchmarks.tabular import TabularBenchmark, load_benchmark, write_benchmark

    done = done_chunks(work_dir, plan)
    missing = sorted(set(range(plan.num_chunks)) - done)
    if missing and not partial:
        raise ZeroCostError(
            f"cannot merge {work_dir}: {len(missing)} of {plan.num_chunks} chunks are missing "
            f"(first: chunk {missing[0]}); run the remaining shards first, or merge a sample with partial=true"
        )
    space = plan.space
    n_classes = len(plan.representatives())
    columns = [c for p in plan.proxies for c in (column(p), time_column(p))]
    per_class = {c: np.full(n_classes, np.nan) for c in columns}
    scored = np.zeros(n_classes, dtype=bool)
    for k in sorted(done):
        with np.load(chunk_path(work_dir, k)) as data:
            if not np.array_equal(data["class_ids"], plan.chunk_classes(k)):
                raise ZeroCostError(f"{chunk_path(work_dir, k)} holds classes other than chunk {k}'s; delete it and resume")
            for c in columns:
                per_class[c][data["class_ids"]] = data[c]
            scored[data["class_ids"]] = True
    ids = np.asarray(space.canonical_ids, dtype=np.int64)
    static = {c: per_class[c][ids].astype(np.float32) for c in columns}
    manifest = json.loads((work_dir / MANIFEST).read_text())
    zc_attrs = {
        "plan": plan.manifest(), "command": manifest.get("command", ""), "provenance": manifest["provenance"],
        "classes_scored": int(scored.sum()), "classes": n_classes,
        "stored_as_ln": [p for p in plan.proxies if p in LOG_STORED],
    }
    if benchmark:
        base = load_benchmark(benchmark)
        if base.space_name != plan.space_name:
            raise ZeroCostError(f"benchmark {benchmark} is of space {base.space_name!r}, the proxies of {plan.space_name!r}")
        attrs = dict(base.attrs)
        static = {**base.static, **static}
        metrics, epochs, seeds, dataset = base.metrics, base.epochs, base.seeds, base.dataset
        complete = base.complete
    else:
        from naslab.benchmarks.tabular import provenance

        attrs = provenance(source="naslab.zero_cost.table: zero-cost proxies only (val_acc is a NaN placeholder)")
        metrics = {"val_acc": np.full((space.size, 1, 1), np.nan, dtype=np.float32)}
        epochs, seeds, dataset = np.asarray([0], dtype=np.int32), np.asarray([plan.seed], dtype=np.int32), plan.dataset
        complete = scored[ids]
    units = dict(attrs.get("units", {}))
    units.update({column(p): ("ln(score)" if p in LOG_STORED else "score") for p in plan.proxies})
    units.update({time_column(p): "seconds" for p in plan.proxies})
    attrs["units"] = units
    attrs["zero_cost"] = zc_attrs
    bench = TabularBenchmark(
        space_name=plan.space_name, dataset=dataset,
        archs=[space.to_string(space.arch(i)) for i in range(space.size)],
        epochs=epochs, seeds=seeds, metrics=metrics, static=static, complete=complete, attrs=attrs,
    )
    return write_benchmark(output, bench, compress=True)


def plan_from_config(cfg: Any) -> ProxyPlan:
    proxies = tuple(str(p) for p in (cfg.proxies or PROXY_NAMES))
    unknown = [p for p in proxies if p not in PROXY_NAMES]
    if unknown or len(set(proxies)) != len(proxies):
        raise ZeroCostError(f"proxies={list(proxies)} must be distinct names from {list(PROXY_NAMES)}")
    if cfg.order not in ("random", "index"):
        raise ZeroCostError(f"order={cfg.order!r} is not one of random, index")
    if int(cfg.chunk_size) < 1:
        raise ZeroCostError(f"chunk_size must be >= 1, got {cfg.chunk_size}")
    return ProxyPlan(
        space_name=str(cfg.space), dataset=str(cfg.dataset), proxies=proxies, seed=int(cfg.seed),
        chunk_size=int(cfg.chunk_size), order=str(cfg.order),
        batch_size=int(cfg.batch_size) if cfg.batch_size else None,
        network={str(k): v for k, v in dict(cfg.network or {}).items()},
        limit_classes=int(cfg.limit_classes) if cfg.limit_classes else None,
    )


def run(cfg: Any) -> Path | None:
    if cfg.stage not in ("all", "score", "merge"):
        raise ZeroCostError(f"stage={cfg.stage!r} is not one of all, score, merge")
    plan = plan_from_config(cfg)
    scorer = ZeroCostScorer(plan.space_name, plan.dataset, plan.seed, data_root=cfg.data_root,
                            batch_size=plan.batch_size, network=plan.network)
    output = Path(cfg.output)
    work_dir = Path(cfg.work_dir) if cfg.work_dir else Path("work-zero-cost") / output.stem
    prepare_work_dir(work_dir, plan, "python -m naslab.zero_cost.table " + " ".join(sys.argv[1:]))
    if cfg.stage in ("all", "score"):
        started = time.monotonic()
        scored = run_shard(plan, scorer, work_dir, int(cfg.shard), int(cfg.num_shards))
        print(f"naslab.zero_cost.table: scored {scored} chunk(s) in {time.monotonic() - started:.0f} s", file=sys.stderr)
    if cfg.stage == "score":
        return None
    path = merge(plan, work_dir, output, cfg.base_benchmark, bool(cfg.partial))
    print(f"naslab.zero_cost.table: wrote {path}", file=sys.stderr)
    return path


def load_config(argv: list[str]) -> Any:
    """``naslab/conf/zero_cost.yaml`` with ``key=value`` overrides (OmegaConf dot-list).

    Not a Hydra app: ``space`` and ``benchmark`` name config groups of naslab's Hydra
    configs, so Hydra would read ``space=nb201`` as a group choice.
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    base = OmegaConf.load(Path(__file__).resolve().parent.parent / "conf" / "zero_cost.yaml")
    OmegaConf.set_struct(base, True)
    bad = [a for a in argv if "=" not in a]
    if bad:
        raise ZeroCostError(f"argument {bad[0]!r} is not key=value; keys are {sorted(base)}")
    try:
        return OmegaConf.merge(base, OmegaConf.from_dotlist(argv))
    except OmegaConfBaseException as exc:
        raise ZeroCostError(f"{str(exc).splitlines()[0]}; keys are {sorted(base)}") from None


def main(argv: list[str] | None = None) -> None:
    from naslab.benchmarks.tabular import BenchmarkFileError

    try:
        run(load_config(sys.argv[1:] if argv is None else argv))
    except (ZeroCostError, BenchmarkFileError, FileNotFoundError) as exc:
        print(f"naslab.zero_cost.table: error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
