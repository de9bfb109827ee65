"""How well do predictors rank architectures they were not trained on?

    python analysis/predictor_quality.py --benchmark nb201_c10 --out analysis/results/predictors_c10
    python analysis/predictor_quality.py --benchmark digits --out analysis/results/predictors_digits
    python analysis/predictor_quality.py --benchmark synthetic --seeds 3 --regressors xgb,rf --out /tmp/pq

For each training-set size n (default 10, 20, 50, 100, 200, 500, 1000) and seed, fit
each regressor on n random architectures of the benchmark (seed-mean validation
accuracy at the last epoch, or ``--metric``/``--epoch``) and score its predictions on
**all the other** architectures with a result:

* Kendall tau and Spearman rho between predicted and true values;
* top-k precision: the share of the truly best ``--top`` fraction (default 1 %) of the
  held-out architectures that the predictor also puts in its top fraction.

Reported as mean ± standard error over seeds, in ``table.md`` (Markdown),
``results.csv`` (one row per fit) and ``predictor_quality.png``/``.pdf`` (one panel per
measure) in ``--out``. Regressors: ``xgb`` (naslab's XGBoost ensemble), ``rf``, ``gp``,
``mlp``, ``gbr`` (:func:`naslab.surrogates.xgb.make_regressor`); encodings from
:mod:`naslab.surrogates.features` (``--encoding``, default ``auto``).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from surrogate_benchmarks import benchmark_label, resolve_benchmark  # noqa: E402

SIZES = (10, 20, 50, 100, 200, 500, 1000)
MEASURES = ("kendall_tau", "spearman", "top_precision")
LABELS = {
    "xgb": "XGBoost ensemble",
    "rf": "random forest",
    "gp": "Gaussian process",
    "mlp": "MLP ensemble",
    "gbr": "sklearn GradientBoosting ensemble",
}


def top_precision(predicted: np.ndarray, true: np.ndarray, fraction: float) -> float:
    k = max(1, math.ceil(fraction * true.size))
    best_true = set(np.argsort(-true, kind="stable")[:k].tolist())
    best_predicted = np.argsort(-predicted, kind="stable")[:k].tolist()
    return len(best_true.intersection(best_predicted)) / k


def evaluate_predictors(
    features: np.ndarray,
    target: np.ndarray,
    regressors: Sequence[str],
    sizes: Sequence[int],
    seeds: Sequence[int],
    top: float,
    nthread: int = 1,
) -> list[dict]:
    """One row per (regressor, n, seed): the three measures and the fit time."""
    from scipy.stats import kendalltau, spearmanr

    from naslab.progress import progress_bar
    from naslab.surrogates.xgb import make_regressor

    available = np.flatnonzero(np.isfinite(target))
    rows = []
    with progress_bar(len(sizes) * len(seeds) * len(regressors), "surrogate fits", "fit") as bar:
        for n in sizes:
            if n >= available.size - 1:
                raise ValueError(f"training size {n} leaves no held-out architectures ({available.size} have results)")
            for seed in seeds:
                chosen = np.random.default_rng(seed).permutation(available)
                train, held_out = np.sort(chosen[:n]), np.sort(chosen[n:])
                for name in regressors:
                    model = make_regressor(name, random_state=int(seed), nthread=nthread)
                    started = time.perf_counter()
                    model.fit(features[train], target[train])
                    fit_s = time.perf_counter() - started
                    predicted = np.asarray(model.predict(features[held_out]), dtype=np.float64)
                    true = target[held_out].astype(np.float64)
                    bar.set_postfix_str(f"n={n} seed={seed} {name}: fit {fit_s:.2f} s", refresh=False)
                    bar.update()
                    rows.append({
                        "regressor": name, "n": n, "seed": int(seed),
                        "kendall_tau": float(kendalltau(predicted, true)[0]),
                        "spearman": float(spearmanr(predicted, true)[0]),
                        "top_precision": top_precision(predicted, true, top),
                        "fit_s": fit_s,
                    })  # fmt: skip
    return rows


def summarise(rows: list[dict], regressors: Sequence[str], sizes: Sequence[int]) -> dict:
    """(regressor, n, measure) -> (mean, standard error)."""
    out = {}
    for name in regressors:
        for n in sizes:
            group = [r for r in rows if r["regressor"] == name and r["n"] == n]
            for measure in (*MEASURES, "fit_s"):
                values = np.array([r[measure] for r in group], dtype=np.float64)
                se = values.std(ddof=1) / math.sqrt(values.size) if values.size > 1 else 0.0
                out[name, n, measure] = (float(np.nanmean(values)), float(se))
    return out


def markdown(summary: dict, regressors: Sequence[str], sizes: Sequence[int], title: str, top: float) -> str:
    lines = [f"# {title}", ""]
    names = {"kendall_tau": "Kendall tau", "spearman": "Spearman rho", "top_precision": f"top-{top:.0%} precision",
             "fit_s": "fit time (s)"}  # fmt: skip
    for measure in (*MEASURES, "fit_s"):
        lines += [f"## {names[measure]} (mean ± SE over seeds)", "",
                  "| regressor | " + " | ".join(f"n={n}" for n in sizes) + " |",
                  "|---|" + "---:|" * len(sizes)]  # fmt: skip
        for name in regressors:
            cells = [f"{summary[name, n, measure][0]:.3f} ± {summary[name, n, measure][1]:.3f}" for n in sizes]
            lines.append(f"| {LABELS.get(name, name)} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def plot(summary: dict, regressors: Sequence[str], sizes: Sequence[int], title: str, top: float, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), constrained_layout=True)
    for ax, measure, label in zip(axes, MEASURES, ("Kendall tau", "Spearman rho", f"top-{top:.0%} precision")):
        for name in regressors:
            mean = np.array([summary[name, n, measure][0] for n in sizes])
            se = np.array([summary[name, n, measure][1] for n in sizes])
            ax.errorbar(sizes, mean, yerr=se, marker="o", capsize=3, label=LABELS.get(name, name))
        ax.set_xscale("log")
        ax.set_xlabel("training architectures n")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    for suffix in ("png", "pdf"):
        tmp = out / f".predictor_quality.{suffix}.tmp"
        fig.savefig(tmp, format=suffix, dpi=150)
        tmp.replace(out / f"predictor_quality.{suffix}")
    plt.close(fig)


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 2)[2])  # fmt: skip
    parser.add_argument("--benchmark", default="nb201_c10", help="synthetic | digits | nb201_c10 | a naslab .h5 file")
    parser.add_argument("--out", type=Path, required=True, help="output folder (created)")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="training sizes, comma-separated")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 per size (default 5)")
    parser.add_argument("--regressors", default="xgb,rf,gp,mlp", help="comma-separated (default xgb,rf,gp,mlp)")
    parser.add_argument("--encoding", default="auto", help="feature encoding (default auto)")
    parser.add_argument("--metric", default="val_acc", help="benchmark metric to predict (default val_acc)")
    parser.add_argument("--epoch", type=int, default=None, help="epoch of the metric (default: the last)")
    parser.add_argument("--top", type=float, default=0.01, help="top fraction for precision (default 0.01)")
    parser.add_argument("--nthread", type=int, default=1, help="threads per fit (default 1)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from naslab.surrogates.features import encode_all, resolve_encoding
    from naslab.surrogates.xgb import REGRESSORS

    try:
        sizes = [int(s) for s in args.sizes.split(",")]
        regressors = [r.strip() for r in args.regressors.split(",") if r.strip()]
        unknown = [r for r in regressors if r not in REGRESSORS]
        if unknown:
            raise ValueError(f"unknown regressors {unknown}; choose from {list(REGRESSORS)}")
        if args.seeds < 1 or not 0 < args.top < 1 or min(sizes) < 2:
            raise ValueError("--seeds must be >= 1, --top in (0, 1) and every size >= 2")
        bench = resolve_benchmark(args.benchmark)
        target = bench.table(args.metric, args.epoch).astype(np.float64)
        encoding = resolve_encoding(bench.space, args.encoding)
        features = encode_all(bench.space, encoding)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    label = benchmark_label(args.benchmark, bench)
    epoch = args.epoch if args.epoch is not None else bench.max_epoch
    title = (f"Predictor quality on {label}: {args.metric} at epoch {epoch}, encoding {encoding}, "
             f"{args.seeds} seeds, scored on all held-out architectures")  # fmt: skip
    started = time.perf_counter()
    try:
        rows = evaluate_predictors(features, target, regressors, sizes, range(args.seeds), args.top, args.nthread)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = summarise(rows, regressors, sizes)
    text = markdown(summary, regressors, sizes, title, args.top)
    args.out.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out / "table.md", text + f"\n_{time.perf_counter() - started:.0f} s in total._\n")
    header = "regressor,n,seed,kendall_tau,spearman,top_precision,fit_s\n"
    body = "".join(f"{r['regressor']},{r['n']},{r['seed']},{r['kendall_tau']:.6f},{r['spearman']:.6f},"
                   f"{r['top_precision']:.6f},{r['fit_s']:.4f}\n" for r in rows)  # fmt: skip
    write_atomic(args.out / "results.csv", header + body)
    plot(summary, regressors, sizes, title, args.top, args.out)
    print(text)
    print(f"wrote {args.out}/table.md, results.csv, predictor_quality.png/.pdf")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
