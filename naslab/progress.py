"""Progress bars with an ETA for long work (sweeps, builds, imports, fits, epochs), by tqdm.

A bar is drawn on stderr only when stderr is a terminal, so logs, CI output and
captured subprocess output stay free of carriage returns. ``NASLAB_PROGRESS=0`` turns
bars off everywhere (``1`` forces them on, e.g. under ``script`` or in a notebook).
While a bar is shown, log records of the console handlers are written above it
(tqdm's ``logging_redirect_tqdm``) instead of through it.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

ENV = "NASLAB_PROGRESS"
_OFF = ("0", "false", "no", "off")
_ON = ("1", "true", "yes", "on")


def enabled(stream: Any = None) -> bool:
    """Whether to draw bars: ``NASLAB_PROGRESS`` if set, else whether ``stream`` (stderr) is a terminal."""
    value = os.environ.get(ENV, "").strip().lower()
    if value in _OFF:
        return False
    if value in _ON:
        return True
    stream = sys.stderr if stream is None else stream
    return bool(getattr(stream, "isatty", None) and stream.isatty())


def quiet() -> None:
    """Turn bars off for this process and its children (``--quiet`` of the commands)."""
    os.environ[ENV] = "0"


@contextmanager
def progress_bar(total: int | None, desc: str, unit: str, initial: int = 0, **options: Any) -> Iterator[Any]:
    """A tqdm bar (a disabled one when :func:`enabled` says no); log lines go above it."""
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    show = enabled()
    with tqdm(total=total, initial=initial, desc=desc, unit=unit, disable=not show, dynamic_ncols=True,
              mininterval=0.5, file=sys.stderr, **options) as bar:
        if not show:
            yield bar
            return
        # the root logger (Hydra's console handler) and naslab's own, should it have one
        with logging_redirect_tqdm(loggers=[logging.getLogger(), logging.getLogger("naslab")]):
            yield bar


def track(items: Any, total: int, desc: str, unit: str) -> Iterator[Any]:
    """Iterate ``items`` under a :func:`progress_bar` of ``total`` steps."""
    with progress_bar(total, desc, unit) as bar:
        for item in items:
            yield item
            bar.update()
