"""Print a trained benchmark's repeatability and saturation figures.

    python analysis/digits_repeatability.py [naslab/data/nb201_digits.h5]
    python analysis/digits_repeatability.py --work-dir work-build/nb201_digits   # a build in progress

Repeatability: Spearman rank correlation between the mean over seeds 0-2 and the mean
over seeds 3-5 of validation accuracy and validation loss at each stored epoch, over
all unique architectures (one row per canonical class, so large classes do not count
twice) and within the top half (classes whose six-seed mean is at least the median).
Saturation: best, p90, p10 and p90 - p10 of the six-seed mean validation accuracy at
the last epoch. The figures issue 4 asks for: Spearman >= 0.9 (all) and >= 0.7 (top
half); best < 99.5 %, p90 - p10 >= 5 points.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    ok = np.isfinite(a) & np.isfinite(b)
    return float(spearmanr(a[ok], b[ok])[0])


def class_arrays(path: str) -> tuple[dict[str, np.ndarray], list[int]]:
    """Per unique architecture (one row per canonical class) ``[classes, seeds, epochs]`` arrays."""
    from naslab.benchmarks.tabular import load_benchmark

    bench = load_benchmark(path)
    ids = bench.space.canonical_ids
    _, first = np.unique(ids, return_index=True)
    rows = first if bench.complete is None else first[bench.complete[first]]
    return {k: v[rows] for k, v in bench.metrics.items()}, bench.epochs.tolist()


def class_arrays_from_work_dir(work_dir: str) -> tuple[dict[str, np.ndarray], list[int]]:
    """The same from the finished chunks of a build that is still running (interim figures).

    Class ids follow NB201's shuffled official order, so the classes finished first are
    close to a random sample of the space.
    """
    import json
    from pathlib import Path

    folder = Path(work_dir)
    manifest = json.loads((folder / "manifest.json").read_text())
    parts: dict[str, list[np.ndarray]] = {}
    for chunk in sorted(folder.glob("chunk-*.npz")):
        with np.load(chunk) as data:
            for name in ("val_acc", "val_loss", "train_time_s"):
                parts.setdefault(name, []).append(data[name])
    if not parts:
        raise SystemExit(f"{work_dir}: no finished chunks yet")
    recipe = manifest["plan"]["recipe"]
    epochs = recipe["eval_epochs"] or list(range(1, recipe["epochs"] + 1))
    return {k: np.concatenate(v) for k, v in parts.items()}, epochs


def figures(metrics: dict[str, np.ndarray], epochs: list[int]) -> dict[str, float]:
    if metrics["val_acc"].shape[1] < 6:
        raise SystemExit(f"{metrics['val_acc'].shape[1]} seeds; the split 0-2 vs 3-5 needs 6")
    out: dict[str, float] = {"classes": float(metrics["val_acc"].shape[0])}
    for pos, epoch in enumerate(epochs):
        for metric, better in (("val_acc", 1.0), ("val_loss", -1.0)):
            values = metrics[metric][:, :, pos].astype(np.float64)
            half_a, half_b = values[:, :3].mean(1), values[:, 3:6].mean(1)
            overall = values.mean(1) * better
            top = overall >= np.nanmedian(overall)
            out[f"{metric}@{epoch} all"] = spearman(half_a, half_b)
            out[f"{metric}@{epoch} top"] = spearman(half_a[top], half_b[top])
    acc = metrics["val_acc"][:, :, -1].mean(1)
    acc = acc[np.isfinite(acc)]
    p10, p90 = np.percentile(acc, [10, 90])
    out.update(best=float(acc.max()), p90=float(p90), p10=float(p10), spread=float(p90 - p10))
    out["failed"] = float(np.isnan(metrics["val_acc"][:, :, -1]).any(1).sum())
    if "train_time_s" in metrics:
        out["train_s_per_training"] = float(np.nanmean(metrics["train_time_s"][:, :, -1]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="naslab/data/nb201_digits.h5")
    parser.add_argument("--work-dir", help="read the finished chunks of a build in progress instead")
    args = parser.parse_args(argv)
    source = args.work_dir or args.path
    f = figures(*(class_arrays_from_work_dir(args.work_dir) if args.work_dir else class_arrays(args.path)))
    print(f"{source}: {int(f['classes'])} unique architectures, {int(f['failed'])} with a failed seed")
    print("Spearman, mean of seeds 0-2 vs mean of seeds 3-5 (all / top half):")
    epochs = sorted({int(k.split('@')[1].split()[0]) for k in f if "@" in k})
    for epoch in epochs:
        print(
            f"  epoch {epoch:3d}: val_acc {f[f'val_acc@{epoch} all']:.3f} / {f[f'val_acc@{epoch} top']:.3f}"
            f"   val_loss {f[f'val_loss@{epoch} all']:.3f} / {f[f'val_loss@{epoch} top']:.3f}"
        )
    print(
        f"Saturation (six-seed mean val_acc, last epoch): best {f['best']:.2f} %, p90 {f['p90']:.2f} %, "
        f"p10 {f['p10']:.2f} %, p90 - p10 = {f['spread']:.2f} points"
    )
    if "train_s_per_training" in f:
        print(f"Mean measured training time per seed to the last epoch: {f['train_s_per_training']:.3f} s")
    last = epochs[-1]
    checks = {
        "Spearman all >= 0.9 (val_acc)": f[f"val_acc@{last} all"] >= 0.9,
        "Spearman top half >= 0.7 (val_acc)": f[f"val_acc@{last} top"] >= 0.7,
        "Spearman all >= 0.9 (val_loss)": f[f"val_loss@{last} all"] >= 0.9,
        "Spearman top half >= 0.7 (val_loss)": f[f"val_loss@{last} top"] >= 0.7,
        "best val_acc < 99.5 %": f["best"] < 99.5,
        "p90 - p10 >= 5 points": f["spread"] >= 5.0,
    }
    for name, ok in checks.items():
        print(f"  [{'x' if ok else ' '}] {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
