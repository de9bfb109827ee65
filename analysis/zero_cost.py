"""Zero-cost proxies against real accuracies: the validation tables of docs/zero_cost.md.

    python analysis/zero_cost.py c10 --table work-zero-cost/nb201_c10_synflow.h5 work-zero-cost/nb201_c10_zc.h5 --shared ../shared/benchmarks
    python analysis/zero_cost.py digits --table naslab/data/nb201_digits_zc.h5
    python analysis/zero_cost.py predictors --table naslab/data/nb201_digits_zc.h5 [--c10-table ... --shared ...]
    python analysis/zero_cost.py bananas --seeds 30 [--benchmark <file> --table <proxy table> --proxies a,b]

``c10``: data-independent proxies of the NB201 network (C=16, N=5, 32x32, 10 classes),
scored by ``python -m naslab.zero_cost.table dataset=cifar10 proxies=[synflow,params,flops,zen]``,
against the published 200-epoch cifar10-valid validation and test accuracies: Spearman
per unique cell (canonical class; accuracy = mean over its members) and per NB201 row
(every member of a scored class, the weighting of Abdelfattah et al.'s 15,625 cells),
beside the published figures. ``digits``: every proxy against the digits benchmark's
validation and test accuracy (seed mean, last epoch): Spearman and Kendall per proxy, a
vote of the best three (by validation Spearman; Borda count = mean rank), time per
architecture. ``predictors``: naslab's XGBoost ensemble on proxy features, on the
encoding, on both; Kendall tau on the held-out scored architectures at n training
architectures. ``bananas``: BANANAS with and without proxy features on the digits
benchmark; regret after 50/100/300 queries. Unscored rows are left out of every table
(their number is printed); a failed score (NaN) ranks last.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
PUBLISHED_C10 = {"synflow": 0.737, "params": 0.71, "jacob_cov": 0.731, "snip": 0.596, "grad_norm": 0.594,
                 "grasp": 0.514, "fisher": 0.360, "vote": 0.817, "flops": None, "zen": None}


def _table(path: str) -> tuple[dict[str, np.ndarray], dict]:
    from naslab.benchmarks.tabular import load_benchmark

    bench = load_benchmark(path)
    proxies = {k[3:]: v.astype(np.float64) for k, v in bench.static.items() if k.startswith("zc_") and not k.endswith("_time_s")}
    times = {k[3:-7]: v.astype(np.float64) for k, v in bench.static.items() if k.endswith("_time_s")}
    return proxies, {"times": times, "attrs": bench.attrs}


def _scored_rows(proxies: dict[str, np.ndarray], times: dict[str, np.ndarray]) -> np.ndarray:
    """Rows whose class was scored (a time was measured), failed scores included."""
    return np.all([np.isfinite(t) for t in times.values()], axis=0)


def _ranks(values: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    filled = np.where(np.isnan(values), -np.inf, values)  # a failed score ranks last
    return rankdata(filled)


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(_ranks(x), y).statistic)


def _kendall(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import kendalltau

    return float(kendalltau(_ranks(x), y).statistic)


def _class_means(values: np.ndarray, ids: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per class (in order of first appearance among ``rows``), the mean of ``values``."""
    classes, inverse = np.unique(ids[rows], return_inverse=True)
    sums = np.bincount(inverse, weights=values[rows])
    return sums / np.bincount(inverse)


def _fmt(v: float | None) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


