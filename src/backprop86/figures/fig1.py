"""Fig. 1: the trained symmetry net, and over every solved seed, how close its
weights come to the paper's solution."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle

from ..claims import pick_seed, symmetry_solution
from ..experiments import Run
from . import Plan, config_section
from .style import NEGATIVE, PAPER, POSITIVE, WIDTH, plain_log_axis, strip

TITLE = "Fig. 1"
LABEL = "Fig. 1: the trained symmetry net"
CAPTION = """\
<strong>Fig. 1.</strong> The paper drew one trained 6-2-1 net that detects mirror symmetry: mirror weights equal and opposite
in the ratio {{ f.paper_ratios|join(":") }}, hidden biases negative, output bias positive. We draw {{ f.why }}, as the paper does: inputs at the bottom,
each weight written on its own arc, each bias inside its unit; blue positive, vermillion negative, line width growing with the weight's size.
Beside it, over all {{ f.solved_seeds }} of {{ f.seeds }} seeds that met <code>{{ f.criterion }}</code>: each hidden unit's antisymmetry
(median {{ num(f.median_antisymmetry, "%.3f") }}) and its three mirror-pair magnitudes from smallest to largest, over the smallest
(medians {{ num(f.median_ratio_middle) }} and {{ num(f.median_ratio_largest) }}; the paper's {{ f.paper_ratios[1:]|join(" and ") }} as bars). The paper's text gives no order{% if f.outward_increasing is not none %};
the magnitudes grow going outward in {{ "%.0f"|format(100 * f.outward_increasing) }}% of these units{% endif %}.
"""


def plan(config: dict, settings: dict) -> Plan | None:
    sym = settings["symmetry"]
    if sym is None:
        return None
    return Plan(
        runs=((sym["experiment"], sym["configuration"]),),
        params={
            "criterion": sym["criterion"],
            "seed_rule": sym["seed_rule"],
            "ratios": settings["paper"]["symmetry_ratios"],
        },
        config=(config_section(sym["experiment"], sym["configuration"]), "report.symmetry", "report.paper"),
    )


def draw(plan: Plan, runs: dict, files: list) -> tuple[Figure, dict]:
    (run,) = runs.values()
    p = plan.params
    return fig1(run, p["criterion"], p["seed_rule"], tuple(p["ratios"]))


# Where each layer sits (inputs at the bottom, as the paper draws it) and how far
# along its arc, from the lower unit, each hidden unit's weight labels go: the
# labels of different hidden units sit at different heights, so each is on its own arc.
FIG1_Y = {"in": 0.0, "hidden": 2.0, "out": 3.6}
FIG1_T = (0.22, 0.42, 0.32, 0.52)


def fig1_layout(run: Run, s: int) -> dict:
    """Positions, biases and weighted arcs of seed index ``s`` of a symmetry run:
    ``units`` name -> (x, y, bias or None), ``arcs`` list of (from, to, weight),
    ``labels`` list of (x, y, rotation in degrees, weight), one per arc, on it."""
    p = {k: v[s] for k, v in run.result.params.items()}
    W1, W2 = p["w:in->h1"], p["w:h1->out"]  # (n_in, H), (H, 1)
    n_in, H = W1.shape
    units = {f"x{i + 1}": (float(i), FIG1_Y["in"], None) for i in range(n_in)}
    mid = (n_in - 1) / 2
    spread = (n_in - 1) * 0.62
    for j in range(H):
        x = mid + (j - (H - 1) / 2) * (spread / max(H - 1, 1))
        units[f"h{j + 1}"] = (x, FIG1_Y["hidden"], float(p["b:h1"][j]))
    units["out"] = (mid, FIG1_Y["out"], float(p["b:out"][0]))
    arcs = [(f"x{i + 1}", f"h{j + 1}", float(W1[i, j])) for j in range(H) for i in range(n_in)]
    arcs += [(f"h{j + 1}", "out", float(W2[j, 0])) for j in range(H)]
    labels = []
    for a, b, w in arcs:
        (x0, y0, _), (x1, y1, _) = units[a], units[b]
        t = 0.5 if b == "out" else FIG1_T[(int(b[1:]) - 1) % len(FIG1_T)]
        angle = float(np.degrees(np.arctan2(y1 - y0, x1 - x0)))
        angle = angle - 180 if angle > 90 else angle + 180 if angle < -90 else angle
        labels.append((x0 + t * (x1 - x0), y0 + t * (y1 - y0), angle, w))
    return {"units": units, "arcs": arcs, "labels": labels}


def draw_net(ax, layout: dict) -> None:
    """Units as circles with their bias inside, every weight written on its own arc
    (Fig. 1); arcs and labels coloured by sign, line width growing with |w|."""
    units = layout["units"]
    for (a, b, w), (x, y, angle, _) in zip(layout["arcs"], layout["labels"]):
        (x0, y0, _), (x1, y1, _) = units[a], units[b]
        colour = POSITIVE if w >= 0 else NEGATIVE
        ax.plot([x0, x1], [y0, y1], color=colour, lw=0.6 + 0.15 * min(abs(w), 12), alpha=0.75, zorder=1)
        ax.text(
            x,
            y,
            f"{w:.1f}",
            fontsize=8,
            ha="center",
            va="center",
            rotation=angle,
            rotation_mode="anchor",
            color=colour,
            bbox=dict(fc="white", ec="none", pad=0.4),
            zorder=4,
        )
    for name, (x, y, bias) in units.items():
        r = 0.3
        ax.add_patch(Circle((x, y), r, fc="white", ec="black", lw=1.2, zorder=3))
        if bias is None:  # an input: its name below it
            ax.text(x, y - r - 0.12, name.replace("x", "input "), ha="center", va="top", fontsize=8)
            continue
        ax.text(
            x,
            y,
            f"{bias:.1f}",
            ha="center",
            va="center",
            fontsize=9,
            zorder=5,
            color=POSITIVE if bias >= 0 else NEGATIVE,
        )
        side = -1 if x < max(u[0] for u in units.values()) / 2 else 1
        label = "output" if name == "out" else f"hidden {name[1:]}"
        ax.text(
            x + side * (r + 0.12),
            y + 0.22,
            label,
            ha="left" if side > 0 else "right",
            va="bottom",
            fontsize=8,
            color="0.3",
        )
    ax.set_xlim(-0.6, max(x for x, _, _ in units.values()) + 0.6)
    ax.set_ylim(-0.75, FIG1_Y["out"] + 0.45)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.legend(
        handles=[
            Line2D([], [], color=POSITIVE, lw=2, label="positive weight or bias"),
            Line2D([], [], color=NEGATIVE, lw=2, label="negative weight or bias"),
        ],
        loc="upper left",
        bbox_to_anchor=(0.0, 1.0),
        fontsize=8,
    )


def fig1(run: Run, criterion: str, seed_rule: str, ratios: tuple) -> tuple[Figure, dict]:
    """Fig. 1: the trained symmetry net of the seed ``seed_rule`` picks, inputs at
    the bottom, and beside it, over every seed that met ``criterion``, the
    antisymmetry of each hidden unit's weights and its mirror-pair magnitudes
    from smallest to largest, over the smallest (the paper: 1:2:4, in an order
    the text does not give; the claims table judges them so), on plain log ticks;
    ``ratios``: the paper's (``report.paper.symmetry_ratios``), drawn as bars."""
    s, why = pick_seed(run, criterion, seed_rule)
    sol = symmetry_solution(run, criterion)
    layout = fig1_layout(run, s)
    fig = plt.figure(figsize=(WIDTH, 4.6))
    gs = fig.add_gridspec(
        1, 3, width_ratios=[2.6, 0.75, 1.1], wspace=0.5, left=0.01, right=0.99, bottom=0.1, top=0.85
    )
    ax = fig.add_subplot(gs[0])
    draw_net(ax, layout)
    ax.set_title(f"Seed {run.seeds[s]}: each weight on its arc, each bias inside its unit")
    a1, a2 = fig.add_subplot(gs[1]), fig.add_subplot(gs[2])
    n_solved = int(sol.seed.nunique()) if len(sol) else 0
    if len(sol):
        strip(a1, [sol.antisymmetry], color=POSITIVE, alpha=0.4)
        a1.set_xticks([])
        pair_ratios(a2, sol, ratios)
    else:
        for a in (a1, a2):
            a.text(0.5, 0.5, "no solved seeds", transform=a.transAxes, ha="center", va="center")
            a.set_xticks([])
    a1.set_ylim(-1.05, 1.05)
    a1.set_ylabel("-cos(w, mirror w)")
    a1.set_title(
        f"Antisymmetry (1: mirror\nweights equal, opposite),\n{2 * n_solved} units of {n_solved} solved seeds"
    )
    a2.set_xlabel("")
    a2.set_ylabel("pair magnitude ratio")
    a2.set_title(f"Mirror-pair magnitudes,\nsmallest to largest\n(paper {':'.join(map(str, ratios))})")
    facts = {
        "seed": int(run.seeds[s]),
        "why": why,
        "criterion": criterion,
        "seed_rule": seed_rule,
        "solved_seeds": n_solved,
        "seeds": len(run.seeds),
        "median_antisymmetry": float(sol.antisymmetry.median()) if len(sol) else None,
        "median_ratio_middle": float(sol.ratio_sorted_1.median()) if len(sol) else None,
        "median_ratio_largest": float(sol.ratio_sorted_2.median()) if len(sol) else None,
        "outward_increasing": float(sol.outward_increasing.mean()) if len(sol) else None,
        "paper_ratios": list(ratios),
        "layout": layout,
    }
    return fig, facts


def pair_ratios(ax, sol, ratios: tuple) -> None:
    """Each solved unit's mirror-pair magnitudes, smallest to largest, over the smallest;
    the paper's ratios as bars, on a log axis with plain ticks."""
    import seaborn as sns  # here, not at the top: the workflow imports every figure to plan it

    long = sol.melt(value_vars=["ratio_sorted_1", "ratio_sorted_2"], var_name="pair", value_name="ratio")
    long["pair"] = long.pair.map(
        {"ratio_sorted_1": "middle\n/ smallest", "ratio_sorted_2": "largest\n/ smallest"}
    )
    strip(ax, [sol.ratio_sorted_1, sol.ratio_sorted_2], color=POSITIVE, alpha=0.3)
    sns.boxplot(data=long, x="pair", y="ratio", ax=ax, showfliers=False, fill=False, color="0.2", width=0.5)
    targets = [r / ratios[0] for r in ratios[1:]]
    paper_label = f"the paper's {' and '.join(f'{t:g}' for t in targets)}"
    for k, target in enumerate(targets):
        ax.plot([k - 0.32, k + 0.32], [target, target], color=PAPER, lw=2.5, label=None if k else paper_label)
    ax.legend(loc="upper left")
    hi = max(8.0, float(long.ratio.max()) * 1.1)
    lo = min(0.5, float(long.ratio.min()) / 1.1)
    ticks = [2.0**k for k in range(int(np.floor(np.log2(lo))), int(np.ceil(np.log2(hi))) + 1)]
    plain_log_axis(ax, "y", ticks)
    ax.set_ylim(lo, hi)
