"""Turn the errors users cause into one sentence (and leave real bugs as tracebacks)."""

from __future__ import annotations

import errno

# optional dependencies and the extra that installs each (pyproject.toml)
EXTRAS = {"torch": "train", "optuna": "bo", "matplotlib": "analysis", "mlflow": "tracking",
          "dask": "dask", "ray": "ray", "scipy": "analysis"}
# what the machine, not naslab, refused: said in one sentence (the file and the reason)
UNWRITABLE = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.ENOTDIR}


def missing_module_message(exc: ModuleNotFoundError, what: str = "this run") -> str:
    """``WHAT needs torch, which is not installed: pip install 'naslab[train]'``."""
    name = (exc.name or "").split(".")[0]
    if name in EXTRAS:
        return f"{what} needs {name}, which is not installed: pip install 'naslab[{EXTRAS[name]}]'"
    return _first_line(exc)


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
    if isinstance(exc, ModuleNotFoundError):
        return missing_module_message(exc)
    if isinstance(exc, (BenchmarkFileError, ValueError, KeyError, FileNotFoundError)):
        return _first_line(exc)
    if isinstance(exc, OSError) and exc.errno in UNWRITABLE:
        return f"cannot write in {exc.filename or 'the output folder'}: {exc.strerror}"
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
