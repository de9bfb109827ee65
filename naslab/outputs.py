"""Old name of :mod:`naslab.run_folder` (and of :mod:`naslab.files`' writers), kept so that code
written against it keeps importing; new code imports those modules."""

from naslab.files import atomic_write_text, file_sha256
from naslab.run_folder import (
           SUMMARY_FILE,
           TRAJECTORY_FILE,
           is_finished,
           json_float,
           trajectory_csv,
           write_run,
)

__all__ = ["SUMMARY_FILE", "TRAJECTORY_FILE", "atomic_write_text", "file_sha256", "is_finished", "json_float",
           "trajectory_csv", "write_run"]
