"""Per-job overhead of each way to run a sweep, as a ratio to the in-process sweep, in one run.

    python perf/launcher_overhead.py                       # every mode whose packages are installed
    python perf/launcher_overhead.py --modes sweep,dask,basic --small 2 --large 10

Every mode runs the same tiny search (random search, ``--queries`` evaluations, on a
synthetic benchmark file) twice: with ``--small`` and with ``--large`` seeds. The
difference of the two wall times divided by the difference in jobs is the cost of one
more job (the search itself included, the same in every mode); what is left of the
small run is the mode's start-up (composing, starting a pool, a cluster or Ray). The
machine is shared: compare the ratios of one run, not absolute times across runs.

Modes: ``sweep`` (``python -m naslab.sweep``, 2 processes), ``dask`` (``naslab.sweep
--executor dask``, a LocalCluster of 2 workers), ``basic`` (``python -m naslab -m``),
``joblib`` (2 jobs), ``submitit`` (``submitit_local``: the SLURM launcher's machinery),
``ray`` (``hydra/launcher=ray_local``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODES = {
    "sweep": ([sys.executable, "-m", "naslab.sweep", "-j", "2", "-q"], None),
    "dask": ([sys.executable, "-m", "naslab.sweep", "-j", "2", "-q", "--executor", "dask"], "distributed"),
    "basic": ([sys.executable, "-m", "naslab", "-m"], None),
    "joblib": ([sys.executable, "-m", "naslab", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
               "hydra_plugins.hydra_joblib_launcher"),
    "submitit": ([sys.executable, "-m", "naslab", "-m", "hydra/launcher=submitit_local"],
                 "hydra_plugins.hydra_submitit_launcher"),
    "ray": ([sys.executable, "-m", "naslab", "-m", "hydra/launcher=ray_local", "+hydra.launcher.ray.init.num_cpus=2",
             "+hydra.launcher.ray.init.object_store_memory=80000000"], "hydra_plugins.hydra_ray_launcher"),
}


def installed(module: str | None) -> bool:
    try:
        return module is None or importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


# a loaded machine starts Ray's raylet slowly; its default wait (10 s) is too short there
ENV = {"NASLAB_PROGRESS": "0", "RAY_AUTH_MODE": "disabled", "RAY_raylet_start_wait_time_s": "120"}


def timed(command: list[str], cwd: Path) -> tuple[float, float] | None:
    """(wall s, CPU s of the command and the processes it waited for), or None when it failed.

    CPU seconds miss processes nobody waits for (Ray's workers and raylet): Ray's rows
    are wall time only (CPU shown as "-").
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env={**os.environ, **ENV})
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        print(f"perf: {' '.join(command)} failed:\n{(done.stdout + done.stderr)[-1500:]}", flush=True)
        return None
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated, from: " + ", ".join(MODES))
    parser.add_argument("--small", type=int, default=2, help="seeds of the small run")
    parser.add_argument("--large", type=int, default=8, help="seeds of the large run")
    parser.add_argument("--queries", type=int, default=20, help="evaluations per search")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not 1 <= args.small < args.large:
        sys.exit(f"perf: unknown mode {unknown[0]}" if unknown else "perf: need 1 <= --small < --large")
    from naslab.benchmarks.synthetic import write_synthetic_benchmark

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bench = write_synthetic_benchmark(root / "synthetic.h5")
        rows = []
        for mode in modes:
            command, module = MODES[mode]
            if not installed(module):
                print(f"{mode}: skipped, {module} is not installed", flush=True)
                continue
            times = []
            for n in (args.small, args.large):
                times.append(timed([*command, "benchmark=file", f"benchmark.path={bench}", "strategy=random",
                                   f"seed=range(0,{n})", f"budget.queries={args.queries}",
                                   f"hydra.sweep.dir={root / mode / str(n)}"], root))
                if times[-1] is None:
                    break
            if None in times:
                continue
            jobs = args.large - args.small
            wall_per_job = (times[1][0] - times[0][0]) / jobs
            cpu_per_job = None if mode == "ray" else (times[1][1] - times[0][1]) / jobs
            rows.append((mode, wall_per_job, times[0][0] - args.small * wall_per_job, cpu_per_job, times))
            print(f"{mode}: {args.small} jobs {times[0][0]:.1f} s ({times[0][1]:.1f} CPU s), "
                  f"{args.large} jobs {times[1][0]:.1f} s ({times[1][1]:.1f} CPU s)", flush=True)
    base = {row[0]: row for row in rows}.get("sweep")
    print(f"\nper-job cost (a {args.queries}-query random search included) and start-up; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("| mode | wall s per job | x naslab.sweep | CPU s per job | x naslab.sweep | start-up wall s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for mode, wall_per_job, start_up, cpu_per_job, _ in rows:
        wall_ratio = f"{wall_per_job / base[1]:.1f}" if base and base[1] > 0 else "-"
        cpu = "-" if cpu_per_job is None else f"{cpu_per_job:.3f}"
        cpu_ratio = "-" if cpu_per_job is None or not base or not base[3] else f"{cpu_per_job / base[3]:.1f}"
        print(f"| {mode} | {wall_per_job:.3f} | {wall_ratio} | {cpu} | {cpu_ratio} | {start_up:.1f} |")


if __name__ == "__main__":
    main()
