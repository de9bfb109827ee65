"""One look for every figure: fonts, a fixed colour per strategy, PNG + PDF output.

A strategy keeps its colour in every figure of every sweep: known strategies have a
colour of their own (colour-blind-safe, Okabe-Ito and Tol palettes), and any other
name gets one from a spare palette chosen by a hash of the name, never by the order
in which strategies happen to appear.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from naslab.files import publish

STRATEGY_COLOURS = {
    "random": "#5f5f5f",
    "evolution": "#0072b2",
    "genetic": "#009e73",
    "local_search": "#e69f00",
    "reinforce": "#cc79a7",
    "reinforce_lstm": "#882255",
    "bananas": "#d55e00",
    "tpe": "#56b4e9",
    "optuna": "#88ccee",
    "gp_bo": "#332288",
    "successive_halving": "#999933",
    "hyperband": "#000000",
    "bohb": "#997700",
    "nsga2": "#aa4499",
    "optuna_nsga2": "#dd88bb",
    "surrogate_evolution": "#44aa99",
}
SPARE_COLOURS = ("#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#a6761d", "#1f78b4", "#b15928", "#6a3d9a")

RC = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 12,
    "legend.fontsize": 9.5,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "lines.linewidth": 1.8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "pdf.fonttype": 42,  # TrueType in the PDF: text stays editable in a paper's figure tools
    "svg.hashsalt": "naslab",
}


# with 8+ strategies colour alone blurs the weaker ones into one band: each strategy also
# gets a line style and a marker; 4 styles x 7 markers (coprime) give 28 distinct pairs
LINE_STYLES = ("-", "--", "-.", ":")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def _slot(name: str) -> int:
    known = list(STRATEGY_COLOURS)
    if name in known:
        return known.index(name)
    return len(known) + int(hashlib.sha256(name.encode()).hexdigest(), 16) % 1000


def strategy_colour(name: str) -> str:
    if name in STRATEGY_COLOURS:
        return STRATEGY_COLOURS[name]
    digest = int(hashlib.sha256(name.encode()).hexdigest(), 16)
    return SPARE_COLOURS[digest % len(SPARE_COLOURS)]


def strategy_style(name: str, points: int = 0) -> dict[str, Any]:
    """``plot`` keywords of a strategy: its colour, line style and marker (the same in every figure).

    Markers go on about 8 of ``points`` points, each strategy shifted, so they do not pile up.
    """
    slot = _slot(name)
    style: dict[str, Any] = {"color": strategy_colour(name), "linestyle": LINE_STYLES[slot % len(LINE_STYLES)],
                             "marker": MARKERS[slot % len(MARKERS)], "markersize": 4.5}
    if points > 8:
        step = max(1, points // 8)
        style["markevery"] = (slot * step // 7 % step, step)
    return style


def log_band(mean: Any, se: Any) -> tuple[Any, Any]:
    """A ± standard-error band drawn in log space: mean / exp(se / mean) .. mean * exp(se / mean).

    On a log axis ``mean - se`` is clipped at the floor and looks like huge uncertainty;
    se / mean is the standard error of log(mean) (delta method), so this band is the
    same width in log space as the linear band is in linear space, and always positive.
    """
    import numpy as np

    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.exp(np.asarray(se) / np.asarray(mean))
    return mean / factor, mean * factor


def pyplot() -> Any:
    """matplotlib.pyplot with a file-only backend and naslab's style (imported on first use)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(RC)
    return plt


def save_figure(fig: Any, out_dir: Path, stem: str, formats: tuple[str, ...] = ("png", "pdf")) -> list[Path]:
    """Write ``stem.png``, ``stem.pdf``... (each via a temporary file and a rename); close ``fig``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        target = out_dir / f"{stem}.{fmt}"
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=out_dir)
        os.close(fd)
        try:
            # no creation date: the same data gives the same PDF
            metadata = {"CreationDate": None} if fmt == "pdf" else {"Date": None} if fmt == "svg" \
                else {"Software": None}
            fig.savefig(tmp, format=fmt, metadata=metadata)
            publish(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(target)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return written


def log_axis(ax: Any, which: str) -> None:
    """Log-scale ``ax``'s x or y axis, labelled with plain numbers (0.5, 2, 10) rather than powers of ten.

    Call after plotting: over more than two decades only powers of ten are labelled.
    """
    import math

    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis = ax.xaxis if which == "x" else ax.yaxis
    low, high = ax.get_xlim() if which == "x" else ax.get_ylim()
    decades = math.log10(high / low) if low > 0 and high > low else 1.0
    axis.set_major_locator(LogLocator(base=10, subs=(1.0,) if decades > 2 else (1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def legend_below(fig: Any, axes: Any, ncol: int | None = None) -> None:
    """One legend for the whole figure, under the panels, without duplicate entries.

    The figure must use ``layout="constrained"``, which makes room for the legend.
    """
    handles, labels = [], []
    for ax in getattr(axes, "flat", [axes]):
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    if handles:
        fits = max(1, int(fig.get_figwidth() / 2.7))  # columns of ~20 characters that fit the width
        fig.legend(handles, labels, loc="outside lower center", ncol=ncol or min(len(labels), 5, fits),
                   frameon=False)
