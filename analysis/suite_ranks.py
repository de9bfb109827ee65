"""Average rank of each strategy over a benchmark suite, with a 95 % bootstrap interval.

`python analysis/suite_ranks.py --help` says how; the work is done in naslab/analysis/suite_ranks.py.
"""

import sys

from naslab.analysis.suite_ranks import main

if __name__ == "__main__":
    sys.exit(main())
