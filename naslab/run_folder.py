"""The run folder: what one search leaves on disk, written and read here and nowhere else.

::

    trajectory.csv   one row per recorded result: the fields of TrajectoryRow, in order
    summary.json     the Summary record; written last, so a folder with it has finished
    pareto.csv       multi-objective runs: the final front (arch, objective, objective...)
    failed.json      a job that failed: reason, error type, traceback (see naslab.jobs)
    .hydra/          the exact config (written by Hydra, the in-process sweep or Run.save)

The CLI, the sweeps, ``naslab.search(...).save()`` and the reproduction scripts write
through :func:`write_run`; the analysis and ``naslab.load_runs`` read through
:func:`load_runs`. Floats are written in their shortest exact form (``repr``), so the
same seed gives byte-identical files and reading them back gives the same numbers.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from naslab.errors import NaslabError
from naslab.files import atomic_write_text
from naslab.results import TRAJECTORY_COLUMNS, Result, Trajectory, TrajectoryRow, rows_to_pandas

TRAJECTORY_FILE = "trajectory.csv"
SUMMARY_FILE = "summary.json"
PARETO_FILE = "pareto.csv"
FAILED_FILE = "failed.json"
HYDRA_DIR = ".hydra"


class RunFolderError(NaslabError, ValueError):
    """A run folder that cannot be read as asked; the message is one sentence."""


# ----- the summary -----------------------------------------------------------------------
@dataclass
class Summary:
    """What ``summary.json`` holds. Keys this version does not know are kept in ``extra``."""

    strategy: str | None = None
    seed: int | None = None
    budget: dict[str, Any] | None = None
    workers: int | None = None
    num_evaluations: int | None = None
    num_failed: int | None = None
    sim_time_s: float | None = None
    wall_time_s: float | None = None
    incumbent: dict[str, Any] | None = None  # arch, val_acc, epoch, test_acc: the architecture the run chose
    best_test_acc_in_benchmark: float | None = None
    final_regret: float | None = None
    metrics: dict[str, Any] | None = None  # file, metric, dataset and split of every number
    retrain_command: str | None = None
    benchmark: dict[str, Any] | None = None
    naslab: str | None = None
    naslab_version: str | None = None
    git_dirty: bool | None = None
    config: dict[str, Any] | None = None
    pareto: dict[str, Any] | None = None  # multi-objective runs only
    fidelity_note: str | None = None  # a multi-fidelity strategy that ran on one fidelity says so
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        for optional in ("pareto", "fidelity_note"):  # keys only some runs have
            if data[optional] is None:
                del data[optional]
        return {**data, **self.extra}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Summary:
        known = {f.name for f in fields(cls)} - {"extra"}
        return cls(**{k: v for k, v in data.items() if k in known},
                   extra={k: v for k, v in data.items() if k not in known})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str) + "\n"


def json_float(value: float) -> float | None:
    """JSON has no NaN: write null instead."""
    return None if value != value else value


# ----- writing ---------------------------------------------------------------------------
def _cell(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)  # shortest exact round-trip form: byte-stable per value
    return str(value)


def trajectory_csv(trajectory: Trajectory | Sequence[TrajectoryRow]) -> str:
    rows = trajectory.rows if isinstance(trajectory, Trajectory) else trajectory
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TRAJECTORY_COLUMNS)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue()


def write_run(out_dir: Path, trajectory: Trajectory, summary: Summary | dict[str, Any],
              pareto_csv: str | None = None) -> None:
    """Write the front (if any) and the trajectory, then the summary: a folder with a summary is finished."""
    out_dir = Path(out_dir)
    if pareto_csv is not None:
        atomic_write_text(out_dir / PARETO_FILE, pareto_csv)
    atomic_write_text(out_dir / TRAJECTORY_FILE, trajectory_csv(trajectory))
    summary = summary if isinstance(summary, Summary) else Summary.from_dict(summary)
    atomic_write_text(out_dir / SUMMARY_FILE, summary.to_json())


def is_finished(run_dir: Path) -> bool:
    return (Path(run_dir) / SUMMARY_FILE).is_file()


# ----- reading ---------------------------------------------------------------------------
_INT_COLUMNS = frozenset({"step", "epoch", "seed", "worker"})
_TEXT_COLUMNS = frozenset({"arch", "status", "incumbent_arch"})


def _number(text: str) -> float:
    return float(text) if text not in ("", "None") else math.nan


def read_trajectory(path: Path) -> list[TrajectoryRow]:
    """``trajectory.csv`` as named rows (the same values the run recorded)."""
    with open(path, newline="") as f:
        lines = list(csv.reader(f))
    if not lines:
        raise RunFolderError(f"{path} is empty; expected a header line and one row per evaluation")
    header, body = lines[0], lines[1:]
    missing = [c for c in TRAJECTORY_COLUMNS if c not in header]
    if missing:
        raise RunFolderError(f"{path} lacks the column(s) {', '.join(missing)}; is it a naslab trajectory?")
    where = [header.index(c) for c in TRAJECTORY_COLUMNS]
    parsers = [str if c in _TEXT_COLUMNS else (lambda t: int(float(t))) if c in _INT_COLUMNS else _number
               for c in TRAJECTORY_COLUMNS]
    try:
        return [TrajectoryRow(*(parse(line[i]) for parse, i in zip(parsers, where))) for line in body]
    except (ValueError, IndexError):
        raise RunFolderError(f"{path} has a malformed row; expected {len(header)} values per row") from None


def read_pareto(path: Path) -> tuple[list[str], list[str], list[list[float]]]:
    """``pareto.csv`` as (objectives, archs, values: one list per arch)."""
    return _parse_pareto(Path(path).read_text(), path)


def _parse_pareto(text: str, path: Any) -> tuple[list[str], list[str], list[list[float]]]:
    lines = list(csv.reader(io.StringIO(text)))
    if not lines or lines[0][:1] != ["arch"] or len(lines[0]) < 3:
        raise RunFolderError(f"{path} should start with a header 'arch,<objective>,<objective>...'")
    return lines[0][1:], [line[0] for line in lines[1:]], [[_number(v) for v in line[1:]] for line in lines[1:]]


def read_summary(run_dir: Path) -> Summary:
    path = Path(run_dir) / SUMMARY_FILE
    data = json.loads(path.read_text())  # a JSONDecodeError: load_runs lists the folder as unreadable
    if not isinstance(data, dict):
        raise RunFolderError(f"{path} should hold a JSON object")
    return Summary.from_dict(data)


def _hydra_config(folder: Path) -> dict[str, Any]:
    path = folder / HYDRA_DIR / "config.yaml"
    if not path.is_file():
        return {}
    from omegaconf import OmegaConf

    return OmegaConf.to_container(OmegaConf.load(path), resolve=False)  # type: ignore[return-value]


def benchmark_label(summary: Summary, config: dict[str, Any]) -> str:
    """The benchmark's name as configured (``benchmark.name``), else the dataset the file names."""
    name = (config.get("benchmark") or {}).get("name")
    if name and "${" not in str(name):
        return str(name)
    bench = summary.benchmark or {}
    return str(bench.get("dataset") or Path(str(bench.get("path", "unknown"))).stem)


