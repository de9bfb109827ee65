"""Final table: mean ± standard deviation over seeds of the final incumbent's test accuracy and
test regret, per strategy (rows) and benchmark (columns), the best of each column in bold;
written as ``final_table.md`` (Markdown), ``final_table.tex`` (LaTeX, booktabs) and
``final_table.csv`` (the numbers)."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from naslab.analysis import cli
from naslab.analysis.runs import RunSet
from naslab.analysis.table_io import write_rows
from naslab.outputs import atomic_write_text

METRICS = (("test_acc", "test acc. (%)", max), ("regret", "regret (%)", min))


@dataclass(frozen=True)
class Cell:
    mean: float
    std: float
    n: int

    def text(self, digits: int) -> str:
        if self.n == 0 or math.isnan(self.mean):
            return "–"
        return f"{self.mean:.{digits}f} ± {self.std:.{digits}f}"


def cells(runs: RunSet) -> dict[tuple[str, str, str], Cell]:
    """(benchmark, strategy, metric) -> mean, standard deviation (ddof 1) and count over seeds."""
    out = {}
    for benchmark in runs.benchmarks():
        for strategy in runs.strategies(benchmark):
            chosen = runs.select(benchmark, strategy)
            for metric, _, _ in METRICS:
                values = np.array([r.final_test_acc if metric == "test_acc" else r.final_regret for r in chosen])
                values = values[~np.isnan(values)]
                std = float(np.std(values, ddof=1)) if values.size > 1 else 0.0
                mean = float(np.mean(values)) if values.size else math.nan
                out[(benchmark, strategy, metric)] = Cell(mean, std, int(values.size))
    return out


def best_strategies(table: dict[tuple[str, str, str], Cell], benchmark: str, metric: str, pick) -> set[str]:
    """The strategies whose mean is the best of the column (ties all count), at the printed precision."""
    candidates = {s: round(c.mean, 2) for (b, s, m), c in table.items() if b == benchmark and m == metric
                  and not math.isnan(c.mean)}
    if not candidates:
        return set()
    best = pick(candidates.values())
    return {s for s, v in candidates.items() if v == best}


def markdown(runs: RunSet, table: dict[tuple[str, str, str], Cell], digits: int = 2) -> str:
    benchmarks = runs.benchmarks()
    header = ["strategy"] + [f"{b}: {label}" for b in benchmarks for _, label, _ in METRICS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" + "---:|" * (len(header) - 1)]
    best = {(b, m): best_strategies(table, b, m, pick) for b in benchmarks for m, _, pick in METRICS}
    for strategy in runs.strategies():
        row = [strategy]
        for b in benchmarks:
            for metric, _, _ in METRICS:
                cell = table.get((b, strategy, metric))
                text = cell.text(digits) if cell else "–"
                row.append(f"**{text}**" if strategy in best[(b, metric)] else text)
        lines.append("| " + " | ".join(row) + " |")
    seeds = sorted({c.n for c in table.values()})
    lines.append("")
    lines.append(f"Mean ± standard deviation over seeds ({', '.join(map(str, seeds))} per cell) of the final "
                 "incumbent (best validation accuracy); regret = best test accuracy in the benchmark minus "
                 "the incumbent's. Best mean per column in bold.")
    return "\n".join(lines) + "\n"


def _latex_escape(text: str) -> str:
    return text.replace("\\", r"\textbackslash{}").replace("_", r"\_").replace("%", r"\%").replace("&", r"\&")


def latex(runs: RunSet, table: dict[tuple[str, str, str], Cell], digits: int = 2) -> str:
    benchmarks = runs.benchmarks()
    best = {(b, m): best_strategies(table, b, m, pick) for b in benchmarks for m, _, pick in METRICS}
    columns = "l" + "".join("rr" for _ in benchmarks)
    lines = [r"% naslab analysis/final_table.py; needs \usepackage{booktabs}", rf"\begin{{tabular}}{{{columns}}}",
             r"\toprule"]
    lines.append(" & ".join([""] + [rf"\multicolumn{{2}}{{c}}{{{_latex_escape(b)}}}" for b in benchmarks]) + r" \\")
    rules = " ".join(rf"\cmidrule(lr){{{2 + 2 * i}-{3 + 2 * i}}}" for i in range(len(benchmarks)))
    lines.append(rules)
    lines.append(" & ".join(["strategy"] + [_latex_escape(label) for _ in benchmarks for _, label, _ in METRICS])
                 + r" \\")
    lines.append(r"\midrule")
    for strategy in runs.strategies():
        row = [_latex_escape(strategy)]
        for b in benchmarks:
            for metric, _, _ in METRICS:
                cell = table.get((b, strategy, metric))
                if cell is None or cell.n == 0 or math.isnan(cell.mean):
                    row.append("--")
                    continue
                text = rf"{cell.mean:.{digits}f} \pm {cell.std:.{digits}f}"
                row.append(rf"$\mathbf{{{text}}}$" if strategy in best[(b, metric)] else f"${text}$")
        lines.append(" & ".join(row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def make(runs: RunSet, out: Path, args: argparse.Namespace) -> list[Path]:
    table = cells(runs)
    md, tex = out / "final_table.md", out / "final_table.tex"
    atomic_write_text(md, markdown(runs, table))
    atomic_write_text(tex, latex(runs, table))
    rows = [(b, s, m, c.mean, c.std, c.n) for (b, s, m), c in sorted(table.items())]
    csv_path = write_rows(out / "final_table.csv", ("benchmark", "strategy", "metric", "mean", "std", "n"), rows)
    return [md, tex, csv_path]


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run("final_table.py", argv, None, make, __doc__.split("\n\n")[0].replace("\n", " "))


if __name__ == "__main__":
    sys.exit(main())
