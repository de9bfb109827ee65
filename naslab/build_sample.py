"""The sampled build: train a sample of a space too large to tabulate (``kind=sample``).

``python -m naslab.build space=darts kind=sample sample.archs=N sample.multi_seed=M``
draws N architectures uniformly (``space.sample`` from ``numpy.random.default_rng(
sample.seed)``), keeps the first draw of each canonical class (``space.canonical``),
trains the first M of them with every seed of ``seeds`` (the noise between runs) and
the rest with ``seeds[0]`` only, plus, optionally, the architectures listed in
``sample.extra_archs`` (a file of arch strings, one a line: e.g. those that searches on
a first surrogate visited, as NAS-Bench-301 added; Siems et al. 2022, section 3), each
trained with one seed. The plan is a pure function of the space, ``sample.*`` and the
extra file, so every shard and every restart sees the same chunks.

The journal is :mod:`naslab.build`'s (work folder, ``manifest.json``, one atomic
``.npz`` per finished chunk, shards ``k % num_shards``, local processes or Dask, merge
with deterministic bytes). A chunk is a fixed list of (arch string, number of seeds);
its file name carries a hash of that list, so a chunk file can only be taken for the
chunk it was trained for. The uniform draws are cut into chunks first and the extra
architectures start a chunk of their own: adding or changing ``extra_archs`` after a
build leaves every uniform chunk valid and trains only the extra chunks.

The merged file is a *sample* benchmark (attribute ``kind=sample``, see
:mod:`naslab.benchmarks.tabular`): a row per trained architecture, uniform draws first
(in draw order), then the extra ones; per-seed metrics with NaN where a seed was not
trained; ``train_time_s`` (the cost), params and flops.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from naslab.errors import NaslabError
from naslab.training.trainer import METRIC_NAMES, Recipe

log = logging.getLogger("naslab.build")

# draws per wanted architecture before a space is declared too small for the sample
MAX_DRAWS_PER_ARCH = 10
# what a built file's metrics mean (its `description` attribute), for tables and samples alike
METRIC_DESCRIPTIONS = {
    "val_acc": "validation accuracy after the epoch",
    "test_acc": "test accuracy after the epoch (NaN where the recipe tests only the last epoch)",
    "train_time_s": "cumulative measured training seconds per seed (seeds trained together share time)",
    "eval_time_s": "cumulative measured evaluation seconds per seed (precise-BN pass, validation, test), "
    "not part of train_time_s",
    "flops": "multiply-accumulates of one forward pass of one image",
}


class BuildError(NaslabError, ValueError):
    """A build (table or sample) that cannot start or cannot be merged, with one sentence saying why.

    Defined here, below :mod:`naslab.build` (which re-exports it), so both build kinds raise one type.
    """


def check_whole_number(name: str, value: Any, low: int = 1, allow_null: bool = False) -> None:
    """Raise :class:`BuildError` (one sentence) unless ``value`` is an int >= ``low`` (or null if allowed)."""
    if value is None and allow_null:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise BuildError(f"{name}={value} must be a whole number >= {low}{' or null' if allow_null else ''}")


def draw_uniform(space: Any, count: int, seed: int) -> list[str]:
    """``count`` architectures of distinct canonical classes, uniform draws in draw order."""
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    out: list[str] = []
    draws = 0
    limit = MAX_DRAWS_PER_ARCH * count + 1000
    while len(out) < count:
        if draws >= limit:
            raise BuildError(
                f"sample.archs={count}: {draws} uniform draws of space {space.name!r} found only {len(out)} "
                "distinct architectures; lower sample.archs (or build the full table, kind=table)"
            )
        arch = space.sample(rng)
        draws += 1
        key = space.canonical(arch)
        if key not in seen:
            seen.add(key)
            out.append(space.to_string(arch))
    return out


def read_arch_file(space: Any, path: str | Path) -> list[str]:
    """Arch strings of ``path`` (one a line; blank lines and ``#`` comments skipped), each checked."""
    from naslab.spaces import InvalidArchError

    path = Path(path)
    if not path.is_file():
        raise BuildError(f"sample.extra_archs={path} does not exist; expected a file of arch strings, one a line")
    out = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            out.append(space.to_string(space.as_arch(text)))
        except (InvalidArchError, ValueError) as exc:
            raise BuildError(f"{path} line {number}: {exc}") from None
    return out


@dataclass(frozen=True)
class SamplePlan:
    """What a sampled build trains: the draws, the multi-seed subset, extras, and the chunks."""

    space_name: str
    recipe: Recipe
    seeds: tuple[int, ...]
    chunk_size: int
    num_archs: int
    multi_seed: int
    sample_seed: int = 0
    extra_archs: tuple[str, ...] = ()
    data_root: str | None = None

    kind: ClassVar[str] = "sample"
    unit: ClassVar[str] = "arch"

    def __post_init__(self) -> None:
        check_whole_number("chunk_size", self.chunk_size)
        check_whole_number("sample.archs", self.num_archs)
        check_whole_number("sample.multi_seed", self.multi_seed, low=0)
        if self.multi_seed > self.num_archs:
            raise BuildError(f"sample.multi_seed={self.multi_seed} exceeds sample.archs={self.num_archs}")
        if self.multi_seed and len(self.seeds) < 2:
            raise BuildError(
                f"sample.multi_seed={self.multi_seed} needs at least 2 seeds to measure noise, got seeds={list(self.seeds)}"
            )

    def manifest(self) -> dict[str, Any]:
        # the extra architectures are not part of the work folder's identity: they get
        # chunks of their own, named by content, so they may change between runs
        return {
            "kind": "sample",
            "space": self.space_name,
            "recipe": self.recipe.to_dict(),
            "seeds": list(self.seeds),
            "chunk_size": self.chunk_size,
            "archs": self.num_archs,
            "multi_seed": self.multi_seed,
            "sample_seed": self.sample_seed,
        }

    @property
    def space(self) -> Any:
        from naslab.spaces import get_space

        return get_space(self.space_name)

    @cached_property
    def uniform(self) -> list[str]:
        return draw_uniform(self.space, self.num_archs, self.sample_seed)

    @cached_property
    def extras(self) -> list[str]:
        """The extra architectures not already drawn (canonically), first occurrence kept."""
        space = self.space
        seen = {space.canonical(space.from_string(a)) for a in self.uniform}
        out = []
        for text in self.extra_archs:
            key = space.canonical(space.from_string(text))
            if key not in seen:
                seen.add(key)
                out.append(text)
        return out

    @cached_property
    def chunks(self) -> list[list[tuple[str, int]]]:
        """Each chunk's (arch string, seeds trained); uniform chunks first, extras after."""
        many, one = len(self.seeds), 1
        uniform = [(a, many if i < self.multi_seed else one) for i, a in enumerate(self.uniform)]
        extras = [(a, one) for a in self.extras]
        size = self.chunk_size
        return [part[i:i + size] for part in (uniform, extras) for i in range(0, len(part), size)]

    @property
    def _num_uniform_chunks(self) -> int:
        return -(-len(self.uniform) // self.chunk_size)

    @property
    def num_chunks(self) -> int:
        return len(self.chunks)

    def chunk_len(self, chunk: int) -> int:
        return len(self.chunks[chunk])

    @property
    def num_rows(self) -> int:
        return len(self.uniform) + len(self.extras)

    def chunk_path(self, work_dir: Path, chunk: int) -> Path:
        digest = hashlib.sha256(json.dumps(self.chunks[chunk]).encode()).hexdigest()[:12]
        return Path(work_dir) / f"sample-{chunk:05d}-{digest}.npz"

    # ----- training ------------------------------------------------------------------
    def train_chunk(self, splits: Any, chunk: int, device: str = "cpu") -> dict[str, np.ndarray]:
        """Train every arch of one chunk; a failed training is NaN rows, never an exception."""
        from naslab.training.models import count_flops, count_params
        from naslab.training.trainer import train_seeds

        items = self.chunks[chunk]
        space, r = self.space, self.recipe
        s, e = len(self.seeds), len(r.stored_epochs)
        out = {name: np.full((len(items), s, e), np.nan, dtype=np.float32) for name in METRIC_NAMES}
        out["archs"] = np.asarray([a for a, _ in items], dtype=str)
        out["num_seeds"] = np.asarray([k for _, k in items], dtype=np.int32)
        out["params"] = np.zeros(len(items), dtype=np.float32)
        out["flops"] = np.zeros(len(items), dtype=np.float32)
        for row, (text, num_seeds) in enumerate(items):
            arch = space.from_string(text)
            shape = (arch, r.channels, r.cells_per_stage, splits.num_classes, splits.in_channels)
            out["params"][row] = count_params(*shape, space=space)
            out["flops"][row] = count_flops(*shape, splits.image_size, space=space)
            try:
                record = train_seeds(arch, r, splits, self.seeds[:num_seeds], device=device, space=space)
            except (RuntimeError, FloatingPointError) as exc:  # a numerical blow-up, not a bug
                log.warning("%s failed: %s", text, exc)
                continue
            for name in METRIC_NAMES:
                out[name][row, :num_seeds] = record.metrics[name]
        return out

    # ----- merge ---------------------------------------------------------------------
    def merge(self, work_dir: Path, output: Path, manifest: dict[str, Any], splits: Any,
              chunks: list[int] | None = None) -> Path:
        """Read the chunks (default: all) in order and write the sample benchmark (deterministic bytes)."""
        from naslab.benchmarks.tabular import TabularBenchmark, write_benchmark

        chunks = list(range(self.num_chunks)) if chunks is None else chunks
        parts: dict[str, list[np.ndarray]] = {}
        for k in chunks:
            with np.load(self.chunk_path(work_dir, k)) as data:
                if data["archs"].tolist() != [a for a, _ in self.chunks[k]]:
                    raise BuildError(
                        f"{self.chunk_path(work_dir, k)} holds architectures other than chunk {k}'s; delete it and resume"
                    )
                for name in (*METRIC_NAMES, "params", "flops"):
                    parts.setdefault(name, []).append(data[name])
        rows = {name: np.concatenate(values) for name, values in parts.items()}
        items = [item for k in chunks for item in self.chunks[k]]
        num_uniform = sum(len(self.chunks[k]) for k in chunks if k < self._num_uniform_chunks)
        r = self.recipe
        attrs: dict[str, Any] = dict(manifest["provenance"])
        attrs.update(
            kind="sample",
            recipe=r.to_dict(),
            seeds=list(self.seeds),
            splits=splits.describe(),
            source=(
                f"trained by naslab.build kind=sample: {num_uniform} uniform draws of {self.space_name} "
                f"(sample.seed={self.sample_seed}, distinct canonical classes), the first of the plan's "
                f"{self.multi_seed} with all {len(self.seeds)} seeds, the others with seed {self.seeds[0]}; then "
                f"{len(items) - num_uniform} extra architectures with one seed"
                + ("" if len(chunks) == self.num_chunks else f" (partial merge: {len(chunks)} of {self.num_chunks} chunks)")
            ),
            sample={"uniform": num_uniform, "multi_seed": sum(k > 1 for _, k in items),
                    "extra": len(items) - num_uniform, "sample_seed": self.sample_seed},
            build_command=manifest.get("command", ""),
            description=dict(METRIC_DESCRIPTIONS),
        )
        bench = TabularBenchmark(
            space_name=self.space_name,
            dataset=r.dataset,
            archs=[a for a, _ in items],
            epochs=np.asarray(r.stored_epochs, dtype=np.int32),
            seeds=np.asarray(self.seeds, dtype=np.int32),
            metrics={name: rows[name] for name in METRIC_NAMES},
            static={"params": rows["params"], "flops": rows["flops"]},
            attrs=attrs,
        )
        return write_benchmark(output, bench, compress=True)
