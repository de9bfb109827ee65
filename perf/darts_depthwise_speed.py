"""The DARTS network's CPU depthwise convolution (per-channel matmuls) beside torch's own kernel.

    python perf/darts_depthwise_speed.py [--archs 4] [--steps 10]

One thread. Part 1: milliseconds (CPU time) of forward + backward of one depthwise conv
at the shapes of the digits network (batch 128; C=8 at 8x8, 16 at 4x4, 32 at 2x2) for
every kernel and dilation of the DARTS ops, naslab's ``DepthwiseConv2d`` vs
``torch.nn.Conv2d`` with the same weights, and the ratio. Part 2: milliseconds per SGD
step of whole DARTS networks (``--archs`` random architectures, C=8, one cell per stage,
channels_last as the trainer runs them) with the fast path on and off, measured in the
same run, arch by arch.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def cpu_ms(fn, reps: int) -> float:
    for _ in range(3):
        fn()
    started = time.process_time()
    for _ in range(reps):
        fn()
    return (time.process_time() - started) / reps * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=4)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()

    import torch
    from torch import nn

    from naslab.spaces import get_space
    from naslab.training.darts_models import DepthwiseConv2d
    from naslab.training.models import init_replicas

    torch.set_num_threads(1)
    fast_forward = DepthwiseConv2d.forward
    print("shape              kernel dil   fast ms  torch ms  torch/fast")
    for channels, size in ((8, 8), (16, 4), (32, 2)):
        x = torch.randn(128, channels, size, size).contiguous(memory_format=torch.channels_last).requires_grad_()
        for kernel, dilation in ((3, 1), (5, 1), (3, 2), (5, 2)):
            conv = DepthwiseConv2d(channels, channels, kernel, 1, padding=dilation * (kernel // 2), dilation=dilation,
                                   groups=channels, bias=False)
            fast = cpu_ms(lambda: conv(x).sum().backward(), 20)
            plain = cpu_ms(lambda: nn.Conv2d.forward(conv, x).sum().backward(), 20)
            print(f"[128,{channels:2d},{size},{size}]      {kernel}x{kernel}   {dilation}  {fast:8.3f}  {plain:8.3f}  {plain / fast:8.2f}")

    space = get_space("darts")
    rng = np.random.default_rng(0)
    xb = torch.randn(128, 1, 8, 8).contiguous(memory_format=torch.channels_last)
    yb = torch.randint(0, 10, (128,))
    ratios, fast_steps, plain_steps = [], [], []
    for _ in range(args.archs):
        arch = space.sample(rng)
        times = {}
        for name, forward in (("fast", fast_forward), ("torch", nn.Conv2d.forward)):
            DepthwiseConv2d.forward = forward
            net = space.build_network(arch, channels=8, cells_per_stage=1, num_classes=10, in_channels=1, replicas=1)
            init_replicas(net, [0])
            net = net.to(memory_format=torch.channels_last)
            opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)

            def step() -> None:
                loss = torch.nn.functional.cross_entropy(net(xb)[:, 0], yb)
                opt.zero_grad()
                loss.backward()
                opt.step()

            times[name] = cpu_ms(step, args.steps)
        DepthwiseConv2d.forward = fast_forward
        fast_steps.append(times["fast"])
        plain_steps.append(times["torch"])
        ratios.append(times["torch"] / times["fast"])
    print(f"training step, C=8, {args.archs} archs: fast {statistics.median(fast_steps):.1f} ms, torch "
          f"{statistics.median(plain_steps):.1f} ms (median); torch/fast per arch {[round(r, 2) for r in ratios]}")


if __name__ == "__main__":
    main()
