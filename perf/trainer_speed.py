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

``--kernels`` instead times the shape-dependent choices of the fast trainer beside
their alternatives: the last stage's 3x3 conv as oneDNN's grouped conv and as
:class:`naslab.training.models.ReplicaConv2d`'s batched matmul, every other conv shape of
the recipe (and the 3x3 average pooling, and an evaluation-mode ReLU-conv-BN) by torch and
by the compiled loops (:mod:`naslab.training.grouped_conv`, :mod:`naslab.training.avg_pool`),
and the validation/test pass in one batch and in chunks
(:data:`naslab.training.trainer.EVAL_CHUNK`).

``--profile`` instead prints where one training's CPU time goes (torch.profiler), by
kind of work: conv forward and backward per feature-map size, BN, ReLU, pooling, copies.

``--flops`` instead measures the fast trainer against the machine, in this process on
one thread: a float32 matmul (the peak), a grouped 3x3 conv2d forward+backward of
the recipe's first-stage shape by torch (oneDNN; all seeds as groups, channels-last: the
floor the trainer had before its compiled loops) and the same by the compiled loops, as
GFLOP/s, then one ``train_seeds`` of the all-3x3 cell (the
largest) with its FLOPs counted from :func:`naslab.training.models.count_flops`
(training 3 x forward, 2 FLOPs per multiply-accumulate; evaluation = precise-BN pass
over the training images + validation + test where the recipe tests): achieved GFLOP/s
as a fraction of both, and the share of the wall time that evaluation takes (the stored
``train_time_s`` leaves it out).
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


def _gflops(fn, flops: float, min_seconds: float = 1.0) -> float:
    fn()  # warm-up: oneDNN picks and caches its kernels
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < min_seconds:
        fn()
        calls += 1
    return flops * calls / (time.perf_counter() - started) / 1e9


def flops_report(repeats: int) -> None:
    """The fast trainer's FLOP/s against a matmul and a grouped conv of the recipe, one thread."""
    import torch
    import torch.nn.functional as F

    from naslab.spaces.nb201 import OPS
    from naslab.training import grouped_conv, native
    from naslab.training.models import count_flops
    from naslab.training.trainer import train_seeds

    _init(1)
    recipe, splits = _STATE["recipe"], _STATE["splits"]
    seeds = tuple(range(6))
    r = len(seeds)
    a = torch.randn(512, 512)
    c, hw, b = recipe.channels, splits.image_size, recipe.batch_size
    layer = torch.nn.Conv2d(r * c, r * c, 3, padding=1, groups=r, bias=False).to(memory_format=torch.channels_last)
    x = torch.randn(b, r * c, hw, hw).contiguous(memory_format=torch.channels_last).requires_grad_()
    grad = torch.randn(b, r * c, hw, hw).contiguous(memory_format=torch.channels_last)
    # alternated with the trainings below, so that drifting load hits each alike (medians)
    peaks, convs, compiled = [], [], []
    conv_flops = 3 * 2 * b * r * c * hw * hw * c * 9

    def baselines() -> None:
        peaks.append(_gflops(lambda: a @ a, 2 * 512**3))
        convs.append(_gflops(lambda: F.conv2d(x, layer.weight, padding=1, groups=r).backward(grad), conv_flops))
        if native.available():
            compiled.append(_gflops(lambda: grouped_conv.conv2d(x, layer.weight, r).backward(grad), conv_flops))

    arch = (OPS.index("nor_conv_3x3"),) * 6
    macs = 1e6 * count_flops(arch, recipe.channels, recipe.cells_per_stage, splits.num_classes,
                             splits.in_channels, splits.image_size)
    n_train, n_val, n_test = len(splits.train_y), len(splits.val_y), len(splits.test_y)
    evaluated = recipe.stored_epochs
    eval_images = sum(n_val + (n_test if recipe.tests_at(e) else 0) + (n_train if recipe.precise_bn else 0)
                      for e in evaluated)
    train_flops = r * 3 * 2 * macs * n_train * recipe.epochs
    eval_flops = r * 2 * macs * eval_images
    train_seeds(arch, recipe, splits, seeds, device="cpu")  # warm-up
    walls, trains = [], []
    for _ in range(repeats):
        baselines()
        started = time.perf_counter()
        record = train_seeds(arch, recipe, splits, seeds, device="cpu")
        walls.append(time.perf_counter() - started)
        trains.append(float(record.metrics["train_time_s"][0, -1]) * r)  # stored per replica
    baselines()
    wall, train = float(np.median(walls)), float(np.median(trains))
    peak, conv_floor = float(np.median(peaks)), float(np.median(convs))
    achieved = (train_flops + eval_flops) / wall / 1e9
    in_training = train_flops / train / 1e9
    print(f"one thread, load average {os.getloadavg()[0]:.2f}; medians of {repeats} trainings and {repeats + 1} baselines")
    print(f"  float32 matmul 512x512:                         {peak:7.1f} GFLOP/s (peak)")
    print(f"  grouped conv2d 3x3 fwd+bwd [{b}, {r}x{c}, {hw}x{hw}], {r} groups: {conv_floor:7.1f} GFLOP/s "
          "(floor: torch's, oneDNN)")
    if compiled:
        print(f"  the same conv by naslab's compiled loops (the trainer's):   {float(np.median(compiled)):7.1f} GFLOP/s")
    print(f"  all-3x3 cell, {r} seeds as replicas: {train_flops / 1e9:.1f} GFLOP training + {eval_flops / 1e9:.1f} GFLOP "
          f"evaluation in {wall:.2f} s ({train:.2f} s training)")
    print(f"  fast trainer overall: {achieved:.1f} GFLOP/s = {achieved / peak:.2f} of the matmul, "
          f"{achieved / conv_floor:.2f} of the grouped conv")
    print(f"  training steps alone: {in_training:.1f} GFLOP/s = {in_training / peak:.2f} of the matmul, "
          f"{in_training / conv_floor:.2f} of the grouped conv")
    print(f"  evaluation: {1 - train / wall:.0%} of the wall time ({eval_flops / (train_flops + eval_flops):.0%} of the FLOPs)")


