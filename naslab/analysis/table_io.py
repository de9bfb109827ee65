"""Plot data and tables as files: CSV with exact floats, written atomically."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from naslab.files import atomic_write_text


def _cell(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        return repr(float(value))  # exact and byte-stable: the same data gives the same file
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


def write_rows(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    atomic_write_text(path, buffer.getvalue())
    return path
