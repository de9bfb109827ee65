"""Speed of the surrogate: refit time, predict-all time, and a whole BANANAS run.

    python perf/surrogate_speed.py                 # naslab's thread policy (1 thread), NB201 synthetic benchmark
    python perf/surrogate_speed.py --nthread 2 --repeats 5

Threads follow :mod:`naslab.threads` (one per process) unless ``--nthread`` says
otherwise; ``perf/threads_speed.py`` compares 1 and 2 threads side by side.
Goals (issue 5): a refit at n = 300 in <= 0.3 s on 2 cores; a 300-query BANANAS run in
<= 60 s. Every figure is the median of ``--repeats`` runs, and each is compared with
naive baselines measured in the same process, because the machine is shared and
absolute times drift:

* ``ours``: :class:`~naslab.surrogates.xgb.XGBEnsemble` as BANANAS configures it
  (5 members x 100 trees, depth 4, ``Booster.update`` loop, path+computed features);
* ``xgb-sklearn 5x300``: the same ensemble written the obvious way, 5 fresh
  ``xgboost.XGBRegressor(n_estimators=300)`` fits on bootstrap samples;
* ``sklearn-gbr 5x300``: 5 bootstrap fits of scikit-learn's GradientBoostingRegressor.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np


def median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nthread", type=int, default=None,
                        help="threads per fit (default: naslab's thread policy, naslab.threads)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per figure; the median is printed")
    parser.add_argument("--sizes", default="50,100,300,1000", help="training sizes (default 50,100,300,1000)")
    parser.add_argument("--skip-run", action="store_true", help="skip the 300-query BANANAS run")
    args = parser.parse_args(argv)
    from naslab.threads import current_threads

    if args.nthread is None:
        args.nthread = current_threads() or (os.cpu_count() or 1)  # None: the user lifted the policy
    if args.nthread < 1 or args.repeats < 1:
        print("error: --nthread and --repeats must be >= 1", file=sys.stderr)
        return 2
    import xgboost
    from sklearn.ensemble import GradientBoostingRegressor

    from naslab.benchmarks.synthetic import make_synthetic_benchmark
    from naslab.surrogates.features import encode_all
    from naslab.surrogates.xgb import BootstrapEnsemble, XGBEnsemble

    bench = make_synthetic_benchmark()
    features = encode_all(bench.space, "auto")
    target = bench.table("val_acc").astype(np.float64)
    print(f"features {features.shape[1]} (path+computed), nthread {args.nthread}, median of {args.repeats}")
    models = {
        "ours 5x100": lambda: XGBEnsemble(num_members=5, num_trees=100, nthread=args.nthread),
        "xgb-sklearn 5x300": lambda: BootstrapEnsemble(
            xgboost.XGBRegressor(n_estimators=300, n_jobs=args.nthread, verbosity=0), num_members=5
        ),
        "sklearn-gbr 5x300": lambda: BootstrapEnsemble(GradientBoostingRegressor(n_estimators=300), num_members=5),
    }
    print(f"{'n':>5} " + " ".join(f"{name:>18}" for name in models) + "   speed-up vs each baseline")
    for n in [int(s) for s in args.sizes.split(",")]:
        rows = np.random.default_rng(n).choice(target.size, n, replace=False)
        x, y = features[rows], target[rows]
        times = {name: median_time(lambda make=make: make().fit(x, y), args.repeats)  # noqa: B023 (called at once)
                 for name, make in models.items()}  # fmt: skip
        ours = times["ours 5x100"]
        ratios = ", ".join(f"{times[k] / ours:.1f}x" for k in list(models)[1:])
        print(f"{n:>5} " + " ".join(f"{times[k]:>17.3f}s" for k in models) + f"   {ratios}")
    fitted = XGBEnsemble(num_members=5, num_trees=100, nthread=args.nthread).fit(features[:300], target[:300])
    predict_all = median_time(lambda: fitted.predict(features, return_std=True), args.repeats)
    predict_100 = median_time(lambda: fitted.predict(features[:100], return_std=True), args.repeats)
    print(f"predict all {features.shape[0]} archs (mean+std, 5x100 trees): {predict_all:.3f} s; "
          f"100 candidates: {predict_100 * 1e3:.1f} ms")  # fmt: skip
    if not args.skip_run:
        from functools import partial

        from naslab.evaluators.tabular import TabularEvaluator
        from naslab.runner import Budget, run_search
        from naslab.strategies.bananas import Bananas
        from naslab.strategies.evolution import RegularizedEvolution

        evaluator = TabularEvaluator(bench)
        budget = Budget(queries=300)
        bananas = median_time(
            lambda: run_search(partial(Bananas, nthread=args.nthread), evaluator, seed=0, budget=budget), 1
        )
        rea = median_time(lambda: run_search(RegularizedEvolution, evaluator, seed=0, budget=budget), 3)
        print(f"300-query run (default bananas config, 30 refits): bananas {bananas:.2f} s, "
              f"regularized evolution {rea:.3f} s ({bananas / rea:.0f}x)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
