"""The tabular benchmark: one HDF5 file, loaded whole into numpy arrays.

File layout (``FORMAT_VERSION`` 1)::

    /archs              [N] utf-8 strings; row i = the architecture with space index i
    /epochs             [E] int32; the training epoch each point of the epoch axis is at
    /seeds              [S] int32; the training seed of each point of the seed axis
    /metrics/<name>     float32 [N, S, E]; NaN = not run or diverged
    /static/<name>      float32 [N] (params, flops, latency_ms_<device>, ...)
    /complete           bool [N] (optional); False = row not built yet
    attributes          format_version, space, dataset, recipe (JSON), created_at,
                        created_by, hardware, source, licence, units (JSON: metric -> unit),
                        description (JSON: metric -> meaning); optional:
                        search_metric (default val_acc), search_direction (max|min),
                        seed_mode (the evaluator's default: mean|random),
                        kind (table|sample, default table; see below)

Two kinds of file share this layout. A *table* (``kind`` absent or ``table``) has a row
for every architecture of an enumerable space, in the space's index order. A *sample*
(``kind=sample``, written by ``python -m naslab.build kind=sample``,
:mod:`naslab.build_sample`) has a row per *trained* architecture of any space, in any
order (each row's string names it; strings are distinct), NaN for the seeds a row was
not trained with (the multi-seed subset has them all), and a ``sample`` attribute
(JSON: ``uniform``, ``multi_seed``, ``extra`` row counts, ``sample_seed``): rows
``0 .. uniform-1`` are uniform draws, the rest extra architectures (e.g. visited by
searches); ``multi_seed`` rows (uniform draws) were trained with every seed. A sample cannot answer an arbitrary
architecture: the tabular evaluator refuses it, a surrogate benchmark fitted on it
answers any (:mod:`naslab.surrogate_benchmark`).

Well-known metric names: ``val_acc``, ``val_loss``, ``test_acc``, ``test_loss``,
``train_acc``, ``train_loss`` (accuracies in percent) and ``train_time_s``, the
*cumulative* training seconds needed to reach that epoch (the simulated cost of a
query at that fidelity). Static: ``params`` (millions), ``flops`` (millions).

Writing is atomic: a temporary file beside the target is renamed over it, so a reader
never sees a half-written benchmark.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from naslab.errors import InvalidValueError, NaslabError, UnknownNameError
from naslab.files import publish
from naslab.spaces import Arch, CategoricalSpace, InvalidArchError
from naslab.spaces.registry import get_space

FORMAT_VERSION = 1
KINDS = ("table", "sample")
ACCURACY_UNIT = "percent"
KNOWN_UNITS = {
    "val_acc": ACCURACY_UNIT,
    "test_acc": ACCURACY_UNIT,
    "train_acc": ACCURACY_UNIT,
    "val_loss": "nats",
    "test_loss": "nats",
    "train_loss": "nats",
    "train_time_s": "seconds",
    "eval_time_s": "seconds",
    "params": "millions",
    "flops": "millions",
}


class BenchmarkFileError(NaslabError, ValueError):
    """A benchmark file is missing, unreadable or not in naslab's format."""


