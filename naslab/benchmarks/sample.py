"""A sample of a full table, as a sampled build would have trained it (exact truth known).

:func:`sample_of_table` draws rows of a table (``kind=table``) the way
:mod:`naslab.build_sample` draws architectures (uniform ``space.sample`` draws with
``numpy.random.default_rng(seed)``, first draw of each canonical class), keeps every
seed of the first ``multi_seed`` rows and one seed (the first stored) of the others,
and returns a sample benchmark (``kind=sample``). A surrogate fitted on it can then be
checked against the table itself (issue 13, part 7).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from naslab.benchmarks.tabular import TabularBenchmark, require_table


def sample_of_table(bench: TabularBenchmark, archs: int, multi_seed: int, seed: int = 0) -> TabularBenchmark:
    from naslab.errors import InvalidValueError

    require_table(bench, "sample_of_table")
    space = bench.space
    rng = np.random.default_rng(seed)
    final = bench.metric(bench.search_metric)[:, :, -1]
    seen: set[str] = set()
    rows: list[int] = []
    for _ in range(20 * archs + 1000):
        if len(rows) == archs:
            break
        arch = space.sample(rng)
        key = space.canonical(arch)
        if key in seen:
            continue
        seen.add(key)
        index = space.index(arch)
        if np.isfinite(final[index]).any():  # a class the table has a result for
            rows.append(index)
    if len(rows) < archs:
        raise InvalidValueError(f"{bench.label} has results for fewer than {archs} distinct architectures")
    keep = np.zeros((archs, len(bench.seeds)), dtype=bool)
    keep[:multi_seed] = True
    keep[multi_seed:, 0] = True
    metrics = {}
    for name, values in bench.metrics.items():
        picked = values[rows].copy()
        picked[~keep] = np.nan
        metrics[name] = picked
    attrs: dict[str, Any] = dict(bench.attrs)
    attrs.update(
        kind="sample",
        sample={"uniform": archs, "multi_seed": multi_seed, "extra": 0, "sample_seed": int(seed)},
        source=f"sample_of_table of {bench.label}: {archs} uniform draws (seed {seed}), the first {multi_seed} "
               f"with all {len(bench.seeds)} stored seeds, the others with seed {int(bench.seeds[0])}",
    )
    return TabularBenchmark(
        space_name=bench.space_name,
        dataset=bench.dataset,
        archs=[bench.archs[i] for i in rows],
        epochs=bench.epochs.copy(),
        seeds=bench.seeds.copy(),
        metrics=metrics,
        static={name: values[rows].copy() for name, values in bench.static.items()},
        attrs=attrs,
    )
