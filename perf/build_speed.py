"""The digits build's throughput in this checkout beside a baseline checkout, and whether results still match.

    python perf/build_speed.py [--classes 40] [--baseline b1ed469] [--rounds 4]

Trains the same random sample of canonical classes (the committed build's recipe,
naslab/conf/build.yaml, all its seeds) once with this checkout and once with the
baseline revision (exported with ``git worktree``), alternating in rounds so that the
machine's load falls on both alike; each side runs in a fresh one-thread process, as a
build worker does. Prints CPU seconds per class for both, their ratio, the projected
wall time of the whole build (5,260 classes on 2 cores, two workers), the evaluation
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
out = []
for class_id in json.loads(sys.argv[2]):
    arch = space.arch(int(reps[class_id]))
    started = time.process_time()
    record = train_seeds(arch, recipe, splits, list(cfg.seeds), device="cpu")
    seconds = time.process_time() - started
    m = record.metrics
    out.append({"class": class_id, "cpu_s": seconds, "val_acc": m["val_acc"][:, -1].astype(float).tolist(),
                "eval_s": float(m["eval_time_s"][:, -1].sum()) if "eval_time_s" in m else None})
print(json.dumps(out))
"""


def _export(revision: str, into: Path) -> Path:
    target = into / "baseline"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(target), revision], check=True)
    return target


def _train(checkout: Path, classes: list[int]) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(checkout), "NASLAB_PROGRESS": "0"}
    proc = subprocess.run(
        [sys.executable, "-c", WORKER, str(REPO / "naslab" / "conf" / "build.yaml"), json.dumps(classes)],
        cwd=checkout, env=env, capture_output=True, text=True, check=False,
    )
    if proc.returncode:
        raise SystemExit(f"training in {checkout} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


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
    parser.add_argument("--rounds", type=int, default=4, help="alternations of baseline and this checkout")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from naslab.benchmarks import get as get_benchmark

    bench = get_benchmark("digits")
    total = int(bench.attrs["num_classes"])
    classes = np.random.default_rng(args.seed).choice(total, size=args.classes, replace=False).tolist()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        baseline = _export(args.baseline, Path(tmp))
        try:
            results: dict[str, list[dict]] = {"baseline": [], "this": []}
            for part in np.array_split(np.asarray(classes), args.rounds):
                part = part.tolist()
                results["baseline"] += _train(baseline, part)
                results["this"] += _train(REPO, part)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(baseline)], check=False)
    print(f"{args.classes} random canonical classes of {total}, the committed recipe, seeds {bench.seeds.tolist()}; "
          f"load {load:.1f} -> {os.getloadavg()[0]:.1f}")
    cpu = {side: np.array([row["cpu_s"] for row in rows]) for side, rows in results.items()}
    for side, label in (("baseline", f"baseline {args.baseline}"), ("this", "this checkout")):
        per_class = cpu[side].mean()
        minutes = per_class * total / CORES / 60
        units = _noise_units(results[side], bench)
        print(f"  {label:<22} {per_class:6.3f} CPU s per class -> whole build {minutes:5.1f} min on {CORES} cores; "
              f"|val_acc - committed| = {np.median(units):.2f} (median), {units.max():.2f} (max) standard errors")
    print(f"  ratio this / baseline: {cpu['this'].sum() / cpu['baseline'].sum():.3f}")
    evals = [row["eval_s"] for row in results["this"] if row["eval_s"] is not None]
    if evals:
        print(f"  evaluation share of this checkout's trainings: {sum(evals) / cpu['this'].sum():.0%} "
              "(eval_time_s / CPU s)")


if __name__ == "__main__":
    main()
