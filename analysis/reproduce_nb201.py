"""Reproduce the NAS-Bench-201 paper's CIFAR-10 baselines (and compare on NAS-Bench-Macro).

    python analysis/reproduce_nb201.py                       # tables on stdout + outputs/reproduce_nb201/
    python analysis/reproduce_nb201.py --seeds 20 --strategies random,evolution
    python analysis/reproduce_nb201.py --sources ../shared/benchmarks   # convert at run time, no import step

NB201 protocol (``naslab/conf/experiment/nb201_c10_paper.yaml``): each strategy searches
with the 12-epoch ``cifar10-valid`` validation accuracy, each query is charged its
12-epoch training time (+ one validation pass), the search stops at 12,000 simulated
seconds, and we report the incumbent's 200-epoch ``cifar10-valid`` validation
accuracy — mean ± std over seeds, next to the paper's figures.

Every run is an ordinary run folder (``--out``/runs/<table>/<strategy>/seed<k>/, with
``.hydra/config.yaml``, ``trajectory.csv`` and ``summary.json`` naming the chosen
architecture), made from the same config composition, runner and strategies as
``python -m naslab +experiment=nb201_c10_paper strategy=...`` and read back with
``naslab.run_folder.load_run``; the tables are computed from those folders. The
paper's BOHB is ``evaluator=budget_ignoring fidelity=200``
(:mod:`naslab.evaluators.budget_ignoring`). The 200-epoch validation accuracy of each
chosen architecture is looked up here in the benchmark (the run summary records the
full-fidelity *test* accuracy, which is not the paper's column).

Nothing tracked is written: the default ``--out`` is ``outputs/`` (git-ignored). The
README's NB201 table is :func:`readme_table` of these rows; ``tests/test_reproduce_nb201.py``
regenerates it and fails when the README differs.

NAS-Bench-Macro: no training times are published, so the comparison there is by
queries: for each budget, the mean accuracy of the incumbent (the benchmark's
seed mean) and the share of runs that found the published best (93.13).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = Path("outputs") / "reproduce_nb201"
DEFAULT_SOURCES = REPO_ROOT.parent / "shared" / "benchmarks"
EXPERIMENT = "nb201_c10_paper"
LABELS = {"random": "RS", "evolution": "REA", "reinforce": "REINFORCE", "bohb": "BOHB", "nsga2": "NSGA-II"}
MACRO_PUBLISHED_BEST = 93.13


class ReproductionError(RuntimeError):
    """Something the user must fix first (e.g. the benchmark was not imported)."""


def compose(overrides: Sequence[str]):
    """The app's config for ``overrides``, composed exactly as ``python -m naslab`` would."""
    from naslab.api import compose as compose_config

    return compose_config(overrides)


def strategy_available(name: str) -> bool:
    from naslab import strategies

    return name in strategies.available()


def _override_value(value) -> str:
    from naslab.api import override_value

    return override_value(value)


def run_strategy(overrides: Sequence[str], seeds: Sequence[int], folder: Path) -> list:
    """One run folder per seed (``folder``/seed<k>) for the config ``overrides`` compose; the runs read back.

    The evaluator is built once (its answers are shared by the seeds); each seed's config
    is the composed one with ``seed=<k>``, so every folder is what
    ``python -m naslab <overrides> seed=<k>`` writes.
    """
    from omegaconf import open_dict

    from naslab.app import build_evaluator, search_from_config
    from naslab.run_folder import load_run

    cfg = compose(overrides)
    evaluator, benchmark = build_evaluator(cfg)
    strategy = next((o.split("=", 1)[1] for o in overrides if o.startswith("strategy=")), None)
    runs = []
    for seed in seeds:
        with open_dict(cfg):
            cfg.seed = int(seed)
        run = search_from_config(cfg, strategy, evaluator=evaluator, benchmark=benchmark)
        run.overrides = [*overrides, f"seed={int(seed)}"]
        runs.append(load_run(run.save(folder / f"seed{int(seed)}")))
    return runs


# Table rows that are not a plain strategy config: (strategy config, extra overrides, published key).
# "bohb" is the paper's BOHB (its worker answered every rung with the 12-epoch result; HpBandSter's
# incumbent is the best at the max budget, hence fidelity=200); "bohb_multifidelity" is naslab's
# BOHB with real 12/200-epoch answers and costs, for contrast.
VARIANTS = {
    "bohb": ("bohb", ["evaluator=budget_ignoring", "fidelity=200"], "bohb"),
    "bohb_multifidelity": ("bohb", [], "bohb"),
}
NB201_LABELS = {**LABELS, "bohb": "BOHB (NB201 worker)",
                "bohb_multifidelity": "BOHB (naslab: real 12/200-ep answers and costs)"}