@dataclass
class TabularBenchmark:
    """All results of one (space, dataset, recipe), dense in memory."""

    space_name: str
    dataset: str
    archs: list[str]
    epochs: np.ndarray
    seeds: np.ndarray
    metrics: dict[str, np.ndarray]
    static: dict[str, np.ndarray] = field(default_factory=dict)
    complete: np.ndarray | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    _means: dict[tuple[str, int], np.ndarray] = field(default_factory=dict, init=False, repr=False, compare=False)

    # ----- shape --------------------------------------------------------------------
    @property
    def num_archs(self) -> int:
        return len(self.archs)

    @cached_property
    def space(self) -> CategoricalSpace:
        return get_space(self.space_name)

    @cached_property
    def index_by_arch(self) -> dict[str, int]:
        return {a: i for i, a in enumerate(self.archs)}

    def index_of(self, arch: str | Arch) -> int:
        """Row of an arch string (or a decision tuple) of this benchmark's space."""
        try:
            return self.index_by_arch[arch]  # type: ignore[index]
        except (KeyError, TypeError):
            pass
        decision = self.space.as_arch(arch)  # one sentence if it is not of the space at all
        if self.num_archs == self.space.size:  # a full table: row i is the space's index i
            return self.space.index(decision)
        row = self.index_by_arch.get(self.space.to_string(decision))
        if row is None:
            raise InvalidArchError(f"{arch!r} is not in benchmark {self.label} ({self.num_archs} of the space's archs)")
        return row

    @property
    def kind(self) -> str:
        """``table`` (a row per architecture of the space) or ``sample`` (rows = trained architectures)."""
        return str(self.attrs.get("kind") or "table")

    @property
    def label(self) -> str:
        return str(self.path) if self.path else f"<{self.space_name}/{self.dataset}>"

    @property
    def max_epoch(self) -> int:
        return int(self.epochs[-1])

    def epoch_position(self, epoch: int | None) -> int:
        """Position on the epoch axis of training epoch ``epoch`` (None = the last)."""
        if epoch is None:
            return len(self.epochs) - 1
        pos = self._epoch_positions.get(epoch)  # a dict: np.flatnonzero doubled a query's time
        if pos is None:
            raise InvalidValueError(
                f"epoch {epoch} is not stored in {self.label}; stored epochs: {self.epochs.tolist()}"
            )
        return pos

    @cached_property
    def _epoch_positions(self) -> dict[int, int]:
        return {int(e): i for i, e in reversed(list(enumerate(self.epochs)))}

    @property
    def search_metric(self) -> str:
        """The metric strategies search on (``val_acc`` unless the benchmark names another)."""
        return str(self.attrs.get("search_metric") or "val_acc")

    @property
    def search_direction(self) -> str:
        """``max`` or ``min``: whether :attr:`search_metric` is better when higher."""
        return str(self.attrs.get("search_direction") or "max")

    # ----- queries ------------------------------------------------------------------
    def has(self, metric: str) -> bool:
        return metric in self.metrics

    def metric(self, name: str) -> np.ndarray:
        try:
            return self.metrics[name]
        except KeyError:
            raise UnknownNameError(
                f"metric {name!r} is not in {self.label}; it has {sorted(self.metrics)}"
            ) from None

    def table(self, name: str, epoch: int | None = None, seed: int | None = None) -> np.ndarray:
        """``[N]`` values of a metric at one epoch: one seed position, or the seed mean.

        The seed mean ignores NaN seeds; a row whose seeds are all NaN stays NaN.
        """
        pos = self.epoch_position(epoch)
        if seed is not None:
            return self.metric(name)[:, seed, pos]
        return self._seed_means(name, pos).copy()

    def _seed_means(self, name: str, pos: int) -> np.ndarray:
        """The float32 seed mean of one metric at one epoch position, computed once (read-only).

        A benchmark's arrays are treated as fixed once loaded: a query averaged the whole
        table each call (3.3 ms on NB201-sized data, against 22 µs for an evaluation).
        """
        means = self._means.get((name, pos))
        if means is None:
            means = seed_mean(self.metric(name)[:, :, pos]).astype(np.float32)
            means.setflags(write=False)
            self._means[(name, pos)] = means
        return means

    def query(
        self, arch: str | Arch | int, metric: str, epoch: int | None = None, seed: int | None = None
    ) -> float:
        """One value: the seed mean at ``epoch`` (None = the last), or one seed position.

        ``arch`` is an arch string, a decision tuple or a row index.
        """
        index = int(arch) if isinstance(arch, (int, np.integer)) else self.index_of(arch)
        pos = self.epoch_position(epoch)
        if seed is not None:
            return float(self.metric(metric)[index, seed, pos])
        return float(self._seed_means(metric, pos)[index])

    def query_batch(
        self, indices: np.ndarray, metric: str, seeds: np.ndarray, epoch_positions: np.ndarray
    ) -> np.ndarray:
        """Many (arch index, seed position, epoch position) lookups of one metric at once."""
        values = self.metric(metric)
        _, s, e = values.shape
        flat = (np.asarray(indices, dtype=np.int64) * s + seeds) * e + epoch_positions
        return values.reshape(-1).take(flat)

    def static_value(self, name: str) -> np.ndarray:
        try:
            return self.static[name]
        except KeyError:
            raise UnknownNameError(f"static metric {name!r} is not in {self.label}; it has {sorted(self.static)}") from None

    def best_test_acc(self) -> float:
        """Best seed-mean test accuracy at the last epoch (the regret reference)."""
        return float(np.nanmax(self.table("test_acc")))

    # ----- I/O ----------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        return write_benchmark(path, self)


