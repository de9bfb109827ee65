"""One-shot methods on the digits benchmark: run the comparison, then tabulate it beside NB201's numbers.

    python analysis/one_shot_digits.py run   --out work-one-shot/digits --seeds 0 1 2
    python analysis/one_shot_digits.py table work-one-shot/digits --figures analysis/results/one_shot

``run`` trains each (method, seed) with ``python -m naslab.one_shot`` into
``OUT/<method>/seed<k>`` (one process at a time, one thread, a finished folder is
skipped, so a killed run resumes). The budget is a CPU-sized version of the NATS recipe
(:data:`CPU_OVERRIDES`), the same for every method apart from ENAS's controller.
``table`` reads the run folders (with :func:`naslab.analysis.runs.load_runs`, as every
analysis does) and prints a Markdown table: the benchmark accuracy of the final derived
architecture, its regret, the measured search cost, the supernet's Kendall tau and the
share of parameter-free edges, beside the published NB201 figures (Dong & Yang,
"NAS-Bench-201", ICLR 2020, Table 5, as quoted in issue 15). ``--figures`` also draws the
tau per method and the benchmark accuracy of the derived architecture along the search.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

METHODS = ("rsps", "darts_v1", "darts_v2", "gdas", "setn", "enas")
# NB201 paper, Table 5: cifar10-valid validation / CIFAR-10 test accuracy (mean +- std over runs)
PUBLISHED = {
    "rsps": ("80.42 ± 3.58", "84.07 ± 3.61"),
    "darts_v1": ("39.77 ± 0.00", "54.30 ± 0.00"),
    "darts_v2": ("39.77 ± 0.00", "54.30 ± 0.00"),
    "gdas": ("89.89 ± 0.08", "93.61 ± 0.09"),
    "setn": ("84.04 ± 0.28", "87.64 ± 0.00"),
    "enas": ("37.51 ± 3.19", "53.89 ± 0.58"),
}
# 50 epochs (NB201's DARTS.config) instead of NATS's 100; candidates scored on batches of
# 128 of the 700 validation images; derivations by sampling every 5 epochs; ENAS's
# controller 5 x 10 samples per epoch instead of 50 x 20
CPU_OVERRIDES = ["epochs=50", "val_batch_size=128"]
METHOD_OVERRIDES = {
    "rsps": ["eval_every=5"],
    "setn": ["eval_every=5"],
    "enas": ["eval_every=5", "method.train_steps=5", "method.num_aggregate=10"],
}


def run(out: Path, seeds: list[int], methods: list[str]) -> int:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    for seed in seeds:
        for method in methods:
            folder = out / method / f"seed{seed}"
            if (folder / "summary.json").is_file():
                continue
            command = [sys.executable, "-m", "naslab.one_shot", f"method={method}", f"seed={seed}",
                       *CPU_OVERRIDES, *METHOD_OVERRIDES.get(method, []), f"hydra.run.dir={folder}"]
            print(" ".join(command[1:]), flush=True)
            if subprocess.run(command, env=env).returncode != 0:
                print(f"failed: {folder}", file=sys.stderr)
                return 1
    return 0


def _mean_std(values: list[float]) -> str:
    a = np.asarray(values, dtype=float)
    return f"{a.mean():.2f} ± {a.std(ddof=1) if a.size > 1 else 0.0:.2f}"


def _live_convs(arch: str) -> int:
    """Convolutions on edges that carry signal to the cell's output (0: a parameter-free cell)."""
    from naslab.spaces import get_space

    space = get_space("nb201")
    cell = space.from_string(arch)
    return sum(1 for op, live in zip(cell, space.live_edges(cell)) if live and space.ops[op].startswith("nor_conv"))


