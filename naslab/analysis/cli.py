"""The command line every analysis script shares: run folders in, an output folder out."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from naslab.analysis.runs import AnalysisError, RunSet, load_runs

FIGURE_FORMATS = ("png", "pdf", "svg")


def _formats(text: str) -> tuple[str, ...]:
    formats = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    unknown = [f for f in formats if f not in FIGURE_FORMATS]
    if unknown or not formats:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a comma-separated list of {', '.join(FIGURE_FORMATS)}")
    return formats


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("paths", nargs="+", type=Path,
                   help="run folders, or sweep folders holding them (searched recursively)")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for the figures, tables and plot data (default: FIRST_PATH/analysis)")
    p.add_argument("--formats", type=_formats, default=("png", "pdf"),
                   help="figure formats, comma-separated, from png, pdf, svg (default: png,pdf)")
    return p


def run(
    prog: str,
    argv: Sequence[str] | None,
    build: Callable[[argparse.ArgumentParser], None] | None,
    make: Callable[[RunSet, Path, argparse.Namespace], list[Path]],
    description: str,
) -> int:
    """Parse ``argv``, load the runs, call ``make``; one sentence and exit status 2 on bad input."""
    p = parser(prog, description)
    if build is not None:
        build(p)
    args = p.parse_args(argv)
    out = args.out or args.paths[0] / "analysis"
    try:
        runs = load_runs(args.paths)
        for folder, why in runs.unreadable:
            print(f"{prog}: note: skipped unreadable run folder {folder}: {why}", file=sys.stderr)
        if runs.failed:
            print(f"{prog}: note: {len(runs.failed)} failed run folder(s) left out (failed.json), "
                  f"e.g. {runs.failed[0]}", file=sys.stderr)
        written = make(runs, out, args)
    except AnalysisError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0