# ----- (a) NB201 CIFAR-10 ---------------------------------------------------------------------
def c10(args: argparse.Namespace) -> None:
    from naslab.spaces import get_space

    proxies, times, plans = {}, {}, []
    for path in args.table:  # several tables (e.g. synflow on many cells, zen on fewer): per-proxy samples
        p, meta = _table(path)
        for name, values in p.items():  # a proxy in several tables: the largest sample wins
            if name not in times or np.isfinite(meta["times"][name]).sum() > np.isfinite(times[name]).sum():
                proxies[name], times[name] = values, meta["times"][name]
        plans.append(meta["attrs"]["zero_cost"]["plan"])
    space = get_space("nb201")
    csv_path = Path(args.shared) / "nb201-cifar10-valid-200ep" / "cifar10-valid_200ep_seedmean.csv"
    val = np.full(space.size, np.nan)
    test = np.full(space.size, np.nan)
    with open(csv_path, newline="") as handle:
        for row in csv.DictReader(handle):
            i = int(row["index"])
            if space.to_string(space.arch(i)) != row["arch_str"]:
                raise ValueError(f"{csv_path}: row {i} is {row['arch_str']}, naslab's index {i} is another cell")
            val[i], test[i] = float(row["valid-accuracy"]), float(row["test-accuracy"])
    ids = np.asarray(space.canonical_ids)
    print(f"NB201 CIFAR-10 (cifar10-valid, 200 epochs) vs proxies of the NB201 network C=16 N=5 32x32, seeds "
          f"{sorted({p['seed'] for p in plans})}; each proxy's cells are the first of a seeded random order of the "
          f"{len(np.unique(ids))} unique cells (a uniform sample)\n")
    print("| proxy | unique cells scored | ρ val (unique cells) | ρ test (unique cells) | ρ val (NB201 rows) "
          "| ρ test (NB201 rows) | published ρ (CIFAR-10, 15,625 cells) | failed | s / cell |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in ("synflow", "params", "flops", "zen", *sorted(set(proxies) - {"synflow", "params", "flops", "zen"})):
        if name not in proxies:
            continue
        p = proxies[name]
        rows = np.isfinite(times[name])
        per_class_p = _class_means(np.where(np.isnan(p), -np.inf, p), ids, rows)  # members share one score
        cells = [_spearman(per_class_p, _class_means(acc, ids, rows)) for acc in (val, test)]
        full = [_spearman(p[rows], acc[rows]) for acc in (val, test)]
        failed = int(np.isnan(p[rows]).sum())
        seconds = float(np.nanmean(times[name][rows]))
        print(f"| {name} | {len(np.unique(ids[rows]))} | {_fmt(cells[0])} | {_fmt(cells[1])} | {_fmt(full[0])} | {_fmt(full[1])} | "
              f"{_fmt(PUBLISHED_C10.get(name))} | {failed} | {seconds:.3f} |")


# ----- (b) digits -----------------------------------------------------------------------------
def _digits_accuracies() -> tuple[np.ndarray, np.ndarray]:
    from naslab.benchmarks.tabular import load_benchmark

    bench = load_benchmark(REPO / "naslab" / "data" / "nb201_digits.h5")
    return bench.table("val_acc").astype(np.float64), bench.table("test_acc").astype(np.float64)


def digits(args: argparse.Namespace) -> None:
    from naslab.spaces import get_space

    proxies, meta = _table(args.table)
    space = get_space("nb201")
    ids = np.asarray(space.canonical_ids)
    val, test = _digits_accuracies()
    rows = _scored_rows(proxies, meta["times"]) & np.isfinite(val)
    # one row per unique cell: members share scores and (built once) accuracies
    _, first = np.unique(ids, return_index=True)
    cells = np.zeros(space.size, dtype=bool)
    cells[first] = True
    cells &= rows
    print(f"digits benchmark (naslab/data/nb201_digits.h5, C=8 N=1, 8x8, seed-mean val/test accuracy at epoch 6): "
          f"{int(cells.sum())} of {len(first)} unique cells scored (a uniform random sample)\n")
    print("| proxy | Spearman val | Kendall val | Spearman test | Kendall test | failed | s / arch |")
    print("|---|---|---|---|---|---|---|")
    stats = {}
    for name, p in proxies.items():
        x = p[cells]
        stats[name] = [_spearman(x, val[cells]), _kendall(x, val[cells]), _spearman(x, test[cells]),
                       _kendall(x, test[cells]), int(np.isnan(x).sum()), float(np.nanmean(meta["times"][name][cells]))]
    best3 = sorted((n for n in stats if n not in ("params", "flops")), key=lambda n: -stats[n][0])[:3]
    vote = np.mean([_ranks(proxies[n][cells]) for n in best3], axis=0)
    stats[f"vote({', '.join(best3)})"] = [_spearman(vote, val[cells]), _kendall(vote, val[cells]),
                                          _spearman(vote, test[cells]), _kendall(vote, test[cells]), 0,
                                          sum(stats[n][5] for n in best3)]
    for name, s in sorted(stats.items(), key=lambda kv: -kv[1][0]):
        print(f"| {name} | {_fmt(s[0])} | {_fmt(s[1])} | {_fmt(s[2])} | {_fmt(s[3])} | {s[4]} | {s[5]:.3f} |")


# ----- (c) predictors ---------------------------------------------------------------------------
def _predictor_rows(label: str, proxies: dict[str, np.ndarray], rows: np.ndarray, target: np.ndarray,
                    sizes: list[int], seeds: int, names: list[str]) -> None:
    from scipy.stats import kendalltau

    from naslab.spaces import get_space
    from naslab.surrogates.features import encode_all, with_statics
    from naslab.surrogates.xgb import make_regressor

    space = get_space("nb201")
    columns = {n: proxies[n] for n in names}
    features = {
        "proxies": with_statics(np.zeros((space.size, 0), dtype=np.float32), columns),
        "encoding (auto)": encode_all(space, "auto"),
        "encoding + proxies": with_statics(encode_all(space, "auto"), columns),
    }
    available = np.flatnonzero(rows & np.isfinite(target))
    for n in sizes:
        if n >= available.size - 50:
            print(f"| {label} | {n} | – | – | – | only {available.size} scored architectures |")
            continue
        taus: dict[str, list[float]] = {k: [] for k in features}
        all_ids = np.asarray(space.canonical_ids)
        ids = all_ids[available]
        for seed in range(seeds):
            # whole canonical classes go to one side: isomorphic twins share proxies (and, on
            # digits, the very same training), so a twin held out would be answered by heart
            classes = np.random.default_rng(seed).permutation(np.unique(ids))
            rank = np.empty(classes.max() + 1, dtype=np.int64)
            rank[classes] = np.arange(classes.size)
            order = available[np.argsort(rank[ids], kind="stable")]
            train, rest = order[:n], order[n:]
            held = rest[~np.isin(all_ids[rest], all_ids[train])]  # the class cut at n goes to training
            for kind, X in features.items():
                model = make_regressor("xgb", random_state=seed, nthread=1)
                model.fit(X[train], target[train])
                taus[kind].append(float(kendalltau(model.predict(X[held]), target[held]).statistic))
        cells = [f"{np.mean(t):.3f} ± {np.std(t) / math.sqrt(len(t)):.3f}" for t in taus.values()]
        print(f"| {label} | {n} | {' | '.join(cells)} | ~{held.size} held out (other classes), {seeds} seeds |")


def predictors(args: argparse.Namespace) -> None:
    print("XGBoost ensemble (naslab.surrogates.xgb, defaults), Kendall τ on held-out scored architectures of "
          "canonical classes not trained on (mean ± s.e. over seeds)\n")
    print("| benchmark | n | proxies only | encoding only | encoding + proxies | note |")
    print("|---|---|---|---|---|---|")
    sizes = [int(s) for s in args.sizes.split(",")]
    proxies, meta = _table(args.table)
    val, _ = _digits_accuracies()
    names = sorted(proxies) if args.proxies == "all" else args.proxies.split(",")
    _predictor_rows(f"digits ({', '.join(names)})", proxies, _scored_rows(proxies, meta["times"]), val, sizes,
                    args.seeds, names)
    if args.c10_table:
        from naslab.spaces import get_space

        proxies, meta = _table(args.c10_table)
        space = get_space("nb201")
        val = np.full(space.size, np.nan)
        csv_path = Path(args.shared) / "nb201-cifar10-valid-200ep" / "cifar10-valid_200ep_seedmean.csv"
        with open(csv_path, newline="") as handle:
            for row in csv.DictReader(handle):
                val[int(row["index"])] = float(row["valid-accuracy"])
        names = sorted(proxies)
        _predictor_rows(f"NB201 CIFAR-10 val ({', '.join(names)})", proxies, _scored_rows(proxies, meta["times"]),
                        val, sizes, args.seeds, names)


# ----- (c) BANANAS --------------------------------------------------------------------------------
def bananas(args: argparse.Namespace) -> None:
    from functools import partial

    from naslab.benchmarks.tabular import load_benchmark
    from naslab.evaluators.tabular import TabularEvaluator
    from naslab.runner import Budget, run_search
    from naslab.strategies.bananas import Bananas

    bench = load_benchmark(args.benchmark)
    evaluator = TabularEvaluator(bench)
    proxies = args.proxies.split(",")
    variants = {
        "bananas (encoding auto)": partial(Bananas),
        f"bananas + proxies ({', '.join(proxies)})": partial(Bananas, proxy_table=args.table, proxies=proxies),
        "bananas, proxies only": partial(Bananas, proxy_table=args.table, proxies=proxies, encoding="none"),
    }
    checkpoints = (50, 100, 300)
    print(f"BANANAS on {args.benchmark} ({bench.dataset}), test-accuracy regret (percentage points) after "
          f"50/100/300 queries, mean ± s.e. over {args.seeds} seeds; proxy table {args.table}\n")
    print("| variant | 50 | 100 | 300 |")
    print("|---|---|---|---|")
    for label, factory in variants.items():
        regrets = {c: [] for c in checkpoints}
        for seed in range(args.seeds):
            trajectory = run_search(factory, evaluator, seed=seed, budget=Budget(queries=max(checkpoints)))
            column = trajectory.column("regret")
            for c in checkpoints:
                regrets[c].append(column[c - 1])
        cells = [f"{np.mean(r):.3f} ± {np.std(r) / math.sqrt(len(r)):.3f}" for r in regrets.values()]
        print(f"| {label} | {' | '.join(cells)} |", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("c10")
    p.add_argument("--table", nargs="+", default=["work-zero-cost/nb201_c10_zc.h5"])
    p.add_argument("--shared", default=str(REPO.parent / "shared" / "benchmarks"))
    p = sub.add_parser("digits")
    p.add_argument("--table", default=str(REPO / "naslab" / "data" / "nb201_digits_zc.h5"))
    p = sub.add_parser("predictors")
    p.add_argument("--table", default=str(REPO / "naslab" / "data" / "nb201_digits_zc.h5"))
    p.add_argument("--proxies", default="all")
    p.add_argument("--c10-table", default=None)
    p.add_argument("--shared", default=str(REPO.parent / "shared" / "benchmarks"))
    p.add_argument("--sizes", default="100,1000")
    p.add_argument("--seeds", type=int, default=5)
    p = sub.add_parser("bananas")
    p.add_argument("--benchmark", default=str(REPO / "naslab" / "data" / "nb201_digits.h5"))
    p.add_argument("--table", default=str(REPO / "naslab" / "data" / "nb201_digits_zc.h5"))
    p.add_argument("--proxies", default="synflow,jacob_cov,nwot,snip,zen,params")
    p.add_argument("--seeds", type=int, default=30)
    args = parser.parse_args(argv)
    try:
        {"c10": c10, "digits": digits, "predictors": predictors, "bananas": bananas}[args.what](args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"analysis/zero_cost.py: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
