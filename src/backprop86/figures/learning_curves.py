"""The learning curves: E per sweep for every configuration of the layered nets."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..experiments import Run
from ..tasks import TASKS
from . import Plan
from .style import PAPER, POSITIVE, WIDTH, log_ticks, plain_log_axis

TITLE = "Learning curves"
LABEL = "learning curves: E per sweep, every configuration"
CAPTION = """\
<strong>Learning curves.</strong> One panel per configuration, E per sweep (eq. 3): the median across seeds with the quartiles shaded
(a seed that stopped keeps its final error); &#9733; marks the paper's configuration of each experiment, the dashed line the paper's
sweep count ({% for e, n in f.paper_sweeps.items() %}{{ e }} {{ "{:,}".format(n) }}{% if not loop.last %}, {% endif %}{% endfor %}).
Family-tree E is eq. 3 with the margin, measured from the target; a configuration that trains on E measured from the margin's edge says so
in its panel; its curve is E from the target too, recorded beside the E it trains on.
Final medians, E from the target:
{% for p in f.panels %}{{ p.experiment }}/{{ p.configuration }} {{ "%.3g"|format(p.final_from_target_median) }}{% if p.trained_on == "from_edge" %} (its training E from the edge {{ "%.3g"|format(p.final_trained_median) }}){% endif %}, {{ p.seeds }} seeds{% if not loop.last %}; {% endif %}{% endfor %}.
"""


def plan(config: dict, settings: dict) -> Plan | None:
    """Every configuration of every experiment whose net is layered (not iterative)."""
    from ..config import configurations

    layered = [e for e, x in config["experiments"].items() if not TASKS[x["task"]].ITERATIVE]
    if not layered:
        return None
    paper_sweeps, paper = {}, {}
    for section, sweeps, main in (
        ("symmetry", "symmetry_sweeps", "configuration"),
        ("family_trees", "family_trees_sweeps", "main"),
    ):
        if settings[section] is not None:
            paper_sweeps[settings[section]["experiment"]] = settings["paper"][sweeps]
            paper[settings[section]["experiment"]] = (
                "paper" if section == "symmetry" else settings[section][main]
            )
    return Plan(
        runs=tuple((e, c) for e in layered for c in configurations(config, e)),
        params={"paper_sweeps": paper_sweeps, "paper": paper},
        config=(*(f"experiments.{e}" for e in layered), "report.paper"),
    )


def draw(plan: Plan, runs: dict, files: list) -> tuple[Figure, dict]:
    return learning_curves(runs, plan.params["paper_sweeps"], plan.params["paper"])


def curve_quantiles(run: Run, every: int = 1) -> pd.DataFrame:
    """Median and quartiles of E (from the target) per sweep across seeds; a seed that
    stopped keeps its final error (it had learned), so the quantiles are over every seed throughout."""
    err = pd.DataFrame(run.error_from_target().T).ffill().to_numpy()  # (sweeps+1, S), E from the target
    sweeps = np.arange(0, err.shape[0], every)
    if sweeps[-1] != err.shape[0] - 1:
        sweeps = np.append(sweeps, err.shape[0] - 1)
    q = np.quantile(err[sweeps], [0.25, 0.5, 0.75], axis=1)
    return pd.DataFrame({"sweep": sweeps, "q25": q[0], "median": q[1], "q75": q[2]})


def wrap_name(name: str, width: int = 20) -> str:
    """A configuration name broken after underscores into lines of at most ``width``
    characters (a longer part stays whole), so that it fits over a small panel."""
    lines = [""]
    for part in name.split("_"):
        piece = part if not lines[-1] else "_" + part
        if lines[-1] and len(lines[-1]) + len(piece) > width:
            lines[-1] += "_"
            lines.append(part)
        else:
            lines[-1] += piece
    return "\n".join(lines)


def learning_curves(
    runs: dict[tuple[str, str], Run], paper_sweeps: dict[str, int], paper: dict[str, str] | None = None
) -> tuple[Figure, dict]:
    """Small multiples of E per sweep: one row per experiment, one panel per
    configuration, each with its median across seeds and the quartiles shaded;
    the paper's configuration (``paper``: experiment -> configuration) marked and
    the paper's sweep count dashed. Every curve is E measured from the target (eq. 3
    with the margin), so the panels compare; a configuration that trains on E
    measured from the margin's edge says so in its panel."""
    paper = paper or {}
    experiments = list(dict.fromkeys(e for e, _ in runs))
    by_exp = {e: [c for x, c in runs if x == e] for e in experiments}
    cols = max(len(v) for v in by_exp.values())
    fig, axes = plt.subplots(
        len(experiments),
        cols,
        figsize=(WIDTH, 2.55 * len(experiments) + 0.2),
        squeeze=False,
        gridspec_kw=dict(
            hspace=1.0,
            wspace=0.32,
            left=0.07,
            right=0.99,
            top=0.85 if len(experiments) > 1 else 0.72,
            bottom=0.1,
        ),
    )
    panels = []
    for i, e in enumerate(experiments):
        row_axes = axes[i]
        for k in range(len(by_exp[e]), cols):
            row_axes[k].axis("off")
        errors = [runs[(e, c)].error_from_target() for c in by_exp[e]]
        lo = min(float(np.nanmin(np.where(err > 0, err, np.nan))) for err in errors)
        hi = max(float(np.nanmax(err)) for err in errors)
        for k, c in enumerate(by_exp[e]):
            panels.append(
                panel(row_axes[k], e, c, runs[(e, c)], paper.get(e) == c, paper_sweeps.get(e), (lo, hi))
            )
            if k == 0:
                row_axes[k].set_ylabel(f"{e}\nE (median, quartiles)")
    fig.suptitle(
        "E per sweep (eq. 3), median across seeds with quartiles shaded; "
        "\u2605 the paper's configuration, dashed the paper's sweep count",
        x=0.01,
        y=0.995,
        ha="left",
        va="top",
        fontsize=10,
    )
    return fig, {"panels": panels, "paper_sweeps": paper_sweeps}


