"""Plain training loop vs the fast seed-batched trainer, measured in one run.

    python perf/trainer_speed.py [--archs 12] [--seeds 6]

Trains the same architectures (random canonical classes), each with the same seeds,
under the digits build recipe (naslab/conf/build.yaml), each way using all the machine's
cores, one thread per process (naslab's thread policy, :mod:`naslab.threads`):

* plain, one process per core x 1 thread: one network at a time (the textbook loop);
* fast: all seeds of an architecture as replicas of one channels-last network, one
  process per core x 1 thread (how ``python -m naslab.build`` runs).

``--multithread`` adds the textbook setting, plain in 1 process x all threads (a
quarter of an hour on a loaded 2-core machine: two threads per process are 10-31x
slower there; perf/threads_speed.py compares the settings on small work items).
Prints trainings/s (one architecture x one seed), architectures/s (all seeds) and the
ratio fast / best plain. If a CUDA GPU is present it also times both trainers there.
The machine may be shared: compare the ratio, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def _recipe():
    from omegaconf import OmegaConf

    from naslab.training.trainer import Recipe

    cfg = OmegaConf.load(REPO / "naslab" / "conf" / "build.yaml")
    fields = dict(OmegaConf.to_container(cfg.recipe))
    fields["dataset"] = cfg.dataset
    return Recipe.from_mapping(fields)


_STATE: dict = {}


def _init(threads: int) -> None:
    from naslab.threads import set_threads

    set_threads(threads)  # torch, BLAS and OpenMP alike; importing naslab alone would set 1
    from naslab.training.data import load_dataset

    recipe = _recipe()
    _STATE["recipe"] = recipe
    _STATE["splits"] = load_dataset(recipe.dataset, recipe.train_size, recipe.val_size, recipe.test_size)


def _plain_job(args: tuple[tuple[int, ...], int, str]) -> float:
    from naslab.training.trainer import train_plain

    arch, seed, device = args
    return float(train_plain(arch, _STATE["recipe"], _STATE["splits"], seed, device=device).metrics["val_acc"][0, -1])


def _fast_job(args: tuple[tuple[int, ...], tuple[int, ...], str]) -> float:
    from naslab.training.trainer import train_seeds

    arch, seeds, device = args
    return float(train_seeds(arch, _STATE["recipe"], _STATE["splits"], seeds, device=device).metrics["val_acc"][:, -1].mean())


def _timed_pool(processes: int, threads: int, job, tasks) -> tuple[float, list[float]]:
    with get_context("spawn").Pool(processes, initializer=_init, initargs=(threads,)) as pool:
        pool.map(job, tasks[:processes])  # warm-up: imports and the first-training cost
        started = time.perf_counter()
        out = pool.map(job, tasks, chunksize=1)
        return time.perf_counter() - started, out


def main() -> None:
    parser = argparse.ArgumentParser(description="plain vs fast trainer speed")
    parser.add_argument("--archs", type=int, default=12)
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--multithread", action="store_true",
                        help="also time the plain loop in 1 process x all cores' threads (slow under load)")
    args = parser.parse_args()
    from naslab.spaces import get_space

    space = get_space("nb201")
    _, first = np.unique(space.canonical_ids, return_index=True)
    picks = np.random.default_rng(0).choice(first, args.archs, replace=False)
    archs = [space.arch(int(i)) for i in picks]
    seeds = tuple(range(args.seeds))
    cores = os.cpu_count() or 1
    trainings = len(archs) * len(seeds)
    print(f"recipe: {_recipe()}")
    print(f"{len(archs)} architectures x {len(seeds)} seeds = {trainings} trainings, {cores} cores")

    results = {}
    if args.multithread:
        wall, _ = _timed_pool(1, cores, _plain_job, [(a, s, "cpu") for a in archs for s in seeds])
        results[f"plain, 1 process x {cores} threads"] = wall
    wall, plain_acc = _timed_pool(cores, 1, _plain_job, [(a, s, "cpu") for a in archs for s in seeds])
    results[f"plain, {cores} processes x 1 thread"] = wall
    wall, fast_acc = _timed_pool(cores, 1, _fast_job, [(a, seeds, "cpu") for a in archs])
    results[f"fast (seeds batched), {cores} processes x 1 thread"] = wall
    for name, seconds in results.items():
        print(f"  {name:48s} {trainings / seconds:7.2f} trainings/s  {len(archs) / seconds:6.3f} archs/s  ({seconds:.1f} s)")
    best_plain = min(v for k, v in results.items() if k.startswith("plain"))
    fast = results[f"fast (seeds batched), {cores} processes x 1 thread"]
    print(f"ratio fast / best plain: {best_plain / fast:.2f}x")
    if args.multithread:
        print(f"fast / plain 1 process x {cores} threads: {results[f'plain, 1 process x {cores} threads'] / fast:.2f}x")
    plain_mean = np.asarray(plain_acc).reshape(len(archs), len(seeds)).mean(1)
    print(f"same answers: mean |val_acc plain - fast| over archs = {np.abs(plain_mean - np.asarray(fast_acc)).mean():.2f} points")

    import torch

    if torch.cuda.is_available():
        _init(1)
        for name, job, tasks in (
            ("plain, cuda", _plain_job, [(a, s, "cuda") for a in archs for s in seeds]),
            ("fast, cuda", _fast_job, [(a, seeds, "cuda") for a in archs]),
        ):
            job(tasks[0])
            torch.cuda.synchronize()
            started = time.perf_counter()
            for t in tasks:
                job(t)
            torch.cuda.synchronize()
            seconds = time.perf_counter() - started
            print(f"  {name:48s} {trainings / seconds:7.2f} trainings/s  {len(archs) / seconds:6.3f} archs/s")
    else:
        print("no CUDA GPU here: GPU figures skipped")


if __name__ == "__main__":
    main()
