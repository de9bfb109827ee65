"""Start-up of the CLI against a bare ``python -c "import numpy, h5py, hydra"``, in one run.

    python perf/startup_speed.py [--repeats 7]

Times, interleaved (one run of each command per round, in a shuffled order) so that
drifting load hits each alike: the bare import; ``python -m
naslab strategy=evolution`` (a 300-query search on the embedded benchmark, run folder in
a temporary directory); and the same command with one of naslab's start-up measures
switched off: Hydra's full plugin scan (:mod:`naslab.hydra_plugin_scan`), no GC freeze at
the first job (``naslab/__main__.py``), Hydra composing the config twice
(:mod:`naslab.hydra_mode`), the gzip-chunked benchmark it shipped before, and naslab
compiled from source at every start (``PYTHONDONTWRITEBYTECODE=1``, as some sandboxes
set it; an installed package has its bytecode). Every other command runs with its
bytecode cached in a temporary ``PYTHONPYCACHEPREFIX``, warmed by one untimed run, as
the bare import's packages have theirs. Prints the median wall and CPU seconds (user +
system, children included) of each and the ratios to the bare import (goal: CLI <= 1.8x),
and the ratio of the fastest runs (the least disturbed by other load), with the load average, and the two benchmark files' sizes on disk and zlib-compressed
(about what git and a wheel store).
"""

from __future__ import annotations

import argparse
import os
import random
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
SEARCH = ["strategy=evolution"]


def cli_without(switch_off: str) -> list[str]:
    """``python -m naslab`` with one start-up measure switched off before it starts."""
    return ["-c", f"import runpy; {switch_off}; runpy.run_module('naslab', run_name='__main__', alter_sys=True)"]


VARIANTS = {  # key: (label, python arguments before the search's, extra overrides, bytecode cached)
    "bare": ('python -c "import numpy, h5py, hydra"', ["-c", "import numpy, h5py, hydra"], None, True),
    "cli": ("python -m naslab strategy=evolution", ["-m", "naslab"], [], True),
    "scan": ("  the same, Hydra's full plugin scan",
             cli_without("import naslab.hydra_plugin_scan as m; m.install_lean_plugin_scan = lambda d, a: False"), [],
             True),
    "gc": ("  the same, no GC freeze at the first job", cli_without("import gc; gc.freeze = lambda: None"), [], True),
    "twice": ("  the same, Hydra composing twice",
              cli_without("import naslab.hydra_mode as m; m.install_fast_get_mode = lambda d: None"), [], True),
    "gzip": ("  the same on a gzip-chunked benchmark", ["-m", "naslab"], ["benchmark.path={packed}"], True),
    "source": ("  the same, naslab compiled at every start", ["-m", "naslab"], [], False),
}


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float]]] = {key: [] for key in VARIANTS}
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        from naslab.benchmarks.tabular import load_benchmark, write_benchmark

        packed = write_benchmark(Path(tmp) / "gzip.h5", load_benchmark(EMBEDDED), compress=True)
        plain = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
        envs = {
            True: {**plain, "PYTHONPATH": str(REPO), "PYTHONPYCACHEPREFIX": f"{tmp}/pycache"},
            False: {**plain, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"},
        }

        def command(key: str, run: str) -> list[str]:
            _, python_args, overrides, _ = VARIANTS[key]
            if overrides is None:
                return [sys.executable, *python_args]
            extra = [o.format(packed=packed) for o in overrides]
            return [sys.executable, *python_args, *SEARCH, *extra, f"hydra.run.dir={tmp}/{key}{run}"]

        for key, (_, _, _, cached) in VARIANTS.items():  # warm-up: writes the bytecode
            timed(command(key, "warm"), envs[cached])
        for i in range(args.repeats):
            order = list(VARIANTS)
            random.Random(i).shuffle(order)
            for key in order:
                results[key].append(timed(command(key, str(i)), envs[VARIANTS[key][3]]))
        sizes = {name: (path.stat().st_size, len(zlib.compress(path.read_bytes(), 6)))
                 for name, path in (("uncompressed (shipped)", EMBEDDED), ("gzip-chunked", packed))}
    bare_wall = statistics.median(w for w, _ in results["bare"])
    bare_cpu = statistics.median(c for _, c in results["bare"])
    bare_fastest = min(c for _, c in results["bare"])
    print(f"load average {load:.2f} -> {os.getloadavg()[0]:.2f}; median of {args.repeats}, interleaved")
    print(f"{'command':48s} {'wall s':>7s} {'CPU s':>7s} {'wall/bare':>9s} {'CPU/bare':>9s} {'fastest':>8s}")
    for key, (label, *_) in VARIANTS.items():
        wall = statistics.median(w for w, _ in results[key])
        cpu = statistics.median(c for _, c in results[key])
        fastest = min(c for _, c in results[key]) / bare_fastest
        print(f"{label:48s} {wall:7.2f} {cpu:7.2f} {wall / bare_wall:8.2f}x {cpu / bare_cpu:8.2f}x {fastest:7.2f}x")
    print("fastest: the fastest run's CPU s over the bare import's fastest")
    print("goal: python -m naslab strategy=evolution <= 1.8x the bare import")
    for name, (disk, packed_size) in sizes.items():
        print(f"embedded benchmark {name}: {disk / 1e6:.1f} MB on disk, {packed_size / 1e6:.1f} MB zlib-compressed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