@dataclass
class Run:
    """One finished search: its summary and its trajectory, in memory or read from its folder.

    ``naslab.search`` returns one; :func:`load_run` and :func:`load_runs` read them back;
    :meth:`save` writes exactly the folder the CLI writes for the same run.
    """

    summary: Summary
    trajectory: Trajectory
    pareto_csv: str | None = None  # multi-objective runs: the text of pareto.csv
    folder: Path | None = None  # where it was read from or last saved to
    config: Any = None  # the composed config (a DictConfig when the run was composed by Hydra)
    overrides: list[str] | None = None  # the CLI overrides that compose ``config`` (python -m naslab ...)

    # ----- what it found ---------------------------------------------------------------
    @property
    def rows(self) -> list[TrajectoryRow]:
        return self.trajectory.rows

    @property
    def incumbent(self) -> Result | None:
        """The result the run chose (the best at the target fidelity, by its objective)."""
        if self.trajectory.incumbent is None and self.rows:
            self.trajectory.incumbent = _incumbent_result(self.rows)
        return self.trajectory.incumbent

    @property
    def regret(self) -> float:
        """Final regret: the benchmark's best reference test accuracy minus the incumbent's."""
        return self.rows[-1].regret if self.rows else math.nan

    @property
    def incumbent_test_acc(self) -> float:
        return self.rows[-1].incumbent_test_acc if self.rows else math.nan

    @property
    def strategy(self) -> str:
        target = str((self._config_dict().get("strategy") or {}).get("_target_", "?"))
        return str(self.summary.strategy or target.rsplit(".", 1)[-1])

    @property
    def benchmark(self) -> str:
        return benchmark_label(self.summary, self._config_dict())

    @property
    def seed(self) -> int:
        return int(self.summary.seed if self.summary.seed is not None else self._config_dict().get("seed", -1))

    @property
    def pareto(self) -> tuple[list[str], list[str], list[list[float]]] | None:
        """(objectives, archs, values) of the final front, for multi-objective runs."""
        return None if self.pareto_csv is None else _parse_pareto(self.pareto_csv, "pareto.csv")

    def to_pandas(self) -> Any:
        """The trajectory as a ``pandas.DataFrame`` (pandas is imported only here)."""
        return rows_to_pandas(self.rows)

    def _config_dict(self) -> dict[str, Any]:
        if self.config is None:
            return self.summary.config or {}
        if isinstance(self.config, dict):
            return self.config
        from omegaconf import OmegaConf

        return OmegaConf.to_container(self.config, resolve=False)  # type: ignore[return-value]

    # ----- writing ---------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write the run folder: ``.hydra/config.yaml`` (if composed and not there yet), the
        front, the trajectory, and the summary last; returns the folder."""
        folder = Path(folder)
        if self.config is not None and not isinstance(self.config, dict):
            from omegaconf import OmegaConf

            # what Hydra writes before a CLI search (then it is there already)
            if not (folder / HYDRA_DIR / "config.yaml").is_file():
                atomic_write_text(folder / HYDRA_DIR / "config.yaml", OmegaConf.to_yaml(self.config))
            if self.overrides is not None and not (folder / HYDRA_DIR / "overrides.yaml").is_file():
                atomic_write_text(folder / HYDRA_DIR / "overrides.yaml", OmegaConf.to_yaml(OmegaConf.create(self.overrides)))
        write_run(folder, self.trajectory, self.summary, self.pareto_csv)
        self.folder = folder
        return folder


def _incumbent_result(rows: Sequence[TrajectoryRow]) -> Result | None:
    """The Result recorded at the row where the final incumbent became incumbent."""
    final = (rows[-1].incumbent_arch, rows[-1].incumbent_val_acc)
    for row in reversed(rows):
        if (row.arch, row.val_acc) == final:
            return Result(arch=row.arch, val_acc=row.val_acc, test_acc=row.test_acc, val_loss=row.val_loss,
                          epoch=row.epoch, seed=row.seed, cost_s=row.cost_s, params=row.params,
                          flops=row.flops, latency_ms=row.latency_ms, status=row.status)  # type: ignore[arg-type]
    return None


class RunRecords(list):
    """The runs :func:`load_runs` found (a list of :class:`Run`), the failed folders beside them
    (``failed.json``) and the unreadable ones, each with the reason."""

    def __init__(self, runs: Iterable[Run] = (), failed: Sequence[Path] = (),
                 unreadable: Sequence[tuple[Path, str]] = ()) -> None:
        super().__init__(runs)
        self.failed = list(failed)
        self.unreadable = list(unreadable)

    def to_pandas(self) -> Any:
        """Every row of every run, with the run's ``folder``, ``benchmark``, ``strategy`` and ``run_seed``
        (``seed`` is the training seed of each row, as in ``trajectory.csv``)."""
        frames = []
        for run in self:
            frame = run.to_pandas()
            for position, (name, value) in enumerate(
                [("folder", str(run.folder)), ("benchmark", run.benchmark), ("strategy", run.strategy),
                 ("run_seed", run.seed)]
            ):
                frame.insert(position, name, value)
            frames.append(frame)
        if not frames:
            return rows_to_pandas([])
        import pandas as pd

        return pd.concat(frames, ignore_index=True)


def load_run(folder: str | Path) -> Run:
    """The finished run in ``folder``."""
    folder = Path(folder)
    if not is_finished(folder):
        raise RunFolderError(f"{folder} is not a finished run folder (it has no {SUMMARY_FILE})")
    summary = read_summary(folder)
    rows = read_trajectory(folder / TRAJECTORY_FILE)
    pareto_file = folder / PARETO_FILE
    trajectory = Trajectory(rows=rows, sim_time_s=float(summary.sim_time_s or (rows[-1].sim_time_s if rows else 0.0)))
    if rows:
        trajectory.incumbent_test_acc, trajectory.regret = rows[-1].incumbent_test_acc, rows[-1].regret
    return Run(summary=summary, trajectory=trajectory,
               pareto_csv=pareto_file.read_text() if pareto_file.is_file() else None,
               folder=folder, config=summary.config or _hydra_config(folder))


def find_run_folders(paths: Iterable[str | Path]) -> tuple[list[Path], list[Path]]:
    """(finished run folders, failed run folders) under ``paths``, each sorted."""
    finished: set[Path] = set()
    failed: set[Path] = set()
    for path in map(Path, paths):
        if not path.exists():
            raise RunFolderError(f"{path} does not exist; expected a run folder or a sweep folder holding run folders")
        finished.update(p.parent for p in path.rglob(SUMMARY_FILE))
        failed.update(p.parent for p in path.rglob(FAILED_FILE))
    return sorted(finished), sorted(failed - finished)


def load_runs(*paths: str | Path) -> RunRecords:
    """Every finished run under ``paths`` (run folders or sweep folders), sorted by folder; a
    folder that cannot be read is listed in ``unreadable`` and spoils nothing else."""
    folders, failed = find_run_folders(paths)
    runs, unreadable = [], []
    for folder in folders:
        try:
            runs.append(load_run(folder))
        except (ValueError, KeyError, TypeError, OSError) as exc:
            text = str(exc).strip()
            unreadable.append((folder, text.splitlines()[0] if text else type(exc).__name__))
    return RunRecords(runs, failed, unreadable)
