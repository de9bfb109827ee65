"""Writing files safely: atomically (temporary file + rename), with the umask's permissions, hashed once.

Finished files get the permissions of any file the program writes (the umask's), not mkstemp's 0600.

Every atomic write in naslab writes a temporary file from :func:`tempfile.mkstemp`,
which creates it readable by its owner only, then renames it over the target. Without
:func:`publish` results, figures and build chunks on a shared file system would be
unreadable to colleagues even where the user's umask (usually 022 or 002) says otherwise.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import cache
from pathlib import Path


@cache
def file_mode() -> int:
    """``0o666 & ~umask``: the mode ``open(path, "w")`` would give a new file.

    Read once per process (the umask of a running program does not change in practice).
    On Linux it is read from ``/proc/self/status``; elsewhere by setting it and setting
    it back, which is safe here because no other thread creates files that early.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def publish(tmp: str | os.PathLike[str], path: str | os.PathLike[str]) -> None:
    """Give the temporary file ``tmp`` the umask's permissions and rename it to ``path``."""
    os.chmod(tmp, file_mode())
    os.replace(tmp, Path(path))


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as f:
            f.write(text)
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@cache
def _sha256_cached(path: str, mtime_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The file's SHA-256, computed once per (path, mtime, size) in a process."""
    st = os.stat(path)
    return _sha256_cached(str(Path(path).resolve()), st.st_mtime_ns, st.st_size)
