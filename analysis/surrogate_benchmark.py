"""Does a surrogate benchmark rank strategies as the truth does? (issue 13, parts 6 and 7)

    python analysis/surrogate_benchmark.py nb201 [--archs 1000] [--multi-seed 300] [--seeds 10] [--queries 150]
    python analysis/surrogate_benchmark.py check --model MODEL.h5 [--seeds 3] [--queries 100] [--train-seeds 0 1 2]
    python analysis/surrogate_benchmark.py visited --model MODEL.h5 --output visited.txt [--seeds 3] [--queries 100]

``nb201`` (part 7, exact): draws a sample of the embedded NB201 digits table as a sampled
build would have trained it (``--archs``, the first ``--multi-seed`` with all six
seeds), fits the surrogate benchmark on it, runs every strategy ``--seeds`` times on
the surrogate benchmark and on the table itself (``--noise none``: the predicted mean
against the table's seed mean; ``--noise seed``: a virtual training against the
table's ``seed_mode: random``, one stored training per query), and
prints per strategy the true seed-mean test accuracy (from the table) of the
architecture each search ends with, on each benchmark, and what the surrogate
benchmark itself reports for its incumbents; then Kendall tau between the strategies'
rankings (mean over seeds): surrogate-reported vs table, and true-of-surrogate-
incumbents vs table.

``check`` (part 6, for a space without a table, e.g. DARTS): runs the strategies on a
surrogate benchmark file and *trains* each search's final incumbent with
``--train-seeds`` (the recipe and dataset the sample was trained with, read from the
file), then prints predicted vs measured per strategy and the tau between the
strategies' rankings by predicted and by measured mean accuracy.

``visited`` (the sampled build's second phase, NAS-Bench-301's extra data): runs the
strategies on a first surrogate benchmark and writes every architecture they
queried, once per canonical class, to ``--output`` for
``python -m naslab.build ... sample.extra_archs=FILE``.

Every figure is printed with the command's settings; ``--json FILE`` also writes them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DIGITS = REPO / "naslab" / "data" / "nb201_digits.h5"
STRATEGIES = ["random", "evolution", "local_search", "bananas", "tpe"]


def _searches(strategies: list[str], seeds: int, queries: int, evaluator: Any, bench: Any) -> dict[str, list[Any]]:
    import naslab

    out: dict[str, list[Any]] = {}
    for name in strategies:
        started = time.monotonic()
        out[name] = [naslab.search(name, benchmark=bench, evaluator=evaluator, seed=s, budget=queries)
                     for s in range(seeds)]
        print(f"  {name}: {seeds} searches in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return out


def _tau(a: list[float], b: list[float]) -> float:
    from scipy.stats import kendalltau

    return float(kendalltau(a, b)[0])


def _fit_on_table_sample(archs: int, multi_seed: int, seed: int, workdir: Path) -> tuple[Any, Path, dict]:
    from naslab.benchmarks.sample import sample_of_table
    from naslab.benchmarks.tabular import load_benchmark
    from naslab.surrogates import benchmark_model as bm

    table = load_benchmark(DIGITS)
    sample = sample_of_table(table, archs, multi_seed, seed)
    data = bm.SampleData.of(sample)
    heldout = bm.heldout_evaluation(data, sample.space, "xgb", seed=seed)
    model = bm.fit(data, sample.space, "xgb", seed=seed)
    model.meta["heldout"] = {"xgb": heldout}
    return table, bm.write_model(workdir / "nb201_surrogate.h5", model, sample), heldout


def nb201(args: argparse.Namespace) -> dict[str, Any]:
    from naslab.benchmarks.tabular import load_benchmark
    from naslab.evaluators.surrogate_benchmark import SurrogateBenchmarkEvaluator
    from naslab.evaluators.tabular import TabularEvaluator

    with tempfile.TemporaryDirectory() as tmp:
        table, path, heldout = _fit_on_table_sample(args.archs, args.multi_seed, args.sample_seed, Path(tmp))
        sample = load_benchmark(path)
        surrogate = SurrogateBenchmarkEvaluator(sample, noise=args.noise)
        truth = TabularEvaluator(table, seed_mode="random" if args.noise == "seed" else "mean")
        print(f"surrogate fitted on {args.archs} archs of {DIGITS.name} ({args.multi_seed} with 6 seeds); held-out: "
              f"tau {heldout['kendall_tau_surrogate']:.3f} vs one seed {heldout['kendall_tau_one_seed']:.3f}",
              file=sys.stderr)
        on_surrogate = _searches(args.strategies, args.seeds, args.queries, surrogate, sample)
        on_table = _searches(args.strategies, args.seeds, args.queries, truth, table)

    def true_test(run: Any) -> float:
        return table.query(run.incumbent.arch, "test_acc")

    rows = []
    for name in args.strategies:
        sur_true = [true_test(r) for r in on_surrogate[name]]
        rows.append({
            "strategy": name,
            "table_true_test": float(np.mean([true_test(r) for r in on_table[name]])),
            "surrogate_reported_test": float(np.mean([surrogate.reference_test_acc(r.incumbent.arch)
                                                      for r in on_surrogate[name]])),
            "surrogate_incumbent_true_test": float(np.mean(sur_true)),
            "surrogate_incumbent_true_test_se": float(np.std(sur_true, ddof=1) / np.sqrt(len(sur_true))) if len(sur_true) > 1 else float("nan"),
        })
    table_col = [r["table_true_test"] for r in rows]
    result = {
        "settings": vars(args) | {"func": None},
        "heldout": heldout,
        "strategies": rows,
        "tau_reported_vs_table": _tau([r["surrogate_reported_test"] for r in rows], table_col),
        "tau_true_of_surrogate_incumbents_vs_table": _tau([r["surrogate_incumbent_true_test"] for r in rows], table_col),
        "best_true_test_in_table": float(np.nanmax(table.table("test_acc"))),
    }
    print(f"\nNB201 digits: {args.seeds} seeds x {args.queries} queries, noise={args.noise}; "
          f"surrogate on {args.archs} archs ({args.multi_seed} multi-seed)")
    print("| strategy | table: true test of incumbent | surrogate: reported test | surrogate: true test of incumbent |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['strategy']} | {r['table_true_test']:.2f} | {r['surrogate_reported_test']:.2f} | "
              f"{r['surrogate_incumbent_true_test']:.2f} ± {r['surrogate_incumbent_true_test_se']:.2f} |")
    print(f"Kendall tau of the strategy rankings: surrogate-reported vs table {result['tau_reported_vs_table']:.3f}; "
          f"true accuracy of the surrogate's incumbents vs table {result['tau_true_of_surrogate_incumbents_vs_table']:.3f} "
          f"(best true test in the table {result['best_true_test_in_table']:.2f})")
    return result


def _read_recipe(bench: Any) -> Any:
    from naslab.training.trainer import Recipe

    fields = dict(bench.attrs["recipe"])
    fields["dataset"] = bench.dataset
    return Recipe.from_mapping(fields)


def check(args: argparse.Namespace) -> dict[str, Any]:
    from naslab.benchmarks.tabular import load_benchmark
    from naslab.evaluators.surrogate_benchmark import SurrogateBenchmarkEvaluator
    from naslab.training.data import load_dataset
    from naslab.training.trainer import train_seeds

    bench = load_benchmark(args.model)
    predicted = SurrogateBenchmarkEvaluator(bench, noise="none")
    evaluator = SurrogateBenchmarkEvaluator(bench, noise=args.noise)
    recipe = _read_recipe(bench)
    splits = load_dataset(recipe.dataset, recipe.train_size, recipe.val_size, recipe.test_size, args.data_root)
    runs = _searches(args.strategies, args.seeds, args.queries, evaluator, bench)
    space = bench.space
    measured: dict[str, float] = {}
    rows = []
    for name in args.strategies:
        pred, meas = [], []
        for run in runs[name]:
            arch = run.incumbent.arch
            if arch not in measured:
                started = time.monotonic()
                record = train_seeds(space.from_string(arch), recipe, splits, args.train_seeds, device="cpu", space=space)
                measured[arch] = float(np.nanmean(record.metrics["val_acc"][:, -1]))
                print(f"  trained {name} seed {run.seed}'s incumbent ({len(args.train_seeds)} seeds) in "
                      f"{time.monotonic() - started:.0f} s: val_acc {measured[arch]:.2f}", file=sys.stderr, flush=True)
            pred.append(predicted.evaluate(arch).val_acc)
            meas.append(measured[arch])
        rows.append({"strategy": name, "predicted_val": float(np.mean(pred)), "measured_val": float(np.mean(meas))})
    pairs = [(predicted.evaluate(a).val_acc, m) for a, m in measured.items()]
    result = {
        "settings": vars(args) | {"func": None, "model": str(args.model)},
        "strategies": rows,
        "tau_strategy_ranking": _tau([r["predicted_val"] for r in rows], [r["measured_val"] for r in rows]),
        "incumbents": len(measured),
        "tau_incumbents": _tau([p for p, _ in pairs], [m for _, m in pairs]) if len(pairs) > 1 else float("nan"),
        "mean_abs_error": float(np.mean([abs(p - m) for p, m in pairs])),
    }
    print(f"\n{args.model}: {args.seeds} seeds x {args.queries} queries; incumbents trained with seeds {args.train_seeds}")
    print("| strategy | predicted val_acc of incumbents | measured val_acc |")
    print("|---|---|---|")
    for r in rows:
        print(f"| {r['strategy']} | {r['predicted_val']:.2f} | {r['measured_val']:.2f} |")
    print(f"Kendall tau of the strategy rankings, predicted vs measured: {result['tau_strategy_ranking']:.3f}; over the "
          f"{len(measured)} distinct incumbents: tau {result['tau_incumbents']:.3f}, mean |error| {result['mean_abs_error']:.2f}")
    return result


def visited(args: argparse.Namespace) -> dict[str, Any]:
    from naslab.benchmarks.tabular import load_benchmark
    from naslab.evaluators.surrogate_benchmark import SurrogateBenchmarkEvaluator
    from naslab.files import atomic_write_text

    bench = load_benchmark(args.model)
    runs = _searches(args.strategies, args.seeds, args.queries, SurrogateBenchmarkEvaluator(bench, noise=args.noise), bench)
    space = bench.space
    seen = {space.canonical(space.from_string(a)) for a in bench.archs}  # already trained
    out: list[str] = []
    for name in args.strategies:
        for run in runs[name]:
            for row in run.rows:
                key = space.canonical(space.from_string(row.arch))
                if key not in seen:
                    seen.add(key)
                    out.append(row.arch)
    atomic_write_text(args.output, f"# visited by {', '.join(args.strategies)} on {args.model} "
                                   f"({args.seeds} seeds x {args.queries} queries)\n" + "".join(a + "\n" for a in out))
    print(f"wrote {len(out)} architectures not in the sample to {args.output}")
    return {"written": len(out), "output": str(args.output)}


def main() -> None:
    for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(key, "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    for name, func in (("nb201", nb201), ("check", check), ("visited", visited)):
        p = sub.add_parser(name)
        p.set_defaults(func=func)
        p.add_argument("--strategies", nargs="+", default=STRATEGIES)
        p.add_argument("--seeds", type=int, default=10 if name == "nb201" else 3)
        p.add_argument("--queries", type=int, default=150 if name == "nb201" else 100)
        p.add_argument("--noise", choices=["seed", "none"], default="none")
        p.add_argument("--json", type=Path, default=None)
        if name == "nb201":
            p.add_argument("--archs", type=int, default=1000)
            p.add_argument("--multi-seed", type=int, default=300)
            p.add_argument("--sample-seed", type=int, default=0)
        else:
            p.add_argument("--model", type=Path, required=True)
        if name == "check":
            p.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1, 2])
            p.add_argument("--data-root", default=None)
        if name == "visited":
            p.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    from naslab.errors import NaslabError

    try:
        result = args.func(args)
    except NaslabError as exc:
        print(f"surrogate_benchmark: error: {exc}", file=sys.stderr)
        sys.exit(2)
    if args.json:
        from naslab.files import atomic_write_text

        atomic_write_text(args.json, json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
