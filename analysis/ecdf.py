"""ECDF of the final test regret per strategy.

`python analysis/ecdf.py --help` says how; the work is done in naslab/analysis/ecdf.py.
"""

import sys

from naslab.analysis.ecdf import main

if __name__ == "__main__":
    sys.exit(main())
