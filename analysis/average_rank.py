"""Average rank of the strategies over time across benchmarks.

`python analysis/average_rank.py --help` says how; the work is done in naslab/analysis/average_rank.py.
"""

import sys

from naslab.analysis.average_rank import main

if __name__ == "__main__":
    sys.exit(main())
