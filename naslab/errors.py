"""One base class for the errors users cause, so they read as one sentence and bugs stay tracebacks.

Every error naslab raises because of its *input* (a config value, a file, a name, a
command-line argument) is a :class:`NaslabError` whose message is one sentence: what
is wrong, where, and what is expected. The CLI, the sweeps and the converters print
those as one line; anything else (a ``KeyError`` or ``ValueError`` from deep inside)
is a bug and keeps its traceback.
"""

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


class NaslabError(Exception):
    """An error caused by the user's input; ``str(error)`` is one sentence for them."""


class UnknownNameError(NaslabError, KeyError):
    """A name that no registry holds (``strategy=banana``); the message lists the known names."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InvalidValueError(NaslabError, ValueError):
    """A value the user chose (a knob, a config key, an argument, an environment variable)
    is out of range or names nothing; the message says which and what is expected."""


class MissingExtraError(NaslabError, ModuleNotFoundError):
    """An optional package that a chosen feature needs is not installed; the message names
    the ``pip install`` that provides it."""


def user_error_message(exc: BaseException) -> str | None:
    """The one-sentence message of an error the user caused, or None for a bug.

    User errors are :class:`NaslabError` subclasses, also when Hydra wraps one raised
    while it builds an object from the config. Two errors of Hydra's own building are the
    user's too: a ``_target_`` that cannot be imported, and a call with knobs the class
    does not take (a ``TypeError`` raised by the call itself, not from inside it). So are
    what the machine refused: a missing optional package (named with its extra) and a
    folder that cannot be written. Anything else (a ``KeyError`` or ``ValueError`` from
    deep inside) is a bug and keeps its traceback.
    """
    if isinstance(exc, NaslabError):
        return _first_line(exc)
    if isinstance(exc, ModuleNotFoundError):
        return missing_module_message(exc)
    if isinstance(exc, OSError) and exc.errno in UNWRITABLE:
        return f"cannot write in {exc.filename or 'the output folder'}: {exc.strerror}"
    from hydra.errors import InstantiationException

    if isinstance(exc, InstantiationException):
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, NaslabError) or (isinstance(cause, TypeError) and _raised_by_the_call(cause)):
            return _first_line(cause)
        if isinstance(cause, ImportError) or cause is None:
            return _first_line(exc)
    return None


def _raised_by_the_call(exc: BaseException) -> bool:
    """Whether ``exc`` was raised where Hydra called the target (binding its arguments),
    rather than inside the target's own code."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and "/hydra/" in tb.tb_frame.f_code.co_filename.replace("\\", "/")


def _first_line(exc: BaseException) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
