"""Pareto fronts and hypervolume over time: accuracy (maximised) against a cost (params, flops or
latency_ms; minimised). For each strategy, the front of its median seed (by final hypervolume;
a run's ``pareto.csv`` when it has one with these objectives, else the non-dominated
architectures it evaluated) and the hypervolume of everything evaluated so far against the
number of queries, mean ± standard error over seeds. Only evaluations at the full fidelity
(the largest epoch in the runs) count: a multi-fidelity strategy's low-epoch accuracies are
not comparable with full trainings. One figure per benchmark,
``pareto_<benchmark>.png/.pdf``, with ``pareto_<benchmark>_fronts.csv`` and
``pareto_<benchmark>_hypervolume.csv``. The reference point, per benchmark, is the one the
runs' ``summary.json`` recorded (0 % accuracy, the benchmark's worst cost), else the same
rule on the analysed evaluations; it is printed on the figure."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from naslab.analysis import cli
from naslab.analysis.runs import AnalysisError, Run, RunSet, mean_and_se
from naslab.analysis.style import legend_below, pyplot, save_figure, strategy_colour
from naslab.analysis.table_io import write_rows
from naslab.pareto import hypervolume, pareto_mask, reference_point, to_minimisation

COSTS = ("params", "flops", "latency_ms")
COST_LABELS = {"params": "parameters (millions)", "flops": "FLOPs (millions)", "latency_ms": "latency (ms)"}


def evaluated_points(run: Run, accuracy: str, cost: str, epoch: float) -> np.ndarray:
    """[n, 2] (accuracy, cost) of the run's successful evaluations at ``epoch``, in query order."""
    return np.stack([run.columns[accuracy], run.columns[cost]], axis=1)[counted(run, accuracy, cost, epoch)]


def counted(run: Run, accuracy: str, cost: str, epoch: float) -> np.ndarray:
    """Rows that count for a front: successful, both objectives known, at the full fidelity ``epoch``.

    A multi-fidelity strategy's low-epoch accuracies are not comparable with full trainings.
    """
    ok = np.array([s == "ok" for s in run.status], dtype=bool)
    known = ~np.isnan(run.columns[accuracy]) & ~np.isnan(run.columns[cost])
    return ok & known & (run.columns["epoch"] == epoch)


def hypervolume_by_query(run: Run, accuracy: str, cost: str, epoch: float, reference: np.ndarray) -> np.ndarray:
    """Hypervolume of everything counted so far after each query (other queries keep the previous value)."""
    objectives = (accuracy, cost)
    values = np.stack([run.columns[accuracy], run.columns[cost]], axis=1)
    use = counted(run, accuracy, cost, epoch)
    ref = to_minimisation(reference[None, :], objectives)[0]
    out = np.zeros(run.num_queries)
    front = np.empty((0, 2))
    current = 0.0
    for i in range(run.num_queries):
        if use[i]:
            p = to_minimisation(values[i][None, :], objectives)[0]
            dominated = front.shape[0] and np.any(np.all(front <= p, axis=1))
            if not dominated:
                front = np.vstack([front[~np.all(p <= front, axis=1)], p])
                current = hypervolume(front, ref)
        out[i] = current
    return out


def run_front(run: Run, accuracy: str, cost: str, epoch: float) -> np.ndarray:
    """The run's final front (natural units, sorted by cost): its pareto.csv when it matches, else its evaluations."""
    if run.pareto is not None and set(run.pareto[0]) == {accuracy, cost}:
        objectives, _, values = run.pareto
        points = values[:, [objectives.index(accuracy), objectives.index(cost)]]
    else:
        points = evaluated_points(run, accuracy, cost, epoch)
    if not points.size:
        return np.empty((0, 2))
    front = points[pareto_mask(to_minimisation(points, (accuracy, cost)))]
    # equal points (isomorphic cells, repeated queries) are one point of the front
    front = np.unique(front, axis=0)
    return front[np.argsort(front[:, 1], kind="stable")]


def figure_reference(runs: Sequence[Run], accuracy: str, cost: str, points: np.ndarray) -> np.ndarray:
    """The reference point (accuracy, cost) of the figure: the one the runs' ``summary.json`` used
    (so the figure's hypervolume and the summary's are the same number), else the same rule
    applied to the analysed evaluations (:func:`naslab.pareto.reference_point`)."""
    recorded = {
        (float(ref[accuracy]), float(ref[cost]))
        for r in runs
        if isinstance(ref := (r.summary.get("pareto") or {}).get("reference_point"), dict) and accuracy in ref
        and cost in ref
    }
    if len(recorded) == 1:
        return np.array(recorded.pop())
    # several different recorded points (runs of differently configured benchmarks): the worst of them
    if recorded:
        return np.array([min(a for a, _ in recorded), max(c for _, c in recorded)])
    point, _ = reference_point((accuracy, cost), {}, points)
    return np.array(point)


