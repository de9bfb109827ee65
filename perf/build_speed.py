"""The digits build's throughput in this checkout beside a baseline checkout, and whether results still match.

    python perf/build_speed.py [--classes 40] [--baseline b1ed469]

Trains the same random sample of canonical classes (the committed build's recipe,
naslab/conf/build.yaml, all its seeds) once with this checkout and once with the
baseline revision (exported with ``git worktree``), class by class in turn, so that the
machine's drifting load falls on both alike; each side is one long-lived one-thread
process, as a build worker is. Prints CPU seconds per class for both, their ratio, the projected
wall time of the whole build (5,260 classes on 2 cores, two workers; at the pace of the
committed build, whose stored training seconds of the same classes say how much faster
its idle machine ran than this one does now), the evaluation
share of this checkout's time, and how far each side's seed-mean validation accuracy is
from the committed benchmark (naslab/data/nb201_digits.h5), in units of that class's
standard error over its 6 seeds: a speed change that keeps results "within seed noise"
stays well below 1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
CORES = 2

WORKER = r"""
import json, sys, time
import numpy as np
from omegaconf import OmegaConf
import naslab  # one thread per process (naslab.threads)
from naslab.build import class_representatives
from naslab.spaces import get_space
from naslab.training.data import load_dataset
from naslab.training.trainer import Recipe, train_seeds

cfg = OmegaConf.load(sys.argv[1])
fields = dict(OmegaConf.to_container(cfg.recipe)); fields["dataset"] = cfg.dataset
recipe = Recipe.from_mapping(fields)
splits = load_dataset(recipe.dataset, recipe.train_size, recipe.val_size, recipe.test_size)
space = get_space("nb201")
reps = class_representatives(space)
train_seeds(space.arch(int(reps[0])), recipe, splits, list(cfg.seeds), device="cpu")  # warm-up
print("ready", flush=True)
for line in sys.stdin:  # one class id a line, answered with one JSON line
    class_id = int(line)
    arch = space.arch(int(reps[class_id]))
    started = time.process_time()
    record = train_seeds(arch, recipe, splits, list(cfg.seeds), device="cpu")
    seconds = time.process_time() - started
    m = record.metrics
    print(json.dumps({"class": class_id, "cpu_s": seconds, "val_acc": m["val_acc"][:, -1].astype(float).tolist(),
                      "train_s": float(m["train_time_s"][:, -1].sum()),
                      "eval_s": float(m["eval_time_s"][:, -1].sum()) if "eval_time_s" in m else None}), flush=True)
"""


def _export(revision: str, into: Path) -> Path:
    target = into / "baseline"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(target), revision], check=True)
    return target


class Worker:
    """A one-thread process training classes with one checkout's naslab, one class per request."""

    def __init__(self, checkout: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(checkout), "NASLAB_PROGRESS": "0"}
        self.checkout = checkout
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(REPO / "naslab" / "conf" / "build.yaml")],
            cwd=checkout, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self._read()

    def _read(self) -> str:
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the worker of {self.checkout} died:\n{self.proc.stderr.read()[-3000:]}")
        return line

    def train(self, class_id: int) -> dict:
        self.proc.stdin.write(f"{class_id}\n")
        self.proc.stdin.flush()
        return json.loads(self._read())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _noise_units(rows: list[dict], bench) -> np.ndarray:
    """|seed-mean val_acc - committed seed-mean| / committed standard error, per class."""
    from naslab.build import class_representatives

    reps = class_representatives(bench.space)
    stored = bench.metrics["val_acc"][:, :, -1].astype(np.float64)
    units = []
    for row in rows:
        committed = stored[reps[row["class"]]]
        se = committed.std(ddof=1) / np.sqrt(len(committed))
        units.append(abs(np.mean(row["val_acc"]) - committed.mean()) / max(se, 1e-9))
    return np.asarray(units)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--classes", type=int, default=40, help="canonical classes sampled (of 5,260)")
    parser.add_argument("--baseline", default="b1ed469", help="git revision to compare with (before this change)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from naslab.benchmarks import get as get_benchmark
    from naslab.build import class_representatives

    bench = get_benchmark("digits")
    total = int(bench.attrs["num_classes"])
    classes = np.random.default_rng(args.seed).choice(total, size=args.classes, replace=False).tolist()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        baseline = _export(args.baseline, Path(tmp))
        try:
            workers = {"baseline": Worker(baseline), "this": Worker(REPO)}
            results: dict[str, list[dict]] = {"baseline": [], "this": []}
            for k, class_id in enumerate(classes):
                order = ("baseline", "this") if k % 2 == 0 else ("this", "baseline")
                for side in order:
                    results[side].append(workers[side].train(class_id))
            for worker in workers.values():
                worker.close()
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(baseline)], check=False)
    print(f"{args.classes} random canonical classes of {total}, the committed recipe, seeds {bench.seeds.tolist()}; "
          f"load {load:.1f} -> {os.getloadavg()[0]:.1f}")
    cpu = {side: np.array([row["cpu_s"] for row in rows]) for side, rows in results.items()}
    # the committed build ran on an idle machine; a shared one runs slower. Its stored training
    # seconds of these very classes, against the baseline's here, give the pace to project at
    reps = class_representatives(bench.space)
    committed = float(np.nansum(bench.metrics["train_time_s"][reps[classes], :, -1]))
    pace = committed / sum(row["train_s"] for row in results["baseline"])
    print(f"  the committed build trained these classes {1 / pace:.2f}x faster than the baseline here (its stored "
          f"train_time_s): projections at its pace")
    for side, label in (("baseline", f"baseline {args.baseline}"), ("this", "this checkout")):
        per_class = cpu[side].mean()
        minutes = per_class * pace * total / CORES / 60
        units = _noise_units(results[side], bench)
        print(f"  {label:<22} {per_class:6.3f} CPU s per class -> whole build {minutes:5.1f} min on {CORES} cores; "
              f"|val_acc - committed| = {np.median(units):.2f} (median), {units.max():.2f} (max) standard errors")
    paired = cpu["this"] / cpu["baseline"]
    low, high = np.percentile(paired, [25, 75])
    print(f"  ratio this / baseline: {cpu['this'].sum() / cpu['baseline'].sum():.3f} of the total; per class "
          f"median {np.median(paired):.3f} (quartiles {low:.3f}-{high:.3f})")
    rows = [row for row in results["this"] if row["eval_s"] is not None]
    if rows:
        evaluating = sum(row["eval_s"] for row in rows)
        print(f"  evaluation share of this checkout's measured time: "
              f"{evaluating / (evaluating + sum(row['train_s'] for row in rows)):.0%} (eval_time_s / (train + eval))")


if __name__ == "__main__":
    main()
