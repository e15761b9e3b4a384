"""The project's drawing style and the helpers every figure shares.

Every figure is drawn in the project's style (``backprop86.mplstyle``: 100 dpi,
text of at least 8 pt = 11 px, Okabe & Ito's colour-blind-safe palette) at the
width the report shows it, :data:`WIDTH` inches; :func:`save` writes it with the
same bytes for the same input.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from .. import io

STYLE = Path(__file__).parent.parent / "backprop86.mplstyle"
plt.style.use(STYLE)
WIDTH = 10.8  # inches: 1,080 px at the style's 100 dpi, the report's column at 1366 px
# Okabe & Ito: the sign of a weight, the paper's values, the highlighted answer.
POSITIVE, NEGATIVE, PAPER = "#0072B2", "#D55E00", "#D55E00"
# The palette for labelled lines, without Okabe & Ito's yellow (unreadable as text on white).
LINE_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
# Same input, same bytes: stable SVG ids (in the style), no dates, no versions; and dots
# spread by `strip` (its own seeded generator) rather than by seaborn's strip plots, whose
# jitter draws from the global one.
SAVE = {
    "png": dict(metadata={"Software": None}),
    "svg": dict(metadata={"Date": None, "Creator": None}),
}


def strip(ax, groups: list[np.ndarray], width: float = 0.6, **style) -> None:
    """One column of dots per group (group k at x = k), spread sideways at random so that
    they don't overlap: a strip plot, deterministic and linear in the number of dots
    (a swarm plot of Fig. 1's thousands of dots takes minutes and still overflows)."""
    rng = np.random.default_rng(0)
    for k, values in enumerate(groups):
        values = np.asarray(values, dtype=float)
        ax.scatter(k + rng.uniform(-width / 2, width / 2, len(values)), values, s=9, lw=0, **style)
    ax.set_xlim(-0.6, len(groups) - 0.4)


def save(fig: Figure, facts: dict, out: Path) -> None:
    """Write ``fig`` to ``out`` (PNG or SVG, by suffix) and ``facts`` beside it as JSON.

    A PNG is drawn at the size the report shows it; the SVG beside it (same stem)
    is the full-resolution version a reader opens with a click. ``facts`` gains
    the drawn size in pixels (``width_px``, ``height_px``).
    """
    out = Path(out)
    kind = out.suffix.lstrip(".")
    if kind not in SAVE:
        raise ValueError(f"cannot write a figure as {out.name}: the suffix must be .png or .svg")
    out.parent.mkdir(parents=True, exist_ok=True)
    w, h = fig.get_size_inches() * fig.dpi
    facts = {**facts, "width_px": int(round(w)), "height_px": int(round(h))}
    fig.savefig(out, format=kind, **SAVE[kind])
    if kind == "png":
        fig.savefig(out.with_suffix(".svg"), format="svg", **SAVE["svg"])
    plt.close(fig)
    io.save_json(out.with_suffix(".json"), facts)


def plain_log_axis(ax, axis: str, ticks) -> None:
    """A log axis labelled with plain numbers (1, 2, 4; or 0.3, 1, 3), no minor ticks."""
    getattr(ax, f"set_{axis}scale")("log", base=2)
    a = getattr(ax, f"{axis}axis")
    a.set_major_locator(FixedLocator(ticks))
    a.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    a.set_minor_locator(NullLocator())


def log_ticks(bottom: float, top: float) -> list[float]:
    """Plain values for a log axis from ``bottom`` to ``top``: 1 and 3 in each decade, or
    finer steps where the range holds fewer than two of those."""
    for steps in ((1, 3), (1, 2, 5), (1, 1.5, 2, 3, 4, 5, 6, 8)):
        ticks = [v * 10.0**k for k in range(-6, 7) for v in steps if bottom <= v * 10.0**k <= top]
        if len(ticks) >= 2:
            return ticks
    return [float(f"{bottom:.2g}"), float(f"{top:.2g}")]