def nb201_paper(benchmark_path: Path, strategies: Sequence[str], seeds: Sequence[int], out: Path) -> list[dict]:
    """Rows of the NB201 table: ours (mean, std, queries) vs published, per strategy; runs in ``out``/runs/nb201."""
    from naslab.benchmarks.tabular import load_benchmark

    paper = compose([f"+experiment={EXPERIMENT}"]).paper
    bench = load_benchmark(benchmark_path)
    report = bench.table(str(paper.report_metric), int(paper.report_epoch))
    rows = []
    for name in strategies:
        config_name, extra, published_key = VARIANTS.get(name, (name, [], name))
        published = paper.published.get(published_key)
        row = {"strategy": name, "label": NB201_LABELS.get(name, name),
               "published_mean": float(published[0]) if published else math.nan,
               "published_std": float(published[1]) if published else math.nan}
        if not strategy_available(config_name):
            row["note"] = f"not run: no strategy {config_name!r} is registered"
            rows.append(row)
            continue
        params = paper.strategies.get(config_name) or {}
        overrides = [f"+experiment={EXPERIMENT}", f"strategy={config_name}", f"benchmark.path={benchmark_path}", *extra]
        overrides += [f"strategy.{k}={_override_value(v)}" for k, v in params.items()]
        started = time.perf_counter()
        runs = run_strategy(overrides, seeds, out / "runs" / "nb201" / name)
        wall = time.perf_counter() - started
        accuracy = report[[bench.index_of(run.summary.incumbent["arch"]) for run in runs]].astype(np.float64)
        row.update(
            mean=float(accuracy.mean()), std=float(accuracy.std(ddof=1)) if len(accuracy) > 1 else 0.0,
            queries=float(np.mean([len(run.rows) for run in runs])),
            sim_time_s=float(np.mean([run.summary.sim_time_s for run in runs])),
            wall_s=wall, seeds=len(seeds), hyper_parameters=dict(params),
        )
        if not math.isnan(row["published_mean"]):
            row["within_one_published_std"] = abs(row["mean"] - row["published_mean"]) <= row["published_std"]
        rows.append(row)
    return rows


def macro_comparison(benchmark_path: Path, strategies: Sequence[str], seeds: Sequence[int],
                     budgets: Sequence[int], out: Path) -> list[dict]:
    """Per strategy and query budget: incumbent seed-mean accuracy and hits of the optimum."""
    from naslab.benchmarks.tabular import load_benchmark

    bench = load_benchmark(benchmark_path)
    mean_acc = bench.table("test_acc")
    best = float(np.nanmax(mean_acc))
    rows = []
    for name in strategies:
        if not strategy_available(name):
            rows.append({"strategy": name, "note": f"not run: no strategy {name!r} is registered"})
            continue
        for queries in budgets:
            overrides = ["benchmark=nasbench_macro", f"benchmark.path={benchmark_path}", f"strategy={name}",
                         f"budget.queries={queries}", "budget.sim_seconds=null"]
            started = time.perf_counter()
            runs = run_strategy(overrides, seeds, out / "runs" / "nasbench_macro" / f"{name}_{queries}q")
            accuracy = mean_acc[[bench.index_of(run.summary.incumbent["arch"]) for run in runs]].astype(np.float64)
            rows.append({
                "strategy": name, "label": LABELS.get(name, name), "queries": queries,
                "mean": float(accuracy.mean()), "std": float(accuracy.std(ddof=1)),
                "found_best": float(np.mean(np.isclose(accuracy, best, atol=1e-4))),
                "wall_s": time.perf_counter() - started, "seeds": len(seeds),
            })
    return rows


