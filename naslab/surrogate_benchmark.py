"""Fit and inspect surrogate benchmarks: ``python -m naslab.surrogate_benchmark``.

```
python -m naslab.surrogate_benchmark fit sample=SAMPLE.h5 output=MODEL.h5 [family=xgb] [seed=0]
        [encoding=auto] [holdout=0.3] [compare=xgb,mlp]
python -m naslab.surrogate_benchmark fit sample=TABLE.h5 sample_archs=800 sample_multi_seed=150 output=MODEL.h5
python -m naslab.surrogate_benchmark show MODEL.h5
```

``fit`` runs the held-out evaluation (:func:`naslab.surrogates.benchmark_model.heldout_evaluation`)
for every family of ``compare``, prints it, fits ``family`` on every row and writes one
file (the sample plus the model, atomically) whose metadata holds the evaluation. A
*table* given as ``sample`` is first sampled as a sampled build would have trained it
(:func:`naslab.benchmarks.sample.sample_of_table`, ``sample_archs``/``sample_multi_seed``,
drawn with ``seed``): the cheap, exact check of the method on NB201 (issue 13, part 7).
Search the result with ``evaluator=surrogate_benchmark benchmark=file benchmark.path=MODEL.h5``.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

from naslab.errors import NaslabError

log = logging.getLogger("naslab.surrogate_benchmark")

FIT_KEYS = {"sample": None, "output": None, "family": "xgb", "seed": "0", "encoding": "auto", "holdout": "0.3",
            "compare": "xgb,mlp", "sample_archs": None, "sample_multi_seed": None}


class SurrogateBenchmarkError(NaslabError, ValueError):
    """Bad input to the command, one sentence."""


def parse_options(args: list[str], known: dict[str, str | None]) -> dict[str, str | None]:
    out = dict(known)
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or key not in known:
            raise SurrogateBenchmarkError(
                f"{arg!r} is not a key=value option of this command; its options are {', '.join(known)}"
            )
        out[key] = value
    return out


def _number(options: dict[str, str | None], key: str, kind: type) -> Any:
    value = options[key]
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise SurrogateBenchmarkError(f"{key}={value} must be a {'whole ' if kind is int else ''}number") from None


def load_sample(options: dict[str, str | None]) -> Any:
    """The sample to fit on: a sample file, or a sample drawn from a table file."""
    from naslab.benchmarks.sample import sample_of_table
    from naslab.benchmarks.tabular import load_benchmark

    if not options["sample"]:
        raise SurrogateBenchmarkError("no sample given; pass sample=FILE (a kind=sample file from python -m naslab.build)")
    bench = load_benchmark(options["sample"])
    if bench.kind == "sample":
        if options["sample_archs"] is not None:
            raise SurrogateBenchmarkError(f"{bench.label} is already a sample; sample_archs= draws a sample of a full table")
        return bench
    if options["sample_archs"] is None or options["sample_multi_seed"] is None:
        raise SurrogateBenchmarkError(
            f"{bench.label} is a full table; pass sample_archs=N sample_multi_seed=M to fit on a sample of it"
        )
    return sample_of_table(bench, _number(options, "sample_archs", int), _number(options, "sample_multi_seed", int),
                           _number(options, "seed", int))


def fit_command(args: list[str]) -> Path:
    from naslab.surrogates import benchmark_model as bm

    options = parse_options(args, FIT_KEYS)
    if not options["output"]:
        raise SurrogateBenchmarkError("no output given; pass output=FILE (the surrogate benchmark file to write)")
    seed, holdout = _number(options, "seed", int), _number(options, "holdout", float)
    if not 0 < holdout < 1:
        raise SurrogateBenchmarkError(f"holdout={holdout} must be a fraction between 0 and 1")
    family = str(options["family"])
    compare = [f for f in str(options["compare"]).split(",") if f]
    for name in [family, *compare]:
        if name not in bm.FAMILIES:
            raise SurrogateBenchmarkError(f"family {name!r} is not one of {', '.join(bm.FAMILIES)}")
    sample = load_sample(options)
    space = sample.space
    data = bm.SampleData.of(sample)
    log.info("sample: %d archs of %s (%d with every seed)", len(data.archs), space.name,
             int((data.seeds_trained == data.val.shape[1]).sum()))
    heldout = {}
    for name in compare:
        started = time.monotonic()
        heldout[name] = bm.heldout_evaluation(data, space, name, str(options["encoding"]), seed, holdout)
        log.info("held-out (%s, %.1f s): %s", name, time.monotonic() - started, format_heldout(heldout[name]))
    started = time.monotonic()
    model = bm.fit(data, space, family, str(options["encoding"]), seed)
    model.meta.update(heldout=heldout, sample=str(options["sample"]), sample_kind=sample.attrs.get("kind", "table"),
                      command="python -m naslab.surrogate_benchmark fit " + " ".join(args))
    log.info("fitted %s on %d rows in %.1f s", family, model.meta["fitted_rows"], time.monotonic() - started)
    path = bm.write_model(options["output"], model, sample)
    log.info("wrote %s", path)
    return path


def format_heldout(h: dict[str, Any]) -> str:
    return (f"{h['heldout_archs']} held-out archs x {h['seeds']} seeds: Kendall tau surrogate {h['kendall_tau_surrogate']:.3f} "
            f"vs one seed {h['kendall_tau_one_seed']:.3f}; Spearman {h['spearman_surrogate']:.3f} vs "
            f"{h['spearman_one_seed']:.3f}; seed noise predicted {h['noise_predicted_mean']:.2f} vs measured "
            f"{h['noise_measured_mean']:.2f} (Spearman {h['noise_spearman']:.2f})")


def show_command(args: list[str]) -> None:
    from naslab.surrogates.benchmark_model import read_model

    if len(args) != 1:
        raise SurrogateBenchmarkError("show takes one argument: the surrogate benchmark file")
    model = read_model(args[0])
    meta = model.meta
    print(f"{args[0]}: space {model.space_name}, encoding {model.encoding}, family {meta.get('family')}, "
          f"fitted on {meta.get('fitted_rows')} archs ({meta.get('multi_seed_rows')} multi-seed), "
          f"targets {sorted(model.targets)}")
    print(f"best predicted {meta.get('reference_metric')}: {meta.get('best_reference'):.2f} "
          f"({meta.get('best_reference_arch')})")
    for name, h in (meta.get("heldout") or {}).items():
        print(f"held-out {name}: {format_heldout(h)}")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    commands = {"fit": fit_command, "show": show_command}
    try:
        if not argv or argv[0] not in commands:
            raise SurrogateBenchmarkError(f"the first argument must be one of {', '.join(commands)}; see the module docstring")
        commands[argv[0]](argv[1:])
    except NaslabError as exc:
        print(f"naslab.surrogate_benchmark: error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
