"""Advisory file locks: one run writes a run folder; one process at a time writes a shared file.

``fcntl.flock`` locks belong to an open file, so the kernel drops them when the holder
dies (``kill -9`` included): a lock never outlives its run and never needs cleaning up.
The lock file stays (removing it would let a second process lock a new inode while a
third still holds the old one). Where ``fcntl`` does not exist (Windows), locking is a
no-op and runs are as unguarded as before.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from naslab.errors import NaslabError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

RUN_LOCK_FILE = ".naslab.lock"


class RunFolderBusy(NaslabError, ValueError):
    """Another run is writing this run folder (one sentence for the user)."""


@contextmanager
def file_lock(path: Path, blocking: bool = True) -> Iterator[bool]:
    """Hold an exclusive lock on ``path`` (created if missing); yields False if ``blocking`` is
    False and another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
        yield True
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextmanager
def run_folder_lock(out_dir: Path) -> Iterator[None]:
    """Hold ``out_dir``'s lock while a run writes it, or raise :class:`RunFolderBusy`."""
    path = Path(out_dir) / RUN_LOCK_FILE
    with file_lock(path, blocking=False) as acquired:
        if not acquired:
            holder = path.read_text().strip() or "unknown"
            raise RunFolderBusy(
                f"run folder {out_dir} is being written by another run (pid {holder}); "
                "wait for it or choose another folder (hydra.run.dir=...)"
            )
        path.write_text(f"{os.getpid()}\n")  # who holds it, for the message above
        yield