def latency_fronts(benchmark_path: Path, devices: Sequence[str], strategies: Sequence[str], seeds: Sequence[int],
                   queries: int, plot_path: Path | None, out: Path) -> list[dict]:
    """Multi-objective NB201: 200-epoch validation accuracy vs latency on each device.

    Every strategy runs at full fidelity with the evaluator's ``latency_metric`` set, so
    each Result carries the device latency; the front of a run is the non-dominated set
    of what it evaluated (its folder's trajectory). Quality = its hypervolume / the true
    front's (reference point: 0 % accuracy and the slowest cell of the benchmark on that device).
    """
    from naslab.benchmarks.tabular import load_benchmark
    from naslab.pareto import hypervolume, pareto_mask

    bench = load_benchmark(benchmark_path)
    accuracy = bench.table("val_acc", 200).astype(np.float64)
    rows, fronts_for_plot = [], {}
    for device in devices:
        metric = f"latency_ms_{device}"
        latency = bench.static_value(metric).astype(np.float64)
        points = np.stack([-accuracy, latency], axis=1)  # minimisation
        reference = [0.0, float(np.nanmax(latency))]
        true_front = np.flatnonzero(pareto_mask(points))
        true_hv = hypervolume(points[true_front], reference)
        fronts_for_plot[device] = {"true": points[true_front]}
        for name in strategies:
            if not strategy_available(name):
                rows.append({"device": device, "strategy": name, "note": f"not run: no strategy {name!r} is registered"})
                continue
            overrides = [f"benchmark.path={benchmark_path}", "benchmark=nb201_c10", f"strategy={name}",
                         f"evaluator.latency_metric={metric}", f"budget.queries={queries}",
                         "budget.sim_seconds=null", "fidelity=200", *MO_OVERRIDES.get(name, [])]
            started = time.perf_counter()
            ratios, hits = [], []
            for k, run in enumerate(run_strategy(overrides, seeds, out / "runs" / "latency" / device / name)):
                seen = np.unique([bench.index_of(row.arch) for row in run.rows])
                found = seen[pareto_mask(points[seen])]
                ratios.append(hypervolume(points[found], reference) / true_hv)
                hits.append(len(np.intersect1d(found, true_front)))
                if k == 0:
                    fronts_for_plot[device][LABELS.get(name, name)] = points[found]
            rows.append({"device": device, "strategy": name, "label": LABELS.get(name, name), "queries": queries,
                         "hv_ratio_mean": float(np.mean(ratios)), "hv_ratio_std": float(np.std(ratios, ddof=1)),
                         "true_front_found": float(np.mean(hits)), "true_front_size": int(true_front.size),
                         "wall_s": time.perf_counter() - started, "seeds": len(seeds)})
    if plot_path is not None:
        _plot_fronts(fronts_for_plot, plot_path, queries)
    return rows


# multi-objective strategies told which Result fields they trade off
MO_OVERRIDES = {"nsga2": ["strategy.objectives=[val_acc,latency_ms]"]}


def _plot_fronts(fronts: dict, path: Path, queries: int) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # optional extra: the table is still written
        return
    fig, axes = plt.subplots(1, len(fronts), figsize=(5 * len(fronts), 4), squeeze=False)
    for ax, (device, by_name) in zip(axes[0], fronts.items()):
        for name, pts in by_name.items():
            order = np.argsort(pts[:, 1])
            style = {"color": "black", "lw": 2} if name == "true" else {"marker": "o", "ms": 3}
            label = "true front (all 15,625 cells)" if name == "true" else f"{name}, seed 0, {queries} queries"
            ax.step(pts[order, 1], -pts[order, 0], where="post", label=label, **style)
        shown = by_name["true"][-by_name["true"][:, 0] >= 85]
        if shown.size:  # the tiny-latency cells are the ~10 % accurate ones: zoom on the useful part
            ax.set_xlim(shown[:, 1].min() * 0.8, shown[:, 1].max() * 1.2)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(f"latency on {device} (ms, log)")
        ax.set_ylabel("200-epoch cifar10-valid validation accuracy (%)")
        ax.set_ylim(85, 92)
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    fig.savefig(path.with_suffix(".pdf"))
    plt.close(fig)


def latency_table(rows: list[dict]) -> str:
    lines = ["| device | strategy | queries | hypervolume / true front's (mean ± std) | true-front cells found (of) |",
             "|---|---|---|---|---|"]
    for r in rows:
        if "hv_ratio_mean" not in r:
            lines.append(f"| {r['device']} | {r['strategy']} | — | {r['note']} | — |")
            continue
        lines.append(f"| {r['device']} | {r['label']} | {r['queries']} | {r['hv_ratio_mean']:.4f} ± {r['hv_ratio_std']:.4f} "
                     f"| {r['true_front_found']:.1f} ({r['true_front_size']}) |")
    return "\n".join(lines)


