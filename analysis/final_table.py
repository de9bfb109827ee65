"""Final table: mean ± std of final test accuracy and regret per strategy and benchmark (Markdown + LaTeX).

`python analysis/final_table.py --help` says how; the work is done in naslab/analysis/final_table.py.
"""

import sys

from naslab.analysis.final_table import main

if __name__ == "__main__":
    sys.exit(main())