def table(folders: list[Path], figures: Path | None) -> str:
    from naslab.analysis.runs import load_runs

    runs = [r for r in load_runs(folders).runs if r.summary.get("one_shot")]
    by_method: dict[str, list] = {}
    for r in runs:
        by_method.setdefault(r.strategy, []).append(r)
    order = [m for m in METHODS if m in by_method] + sorted(set(by_method) - set(METHODS))
    lines = [
        "| method | seeds | digits val (%) | digits test (%) | regret (%) | search cost (s) | τ val | τ test "
        "| live convs | NB201 C10-valid val | NB201 C10 test |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in order:
        rs = by_method[m]
        inc = [r.summary["incumbent"] for r in rs]
        tau_v = [r.summary["supernet_ranking"]["kendall_tau_val"] for r in rs]
        tau_t = [r.summary["supernet_ranking"]["kendall_tau_test"] for r in rs]
        convs = [_live_convs(i["arch"]) for i in inc]
        pub = PUBLISHED.get(m, ("", ""))
        lines.append(
            f"| {m} | {len(rs)} | {_mean_std([i['val_acc'] for i in inc])} | {_mean_std([i['test_acc'] for i in inc])} "
            f"| {_mean_std([r.summary['final_regret'] for r in rs])} | {np.mean([r.summary['search_cost_s'] for r in rs]):.0f} "
            f"| {_mean_std(tau_v)} | {_mean_std(tau_t)} | {np.mean(convs):.1f} | {pub[0]} | {pub[1]} |"
        )
    best = runs[0].summary["best_test_acc_in_benchmark"] if runs else float("nan")
    lines.append("")
    lines.append(f"Best test accuracy in the digits benchmark: {best:.2f} %.")
    lines.append("")
    lines.append("Final derived architectures:")
    lines.append("")
    for m in order:
        for r in by_method[m]:
            weights = r.summary["method_state"].get("op_weights")
            mean = np.mean(weights, axis=0) if weights else None
            skip_share = ("; mean softmax(α) none/skip/conv1x1/conv3x3/pool "
                          + "/".join(f"{v:.3f}" for v in mean)) if mean is not None else ""
            along = "".join(str(_live_convs(a)) for a in r.archs)
            lines.append(f"* {m} seed {r.seed}: live convs of the derived cell per derivation `{along}`; final "
                         f"`{r.summary['incumbent']['arch']}` "
                         f"(test {r.summary['incumbent']['test_acc']:.2f}, {_live_convs(r.summary['incumbent']['arch'])} "
                         f"live convs{skip_share})")
    if figures is not None:
        _figures(by_method, order, figures)
    return "\n".join(lines)


def _figures(by_method: dict, order: list[str], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for i, m in enumerate(order):
        taus = [r.summary["supernet_ranking"]["kendall_tau_val"] for r in by_method[m]]
        ax.scatter([i] * len(taus), taus, color="C0")
        ax.hlines(np.mean(taus), i - 0.3, i + 0.3, color="C1")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xticks(range(len(order)), order)
    ax.set_ylabel("Kendall τ (supernet vs benchmark val)")
    ax.set_title("Supernet ranking quality, digits, 100 sampled cells")
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(out / f"one_shot_tau.{ext}")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for i, m in enumerate(order):
        for j, r in enumerate(by_method[m]):
            ax.plot(r.columns["epoch"], r.columns["incumbent_test_acc"], color=f"C{i}", alpha=0.7,
                    label=m if j == 0 else None)
    ax.set_xlabel("supernet epoch")
    ax.set_ylabel("benchmark test acc of derived arch (%)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(out / f"one_shot_trajectories.{ext}")
    plt.close(fig)
    (out / "one_shot_runs.json").write_text(json.dumps(
        {m: [r.summary["incumbent"] | {"seed": r.seed, "tau": r.summary["supernet_ranking"]} for r in by_method[m]]
         for m in order}, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="train every (method, seed) that has no finished run folder")
    p_run.add_argument("--out", type=Path, required=True)
    p_run.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p_run.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p_table = sub.add_parser("table", help="Markdown table of finished one-shot run folders")
    p_table.add_argument("folders", type=Path, nargs="+")
    p_table.add_argument("--figures", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(args.out, args.seeds, args.methods)
    print(table(args.folders, args.figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