def _best_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return 1e3 * min(times)


def _paired_ms(first, second, rounds: int, calls: int) -> tuple[float, float]:
    """Medians over ``rounds`` alternating rounds of each function's best of ``calls`` (ms)."""
    pairs = [(_best_ms(first, calls), _best_ms(second, calls)) for _ in range(rounds)]
    return tuple(float(np.median(v)) for v in zip(*pairs))


def kernels_report(repeats: int) -> None:
    """The two choices the fast trainer makes by measurement, each beside its alternative, one thread."""
    import torch
    import torch.nn.functional as F

    from naslab.spaces.nb201 import OPS
    from naslab.training.models import ReplicaConv2d, init_replicas, network_of
    from naslab.training.trainer import EVAL_CHUNK

    _init(1)
    recipe, splits = _STATE["recipe"], _STATE["splits"]
    r, c, b = 6, 4 * recipe.channels, recipe.batch_size
    side = splits.image_size // 4
    dense = ReplicaConv2d(r * c, r * c, 3, padding=1, groups=r, bias=False).to(memory_format=torch.channels_last)
    x = torch.randn(b, r * c, side, side).contiguous(memory_format=torch.channels_last).requires_grad_()

    def grouped() -> None:
        F.conv2d(x, dense.weight, padding=1, groups=r).sum().backward()

    def as_matmul() -> None:
        dense(x, compiled=False).sum().backward()  # the path where the compiled loops do not apply

    rounds = max(repeats, 3)
    conv_ms, dense_ms = _paired_ms(grouped, as_matmul, rounds, 10)
    print(f"one thread, load average {os.getloadavg()[0]:.2f}; medians of {rounds} rounds, best of 10 calls each")
    print(f"  last-stage 3x3 conv fwd+bwd [{b}, {r}x{c}, {side}x{side}]: oneDNN grouped conv {conv_ms:.2f} ms, "
          f"ReplicaConv2d as one batched matmul {dense_ms:.2f} ms ({conv_ms / dense_ms:.2f}x)")

    _compiled_rows(recipe.channels, splits.in_channels, splits.image_size, r, b, rounds)

    model = network_of(None, (OPS.index("nor_conv_3x3"),) * 6, recipe.channels, recipe.cells_per_stage,
                       splits.num_classes, splits.in_channels, r)
    init_replicas(model, range(r))
    model.to(memory_format=torch.channels_last).eval()
    images = torch.cat([splits.val_x, splits.test_x]).repeat(1, r, 1, 1)

    def evaluate(chunk: int) -> None:
        with torch.no_grad():
            for start in range(0, images.shape[0], chunk):
                model(images[start : start + chunk].contiguous(memory_format=torch.channels_last))

    chunks = sorted({64, EVAL_CHUNK, 256, 512, images.shape[0]})
    timings = {k: [] for k in chunks}
    for _ in range(rounds):
        for k in chunks:
            timings[k].append(_best_ms(lambda k=k: evaluate(k), 2))
    one_pass = float(np.median(timings[images.shape[0]]))
    print(f"  evaluating {images.shape[0]} images (val + test), all-3x3 cell, {r} replicas, eval mode:")
    for k in chunks:
        ms = float(np.median(timings[k]))
        mark = "  <- EVAL_CHUNK" if k == EVAL_CHUNK else ""
        print(f"    chunks of {k:5d}: {ms:7.1f} ms ({one_pass / ms:.2f}x one pass){mark}")


