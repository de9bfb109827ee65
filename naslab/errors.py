"""Turn the errors users cause into one sentence (and leave real bugs as tracebacks)."""

from __future__ import annotations


def user_error_message(exc: BaseException) -> str | None:
    """The one-sentence message for an error caused by input, or None for a bug."""
    from hydra.errors import InstantiationException

    from naslab.app import NothingUsable
    from naslab.benchmarks.tabular import BenchmarkFileError

    if isinstance(exc, NothingUsable):  # not bad input, but what the user must read: one sentence
        return _first_line(exc)

    if isinstance(exc, InstantiationException):
        cause = exc.__cause__ or exc.__context__
        if cause is not None and isinstance(cause, (ValueError, TypeError, KeyError)):
            return _first_line(cause)
        return _first_line(exc)
    if isinstance(exc, (BenchmarkFileError, ValueError, KeyError, FileNotFoundError, ModuleNotFoundError)):
        return _first_line(exc)
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
