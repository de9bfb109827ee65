"""Load and query time of a surrogate benchmark beside baselines measured in the same run.

    python perf/surrogate_benchmark_speed.py [--model FILE] [--queries 300]

Without ``--model`` it fits one on a sample of the embedded NB201 digits table (1000
archs, 300 with every seed; as ``python -m naslab.surrogate_benchmark fit``). Prints:

* load: reading the file into an evaluator (the sample + the model), in a fresh process
  (imports included) and in this one, beside ``load_benchmark`` of the embedded table;
* one query of a new architecture (encoding + every target's prediction), a repeated
  query (cached), and a batch of 256 new architectures per architecture;
* baselines: a TabularEvaluator lookup of the embedded table, and XGBoost's own
  ``inplace_predict`` of the stored boosters on one row and on the batch (the work the
  numpy forest replaces; the model's docstring says why).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
EMBEDDED = REPO / "naslab" / "data" / "nb201_digits.h5"


def per_call(fn, repeats: int) -> float:
    fn()
    started = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - started) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(key, "1")

    import xgboost as xgb

    from naslab.benchmarks.sample import sample_of_table
    from naslab.benchmarks.tabular import load_benchmark
    from naslab.evaluators.surrogate_benchmark import SurrogateBenchmarkEvaluator
    from naslab.evaluators.tabular import TabularEvaluator
    from naslab.surrogates import benchmark_model as bm

    tmp = tempfile.TemporaryDirectory()
    path = args.model
    if path is None:
        sample = sample_of_table(load_benchmark(EMBEDDED), 1000, 300, seed=0)
        path = bm.write_model(Path(tmp.name) / "nb201_surrogate.h5", bm.fit(bm.SampleData.of(sample), sample.space), sample)

    code = ("import time; t = time.perf_counter(); from naslab.benchmarks.tabular import load_benchmark; "
            "from naslab.evaluators.surrogate_benchmark import SurrogateBenchmarkEvaluator; "
            f"SurrogateBenchmarkEvaluator(load_benchmark({str(path)!r})); print(time.perf_counter() - t)")
    fresh = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                  env={**os.environ, "PYTHONPATH": str(REPO)}).stdout) for _ in range(3)]
    load_here = per_call(lambda: SurrogateBenchmarkEvaluator(load_benchmark(path)), 5)
    load_table = per_call(lambda: load_benchmark(EMBEDDED), 3)

    evaluator = SurrogateBenchmarkEvaluator(load_benchmark(path), noise="seed")
    space = evaluator.space
    rng = np.random.default_rng(1)
    new = [space.sample(rng) for _ in range(args.queries)]
    started = time.perf_counter()
    for i, arch in enumerate(new):
        evaluator.evaluate(arch, trial_seed=i)
    one_new = (time.perf_counter() - started) / len(new)
    repeated = per_call(lambda: evaluator.evaluate(new[0], trial_seed=3), 2000)
    batch = [space.sample(rng) for _ in range(256)]
    batched = per_call(lambda: evaluator.model.predict(batch), 5) / len(batch)

    table = TabularEvaluator(load_benchmark(EMBEDDED))
    table_arch = table.space.sample(rng)
    lookup = per_call(lambda: table.evaluate(table_arch, trial_seed=3), 2000)
    import h5py

    with h5py.File(path) as f:
        group = f["surrogate/val/xgboost_ubj"]
        boosters = [xgb.Booster(model_file=bytearray(group[k][()].tobytes())) for k in group]
    for b in boosters:
        b.set_param({"nthread": 1})
    x1 = bm.encode(space, new[:1], evaluator.model.encoding)
    xb = bm.encode(space, batch, evaluator.model.encoding)
    xgb_one = per_call(lambda: [b.inplace_predict(x1) for b in boosters], 200)
    xgb_batch = per_call(lambda: [b.inplace_predict(xb) for b in boosters], 20) / len(batch)
    forest_one = per_call(lambda: evaluator.model.targets["val"].forest.predict_members(x1), 200)
    encode_one = per_call(lambda: bm.encode(space, new[:1], evaluator.model.encoding), 500)

    load = os.getloadavg()[0]
    print(f"surrogate benchmark {path} ({os.path.getsize(path) / 1e6:.2f} MB), space {space.name}, "
          f"load average {load:.1f}")
    print(f"load, fresh process (imports included): median {sorted(fresh)[1]:.3f} s")
    print(f"load, in process: {load_here * 1e3:.1f} ms   | baseline load_benchmark(embedded table): "
          f"{load_table * 1e3:.1f} ms ({load_here / load_table:.2f}x)")
    print(f"one query, new arch: {one_new * 1e6:.0f} us (encoding {encode_one * 1e6:.0f} us of it) | "
          f"baseline TabularEvaluator lookup: {lookup * 1e6:.1f} us ({one_new / lookup:.0f}x)")
    print(f"one query, repeated arch (cached): {repeated * 1e6:.1f} us ({repeated / lookup:.2f}x the lookup)")
    print(f"batched, 256 new archs: {batched * 1e6:.1f} us per arch")
    print(f"val ensemble on one row: numpy forest {forest_one * 1e6:.0f} us | baseline XGBoost inplace_predict "
          f"{xgb_one * 1e6:.0f} us ({xgb_one / forest_one:.1f}x slower); per row of 256: XGBoost "
          f"{xgb_batch * 1e6:.1f} us")


if __name__ == "__main__":
    main()
