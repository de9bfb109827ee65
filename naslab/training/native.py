"""The fast trainer's compiled CPU loops: a C source compiled once per shape, cached on disk, loaded by ctypes.

:mod:`naslab.training.grouped_conv` and :mod:`naslab.training.avg_pool` hand a C file of
this folder and the layer's shape as compile-time constants (``-DNAME=value``: every loop
bound is known to the compiler, so it unrolls them and keeps accumulators in registers).
A compile takes about 0.7 s with the system's C compiler (``$CC``, else ``cc``/``gcc``),
once per shape and machine: the library lands in ``$NASLAB_KERNEL_CACHE``, else
``$XDG_CACHE_HOME/naslab/kernels`` (``~/.cache``), named by the hash of the source, the
flags and the constants, so an edited source or another shape never loads a stale file,
and concurrent processes (build workers) share it.

Unavailable (the callers then use torch's own ops) on a CPU without AVX2 and FMA, without
a C compiler, with ``NASLAB_CPU_KERNELS=0``, and after a failed compile (one warning, then
off for the process).
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FLAGS = ("-O3", "-mavx2", "-mfma", "-std=gnu11", "-shared", "-fPIC")
ENV_SWITCH = "NASLAB_CPU_KERNELS"

_state: dict[str, Any] = {"available": None}
_libraries: dict[tuple, Any] = {}


def _cpu_has_avx2_fma() -> bool:
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return False
    return {"avx2", "fma"} <= set(flags.split())


def _compiler() -> str | None:
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")


def available() -> bool:
    """Can this process use the compiled loops? (Checked once; a failed compile turns them off.)"""
    if os.environ.get(ENV_SWITCH, "1") == "0":
        return False
    if _state["available"] is None:
        _state["available"] = _cpu_has_avx2_fma() and _compiler() is not None
    return bool(_state["available"])


def cache_dir() -> Path:
    if os.environ.get("NASLAB_KERNEL_CACHE"):
        return Path(os.environ["NASLAB_KERNEL_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "naslab" / "kernels"


def _compile(source: Path, constants: dict[str, int]) -> Path:
    defines = [f"-D{name}={value}" for name, value in constants.items()]
    digest = hashlib.sha256(source.read_bytes() + " ".join(FLAGS + tuple(defines)).encode()).hexdigest()[:20]
    target = cache_dir() / f"{source.stem}-{digest}.so"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        # compile beside the target, then rename: a concurrent process never loads a half-written file
        fd, partial = tempfile.mkstemp(suffix=".so", dir=target.parent)
        os.close(fd)
        try:
            subprocess.run([_compiler(), *FLAGS, *defines, "-o", partial, str(source)],
                           check=True, capture_output=True, text=True)
            os.replace(partial, target)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
    return target


def library(source_name: str, constants: dict[str, int], signatures: tuple[tuple[str, int, int], ...]) -> Any:
    """The loaded library of ``source_name`` (a C file beside this module) for ``constants``, or None.

    ``signatures``: ``(function, pointer arguments, int arguments)``, in that order, of each
    function used. None when the loops are unavailable or the compile failed.
    """
    key = (source_name, tuple(sorted(constants.items())))
    loaded = _libraries.get(key)
    if loaded is not None or not available():
        return loaded
    try:
        loaded = ctypes.CDLL(str(_compile(Path(__file__).with_name(source_name), constants)))
    except (OSError, subprocess.CalledProcessError) as error:
        detail = (getattr(error, "stderr", "") or str(error)).strip()
        log.warning("naslab: compiling %s failed, so torch's own ops train instead (%s)",
                    source_name, detail.splitlines()[-1] if detail else error)
        _state["available"] = False
        return None
    for name, pointers, ints in signatures:
        function = getattr(loaded, name)
        function.argtypes = [ctypes.c_void_p] * pointers + [ctypes.c_int] * ints
        function.restype = None
    _libraries[key] = loaded
    return loaded
