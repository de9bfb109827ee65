"""Shared helpers for importers: reading sources with one-sentence errors."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from naslab.errors import NaslabError


class SourceFileError(NaslabError, ValueError):
    """A published source file is missing, unreadable or not in the expected format."""


def existing_file(path: str | os.PathLike[str], what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise SourceFileError(f"{what} {path} does not exist")
    return path


def read_csv_columns(
    path: str | os.PathLike[str], what: str, required: tuple[str, ...]
) -> dict[str, list[str]]:
    """All columns of a CSV file as lists of strings; the ``required`` ones must exist."""
    path = existing_file(path, what)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise SourceFileError(f"{what} {path} is empty; expected a CSV header with {list(required)}")
            rows = list(reader)
    except UnicodeDecodeError:
        raise SourceFileError(f"{what} {path} is not a UTF-8 text CSV file") from None
    except csv.Error as exc:
        raise SourceFileError(f"{what} {path} is not a valid CSV file ({exc})") from None
    missing = [c for c in required if c not in header]
    if missing:
        raise SourceFileError(f"{what} {path} lacks the column(s) {missing}; its header is {header}")
    width = len(header)
    for line, row in enumerate(rows, start=2):
        if len(row) != width:
            raise SourceFileError(f"{what} {path}: line {line} has {len(row)} fields, the header has {width}")
    return {name: [row[i] for row in rows] for i, name in enumerate(header)}


def to_float(values: list[str], path: Path | str, column: str) -> np.ndarray:
    """Parse a column as float64; an empty cell becomes NaN, anything else unparsable is an error."""
    out = np.empty(len(values), dtype=np.float64)
    for i, text in enumerate(values):
        if text == "":
            out[i] = np.nan
            continue
        try:
            out[i] = float(text)
        except ValueError:
            raise SourceFileError(
                f"{path}: column {column!r} row {i + 1} holds {text!r}, which is not a number"
            ) from None
    return out
