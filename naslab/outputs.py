"""What a run leaves in its folder: trajectory.csv, summary.json (written last = finished)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from naslab.files import publish
from naslab.runner import TRAJECTORY_COLUMNS, Trajectory

TRAJECTORY_FILE = "trajectory.csv"
SUMMARY_FILE = "summary.json"


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as f:
            f.write(text)
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)  # shortest exact round-trip form: byte-stable per value
    return str(value)


def trajectory_csv(trajectory: Trajectory) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TRAJECTORY_COLUMNS)
    for row in trajectory.rows:
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue()


def write_run(out_dir: Path, trajectory: Trajectory, summary: dict[str, Any]) -> None:
    """Write the trajectory, then the summary; a run folder with a summary is finished."""
    atomic_write_text(out_dir / TRAJECTORY_FILE, trajectory_csv(trajectory))
    atomic_write_text(out_dir / SUMMARY_FILE, json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")


def is_finished(run_dir: Path) -> bool:
    return (run_dir / SUMMARY_FILE).is_file()


@cache
def _sha256_cached(path: str, mtime_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    st = os.stat(path)
    return _sha256_cached(str(Path(path).resolve()), st.st_mtime_ns, st.st_size)


def json_float(value: float) -> float | None:
    """JSON has no NaN: write null instead."""
    return None if value != value else value
