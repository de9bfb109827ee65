"""Wall time and accuracy spread of training DARTS-space networks on digits, per recipe.

    python perf/darts_training.py [--archs 10] [--channels 8 12] [--seeds 1 3] [--eval-epochs 6] [--out FILE.json]

For each recipe (the embedded build's digits recipe, ``naslab/conf/build.yaml``, with the
given ``channels``, ``cells_per_stage=1`` and, if given, ``eval_epochs``) and each seed
count: the CPU seconds (``time.process_time``: the planning figure on a shared machine,
where wall time depends on the neighbours) and wall seconds of one ``train_seeds`` call
(all seeds as replicas, one thread, evaluation included), beside the NB201 network of
the all-3x3 cell trained the same way in the same run (the baseline whose build time is
known), and the best / median / worst final validation accuracy over ``--archs`` random
DARTS architectures (mean over the seeds when several).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=10)
    parser.add_argument("--channels", type=int, nargs="+", default=[8, 12])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--eval-epochs", type=int, nargs="+", default=None, help="default: build.yaml's")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    import torch
    from omegaconf import OmegaConf

    from naslab.paths import CONFIG_DIR
    from naslab.spaces import get_space
    from naslab.training.data import load_dataset
    from naslab.training.trainer import Recipe, train_seeds

    torch.set_num_threads(1)
    base = dict(OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "build.yaml").recipe))
    base["epochs"] = args.epochs
    if args.eval_epochs or args.epochs != 6:
        base["eval_epochs"] = args.eval_epochs
    darts, nb201 = get_space("darts"), get_space("nb201")
    rng = np.random.default_rng(0)
    archs = [darts.sample(rng) for _ in range(args.archs)]
    splits = load_dataset("digits", base["train_size"], base["val_size"], base["test_size"])
    all_3x3 = (3,) * 6
    train_seeds(all_3x3, Recipe(**base), splits, [0], device="cpu", space=nb201)  # warm-up (first call pays ~1 s)
    rows = []
    for channels in args.channels:
        recipe = Recipe(**{**base, "channels": channels})
        for num_seeds in args.seeds:
            seeds = list(range(num_seeds))
            started = time.process_time()
            train_seeds(all_3x3, recipe, splits, seeds, device="cpu", space=nb201)
            baseline = time.process_time() - started
            cpu, wall, accs = [], [], []
            for arch in archs:
                started, started_wall = time.process_time(), time.perf_counter()
                record = train_seeds(arch, recipe, splits, seeds, device="cpu", space=darts)
                cpu.append(time.process_time() - started)
                wall.append(time.perf_counter() - started_wall)
                accs.append(float(np.nanmean(record.metrics["val_acc"][:, -1])))
            row = {
                "channels": channels, "seeds": num_seeds, "eval_epochs": recipe.stored_epochs,
                "nb201_all3x3_cpu_s": round(baseline, 3),
                "darts_cpu_s_median": round(statistics.median(cpu), 3), "darts_cpu_s_max": round(max(cpu), 3),
                "darts_wall_s_median": round(statistics.median(wall), 3),
                "cpu_s_per_arch_seed": round(statistics.median(cpu) / num_seeds, 3),
                "val_acc_best": round(max(accs), 2), "val_acc_median": round(statistics.median(accs), 2),
                "val_acc_worst": round(min(accs), 2),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