def is_multi_objective(run: Run) -> bool:
    """A run of a multi-objective search: its summary has a ``pareto`` entry or its folder a pareto.csv."""
    return bool(run.summary.get("pareto")) or run.pareto is not None


def choose_cost(runs: RunSet, requested: str | None) -> str:
    if requested:
        return requested
    for run in runs.runs:
        if run.pareto is not None:
            costs = [o for o in run.pareto[0] if o in COSTS]
            if costs:
                return costs[0]
    return "params"


def make(runs: RunSet, out: Path, args: argparse.Namespace, multi_objective_only: bool = False) -> list[Path]:
    """Fronts and hypervolume per benchmark; ``multi_objective_only`` skips benchmarks without a
    multi-objective run (the report: a front of a single-objective search says little)."""
    accuracy, cost = args.accuracy, choose_cost(runs, args.cost)
    plt = pyplot()
    written: list[Path] = []
    for benchmark in runs.benchmarks():
        bench_runs = runs.select(benchmark)
        if multi_objective_only and not any(is_multi_objective(r) for r in bench_runs):
            print(f"report.py: note: no multi-objective run on {benchmark}, no Pareto figure", file=sys.stderr)
            continue
        epoch = max(float(np.nanmax(r.columns["epoch"])) for r in bench_runs if r.num_queries)
        all_points = np.concatenate([evaluated_points(r, accuracy, cost, epoch) for r in bench_runs])
        if not all_points.size and getattr(args, "skip_missing", False):
            # the report covers a suite: a benchmark without the objectives has no front
            print(f"report.py: note: no Pareto front on {benchmark} (its runs lack {accuracy} or {cost})",
                  file=sys.stderr)
            continue
        if not all_points.size:
            raise AnalysisError(
                f"no run on {benchmark} has both {accuracy} and {cost} in its trajectory; "
                f"pick another --cost ({', '.join(COSTS)})"
            )
        reference = figure_reference(bench_runs, accuracy, cost, all_points)
        fig, (ax_front, ax_hv) = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
        front_rows, hv_rows = [], []
        for strategy in runs.strategies(benchmark):
            chosen = runs.select(benchmark, strategy)
            curves = [hypervolume_by_query(r, accuracy, cost, epoch, reference) for r in chosen]
            length = max(c.size for c in curves)
            padded = np.array([np.r_[c, np.full(length - c.size, c[-1] if c.size else 0.0)] for c in curves])
            mean, se, _ = mean_and_se(padded)
            x = np.arange(1, length + 1)
            colour = strategy_colour(strategy)
            ax_hv.plot(x, mean, color=colour, label=f"{strategy} ({len(chosen)} seeds)")
            ax_hv.fill_between(x, mean - se, mean + se, color=colour, alpha=0.18, linewidth=0)
            hv_rows += [(strategy, int(q), m, s) for q, m, s in zip(x, mean, se)]
            finals = padded[:, -1]
            median_run = chosen[int(np.argsort(finals, kind="stable")[(len(finals) - 1) // 2])]
            front = run_front(median_run, accuracy, cost, epoch)
            ax_front.step(front[:, 1], front[:, 0], where="post", color=colour, marker="o", markersize=3.5,
                          label=f"{strategy} ({len(chosen)} seeds)")
            front_rows += [(strategy, median_run.seed, a, c) for a, c in front.tolist()]
        ax_front.set_xlabel(COST_LABELS.get(cost, cost))
        ax_front.set_ylabel(f"{accuracy.replace('_acc', '')} accuracy (%)")
        ax_front.set_title("front of the median seed")
        ax_hv.set_xlabel("queries")
        ax_hv.set_ylabel("hypervolume of the evaluated set")
        ax_hv.set_title(f"reference point: {accuracy} {reference[0]:.3g}, {cost} {reference[1]:.3g}")
        fig.suptitle(f"{benchmark}: {accuracy} vs {cost} (evaluations at epoch {epoch:g})")
        legend_below(fig, np.array([ax_front, ax_hv]))
        stem = f"pareto_{benchmark}"
        written += save_figure(fig, out, stem, args.formats)
        written.append(write_rows(out / f"{stem}_fronts.csv", ("strategy", "seed", accuracy, cost), front_rows))
        written.append(write_rows(out / f"{stem}_hypervolume.csv",
                                  ("strategy", "queries", "mean_hypervolume", "se"), hv_rows))
    return written


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--accuracy", choices=("val_acc", "test_acc"), default="val_acc",
                        help="the accuracy objective (default: val_acc, what the search saw)")
    parser.add_argument("--cost", choices=COSTS, default=None,
                        help="the cost objective (default: the one in the runs' pareto.csv, else params)")


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run("pareto_fronts.py", argv, options, make, __doc__.split("\n\n")[0].replace("\n", " "))


if __name__ == "__main__":
    sys.exit(main())
