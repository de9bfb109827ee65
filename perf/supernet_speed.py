"""Supernet search steps per second against a plain training loop, and each method's projected search cost.

    python perf/supernet_speed.py [--steps 20] [--device cpu]

On the digits benchmark's recipe (C=8, N=1, 300 training / 700 validation images, the
NATS batch of 64), one thread:

* **plain**: the textbook SGD step of the benchmark's own network
  (:func:`naslab.training.models.build_network`) for random cells, the cost of one step of
  one black-box training;
* **each method**: the search step of :func:`naslab.one_shot.search.supernet_step` (the
  loop's own code: weight step + the method's update), its ``end_epoch`` (ENAS's
  controller, measured on 1 x 10 samples and scaled) and one ``derive`` (measured on 10
  candidates and scaled to the configured number).

Prints steps/s, the ratio to the plain step (both measured in this run, so a loaded
machine changes both alike) and the projected search cost on digits for the method's
default config (NATS: 100 epochs, derivation every epoch, ENAS 50 x 20 controller samples)
and for the CPU budget of ``analysis/one_shot_digits.py``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "analysis"))


def _timed(fn, repeats: int) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per method")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    import torch
    import torch.nn.functional as F
    from hydra.utils import get_class
    from omegaconf import OmegaConf
    from one_shot_digits import CPU_OVERRIDES, METHOD_OVERRIDES, METHODS

    from naslab.benchmarks.registry import open_benchmark
    from naslab.one_shot.base import MethodContext
    from naslab.one_shot.search import supernet_step
    from naslab.one_shot.supernet import build_supernet
    from naslab.paths import EMBEDDED_BENCHMARK
    from naslab.training.data import load_dataset
    from naslab.training.models import build_network, init_replicas
    from naslab.training.trainer import select_device

    torch.set_num_threads(1)
    device, amp = select_device(args.device)
    bench = open_benchmark(EMBEDDED_BENCHMARK)
    recipe = bench.attrs["recipe"]
    splits = load_dataset("digits", recipe["train_size"], recipe["val_size"])
    cfg = OmegaConf.load(REPO / "naslab" / "conf" / "one_shot" / "config.yaml")
    batch, spe = int(cfg.batch_size), math.ceil(splits.train_x.shape[0] / int(cfg.batch_size))
    xb, yb = splits.train_x[:batch].to(device), splits.train_y[:batch].to(device)
    xv, yv = splits.val_x[:batch].to(device), splits.val_y[:batch].to(device)
    rng = np.random.default_rng(0)
    space = bench.space

    # the plain loop: the benchmark's network of a random cell, one SGD step
    cells = [space.sample(rng) for _ in range(8)]
    nets = []
    for arch in cells:
        net = build_network(arch, recipe["channels"], recipe["cells_per_stage"], 10, 1).to(device)
        init_replicas(net, [0])
        nets.append((net, torch.optim.SGD(net.parameters(), lr=0.025, momentum=0.9, nesterov=True)))
    turn = iter(range(10**9))

    def plain_step() -> None:
        net, opt = nets[next(turn) % len(nets)]
        loss = F.cross_entropy(net(xb)[:, 0], yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    plain = _timed(plain_step, args.steps)
    print(f"digits recipe C={recipe['channels']} N={recipe['cells_per_stage']}, batch {batch}, {spe} steps/epoch, "
          f"device {device}, 1 thread")
    print(f"{'plain network step':<22} {1 / plain:8.1f} steps/s  (baseline)")
    overrides = dict(o.split("=") for o in CPU_OVERRIDES)
    header = (f"{'method':<22} {'steps/s':>8} {'x plain':>8} {'end_epoch s':>12} {'derive s':>9} "
              f"{'NATS cfg (s)':>13} {'CPU budget (s)':>15}")
    print(header)
    for name in METHODS:
        mcfg = OmegaConf.load(REPO / "naslab" / "conf" / "one_shot" / "method" / f"{name}.yaml")
        settings = {k: v for k, v in OmegaConf.to_container(mcfg).items() if not k.startswith("_")}
        cls = get_class(mcfg._target_)

        def make(val_batch: int, cls=cls, settings=settings, **changes):
            net = build_supernet(recipe["channels"], recipe["cells_per_stage"], 10, 1, 0).to(device)
            ctx = MethodContext(net, space, splits.val_x.to(device), splits.val_y.to(device),
                                np.random.default_rng(0), torch.Generator().manual_seed(0), device, amp,
                                epochs=100, steps_per_epoch=spe, val_batch_size=val_batch)
            method = cls(ctx, **{**settings, **changes})
            opt = torch.optim.SGD(net.parameters(), lr=0.025, momentum=0.9, nesterov=True, weight_decay=5e-4)
            return method, opt

        method, opt = make(int(cfg.val_batch_size))
        step = _timed(lambda m=method, o=opt: supernet_step(m, o, xb, yb, xv, yv), args.steps)
        costs = {}
        for label, val_batch, epochs, every in (
            ("nats", int(cfg.val_batch_size), int(cfg.epochs), int(cfg.eval_every)),
            ("cpu", int(overrides["val_batch_size"]), int(overrides["epochs"]),
             int(dict(o.split("=") for o in METHOD_OVERRIDES.get(name, [])).get("eval_every", 1))),
        ):
            probe, _ = make(val_batch, **({"candidates": 10} if "candidates" in settings else {}),
                            **({"train_steps": 1, "num_aggregate": 10} if name == "enas" else {}))
            derive = _timed(probe.derive, 1) * (settings.get("candidates", 10) / 10 if "candidates" in settings else 1)
            end = _timed(lambda p=probe: p.end_epoch(0), 1)
            if name == "enas":
                samples = settings["train_steps"] * settings["num_aggregate"]
                if label == "cpu":
                    cpu = dict(o.split("=") for o in METHOD_OVERRIDES["enas"])
                    samples = int(cpu["method.train_steps"]) * int(cpu["method.num_aggregate"])
                end *= samples / 10
            costs[label] = (epochs * (spe * step + end) + math.ceil(epochs / every) * derive, end, derive)
        print(f"{name:<22} {1 / step:8.1f} {plain / step:8.2f} {costs['nats'][1]:12.2f} {costs['nats'][2]:9.2f} "
              f"{costs['nats'][0]:13.0f} {costs['cpu'][0]:15.0f}")
    print("x plain = plain step time / method step time (above 1: faster than a plain step); "
          "NATS cfg = naslab/conf/one_shot defaults (100 epochs); CPU budget = analysis/one_shot_digits.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
