"""Each error reaches the terminal once.

A failed or refused run is logged (the run's log file keeps it) and then reported to
the user by the command itself: ``naslab: error: ...`` for one run, the list of failed
runs at the end of a sweep. Records logged with ``extra=REPORTED`` are therefore kept
off console handlers by :func:`hide_reported_on_console`, and still reach log files.
"""

from __future__ import annotations

import logging

REPORTED = {"reported_by_caller": True}


class _NotReported(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "reported_by_caller", False)


def hide_reported_on_console(logger: logging.Logger | None = None) -> None:
    """Filter :data:`REPORTED` records out of the console (non-file stream) handlers of ``logger`` (root)."""
    for handler in (logger or logging.getLogger()).handlers:
        is_console = isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler)
        if is_console and not any(isinstance(f, _NotReported) for f in handler.filters):
            handler.addFilter(_NotReported())
