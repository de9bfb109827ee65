"""Anytime curves: incumbent regret and accuracy vs queries and simulated time.

`python analysis/anytime.py --help` says how; the work is done in naslab/analysis/anytime.py.
"""

import sys

from naslab.analysis.anytime import main

if __name__ == "__main__":
    sys.exit(main())