def panel(ax, e: str, c: str, r: Run, is_paper: bool, paper_sweep: int | None, e_range) -> dict:
    """One configuration's panel of :func:`learning_curves`, E from ``e_range`` (its
    experiment's lowest and highest) on a log axis; what it shows, for the facts."""
    every = max(1, r.result.error.shape[1] // 800)
    q = curve_quantiles(r, every)
    colour = PAPER if is_paper else POSITIVE
    ax.fill_between(q.sweep, q.q25, q.q75, color=colour, alpha=0.25, lw=0)
    ax.plot(q.sweep, q["median"], color=colour, lw=1.6)
    measure = r.trained_on()
    tq = np.quantile(r.final_error_from_target(), [0.25, 0.5, 0.75])
    if paper_sweep is not None:
        ax.axvline(paper_sweep, color="0.2", ls="--", lw=1)
        ax.text(
            paper_sweep,
            0.97,
            f"paper: {paper_sweep:,} ",
            transform=ax.get_xaxis_transform(),
            rotation=90,
            ha="right",
            va="top",
            fontsize=8,
        )
    lo, hi = e_range
    bottom, top = max(lo, 1e-4) / 1.5, hi * 1.5
    plain_log_axis(ax, "y", log_ticks(bottom, top))
    ax.set_ylim(bottom, top)
    ax.set_xlim(0, max(q.sweep.iloc[-1], 1.08 * (paper_sweep or 0)))
    title = ("\u2605 " if is_paper else "") + wrap_name(c) + ("\nthe published settings" if is_paper else "")
    if measure == "from_edge":  # this curve is another E than its neighbours': said in its title
        title += "\ntrained on E from the\nmargin's edge; drawn:\nE from the target"
    ax.set_title(title, color=colour if is_paper else "black", fontsize=9, pad=4, linespacing=1.15)
    ax.set_xlabel("sweeps", labelpad=1)
    for side in ("left", "bottom"):
        ax.spines[side].set_linewidth(1.6 if is_paper else 0.8)
    return {
        "experiment": e,
        "configuration": c,
        "paper": is_paper,
        "seeds": len(r.seeds),
        "trained_on": measure,
        "drawn": "from_target",
        "final_median": float(q["median"].iloc[-1]),
        "final_from_target_median": float(tq[1]),
        "sweeps": int(q.sweep.iloc[-1]),
        "final_trained_median": float(np.median(r.summary().final_error)),
    }
