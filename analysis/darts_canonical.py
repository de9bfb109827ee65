"""How much the DARTS space's canonical key merges, on uniform random samples.

    python analysis/darts_canonical.py [--samples 10000] [--seed 0]

Prints, over ``--samples`` uniformly drawn architectures: how many distinct keys they have
(random draws from ~1e18 almost never share one), the mean and largest class size (how
many decision vectors share an architecture's key: the renamings of its intermediate
nodes, :meth:`DartsSpace.class_size`), the fraction of samples that are not their class's
representative (key differs from their own string), and the estimated number of classes
in the whole space (size x mean of 1 / class size, an unbiased estimate under uniform
sampling).
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from naslab.spaces import get_space


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    space = get_space("darts")
    rng = np.random.default_rng(args.seed)
    archs = [space.sample(rng) for _ in range(args.samples)]
    keys = [space.canonical(a) for a in archs]
    sizes = np.array([space.class_size(a) for a in archs], dtype=np.float64)
    moved = np.mean([key != space.to_string(a) for key, a in zip(keys, archs)])
    print(json.dumps({
        "samples": args.samples,
        "distinct_keys": len(set(keys)),
        "mean_class_size": round(float(sizes.mean()), 2),
        "median_class_size": float(np.median(sizes)),
        "max_class_size": int(sizes.max()),
        "fraction_not_representative": round(float(moved), 4),
        "space_size": f"{space.size:.4g}",
        "estimated_classes": f"{space.size * float(np.mean(1.0 / sizes)):.4g}",
    }))


if __name__ == "__main__":
    main()
