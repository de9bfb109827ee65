"""Answer queries by really training the architecture (``evaluator=train``).

Every finished training becomes rows of a tabular benchmark file in naslab's HDF5
format (``cache_path``): the same file type the tabular evaluator reads, so a search
that trains is also building a benchmark. Before training, the evaluator looks in that
cache; an architecture is trained at most once per cache, and isomorphic architectures
(same canonical class) share one training — the class's first member by official
index is the one trained, so the result does not depend on which member came first.

A training runs every epoch of the recipe once and stores the curve; a query at
fidelity ``f`` answers the metrics after epoch ``f`` and charges the measured training
seconds to reach it (summed over the evaluator's seeds: that is the wall time those
trainings took; ``cost=train+eval`` adds the measured evaluation passes). A diverged (NaN) or crashed training is cached as NaN and answered
as a failed Result; it never raises.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from naslab.errors import InvalidValueError, NaslabError
from naslab.evaluators.cost import cost_metrics
from naslab.results import Result, failed_result
from naslab.spaces import Arch, get_space
from naslab.threads import current_threads
from naslab.training.trainer import METRIC_NAMES, Recipe

log = logging.getLogger("naslab")


class CacheMismatchError(NaslabError, ValueError):
    """The cache file was written for another recipe, dataset, space or seeds."""


class TrainEvaluator:
    """Train on demand, cache in HDF5, share isomorphic architectures."""

    def __init__(
        self,
        benchmark: Any = None,
        space: str = "nb201",
        dataset: str = "digits",
        recipe: Mapping[str, Any] | Recipe | None = None,
        seeds: Sequence[int] = (0,),
        cache_path: str | Path | None = "work-train-cache/nb201_digits.h5",
        device: str = "auto",
        data_root: str | None = None,
        threads: int | None = None,
        cost: str = "train",
    ) -> None:
        from naslab.training.data import DATASETS

        if dataset not in DATASETS:
            raise InvalidValueError(f"evaluator=train: unknown dataset {dataset!r}; expected one of {list(DATASETS)}")
        if isinstance(recipe, Recipe):
            self.recipe = recipe
        else:
            fields = dict(recipe or {})
            fields["dataset"] = dataset
            self.recipe = Recipe.from_mapping(fields)
        self.space = get_space(space)
        self.space.check_trainable()
        # its cache is a table with a row per architecture (and trains one per canonical class)
        self.space.require_enumerable("evaluator=train")
        self.space_name = space
        self.dataset = dataset
        self.cost_metrics = cost_metrics(cost, "evaluator=train")
        self.seeds = tuple(int(s) for s in seeds)
        if not self.seeds:
            raise InvalidValueError("evaluator=train: seeds must name at least one training seed")
        self.device = device
        self.data_root = data_root
        if threads is not None and int(threads) < 0:
            raise ValueError(f"evaluator=train: threads={threads} must be >= 1 (or null: one thread)")
        self.threads = int(threads) if threads else None
        self.cache_path = Path(cache_path) if cache_path else None
        self.reference, self._reference_note = self._pick_reference(benchmark)
        self.trainings = 0  # how many trainings this evaluator ran (the rest came from the cache)
        self._splits: Any = None
        self._epochs = self.recipe.stored_epochs
        n, s, e = self.space.size, len(self.seeds), len(self._epochs)
        self._metrics = {name: np.full((n, s, e), np.nan, dtype=np.float32) for name in METRIC_NAMES}
        self._static = {name: np.full(n, np.nan, dtype=np.float32) for name in ("params", "flops")}
        self._complete = np.zeros(n, dtype=bool)
        self._class_ids = self.space.canonical_ids
        self._first_of_class: dict[int, int] = {}
        for index in range(n - 1, -1, -1):
            self._first_of_class[int(self._class_ids[index])] = index
        if self.cache_path is not None:
            self._remove_stray_temp_files()
        if self.cache_path is not None and self.cache_path.is_file():
            self._load_cache()

    # ----- the regret reference -----------------------------------------------------
    # how often and on what the recipe evaluates does not change the final trained weights
    _SCHEDULE_FIELDS = ("eval_epochs", "test_every_epoch", "eval_batch_size")

    def _pick_reference(self, benchmark: Any) -> tuple[Any, str]:
        """The benchmark as the regret reference only if it holds this very training (same dataset
        and recipe), else None; and a note saying which it is and why."""
        if benchmark is None:
            return None, "none: no benchmark given"
        if benchmark.dataset != self.dataset:
            return None, f"none: {benchmark.label} is of dataset {benchmark.dataset!r}, not {self.dataset!r}"
        if not benchmark.has("test_acc"):
            return None, f"none: {benchmark.label} has no test_acc"
        try:
            theirs = Recipe.from_mapping(benchmark.attrs.get("recipe") or {}).to_dict()
        except (TypeError, ValueError):
            theirs = None
        mine = self.recipe.to_dict()
        if theirs is None or any(theirs[k] != mine[k] for k in mine if k not in self._SCHEDULE_FIELDS):
            differ = sorted(k for k in mine if k not in self._SCHEDULE_FIELDS and (theirs or {}).get(k) != mine[k])
            return None, f"none: the recipe differs from that of {benchmark.label} ({', '.join(differ)})"
        return benchmark, f"best seed-mean test_acc in {benchmark.label} (same dataset and recipe) minus the incumbent's"

    def metric_sources(self) -> dict[str, str]:
        """Where each number of the run comes from: this evaluator's trainings, and the reference."""
        r = self.recipe
        trained = f"measured by evaluator=train ({r.dataset}, {r.epochs} epochs, seeds {list(self.seeds)})"
        return {
            "val_acc": f"{trained}: accuracy on the validation split (val_size={r.val_size})",
            "test_acc": f"{trained}: accuracy on the test split (test_size={r.test_size})",
            "regret": self._reference_note,
            "cost_s": f"{trained}: " + " + ".join(self.cost_metrics) + " summed over the seeds",
        }

    # ----- the cache ----------------------------------------------------------------
    def _cache_identity(self) -> dict[str, Any]:
        return {"recipe": self.recipe.to_dict(), "seeds": list(self.seeds), "space": self.space_name}

    def _cache_lock(self) -> Any:
        """Held while the cache is written: a temp file seen while holding it is a killed write's."""
        from naslab.locks import file_lock

        assert self.cache_path is not None
        return file_lock(self.cache_path.with_name(f".{self.cache_path.name}.lock"))

    def _remove_stray_temp_files(self) -> None:
        """Delete what a write killed mid-way left beside the cache (write_benchmark's temp files)."""
        import glob

        assert self.cache_path is not None
        if not self.cache_path.parent.is_dir():
            return
        with self._cache_lock():
            pattern = glob.escape(str(self.cache_path.parent / f".{self.cache_path.name}.")) + "*.tmp"
            for stray in glob.glob(pattern):
                Path(stray).unlink(missing_ok=True)

    def _load_cache(self) -> None:
        from naslab.benchmarks.tabular import load_benchmark

        bench = load_benchmark(self.cache_path)
        found = {
            "recipe": bench.attrs.get("recipe"),
            "seeds": [int(x) for x in bench.seeds],
            "space": bench.space_name,
        }
        if found != self._cache_identity() or list(bench.epochs) != list(self._epochs):
            raise CacheMismatchError(
                f"cache {self.cache_path} was written for another recipe, seeds or space; "
                "delete it or set evaluator.cache_path to a new file"
            )
        lacking = [m for m in self.cost_metrics if m not in bench.metrics]
        if lacking and bench.complete is not None and bench.complete.any():
            raise CacheMismatchError(
                f"cache {self.cache_path} holds trainings without {', '.join(lacking)} (written by an older naslab); "
                "use evaluator.cost=train, or delete the cache to train again"
            )
        for name in METRIC_NAMES:
            if name in bench.metrics:
                self._metrics[name][...] = bench.metrics[name]
        for name in self._static:
            if name in bench.static:
                self._static[name][...] = bench.static[name]
        self._complete[...] = bench.complete if bench.complete is not None else True

    def _save_cache(self) -> None:
        if self.cache_path is None:
            return
        from naslab.benchmarks.tabular import TabularBenchmark, provenance, write_benchmark

        attrs = provenance(
            recipe=self.recipe.to_dict(),
            source="naslab evaluator=train cache: one training per canonical class, copied to its members",
        )
        bench = TabularBenchmark(
            space_name=self.space_name,
            dataset=self.dataset,
            archs=self._arch_strings,
            epochs=np.asarray(self._epochs, dtype=np.int32),
            seeds=np.asarray(self.seeds, dtype=np.int32),
            metrics=self._metrics,
            static=self._static,
            complete=self._complete,
            attrs=attrs,
        )
        with self._cache_lock():
            write_benchmark(self.cache_path, bench)

    @property
    def _arch_strings(self) -> list[str]:
        if not hasattr(self, "_archs_cache"):
            self._archs_cache = [self.space.to_string(self.space.arch(i)) for i in range(self.space.size)]
        return self._archs_cache

    # ----- training -----------------------------------------------------------------
    def _ensure_splits(self) -> Any:
        if self._splits is None:
            from naslab.training.data import load_dataset

            r = self.recipe
            self._splits = load_dataset(r.dataset, r.train_size, r.val_size, r.test_size, self.data_root)
        return self._splits

    def _train_class(self, class_id: int) -> None:
        """Train the class's first member once and copy the curves to every member."""
        import torch

        from naslab.training.models import count_flops, count_params
        from naslab.training.trainer import train_seeds

        # one thread unless asked (threads=N or NASLAB_THREADS=N): measured 2-7x faster on a busy
        # machine, and the charged cost is the measured time, so more threads also distort it (issue 17)
        wanted = self.threads or current_threads() or 1
        if torch.get_num_threads() != wanted:
            torch.set_num_threads(wanted)
        splits = self._ensure_splits()
        arch = self.space.arch(self._first_of_class[class_id])
        members = np.flatnonzero(self._class_ids == class_id)
        r = self.recipe
        shape = (arch, r.channels, r.cells_per_stage, splits.num_classes, splits.in_channels)
        try:
            record = train_seeds(arch, r, splits, self.seeds, device=self.device, space=self.space)
            curves = record.metrics
        except (RuntimeError, FloatingPointError) as exc:  # a numerical blow-up, not a bug
            log.warning("evaluator=train: training %s failed: %s", self.space.to_string(arch), exc)
            curves = {}
        for name in METRIC_NAMES:
            self._metrics[name][members] = curves.get(name, np.nan)
        self._static["params"][members] = count_params(*shape, space=self.space)
        self._static["flops"][members] = count_flops(*shape, splits.image_size, space=self.space)
        self._complete[members] = True
        self.trainings += 1
        self._save_cache()

    # ----- the Evaluator protocol ---------------------------------------------------
    @property
    def fidelities(self) -> tuple[int, ...]:
        return tuple(self._epochs)

    charges_time = True  # every training is timed

    def evaluate(self, arch: Arch | str, fidelity: int | None = None, trial_seed: int = 0) -> Result:
        arch = self.space.as_arch(arch)
        index = self.space.index(arch)
        if fidelity is None:
            pos = len(self._epochs) - 1
        elif fidelity in self._epochs:
            pos = self._epochs.index(fidelity)
        else:
            raise InvalidValueError(f"fidelity {fidelity} is not an epoch evaluator=train stores; stored epochs: {list(self._epochs)}")
        if not self._complete[index]:
            self._train_class(int(self._class_ids[index]))
        epoch = int(self._epochs[pos])
        seed = self.seeds[0] if len(self.seeds) == 1 else -1
        times = sum(self._metrics[name][index, :, pos].astype(np.float64) for name in self.cost_metrics)
        cost = float(np.nansum(times)) if np.isfinite(times).any() else 0.0
        with np.errstate(invalid="ignore"):
            val = self._mean("val_acc", index, pos)
        name = self.space.to_string(arch)
        if not math.isfinite(val) or np.isnan(self._metrics["val_acc"][index, :, pos]).any():
            return failed_result(name, epoch=epoch, seed=seed, cost_s=cost)
        return Result(
            arch=name,
            val_acc=val,
            test_acc=self._mean("test_acc", index, pos),
            val_loss=self._mean("val_loss", index, pos),
            epoch=epoch,
            seed=seed,
            cost_s=cost,
            params=float(self._static["params"][index]),
            flops=float(self._static["flops"][index]),
        )

    def _mean(self, name: str, index: int, pos: int) -> float:
        values = self._metrics[name][index, :, pos]
        return float(values.mean()) if np.isfinite(values).all() else math.nan

    def reference_test_acc(self, arch: Arch) -> float:
        if self.reference is None:
            return math.nan
        return float(self.reference.query(self.space.as_arch(arch), "test_acc"))

    def best_test_acc(self) -> float:
        if self.reference is None:
            return math.nan
        return float(self.reference.best_test_acc())