def seed_mean(values: np.ndarray) -> np.ndarray:
    """Mean over the seed axis (axis 1) ignoring NaN seeds; all-NaN rows stay NaN (float64)."""
    values = np.asarray(values, dtype=np.float64)
    counts = np.sum(~np.isnan(values), axis=1)
    sums = np.nansum(values, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def _validate(bench: TabularBenchmark, label: str) -> None:
    n, s, e = bench.num_archs, len(bench.seeds), len(bench.epochs)
    if n == 0 or s == 0 or e == 0:
        raise BenchmarkFileError(f"{label}: empty benchmark (archs={n}, seeds={s}, epochs={e})")
    if bench.search_metric not in bench.metrics:
        raise BenchmarkFileError(
            f"{label}: the search metric {bench.search_metric!r} is missing; it has {sorted(bench.metrics)}"
        )
    if bench.search_direction not in ("max", "min"):
        raise BenchmarkFileError(f"{label}: search_direction is {bench.search_direction!r}, expected 'max' or 'min'")
    for name, values in bench.metrics.items():
        if values.shape != (n, s, e):
            raise BenchmarkFileError(
                f"{label}: metrics/{name} has shape {values.shape}, expected (archs, seeds, epochs) = {(n, s, e)}"
            )
        if values.dtype != np.float32:
            raise BenchmarkFileError(f"{label}: metrics/{name} is {values.dtype}, expected float32")
    for name, values in bench.static.items():
        if values.shape != (n,):
            raise BenchmarkFileError(f"{label}: static/{name} has shape {values.shape}, expected ({n},)")
    if np.any(np.diff(bench.epochs) <= 0):
        raise BenchmarkFileError(f"{label}: epochs {bench.epochs.tolist()} are not strictly increasing")
    if bench.complete is not None and bench.complete.shape != (n,):
        raise BenchmarkFileError(f"{label}: complete has shape {bench.complete.shape}, expected ({n},)")
    units = bench.attrs.get("units", {})
    for name in list(bench.metrics) + list(bench.static):
        expected = KNOWN_UNITS.get(name)
        if expected and units.get(name, expected) != expected:
            raise BenchmarkFileError(
                f"{label}: {name} is in {units[name]!r}, naslab expects {expected!r}"
            )
    if bench.kind not in KINDS:
        raise BenchmarkFileError(f"{label}: kind is {bench.kind!r}, expected one of {list(KINDS)}")
    space = get_space(bench.space_name)
    if bench.kind == "sample":
        _validate_sample_rows(bench, space, label)
    elif not space.enumerable:
        raise BenchmarkFileError(
            f"{label}: a full table of space {bench.space_name!r} cannot exist ({space.size:.3g} architectures); "
            "a file of it must be kind=sample"
        )
    elif n != space.size:
        raise BenchmarkFileError(
            f"{label}: {n} archs, but space {bench.space_name!r} has {space.size}"
        )
    else:
        _validate_table_rows(bench, space, label)
    for name in ("train_time_s", "eval_time_s"):
        times = bench.metrics.get(name)
        if times is not None and bool(np.any(times < 0)):  # NaN compares False: not run is fine
            row = int(np.flatnonzero(np.any(times < 0, axis=(1, 2)))[0])
            raise BenchmarkFileError(
                f"{label}: metrics/{name} has negative values (first at row {row}); measured times are >= 0 seconds"
            )


def _validate_table_rows(bench: TabularBenchmark, space: CategoricalSpace, label: str) -> None:
    expected = space.all_strings
    if bench.archs != expected:  # every row: swapped rows would silently answer for the wrong arch
        row = next(i for i, (a, b) in enumerate(zip(bench.archs, expected)) if a != b)
        raise BenchmarkFileError(
            f"{label}: row {row} is {bench.archs[row]!r}, expected {expected[row]!r} (the space's index order)"
        )


SAMPLE_ROWS_PARSED = 64


def _validate_sample_rows(bench: TabularBenchmark, space: CategoricalSpace, label: str) -> None:
    """Rows are distinct; the first and last :data:`SAMPLE_ROWS_PARSED` rows parse as the space's strings.

    Not every row is parsed: a DARTS genotype string takes ~0.5 ms to parse, so 3,000 rows
    would add 1.7 s to every load; a row is parsed anyway when it is used (one sentence then).
    """
    if len(set(bench.archs)) != len(bench.archs):
        seen: set[str] = set()
        for row, text in enumerate(bench.archs):
            if text in seen:
                raise BenchmarkFileError(f"{label}: row {row} repeats architecture {text!r}; a sample's rows are distinct")
            seen.add(text)
    n = len(bench.archs)
    for row in sorted(set(range(min(n, SAMPLE_ROWS_PARSED))) | set(range(max(0, n - SAMPLE_ROWS_PARSED), n))):
        try:
            space.as_arch(bench.archs[row])
        except InvalidArchError as exc:
            raise BenchmarkFileError(f"{label}: row {row}: {exc}") from None


def require_table(bench: TabularBenchmark, who: str) -> None:
    """Refuse a sample file where a full table is needed, in one sentence naming what answers it."""
    if bench.kind != "sample" and not bench.space.enumerable:
        raise BenchmarkFileError(
            f"{who} needs a full table, but space {bench.space_name!r} is too big to tabulate "
            f"({bench.space.size:.3g} architectures); search a surrogate benchmark of it (evaluator=surrogate_benchmark)"
        )
    if bench.kind == "sample":
        then = (
            "it holds a surrogate model: search it with evaluator=surrogate_benchmark"
            if bench.attrs.get("surrogate_model")
            else "fit a surrogate benchmark on it (python -m naslab.surrogate_benchmark fit sample=FILE output=MODEL) "
            "and search that (evaluator=surrogate_benchmark)"
        )
        raise BenchmarkFileError(
            f"{who} needs a full table, but {bench.label} is a sample of space {bench.space_name!r} "
            f"({bench.num_archs} trained architectures), which cannot answer an arbitrary architecture; {then}"
        )


def load_benchmark(path: str | os.PathLike[str]) -> TabularBenchmark:
    """Load and validate a benchmark file; one clear ``BenchmarkFileError`` if it is bad."""
    import h5py

    path = Path(path)
    label = str(path)
    if not path.is_file():
        raise BenchmarkFileError(f"benchmark file {label} does not exist")
    try:
        with h5py.File(path, "r") as f:
            attrs = {k: _decode_attr(v) for k, v in f.attrs.items()}
            version = attrs.get("format_version")
            if version != FORMAT_VERSION:
                raise BenchmarkFileError(
                    f"{label}: format_version is {version!r}, naslab reads version {FORMAT_VERSION}"
                )
            for required in ("archs", "epochs", "seeds", "metrics"):
                if required not in f:
                    raise BenchmarkFileError(f"{label}: required dataset /{required} is missing")
            bench = TabularBenchmark(
                space_name=str(attrs.get("space", "")),
                dataset=str(attrs.get("dataset", "")),
                archs=_read_archs(f, label),
                epochs=_read_whole_numbers(f, "epochs", label),
                seeds=_read_whole_numbers(f, "seeds", label),
                metrics=_read_group(f, "metrics", label),
                static=_read_group(f, "static", label) if "static" in f else {},
                complete=np.asarray(_dataset(f, "complete", label)[()], dtype=bool) if "complete" in f else None,
                attrs=attrs,
                path=path,
            )
    except BenchmarkFileError:
        raise
    except OSError as exc:
        raise BenchmarkFileError(f"{label} is not a readable HDF5 file ({exc})") from None
    try:
        get_space(bench.space_name)
    except NaslabError as exc:
        raise BenchmarkFileError(f"{label}: {exc}") from None
    _validate(bench, label)
    return bench


# ----- reading the layout: every malformed piece named in one sentence -------------------
def _dataset(f: Any, name: str, label: str) -> Any:
    import h5py

    node = f[name]
    if not isinstance(node, h5py.Dataset):
        raise BenchmarkFileError(f"{label}: /{name} is a group, expected a dataset")
    return node


def _read_archs(f: Any, label: str) -> list[str]:
    node = _dataset(f, "archs", label)
    if node.ndim != 1 or node.dtype.kind not in "OSU":
        raise BenchmarkFileError(f"{label}: /archs has shape {node.shape} and type {node.dtype}, expected [N] strings")
    return [a.decode() if isinstance(a, bytes) else str(a) for a in node[()]]


def _read_whole_numbers(f: Any, name: str, label: str) -> np.ndarray:
    values = np.asarray(_dataset(f, name, label)[()])
    whole = values.ndim == 1 and (
        values.dtype.kind in "iu"
        or (values.dtype.kind == "f" and bool(np.all(np.isfinite(values))) and bool(np.all(values == np.round(values))))
    )
    if not whole:
        shown = [v.decode() if isinstance(v, bytes) else v for v in values.reshape(-1)[:4].tolist()]
        raise BenchmarkFileError(
            f"{label}: /{name} holds {values.dtype} values of shape {values.shape} ({shown}...), "
            "expected a list of whole numbers"
        )
    return values.astype(np.int32)


def _read_group(f: Any, name: str, label: str) -> dict[str, np.ndarray]:
    import h5py

    group = f[name]
    if not isinstance(group, h5py.Group):
        raise BenchmarkFileError(f"{label}: /{name} is a dataset, expected a group of [archs, seeds, epochs] arrays")
    out = {}
    for key, node in group.items():
        if not isinstance(node, h5py.Dataset):
            raise BenchmarkFileError(f"{label}: /{name}/{key} is a group, expected a dataset")
        out[key] = np.asarray(node[()])
    return out


def _decode_attr(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_benchmark(path: str | os.PathLike[str], bench: TabularBenchmark, compress: bool = False) -> Path:
    """Validate and write ``bench`` atomically (temp file + rename).

    ``compress`` stores the arrays gzip-compressed with byte shuffling (a shipped file
    gets several times smaller; loading takes longer) and reads the file back through
    :func:`load_benchmark` before it replaces anything.
    """
    import h5py

    path = Path(path)
    _validate(bench, str(path))
    attrs = dict(bench.attrs)
    attrs["format_version"] = FORMAT_VERSION
    attrs["space"] = bench.space_name
    attrs["dataset"] = bench.dataset
    units = dict(attrs.get("units", {}))
    for name in list(bench.metrics) + list(bench.static):
        if name in KNOWN_UNITS:
            units.setdefault(name, KNOWN_UNITS[name])
    attrs["units"] = units
    packed: dict[str, Any] = {"compression": "gzip", "compression_opts": 6, "shuffle": True} if compress else {}
    # fixed-length ASCII, unlike variable-length strings, can be gzip-compressed
    arch_dtype = "S" if compress else h5py.string_dtype()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        # track_order + fixed attribute order and chunking keep the bytes reproducible
        with h5py.File(tmp_name, "w", track_order=True) as f:
            f.create_dataset("archs", data=np.array(bench.archs, dtype=arch_dtype), **packed)
            f.create_dataset("epochs", data=np.asarray(bench.epochs, dtype=np.int32))
            f.create_dataset("seeds", data=np.asarray(bench.seeds, dtype=np.int32))
            group = f.create_group("metrics", track_order=True)
            for name in sorted(bench.metrics):
                values = np.asarray(bench.metrics[name], dtype=np.float32)
                chunks = (min(1024, values.shape[0]), *values.shape[1:]) if compress else None
                group.create_dataset(name, data=values, chunks=chunks, **packed)
            group = f.create_group("static", track_order=True)
            for name in sorted(bench.static):
                group.create_dataset(name, data=np.asarray(bench.static[name], dtype=np.float32), **packed)
            if bench.complete is not None:
                f.create_dataset("complete", data=np.asarray(bench.complete, dtype=bool))
            for key in sorted(attrs):
                value = attrs[key]
                if isinstance(value, (dict, list, tuple)):
                    value = json.dumps(value, sort_keys=True)
                f.attrs[key] = "" if value is None else value
        if compress:
            load_benchmark(tmp_name)  # must read back and validate before it replaces anything
        publish(tmp_name, path)  # mkstemp made it private
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def created_by() -> str:
    """``naslab VERSION (git COMMIT)``: the naslab that is running (``unknown`` outside a git checkout)."""
    import subprocess

    from naslab import __version__
    from naslab.paths import checkout_root

    root, commit = checkout_root(), "unknown"
    if root is not None:  # an installed wheel has no commit to name
        try:
            commit = subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5
            ).stdout.strip() or "unknown"
        except (OSError, subprocess.SubprocessError):
            pass
    return f"naslab {__version__} (git {commit})"


def provenance(**extra: Any) -> dict[str, Any]:
    """Attributes naming who made a file: naslab version, git commit, host, time."""
    import platform
    from datetime import datetime, timezone

    info: dict[str, Any] = {
        "created_by": created_by(),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "hardware": f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cpus".strip(),
    }
    info.update(extra)
    return info

