"""Final table: mean ± standard deviation over seeds of the final incumbent's test accuracy and
test regret (percentage points), per strategy (rows, ranked by mean test accuracy) and
benchmark (columns); bold = the best mean of a column and every strategy a paired Wilcoxon
signed-rank test across seeds cannot tell from it;
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
from naslab.files import atomic_write_text

METRICS = (("test_acc", "test acc. (%)", max), ("regret", "regret (pp)", min))
SIGNIFICANCE = 0.05  # two-sided Wilcoxon signed-rank test, paired by seed


@dataclass(frozen=True)
class Cell:
    mean: float
    std: float
    n: int
    by_seed: tuple[tuple[int, float], ...] = ()  # (seed, value): what the paired test pairs

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
                pairs = [(r.seed, r.final_test_acc if metric == "test_acc" else r.final_regret) for r in chosen]
                pairs = [(seed, float(v)) for seed, v in pairs if not math.isnan(v)]
                values = np.array([v for _, v in pairs])
                std = float(np.std(values, ddof=1)) if values.size > 1 else 0.0
                mean = float(np.mean(values)) if values.size else math.nan
                out[(benchmark, strategy, metric)] = Cell(mean, std, int(values.size), tuple(sorted(pairs)))
    return out


def paired_p_value(a: Cell, b: Cell) -> float:
    """Two-sided Wilcoxon signed-rank p-value of a vs b over the seeds both have (1.0 if untestable)."""
    from scipy.stats import wilcoxon

    theirs = dict(b.by_seed)
    pairs = [(v, theirs[seed]) for seed, v in a.by_seed if seed in theirs]
    differences = [x - y for x, y in pairs]
    if len(pairs) < 2 or not any(differences):
        return 1.0
    return float(wilcoxon([x for x, _ in pairs], [y for _, y in pairs]).pvalue)


def best_strategies(table: dict[tuple[str, str, str], Cell], benchmark: str, metric: str, pick) -> set[str]:
    """The best mean of the column and every strategy a paired test across seeds cannot tell from it.

    A bold cell claims nothing a reviewer could question: the others are worse by a
    difference that a Wilcoxon signed-rank test (p < 0.05) supports.
    """
    column = {s: c for (b, s, m), c in table.items() if b == benchmark and m == metric and not math.isnan(c.mean)}
    if not column:
        return set()
    best_mean = pick(c.mean for c in column.values())
    leader = min(s for s, c in column.items() if c.mean == best_mean)
    return {s for s, c in column.items() if s == leader or paired_p_value(c, column[leader]) >= SIGNIFICANCE}


def ranked_strategies(runs: RunSet, table: dict[tuple[str, str, str], Cell]) -> list[str]:
    """Strategies by mean final test accuracy, best first (several benchmarks: by average rank)."""
    ranks: dict[str, list[int]] = {s: [] for s in runs.strategies()}
    for benchmark in runs.benchmarks():
        means = {s: c.mean for (b, s, m), c in table.items() if b == benchmark and m == "test_acc"
                 and not math.isnan(c.mean)}
        for rank, strategy in enumerate(sorted(means, key=lambda s: (-means[s], s)), start=1):
            ranks[strategy].append(rank)
    worst = len(ranks) + 1
    return sorted(ranks, key=lambda s: (float(np.mean(ranks[s])) if ranks[s] else worst, s))


def markdown(runs: RunSet, table: dict[tuple[str, str, str], Cell], digits: int = 2) -> str:
    benchmarks = runs.benchmarks()
    header = ["strategy"] + [f"{b}: {label}" for b in benchmarks for _, label, _ in METRICS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" + "---:|" * (len(header) - 1)]
    best = {(b, m): best_strategies(table, b, m, pick) for b in benchmarks for m, _, pick in METRICS}
    for strategy in ranked_strategies(runs, table):
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
                 "the incumbent's, in percentage points. Rows ranked by mean test accuracy. Bold: the best mean "
                 "of the column and every strategy a two-sided Wilcoxon signed-rank test paired by seed cannot "
                 f"tell from it (p >= {SIGNIFICANCE:g}); a plain cell is worse by a difference the test supports.")
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
    for strategy in ranked_strategies(runs, table):
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
