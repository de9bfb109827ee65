"""naslab's thread policy: parallelism is processes, each numeric library runs one thread.

On this project's 2-core machines two threads per process were 10-31x *slower* than
one for XGBoost refits, torch training and BLAS as soon as anything else ran (issue
18; OpenMP threads spin against each other and against the other processes). naslab
therefore sets every library it uses to one thread, once, here:

* ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` (and the other
  BLAS variables) in ``os.environ``, which the libraries read when they load, and
  which every child process (sweep pools, build workers, Dask/Ray workers) inherits;
* libraries already loaded when the policy is applied: BLAS/OpenMP pools through
  threadpoolctl, ``torch.set_num_threads`` and XGBoost's global ``nthread``.

``import naslab`` applies it, so the CLI, ``python -m naslab.sweep``, the builder and
the Python API all get it. Ask for something else with ``NASLAB_THREADS=N`` (N
threads per library) or ``NASLAB_THREADS=0`` (leave every library's own default),
or call :func:`set_threads` after importing naslab. ``perf/threads_speed.py`` prints
the 1-thread and 2-thread figures side by side.
"""

from __future__ import annotations

import os
import sys

from naslab.errors import InvalidValueError

ENV_VAR = "NASLAB_THREADS"
DEFAULT_THREADS = 1
# the variables OpenMP, MKL, OpenBLAS, BLIS, Accelerate and numexpr read at load time
LIBRARY_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)

_current: int | None = None  # what the policy last set (None: libraries' defaults)


def requested_threads() -> int | None:
    """Threads per library the environment asks for: ``NASLAB_THREADS``, else 1; None for 0."""
    text = os.environ.get(ENV_VAR, "").strip()
    if not text:
        return DEFAULT_THREADS
    try:
        threads = int(text)
    except ValueError:
        threads = -1
    if threads < 0:
        raise InvalidValueError(
            f"{ENV_VAR}={text!r} is not a thread count; set it to a whole number >= 1 "
            "(threads per library) or 0 (leave the libraries' defaults)"
        )
    return threads or None


def set_threads(threads: int | None) -> None:
    """Run torch, XGBoost and BLAS/OpenMP with ``threads`` threads each, in this process and its children.

    ``None`` leaves whatever the libraries and the environment chose. Cheap when
    nothing numeric is loaded yet (environment variables only); otherwise the loaded
    libraries are changed too (threadpoolctl scans them once, a few ms).
    """
    global _current
    if threads is None:
        _current = None
        return
    if threads < 1:
        raise InvalidValueError(f"threads must be >= 1 (or None for the libraries' defaults), got {threads}")
    for name in LIBRARY_VARS:
        os.environ[name] = str(threads)
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
    if "xgboost" in sys.modules:
        sys.modules["xgboost"].set_config(nthread=threads)
    # a BLAS or OpenMP runtime loaded before now has already sized its pool
    if any(name in sys.modules for name in ("numpy", "scipy", "torch", "xgboost", "sklearn")) and _current != threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads)
    _current = threads


def current_threads() -> int | None:
    """Threads per library the policy set in this process (None: the libraries' defaults)."""
    return _current


def apply_policy() -> None:
    """Apply the policy the environment asks for (``import naslab`` calls this once)."""
    set_threads(requested_threads())
