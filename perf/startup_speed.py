"""Start-up of the CLI against a bare ``python -c "import numpy, h5py, hydra"``, in one run.

    python perf/startup_speed.py [--repeats 7]

Times, alternating so that drifting load hits each alike: the bare import; ``python -m
naslab strategy=evolution`` (a 300-query search on the embedded benchmark, run folder
in a temporary directory); and the same command with Hydra composing the config twice
as it does without :mod:`naslab.hydra_mode`; and the CLI on a gzip-chunked copy of the
embedded benchmark (as it was shipped before; now it is stored uncompressed). Prints the median wall and CPU
seconds (user + system) of each and the ratios to the bare import (goal: CLI <= 1.8x),
with the load average, and the two files' sizes on disk and zlib-compressed (about what
git and a wheel store).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EMBEDDED = REPO / "naslab" / "data" / "nb201_digits.h5"
# python -m naslab with naslab.hydra_mode's shortcut switched off: Hydra's own start-up
TWICE = (
    "import runpy, naslab.hydra_mode as m; m.install_fast_get_mode = lambda config_dir: None; "
    "runpy.run_module('naslab', run_name='__main__', alter_sys=True)"
)


def timed(command: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    py = sys.executable
    results: dict[str, list[tuple[float, float]]] = {"bare": [], "cli": [], "twice": [], "gzip": []}
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        from naslab.benchmarks.tabular import load_benchmark, write_benchmark

        packed = write_benchmark(Path(tmp) / "gzip.h5", load_benchmark(EMBEDDED), compress=True)
        for i in range(args.repeats):
            results["bare"].append(timed([py, "-c", "import numpy, h5py, hydra"]))
            results["cli"].append(timed([py, "-m", "naslab", "strategy=evolution", f"hydra.run.dir={tmp}/cli{i}"]))
            results["twice"].append(timed([py, "-c", TWICE, "strategy=evolution", f"hydra.run.dir={tmp}/twice{i}"]))
            results["gzip"].append(timed([py, "-m", "naslab", "strategy=evolution", f"benchmark.path={packed}",
                                          f"hydra.run.dir={tmp}/gzip{i}"]))
        sizes = {name: (path.stat().st_size, len(zlib.compress(path.read_bytes(), 6)))
                 for name, path in (("uncompressed (shipped)", EMBEDDED), ("gzip-chunked", packed))}
    labels = {
        "bare": 'python -c "import numpy, h5py, hydra"',
        "cli": "python -m naslab strategy=evolution",
        "twice": "  the same, Hydra composing twice (before)",
        "gzip": "  the same on a gzip-chunked benchmark (before)",
    }
    bare_wall = statistics.median(w for w, _ in results["bare"])
    bare_cpu = statistics.median(c for _, c in results["bare"])
    print(f"load average {load:.2f} -> {os.getloadavg()[0]:.2f}; median of {args.repeats}, alternating")
    print(f"{'command':48s} {'wall s':>7s} {'CPU s':>7s} {'wall/bare':>9s} {'CPU/bare':>9s}")
    for key, label in labels.items():
        wall = statistics.median(w for w, _ in results[key])
        cpu = statistics.median(c for _, c in results[key])
        print(f"{label:48s} {wall:7.2f} {cpu:7.2f} {wall / bare_wall:8.2f}x {cpu / bare_cpu:8.2f}x")
    print("goal: python -m naslab strategy=evolution <= 1.8x the bare import")
    for name, (disk, packed) in sizes.items():
        print(f"embedded benchmark {name}: {disk / 1e6:.1f} MB on disk, {packed / 1e6:.1f} MB zlib-compressed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
