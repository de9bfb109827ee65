"""naslab's thread policy side by side: the same work with 1 and with 2 threads per library.

    python perf/threads_speed.py [--repeats 3] [--threads 1,2]

Each setting runs in a fresh process started with ``NASLAB_THREADS=k`` (the knob of
:mod:`naslab.threads`, so the policy itself is what is measured), alternating
settings ``--repeats`` times; the best time of each is printed with the ratio to the
first setting. Work items: a float64 matrix product (BLAS), a BANANAS refit (XGBoost
ensemble, 5 x 100 trees on 300 architectures, path features), a 30-epoch-step torch
training of a small convnet, and a 64-unit LSTM-cell controller step (torch). The
machine may be shared: the load (``os.getloadavg``) is printed beside the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _best(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def child() -> dict[str, float]:
    """Time every work item in this process (its threads set by NASLAB_THREADS)."""
    import numpy as np

    import naslab  # noqa: F401 - applies the thread policy before torch/xgboost load
    from naslab.benchmarks.synthetic import make_synthetic_benchmark
    from naslab.surrogates.features import encode_all
    from naslab.surrogates.xgb import XGBEnsemble
    from naslab.threads import current_threads

    out: dict[str, float] = {}
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((400, 400)), rng.standard_normal((400, 400))
    out["BLAS: 20 x float64 matmul 400x400"] = _best(lambda: [a @ b for _ in range(20)])

    bench = make_synthetic_benchmark()
    features = encode_all(bench.space, "auto")
    rows = rng.choice(bench.num_archs, 300, replace=False)
    x, y = features[rows], bench.table("val_acc")[rows].astype(np.float64)
    threads = current_threads() or (os.cpu_count() or 1)  # NASLAB_THREADS=0: all cores
    out["XGBoost: BANANAS refit, 5x100 trees, n=300"] = _best(
        lambda: XGBEnsemble(num_members=5, num_trees=100, nthread=threads).fit(x, y)
    )

    import torch

    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(16, 16, 3, padding=1),
        torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(16, 10),
    )
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    images, labels = torch.randn(64, 3, 16, 16), torch.randint(0, 10, (64,))

    def train_steps() -> None:
        for _ in range(30):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(images), labels).backward()
            opt.step()

    out["torch: 30 SGD steps, small convnet, batch 64"] = _best(train_steps)
    cell = torch.nn.LSTMCell(64, 64).double()
    inputs = torch.randn(8, 64, dtype=torch.float64)

    def controller() -> None:
        hidden = None
        for _ in range(6):
            hidden = cell(inputs, hidden)
        (hidden[0].sum()).backward()

    out["torch: LSTM controller unroll+backward (6 steps, 64 units)"] = _best(lambda: [controller() for _ in range(20)])
    out["_torch_threads"] = torch.get_num_threads()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per setting (best is printed)")
    parser.add_argument("--threads", default="1,2", help="settings to compare (default 1,2; the first is the baseline)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child()))
        return 0
    settings = [int(t) for t in args.threads.split(",")]
    best: dict[int, dict[str, float]] = {k: {} for k in settings}
    load_before = os.getloadavg()
    for _ in range(args.repeats):
        for k in settings:  # alternate, so drifting load hits every setting alike
            env = {**os.environ, "NASLAB_THREADS": str(k), "PYTHONPATH": str(REPO)}
            for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
                env.pop(name, None)  # the policy, not the caller's shell, decides
            done = subprocess.run([sys.executable, __file__, "--child"], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"threads_speed: the {k}-thread child failed:\n{done.stderr[-2000:]}")
            for name, seconds in json.loads(done.stdout.splitlines()[-1]).items():
                best[k][name] = min(best[k].get(name, float("inf")), seconds)
    load_after = os.getloadavg()
    base = settings[0]
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}; {os.cpu_count()} cores; "
          f"best of {args.repeats} fresh processes per setting")
    print("torch threads seen by the children: " + ", ".join(f"NASLAB_THREADS={k}: {int(best[k]['_torch_threads'])}" for k in settings))
    header = f"{'work':60s} " + " ".join(f"{f'{k} thread(s)':>12s}" for k in settings)
    print(header + "   " + " ".join(f"{f'{k}/{base}':>7s}" for k in settings[1:]))
    for name in best[base]:
        if name.startswith("_"):
            continue
        times = " ".join(f"{best[k][name]:11.4f}s" for k in settings)
        ratios = " ".join(f"{best[k][name] / best[base][name]:6.2f}x" for k in settings[1:])
        print(f"{name:60s} {times}   {ratios}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
