"""Pareto fronts (accuracy vs cost) and hypervolume over queries.

`python analysis/pareto_fronts.py --help` says how; the work is done in naslab/analysis/pareto_fronts.py.
"""

import sys

from naslab.analysis.pareto_fronts import main

if __name__ == "__main__":
    sys.exit(main())