def _compiled_rows(c: int, in_channels: int, side: int, r: int, b: int, rounds: int) -> None:
    """Each layer shape of the recipe's network: torch's op (oneDNN) beside the compiled loops, fwd+bwd."""
    import torch
    import torch.nn.functional as F

    from naslab.training import avg_pool, grouped_conv, native
    from naslab.training.models import ReLUConvBN

    if not native.available():
        print("  compiled loops: unavailable here (no AVX2/FMA CPU or no C compiler)")
        return
    cl = torch.channels_last
    # (what, input channels, output channels per replica, kernel, stride, map side, input needs a gradient)
    convs = [("stem 3x3", in_channels, c, 3, 1, side, False),
             ("cell 3x3", c, c, 3, 1, side, True), ("cell 1x1", c, c, 1, 1, side, True),
             ("cell 3x3", 2 * c, 2 * c, 3, 1, side // 2, True), ("cell 1x1", 2 * c, 2 * c, 1, 1, side // 2, True),
             ("reduction 3x3/2", c, 2 * c, 3, 2, side, True), ("reduction 3x3/2", 2 * c, 4 * c, 3, 2, side // 2, True),
             ("cell 3x3", 4 * c, 4 * c, 3, 1, side // 4, True), ("cell 1x1", 4 * c, 4 * c, 1, 1, side // 4, True)]
    print(f"  compiled loops (naslab.training.grouped_conv / avg_pool) vs torch, fwd+bwd, batch {b}, {r} replicas:")
    for what, ci, co, k, stride, hw, needs_grad in convs:
        weight = torch.randn(r * co, ci, k, k, requires_grad=True)
        x = torch.randn(b, r * ci, hw, hw).contiguous(memory_format=cl).requires_grad_(needs_grad)
        grad = torch.randn(b, r * co, (hw - 1) // stride + 1, (hw - 1) // stride + 1).contiguous(memory_format=cl)
        wcl = weight.detach().contiguous(memory_format=cl).requires_grad_()

        def torch_conv(x=x, wcl=wcl, stride=stride, k=k, grad=grad) -> None:
            F.conv2d(x, wcl, stride=stride, padding=k // 2, groups=r).backward(grad)

        def compiled_conv(x=x, weight=weight, stride=stride, grad=grad) -> None:
            grouped_conv.conv2d(x, weight, r, stride).backward(grad)

        t, m = _paired_ms(torch_conv, compiled_conv, rounds, 5)
        print(f"    {what:<16} {ci:3d}->{co:3d} on {hw}x{hw}: torch {t:6.2f} ms, compiled {m:6.2f} ms ({t / m:.2f}x)")
    op = ReLUConvBN(c, c, 3, 1, r).to(memory_format=cl).eval()
    x = torch.randn(b, r * c, side, side).contiguous(memory_format=cl)

    def three_ops() -> None:
        with torch.no_grad():
            op[2](F.conv2d(torch.relu(x), op[1].weight, padding=1, groups=r))

    def fused() -> None:
        with torch.no_grad():
            op(x)

    t, m = _paired_ms(three_ops, fused, rounds, 5)
    print(f"    evaluation ReLU-conv-BN {c}->{c} on {side}x{side} (forward): torch's three ops {t:6.2f} ms, "
          f"compiled with ReLU and BN inside {m:6.2f} ms ({t / m:.2f}x)")
    x = torch.randn(b, r * c, side, side).contiguous(memory_format=cl).requires_grad_()
    grad = torch.randn_like(x)

    def torch_pool() -> None:
        F.avg_pool2d(x, 3, 1, 1, count_include_pad=False).backward(grad)

    def compiled_pool() -> None:
        avg_pool.avg_pool_3x3(x).backward(grad)

    t, m = _paired_ms(torch_pool, compiled_pool, rounds, 5)
    print(f"    avg_pool_3x3 on {side}x{side}, {r * c} channels: torch {t:6.2f} ms, compiled {m:6.2f} ms ({t / m:.2f}x)")


def _category(name: str, shapes: list) -> str:
    """A profiler row's kind of work: conv forward/backward per feature-map size, BN, ReLU, ..."""
    first = shapes[0] if shapes and shapes[0] else []
    size = f"{first[-2]}x{first[-1]}" if len(first) == 4 else "?"
    if name in ("aten::mkldnn_convolution", "aten::_convolution", "aten::thnn_conv2d"):
        return f"conv forward {size}"
    if name == "aten::convolution_backward":
        return f"conv backward {size}"
    if name == "GroupedConv":  # naslab.training.grouped_conv's compiled loops (autograd.Function rows)
        return f"compiled conv forward {size}"
    if name == "GroupedConvBackward":
        return "compiled conv backward"
    if name in ("AvgPool3x3", "AvgPool3x3Backward"):
        return "avg pool (fwd + bwd)"
    if name in ("aten::bmm", "aten::index", "aten::cat", "aten::index_put_", "aten::_index_put_impl_"):
        return "last-stage conv as matmul (bmm, kernel gather)"
    if "batch_norm" in name:
        return "batch norm " + ("backward" if "backward" in name else "forward")
    if name in ("aten::clamp_min", "aten::threshold_backward", "aten::relu"):
        return "relu (fwd + bwd)"
    if "pool" in name:
        return "avg pool (fwd + bwd)"
    if name in ("aten::add", "aten::add_", "aten::mul_", "aten::addcmul_", "aten::lerp_", "aten::_foreach_add_",
                "aten::_foreach_mul_", "aten::zero_", "aten::fill_"):
        return "elementwise (residual sums, SGD update)"
    if name in ("aten::copy_", "aten::clone", "aten::contiguous", "aten::repeat", "aten::index_select"):
        return "copies (layouts, batches, replicas)"
    return "everything else (dispatch, loss, einsum, ...)"


def profile_report() -> None:
    """Where one training's CPU time goes, by kind of work (torch.profiler, one thread)."""
    from collections import defaultdict

    from torch.profiler import ProfilerActivity, profile

    from naslab.spaces.nb201 import OPS
    from naslab.training.trainer import train_seeds

    _init(1)
    recipe, splits = _STATE["recipe"], _STATE["splits"]
    arch = (OPS.index("nor_conv_3x3"),) * 6
    train_seeds(arch, recipe, splits, tuple(range(6)), device="cpu")  # warm-up
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        started = time.perf_counter()
        record = train_seeds(arch, recipe, splits, tuple(range(6)), device="cpu")
        wall = time.perf_counter() - started
    totals: dict[str, float] = defaultdict(float)
    for row in prof.key_averages(group_by_input_shape=True):
        totals[_category(row.key, row.input_shapes)] += row.self_cpu_time_total / 1e6
    profiled = sum(totals.values())
    m = record.metrics
    print(f"one training of the all-3x3 cell, 6 seeds as replicas, one thread, load {os.getloadavg()[0]:.2f}: "
          f"{wall:.2f} s wall under the profiler ({6 * float(m['train_time_s'][0, -1]):.2f} s training steps, "
          f"{6 * float(m['eval_time_s'][0, -1]):.2f} s evaluation)")
    for name, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<52} {seconds:6.2f} s  {seconds / profiled:5.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description="plain vs fast trainer speed")
    parser.add_argument("--archs", type=int, default=12)
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--multithread", action="store_true",
                        help="also time the plain loop in 1 process x all cores' threads (slow under load)")
    parser.add_argument("--flops", action="store_true",
                        help="only the FLOP/s report: fast trainer vs matmul and grouped conv, one thread")
    parser.add_argument("--kernels", action="store_true",
                        help="only the kernel choices: last-stage conv as a matmul, evaluation chunk size")
    parser.add_argument("--profile", action="store_true", help="only where one training's time goes, by kind of work")
    parser.add_argument("--repeats", type=int, default=3, help="trainings timed by --flops, rounds of --kernels")
    args = parser.parse_args()
    if args.profile:
        profile_report()
        return
    if args.flops:
        flops_report(args.repeats)
        return
    if args.kernels:
        kernels_report(args.repeats)
        return
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