def nb201_table(rows: list[dict]) -> str:
    lines = [
        "| strategy | ours: 200-ep val acc (mean ± std) | published | abs(ours − published) ≤ published std | queries per run | wall s |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        published = f"{r['published_mean']:.2f} ± {r['published_std']:.2f}" if not math.isnan(r["published_mean"]) else "—"
        if "mean" not in r:
            lines.append(f"| {r['label']} | {r.get('note', '—')} | {published} | — | — | — |")
            continue
        ok = "yes" if r.get("within_one_published_std") else "no"
        lines.append(
            f"| {r['label']} | {r['mean']:.2f} ± {r['std']:.2f} | {published} | {ok} "
            f"| {r['queries']:.1f} | {r['wall_s']:.1f} |"
        )
    return "\n".join(lines)


README_LABELS = {"random": "random search", "evolution": "regularized evolution", "reinforce": "REINFORCE",
                 "bohb": "BOHB (NB201's budget-ignoring worker)"}
README_HEADER = "| NB201 CIFAR-10, 12,000 s protocol, 100 seeds | naslab | published |"


def readme_table(rows: list[dict]) -> str:
    """The README's reproduction table (the paper's four strategies) from :func:`nb201_paper` rows."""
    lines = [README_HEADER, "| --- | --- | --- |"]
    for r in rows:
        if r["strategy"] in README_LABELS and "mean" in r:
            lines.append(f"| {README_LABELS[r['strategy']]} | {r['mean']:.2f} ± {r['std']:.2f} "
                         f"| {r['published_mean']:.2f} ± {r['published_std']:.2f} |")
    return "\n".join(lines)


def macro_table(rows: list[dict]) -> str:
    lines = ["| strategy | queries | incumbent mean acc (mean ± std) | runs that found 93.13 | wall s |",
             "|---|---|---|---|---|"]
    for r in rows:
        if "mean" not in r:
            lines.append(f"| {r['strategy']} | — | {r['note']} | — | — |")
            continue
        lines.append(f"| {r['label']} | {r['queries']} | {r['mean']:.2f} ± {r['std']:.2f} "
                     f"| {100 * r['found_best']:.0f} % | {r['wall_s']:.1f} |")
    return "\n".join(lines)


def _ensure_benchmarks(args: argparse.Namespace, workdir: Path) -> tuple[Path, Path | None]:
    """Paths of the NB201 and Macro files: given, imported, or converted now from --sources."""
    from naslab.benchmarks.convert import main as convert_main

    nb201, macro = args.benchmark, args.macro_benchmark
    if args.sources is not None:
        src = Path(args.sources)
        nb201, macro = workdir / "nb201_c10.h5", workdir / "nasbench_macro.h5"
        steps = [
            ["nb201_c10", str(src / "nb201-cifar10-12ep/cifar10_12ep_seedmean.csv"),
             str(src / "nb201-cifar10-valid-200ep/cifar10-valid_200ep_seedmean.csv"), str(nb201),
             "--latency", str(src / "nb201-latency/nb201_latency_ms_23devices.csv")],
            ["nasbench_macro", str(src / "nas-bench-macro/nas-bench-macro_cifar10.json"), str(macro)],
        ]
        for argv in steps:
            if convert_main(argv) != 0:
                raise ReproductionError(f"converting {argv[0]} from {src} failed (see the error above)")
    if not Path(nb201).is_file():
        raise ReproductionError(
            f"{nb201} does not exist; import it first (docs/benchmarks.md) or pass --sources ../shared/benchmarks"
        )
    if macro is not None and not Path(macro).is_file():
        macro = None
    return Path(nb201), (Path(macro) if macro is not None else None)


def main(argv: Sequence[str] | None = None) -> int:
    imported = REPO_ROOT / "data" / "imported"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--benchmark", type=Path, default=imported / "nb201_c10.h5", help="imported NB201 CIFAR-10 file")
    parser.add_argument("--macro-benchmark", type=Path, default=imported / "nasbench_macro.h5",
                        help="imported NAS-Bench-Macro file (skipped if absent)")
    parser.add_argument("--sources", type=Path, default=None,
                        help="convert the published files in this folder into a temporary folder first")
    parser.add_argument("--seeds", type=int, default=100, help="runs per strategy (default 100, as the paper)")
    parser.add_argument("--strategies", default="random,evolution,reinforce,bohb,bohb_multifidelity")
    parser.add_argument("--macro-strategies", default="random,evolution,local_search,genetic,reinforce,bohb")
    parser.add_argument("--macro-budgets", default="50,100,300")
    parser.add_argument("--latency-devices", default="pixel3,1080ti_1",
                        help="devices for the multi-objective run ('' to skip)")
    parser.add_argument("--latency-strategies", default="random,nsga2")
    parser.add_argument("--latency-queries", type=int, default=300)
    parser.add_argument("--latency-seeds", type=int, default=30, help="runs per strategy and device")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"folder for the run folders, the .md and .json tables and the figure (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)

    seeds = list(range(args.seeds))
    with tempfile.TemporaryDirectory(prefix="naslab-reproduce-") as tmp:
        try:
            nb201, macro = _ensure_benchmarks(args, Path(tmp))
        except ReproductionError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        started = time.perf_counter()
        rows = nb201_paper(nb201, [n for n in args.strategies.split(",") if n], seeds, args.out)
        text = [f"## NAS-Bench-201 CIFAR-10, paper protocol ({args.seeds} seeds per strategy)", "",
                nb201_table(rows), "",
                "Search signal: 12-epoch cifar10-valid validation accuracy (seed mean); cost per query: "
                "12 x train-per-time + valid-per-time; budget 12,000 simulated s; reported: the incumbent's "
                "200-epoch cifar10-valid validation accuracy. Published: Dong & Yang, ICLR 2020, Table 5. "
                "Hyper-parameters from naslab/conf/experiment/nb201_c10_paper.yaml (REA population 10, sample 3; "
                "REINFORCE Adam lr 0.001, EMA 0.9; BOHB eta 3, num_samples 4, random_fraction 0, "
                "bandwidth_factor 3). 'BOHB (NB201 worker)' answers every Hyperband rung with the 12-epoch "
                "result and cost, as the paper's worker did; the last row is naslab's BOHB with real 200-epoch "
                "answers and costs, not the paper's protocol. Details: docs/benchmarks.md.", ""]
        macro_rows: list[dict] = []
        if macro is not None:
            budgets = [int(b) for b in args.macro_budgets.split(",")]
            macro_rows = macro_comparison(macro, [n for n in args.macro_strategies.split(",") if n], seeds, budgets,
                                          args.out)
            text += [f"## NAS-Bench-Macro CIFAR-10 ({args.seeds} seeds; published best {MACRO_PUBLISHED_BEST})", "",
                     macro_table(macro_rows), "",
                     "Budgets count queries (no training times are published). Every strategy runs with its default "
                     "naslab/conf/strategy/ settings: REA (population 100) and the GA (population 50) are random search "
                     "until their population is filled. BOHB has one fidelity here (50 epochs), so it is its "
                     "density-ratio sampler without early stopping.", ""]
        latency_rows: list[dict] = []
        devices = [d for d in args.latency_devices.split(",") if d]
        if devices:
            from naslab.benchmarks.tabular import load_benchmark

            missing = [d for d in devices if f"latency_ms_{d}" not in load_benchmark(nb201).static]
            if importlib.util.find_spec("naslab.pareto") is None:
                text += ["multi-objective run skipped: naslab.pareto is not in this checkout", ""]
            elif missing:
                text += [f"multi-objective run skipped: {nb201} has no latency for {missing} "
                         "(convert with --latency, docs/benchmarks.md)", ""]
            else:
                latency_rows = latency_fronts(nb201, devices, [n for n in args.latency_strategies.split(",") if n],
                                              list(range(args.latency_seeds)),
                                              args.latency_queries, args.out / "nb201_latency_fronts.png", args.out)
                text += [f"## NAS-Bench-201 CIFAR-10 x latency ({args.latency_seeds} seeds, full fidelity; "
                         "fronts: nb201_latency_fronts.png)", "", latency_table(latency_rows), ""]
        text.append(f"total wall time {time.perf_counter() - started:.1f} s")
    report = "\n".join(text)
    print(report)
    print(f"\nrun folders and tables: {args.out}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "nb201_reproduction.md").write_text(report + "\n")
    (args.out / "nb201_reproduction.json").write_text(
        json.dumps({"nb201": rows, "nasbench_macro": macro_rows, "nb201_latency": latency_rows}, indent=2, default=str) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
