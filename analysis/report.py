"""Every analysis at once into one folder.

`python analysis/report.py --help` says how; the work is done in naslab/analysis/report.py.
"""

import sys

from naslab.analysis.report import main

if __name__ == "__main__":
    sys.exit(main())
