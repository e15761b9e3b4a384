"""Figs. 1-4 of the paper and the learning curves, regenerated from result files.

Every ``fig*`` function takes loaded runs (never trains), returns the matplotlib
figure and a dict of *facts* (the seed drawn, why, and the numbers a caption
quotes); :func:`save` writes both with the same bytes for the same input. The
data each drawing is made from is returned by a separate ``*_layout`` function,
so tests can check what is drawn against the saved nets.

Every figure is drawn in the project's style (``backprop86.mplstyle``: 100 dpi,
text of at least 8 pt = 11 px, Okabe & Ito's colour-blind-safe palette) at the
width the report shows it, :data:`WIDTH` inches.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Circle, Rectangle  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator  # noqa: E402

from . import io  # noqa: E402
from .claims import FEATURES, encoding_strengths, learned_seeds, person_features, pick_seed, symmetry_solution  # noqa: E402
from .experiments import Run  # noqa: E402
from .tasks import build_task  # noqa: E402
from .tasks.family_trees import RELATIONS, FamilyTrees  # noqa: E402

STYLE = Path(__file__).with_name("backprop86.mplstyle")
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


# --- Fig. 1: the symmetry net ---------------------------------------------------

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
        ax.text(x, y, f"{w:.1f}", fontsize=8, ha="center", va="center", rotation=angle, rotation_mode="anchor",
                color=colour, bbox=dict(fc="white", ec="none", pad=0.4), zorder=4)  # fmt: skip
    for name, (x, y, bias) in units.items():
        r = 0.3
        ax.add_patch(Circle((x, y), r, fc="white", ec="black", lw=1.2, zorder=3))
        if bias is None:  # an input: its name below it
            ax.text(x, y - r - 0.12, name.replace("x", "input "), ha="center", va="top", fontsize=8)
            continue
        ax.text(x, y, f"{bias:.1f}", ha="center", va="center", fontsize=9, zorder=5,
                color=POSITIVE if bias >= 0 else NEGATIVE)  # fmt: skip
        side = -1 if x < max(u[0] for u in units.values()) / 2 else 1
        label = "output" if name == "out" else f"hidden {name[1:]}"
        ax.text(x + side * (r + 0.12), y + 0.22, label, ha="left" if side > 0 else "right", va="bottom",
                fontsize=8, color="0.3")  # fmt: skip
    ax.set_xlim(-0.6, max(x for x, _, _ in units.values()) + 0.6)
    ax.set_ylim(-0.75, FIG1_Y["out"] + 0.45)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.legend(handles=[Line2D([], [], color=POSITIVE, lw=2, label="positive weight or bias"),
                       Line2D([], [], color=NEGATIVE, lw=2, label="negative weight or bias")],
              loc="upper left", bbox_to_anchor=(0.0, 1.0), fontsize=8)  # fmt: skip


def fig1(run: Run, criterion: str, seed_rule: str) -> tuple[Figure, dict]:
    """Fig. 1: the trained symmetry net of the seed ``seed_rule`` picks, inputs at
    the bottom, and beside it, over every seed that met ``criterion``, the
    antisymmetry of each hidden unit's weights and its mirror-pair magnitudes
    from smallest to largest, over the smallest (the paper: 1:2:4, in an order
    the text does not give; the claims table judges them so), on plain 1, 2, 4 ticks."""
    s, why = pick_seed(run, criterion, seed_rule)
    sol = symmetry_solution(run, criterion)
    layout = fig1_layout(run, s)
    fig = plt.figure(figsize=(WIDTH, 4.6))
    gs = fig.add_gridspec(1, 3, width_ratios=[2.6, 0.75, 1.1], wspace=0.5, left=0.01, right=0.99, bottom=0.1, top=0.85)  # fmt: skip
    ax = fig.add_subplot(gs[0])
    draw_net(ax, layout)
    ax.set_title(f"Seed {run.seeds[s]}: each weight on its arc, each bias inside its unit")
    a1, a2 = fig.add_subplot(gs[1]), fig.add_subplot(gs[2])
    n_solved = int(sol.seed.nunique()) if len(sol) else 0
    if len(sol):
        strip(a1, [sol.antisymmetry], color=POSITIVE, alpha=0.4)
        a1.set_xticks([])
        long = sol.melt(value_vars=["ratio_sorted_1", "ratio_sorted_2"], var_name="pair", value_name="ratio")
        long["pair"] = long.pair.map(
            {"ratio_sorted_1": "middle\n/ smallest", "ratio_sorted_2": "largest\n/ smallest"}
        )
        strip(a2, [sol.ratio_sorted_1, sol.ratio_sorted_2], color=POSITIVE, alpha=0.3)
        sns.boxplot(
            data=long, x="pair", y="ratio", ax=a2, showfliers=False, fill=False, color="0.2", width=0.5
        )
        for k, target in ((0, 2), (1, 4)):
            a2.plot([k - 0.32, k + 0.32], [target, target], color=PAPER, lw=2.5, label="the paper's 2 and 4" if k == 0 else None)  # fmt: skip
        a2.legend(loc="upper left")
        hi = max(8.0, float(long.ratio.max()) * 1.1)
        lo = min(0.5, float(long.ratio.min()) / 1.1)
        ticks = [2.0**k for k in range(int(np.floor(np.log2(lo))), int(np.ceil(np.log2(hi))) + 1)]
        plain_log_axis(a2, "y", ticks)
        a2.set_ylim(lo, hi)
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
    a2.set_title("Mirror-pair magnitudes,\nsmallest to largest\n(paper 1:2:4)")
    facts = {
        "seed": int(run.seeds[s]), "why": why, "criterion": criterion, "seed_rule": seed_rule,
        "solved_seeds": n_solved, "seeds": len(run.seeds),
        "median_antisymmetry": float(sol.antisymmetry.median()) if len(sol) else None,
        "median_ratio_middle": float(sol.ratio_sorted_1.median()) if len(sol) else None,
        "median_ratio_largest": float(sol.ratio_sorted_2.median()) if len(sol) else None,
        "outward_increasing": float(sol.outward_increasing.mean()) if len(sol) else None,
        "layout": layout,
    }  # fmt: skip
    return fig, facts


# --- Fig. 2: the family trees -----------------------------------------------------


def fig2_layout(ft: FamilyTrees | None = None) -> dict:
    """Where each person of each tree goes, from the marriages and children of the
    dataset: ``pos`` name -> (x, y), ``marriages`` [(a, b)], ``descents``
    [((father, mother), child)]. Generations are rows; the widest generation is
    spread evenly in the dataset's order, couples centred over their children,
    children spread under their parents."""
    ft = ft or FamilyTrees()
    gen: dict[str, int] = {}
    for _ in ft.names:  # settle generations (children one below parents, spouses alike)
        for n in ft.names:
            g = gen.get(ft.parents[n][0], 0) + 1 if n in ft.parents else gen.get(n, 0)
            sp = ft.spouses(n)
            if sp and sp[0] in ft.parents and n not in ft.parents:
                g = gen.get(sp[0], 0)
            gen[n] = g
    pos: dict[str, tuple[float, float]] = {}
    for k, nat in enumerate(("English", "Italian")):
        people = [p.name for p in ft.people if p.nationality == nat]
        rows = {g: [n for n in people if gen[n] == g] for g in sorted({gen[n] for n in people})}
        widest = max(rows, key=lambda g: len(rows[g]))
        x = {n: float(i) for i, n in enumerate(rows[widest])}
        for g in sorted(rows, reverse=True):  # above the widest: couples over their children
            if g < widest:
                for n in rows[g]:
                    if n in x:
                        continue
                    kids = [c for c in ft.children(n) if c in x]
                    centre = np.mean([x[c] for c in kids]) if kids else float(rows[g].index(n))
                    sp = ft.spouses(n)
                    x[n] = centre - 0.5
                    if sp:
                        x[sp[0]] = centre + 0.5
        for g in sorted(rows):  # below the widest: children spread under their parents
            if g > widest:
                for n in rows[g]:
                    father, mother = ft.parents[n]
                    sibs = [c for c in rows[g] if ft.parents.get(c) == (father, mother)]
                    centre = (x[father] + x[mother]) / 2
                    x[n] = centre + (sibs.index(n) - (len(sibs) - 1) / 2)
        for n in people:
            pos[n] = (x[n], -3.5 * k - 1.2 * gen[n])
    marriages = sorted({tuple(sorted((a, b), key=ft.names.index)) for a, b in ft.spouse.items()}, key=lambda m: ft.names.index(m[0]))  # fmt: skip
    descents = [(ft.parents[c], c) for c in ft.names if c in ft.parents]
    return {"pos": pos, "marriages": marriages, "descents": descents}


def check_family_dataset(path: Path) -> FamilyTrees:
    """The family trees, checked against the dataset file the workflow wrote
    (``person1,relation,person2`` rows), so Fig. 2 draws the facts trained on."""
    ft = FamilyTrees()
    rows = [
        tuple(r)
        for r in pd.read_csv(path, dtype=str)[["person1", "relation", "person2"]].itertuples(index=False)
    ]
    if sorted(rows) != sorted(ft.triples):
        raise ValueError(f"{path} does not hold the {len(ft.triples)} facts of the family trees; rebuild it")
    return ft


def fig2(ft: FamilyTrees | None = None) -> tuple[Figure, dict]:
    """Fig. 2: the two isomorphic family trees, drawn from the dataset
    (``=`` joins spouses, lines run from a couple to each child)."""
    ft = ft or FamilyTrees()
    lay = fig2_layout(ft)
    pos = lay["pos"]
    fig, ax = plt.subplots(figsize=(WIDTH, 6.4))
    for a, b in lay["marriages"]:
        (xa, y), (xb, _) = pos[a], pos[b]
        ax.plot([xa, xb], [y, y], color="black", lw=1)
        ax.text(
            (xa + xb) / 2,
            y,
            "=",
            ha="center",
            va="center",
            fontsize=12,
            bbox=dict(fc="white", ec="none", pad=0),
        )
    for (f, m), c in lay["descents"]:
        xm = (pos[f][0] + pos[m][0]) / 2
        y0, (xc, yc) = pos[f][1], pos[c]
        ax.plot([xm, xm, xc, xc], [y0, (y0 + yc) / 2, (y0 + yc) / 2, yc + 0.15], color="0.4", lw=0.8)
    for n, (x, y) in pos.items():
        ax.text(x, y, n, ha="center", va="center", fontsize=9,
                bbox=dict(boxstyle="round,pad=0.3", fc="#cde3f3" if ft.by_name[n].sex == "m" else "#f9dcc4", ec="0.3"))  # fmt: skip
    for k, nat in enumerate(("English", "Italian")):
        ax.text(
            min(x for x, _ in pos.values()) - 1.3, -3.5 * k - 1.2, nat, rotation=90, va="center", fontsize=11
        )
    ax.set_xlim(min(x for x, _ in pos.values()) - 1.6, max(x for x, _ in pos.values()) + 0.8)
    ax.axis("off")
    facts = {"people": len(ft.people), "marriages": len(lay["marriages"]), "children": len(lay["descents"]),
             "questions": len(ft.questions), "triples": len(ft.triples)}  # fmt: skip
    return fig, facts


# --- Fig. 3: the activity of every unit for one question ------------------------------

CELL = 0.3  # inches: one unit of Figs. 3 and 4 (30 px)
# The five layers, bottom to top: (group, rows, columns, x of its left edge, y of its
# bottom edge), in inches; person and relationship groups have English / the first
# six relationships in their top row.
FIG3_GROUPS = (
    ("person1", 2, 12, 1.2, 0.9), ("relation", 2, 6, 6.9, 0.9),
    ("person_code", 1, 6, 2.1, 2.5), ("relation_code", 1, 6, 6.9, 2.5),
    ("central", 1, 12, 3.45, 3.3), ("answer_code", 1, 6, 4.35, 4.1),
    ("person2", 2, 12, 3.45, 5.4),
)  # fmt: skip
FIG3_TITLES = {"person1": "person 1 (input)", "relation": "relationship (input)", "person_code": "person 1 code",
               "relation_code": "relationship code", "central": "central units", "answer_code": "person 2 code",
               "person2": "person 2 (output)"}  # fmt: skip


def fig3_activities(run: Run, s: int, person: str, relation: str) -> dict[str, np.ndarray]:
    """Every group's activity ``(n,)`` for seed index ``s`` and one question."""
    task = build_task(run.settings)
    c = FamilyTrees().question_index(person, relation)
    inputs = {k: v[c : c + 1] for k, v in task.inputs.items()}
    params = {k: v[s : s + 1] for k, v in run.result.params.items()}
    y = task.net.forward(params, inputs)
    return {g: np.asarray(v)[..., 0, :].reshape(-1) for g, v in y.items()}


def hinton_cells(ax, values: np.ndarray, x0: float, y0: float, cell: float, vmax: float, answers=()) -> None:
    """Squares of area proportional to |value| (white positive, black negative) on a
    grey ground, in a grid ``values (rows, cols)`` with top-left corner (x0, y0);
    the cells ``answers`` [(row, col)] outlined."""
    rows, cols = values.shape
    ax.add_patch(Rectangle((x0, y0 - rows * cell), cols * cell, rows * cell, fc="0.6", ec="0.3", lw=0.5))
    for r in range(rows):
        for k in range(cols):
            v = values[r, k]
            side = cell * 0.9 * np.sqrt(min(abs(v) / vmax, 1.0)) if vmax > 0 else 0.0
            cx, cy = x0 + (k + 0.5) * cell, y0 - (r + 0.5) * cell
            ax.add_patch(
                Rectangle((cx - side / 2, cy - side / 2), side, side, fc="white" if v >= 0 else "black", lw=0)
            )
            if (r, k) in answers:
                ax.add_patch(
                    Rectangle((x0 + k * cell, y0 - (r + 1) * cell), cell, cell, fill=False, ec=PAPER, lw=2.5)
                )


def column_names(ax, names, x0: float, y: float, cell: float, above: bool, bold=()) -> None:
    """``names`` written upright (rotated), one per column of cells from ``x0``, above or below ``y``."""
    for k, n in enumerate(names):
        ax.text(x0 + (k + 0.5) * cell, y + (0.06 if above else -0.06), n, rotation=90, ha="center",
                va="bottom" if above else "top", fontsize=8, color=PAPER if n in bold else "black",
                fontweight="bold" if n in bold else "normal")  # fmt: skip


def fig3_layout(ft: FamilyTrees | None = None) -> dict:
    """Where Fig. 3 draws each group and which name labels each cell:
    ``groups`` group -> (rows, cols, x0, y_top); ``names`` group -> [(row, col, name)]."""
    ft = ft or FamilyTrees()
    groups = {g: (r, c, x, y + r * CELL) for g, r, c, x, y in FIG3_GROUPS}
    names = {"person1": [], "person2": [], "relation": []}
    for g in ("person1", "person2"):
        names[g] = [(*divmod(k, 12), n) for k, n in enumerate(ft.names)]
    names["relation"] = [(*divmod(k, 6), n) for k, n in enumerate(RELATIONS)]
    return {"groups": groups, "names": names}


def fig3(run: Run, criterion: str, seed_rule: str, question: tuple[str, str]) -> tuple[Figure, dict]:
    """Fig. 3: the activity of every unit in all five layers for ``question``
    (white squares, area = activity), inputs at the bottom, output on top;
    English people in the top row and Italians below in the input and output
    groups, every cell named; the correct answers outlined."""
    s, why = pick_seed(run, criterion, seed_rule)
    person, relation = question
    act = fig3_activities(run, s, person, relation)
    ft = FamilyTrees()
    answers = sorted(ft.related(person, relation), key=ft.names.index)
    lay = fig3_layout(ft)
    H = 7.45
    fig = plt.figure(figsize=(WIDTH, H))
    ax = fig.add_axes((0, 0, 1, 1))
    for group, (rows, cols, x, top) in lay["groups"].items():
        v = act[group].reshape(rows, cols)
        marks = [divmod(ft.names.index(a), 12) for a in answers] if group == "person2" else []
        hinton_cells(ax, v, x, top, CELL, 1.0, marks)
        bottom = top - rows * CELL
        if group in lay["names"]:
            labels = lay["names"][group]
            bold = answers if group == "person2" else [person] if group == "person1" else [relation]
            column_names(ax, [n for r, _, n in labels if r == 0], x, top, CELL, True, bold)
            column_names(ax, [n for r, _, n in labels if r == 1], x, bottom, CELL, False, bold)
        if group in ("person1", "person2"):
            for r, nat in enumerate(("English", "Italian")):
                ax.text(x - 0.08, top - (r + 0.5) * CELL, nat, ha="right", va="center", fontsize=8)
        ax.text(
            x + cols * CELL + 0.12,
            (top + bottom) / 2,
            FIG3_TITLES[group],
            va="center",
            fontsize=9,
            color="0.25",
        )
    ax.text(0.15, H - 0.2, f"Input '{person} has-{relation}'; seed {run.seeds[s]}. White squares: activity (area).\n"
            f"Outlined: the correct answers, {' and '.join(answers)}.", va="top", fontsize=10)  # fmt: skip
    ax.set_xlim(0, WIDTH)
    ax.set_ylim(0, H)
    ax.axis("off")
    out = act["person2"]
    idx = {n: k for k, n in enumerate(ft.names)}
    facts = {
        "seed": int(run.seeds[s]), "why": why, "criterion": criterion, "seed_rule": seed_rule,
        "question": [person, relation], "answers": answers,
        "answer_activity": {a: float(out[idx[a]]) for a in answers},
        "largest_other_activity": float(max(out[k] for n, k in idx.items() if n not in answers)),
        "activities": {g: v.tolist() for g, v in act.items()},
        "names": lay["names"],
    }  # fmt: skip
    summary = run.summary()
    if "heldout_correct" in summary:  # how this seed generalises, beside every seed of its configuration
        right = summary.heldout_correct.to_numpy()
        facts.update(heldout_correct=int(right[s]), heldout_total=int(summary.heldout_total.iloc[s]),
                     seeds=len(right), seeds_as_good=int((right >= right[s]).sum()))  # fmt: skip
    return fig, facts


# --- Fig. 4: the person code -------------------------------------------------------------


def fig4_layout(run: Run, s: int) -> dict:
    """What Fig. 4 draws for seed index ``s``: ``cells`` [(unit, row, col, person,
    weight)], English in row 0 and Italians in row 1, in the dataset's (the paper's)
    order, so a column holds a person and their counterpart; ``units`` [(unit,
    feature or None, r)]: what each person-code unit encodes, matched as in the
    claims (:func:`backprop86.claims.encoding_strengths`), with the signed
    correlation of its 24 weights with that feature."""
    ft = FamilyTrees()
    W = run.result.params["w:person1->person_code"][s]  # (24, n_code)
    half = len(ft.names) // 2
    cells = [
        (u + 1, k // half, k % half, n, float(W[k, u]))
        for u in range(W.shape[1])
        for k, n in enumerate(ft.names)
    ]
    feats = person_features(ft).set_index("person").loc[ft.names]
    matched = {int(r.unit): r.feature for r in encoding_strengths(run, [s]).itertuples() if r.unit > 0}
    units = []
    for u in range(W.shape[1]):
        f = matched.get(u + 1)
        r = float(np.corrcoef(W[:, u], feats[f])[0, 1]) if f and np.std(W[:, u]) > 0 else None
        units.append((u + 1, f, r))
    return {"cells": cells, "units": units}


def fig4(run: Run, criterion: str, seed_rule: str) -> tuple[Figure, dict]:
    """Fig. 4: Hinton diagrams of the weights from the 24 person inputs to each of
    the 6 person-code units of one seed (white positive, black negative, area =
    magnitude; English top row, Italians below, names written once above and
    below), each unit labelled with what it encodes and its correlation; beside
    them, over every seed that learned (all seeds if none did), how strongly the
    best-matched unit encodes nationality, generation and branch."""
    s, why = pick_seed(run, criterion, seed_rule)
    lay = fig4_layout(run, s)
    W = run.result.params["w:person1->person_code"][s]  # (24, n_code)
    n_code = W.shape[1]
    ft = FamilyTrees()
    half = len(ft.names) // 2
    idx = learned_seeds(run, criterion)
    enc = encoding_strengths(run, idx if len(idx) else None)
    gap, top_names = 0.32, 0.95
    H = top_names * 2 + n_code * (2 * CELL + gap) + 0.2
    fig = plt.figure(figsize=(WIDTH, H))
    ax = fig.add_axes((0, 0, 0.62, 1))
    w_in = 0.62 * WIDTH
    vmax = float(np.abs(W).max())
    x0 = 0.95
    for u, feature, r in lay["units"]:
        top = H - top_names - (u - 1) * (2 * CELL + gap)
        hinton_cells(ax, W[:, u - 1].reshape(2, half), x0, top, CELL, vmax)
        ax.text(x0 - 0.1, top - CELL / 2, "English", ha="right", va="center", fontsize=8)
        ax.text(x0 - 0.1, top - 1.5 * CELL, "Italian", ha="right", va="center", fontsize=8)
        what = f"{feature}\nr = {r:+.2f}" if feature else "none of the three"
        ax.text(x0 + half * CELL + 0.12, top - CELL, f"unit {u}: {what}", va="center", fontsize=9)
        if u == 1:
            column_names(ax, ft.names[:half], x0, top, CELL, True)
        if u == n_code:
            column_names(ax, ft.names[half:], x0, top - 2 * CELL, CELL, False)
    ax.set_xlim(0, w_in)
    ax.set_ylim(0, H)
    ax.axis("off")
    a2 = fig.add_axes((0.7, 0.13, 0.29, 0.8))
    order = [*FEATURES, "isomorphism"]
    sns.boxplot(
        data=enc, x="feature", y="abs_r", ax=a2, order=order, showfliers=False, fill=False, color="0.2"
    )
    sns.swarmplot(data=enc, x="feature", y="abs_r", ax=a2, order=order, size=3, alpha=0.7, color=POSITIVE)
    a2.set_ylim(-0.05 if enc.abs_r.min() >= 0 else -1.05, 1.05)
    a2.set_xlabel("")
    a2.set_ylabel("|r| of the best-matched unit\n(isomorphism: r, English vs Italian weights)")
    a2.set_title(
        f"Over {len(idx) if len(idx) else len(run.seeds)} seeds{' that learned' if len(idx) else ''}"
    )
    a2.tick_params(axis="x", rotation=30)
    facts = {
        "seed": int(run.seeds[s]), "why": why, "criterion": criterion, "seed_rule": seed_rule,
        "seeds_measured": int(len(idx) if len(idx) else len(run.seeds)), "only_learned": bool(len(idx)),
        "median_abs_r": {f: float(enc[enc.feature == f].abs_r.median()) for f in order},
        "shown_units": {f: u for u, f, _ in lay["units"] if f},
        "unit_correlation": {f: r for _, f, r in lay["units"] if f},
        "order": ft.names,
        "weights": W.tolist(),
        "layout": lay,
    }  # fmt: skip
    return fig, facts


# --- learning curves ---------------------------------------------------------------


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
    fig, axes = plt.subplots(len(experiments), cols, figsize=(WIDTH, 2.55 * len(experiments) + 0.2),
                             squeeze=False, gridspec_kw=dict(hspace=1.0, wspace=0.32, left=0.07, right=0.99,
                                                             top=0.85 if len(experiments) > 1 else 0.72, bottom=0.1))  # fmt: skip
    panels = []
    for i, e in enumerate(experiments):
        row_axes = axes[i]
        for k in range(len(by_exp[e]), cols):
            row_axes[k].axis("off")
        errors = [runs[(e, c)].error_from_target() for c in by_exp[e]]
        lo = min(float(np.nanmin(np.where(err > 0, err, np.nan))) for err in errors)
        hi = max(float(np.nanmax(err)) for err in errors)
        for k, c in enumerate(by_exp[e]):
            ax, r = row_axes[k], runs[(e, c)]
            every = max(1, r.result.error.shape[1] // 800)
            q = curve_quantiles(r, every)
            is_paper = paper.get(e) == c
            colour = PAPER if is_paper else POSITIVE
            ax.fill_between(q.sweep, q.q25, q.q75, color=colour, alpha=0.25, lw=0)
            ax.plot(q.sweep, q["median"], color=colour, lw=1.6)
            measure = r.trained_on()
            tq = np.quantile(r.final_error_from_target(), [0.25, 0.5, 0.75])
            if e in paper_sweeps:
                ax.axvline(paper_sweeps[e], color="0.2", ls="--", lw=1)
                ax.text(paper_sweeps[e], 0.97, f"paper: {paper_sweeps[e]:,} ", transform=ax.get_xaxis_transform(),
                        rotation=90, ha="right", va="top", fontsize=8)  # fmt: skip
            bottom, top = max(lo, 1e-4) / 1.5, hi * 1.5
            plain_log_axis(ax, "y", log_ticks(bottom, top))
            ax.set_ylim(bottom, top)
            ax.set_xlim(0, max(q.sweep.iloc[-1], 1.08 * paper_sweeps.get(e, 0)))
            title = (
                ("\u2605 " if is_paper else "")
                + wrap_name(c)
                + ("\nthe published settings" if is_paper else "")
            )
            if measure == "from_edge":  # this curve is another E than its neighbours': said in its title
                title += "\ntrained on E from the\nmargin's edge; drawn:\nE from the target"
            ax.set_title(title, color=colour if is_paper else "black", fontsize=9, pad=4, linespacing=1.15)
            ax.set_xlabel("sweeps", labelpad=1)
            if k == 0:
                ax.set_ylabel(f"{e}\nE (median, quartiles)")
            for side in ("left", "bottom"):
                ax.spines[side].set_linewidth(1.6 if is_paper else 0.8)
            panels.append({
                "experiment": e, "configuration": c, "paper": is_paper, "seeds": len(r.seeds),
                "trained_on": measure, "drawn": "from_target", "final_median": float(q["median"].iloc[-1]),
                "final_from_target_median": float(tq[1]), "sweeps": int(q.sweep.iloc[-1]),
                "final_trained_median": float(np.median(r.summary().final_error)),
            })  # fmt: skip
    fig.suptitle("E per sweep (eq. 3), median across seeds with quartiles shaded; "
                 "\u2605 the paper's configuration, dashed the paper's sweep count", x=0.01, y=0.995, ha="left", va="top", fontsize=10)  # fmt: skip
    return fig, {"panels": panels, "paper_sweeps": paper_sweeps}


# --- the readings map ----------------------------------------------------------------


def readings_map_layout(table: pd.DataFrame, printed: dict | None) -> dict:
    """The heatmaps' grid from ``readings_map.csv``: rows are the combinations of
    the first two axes, columns those of the rest; every cell's values, and where
    the printed recipe's cell sits."""
    axes = [
        a
        for a in ("init_range", "epsilon_scale", "weight_decay", "margin_error", "decay_biases")
        if a in table
    ]
    row_axes, col_axes = axes[:2], axes[2:]
    key = lambda r, names: tuple(r[a] for a in names)  # noqa: E731
    rows = list(dict.fromkeys(key(r, row_axes) for _, r in table.iterrows()))
    cols = list(dict.fromkeys(key(r, col_axes) for _, r in table.iterrows()))
    learned = next(c for c in table.columns if c.startswith("learned_by_"))
    grids = {name: np.full((len(rows), len(cols)), np.nan) for name in (learned, "heldout_mean")}
    for _, r in table.iterrows():
        i, j = rows.index(key(r, row_axes)), cols.index(key(r, col_axes))
        for name in grids:
            grids[name][i, j] = r[name]
    at = None
    if printed is not None:
        at = [rows.index(key(printed, row_axes)), cols.index(key(printed, col_axes))]
    label = lambda names, v, sep: "\n".join(f"{a}{sep}{x}" for a, x in zip(names, v))  # noqa: E731
    return {"row_axes": row_axes, "col_axes": col_axes, "rows": [label(row_axes, r, " ") for r in rows],
            "cols": [label(col_axes, c, "\n") for c in cols], "learned": learned,
            "values": {k: v.tolist() for k, v in grids.items()}, "printed": at}  # fmt: skip


def readings_map_figure(
    table: pd.DataFrame, printed: dict | None, heldout_total: int, share: dict
) -> tuple[Figure, dict]:
    """Two heatmaps of the readings map, drawn from its table: the share of seeds
    that learned within the budget, and the mean held-out questions right (of
    ``heldout_total`` per seed); the printed recipe's cell outlined. A cell learns
    if its share reaches the verdict rule's ``share["reproduced"]`` (the config's
    ``report.verdicts.share``), as in the claims table."""
    layout = readings_map_layout(table, printed)
    n_rows, n_cols = len(layout["rows"]), len(layout["cols"])
    # inches under the maps: a line for the name and one for the value of each column axis
    below = 0.25 + 0.16 * 2 * len(layout["col_axes"])
    height = 0.9 + 0.62 * n_rows + below
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, height), gridspec_kw=dict(
        left=0.13, right=0.97, bottom=below / height, top=1 - 0.55 / height, wspace=0.25))  # fmt: skip
    panels = ((layout["learned"], "share of seeds that learned within " + layout["learned"].split("_")[-1] + " sweeps", 1.0),
              ("heldout_mean", f"held-out questions right (mean, of {heldout_total})", float(heldout_total)))  # fmt: skip
    for ax, (name, title, vmax) in zip(axes, panels):
        values = np.array(layout["values"][name])
        ax.imshow(values, cmap="cividis", vmin=0.0, vmax=vmax, aspect="auto")
        for i in range(n_rows):
            for j in range(n_cols):
                v = values[i, j]
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8,
                        color="black" if v > 0.6 * vmax else "white")  # fmt: skip
        if layout["printed"] is not None:
            i, j = layout["printed"]
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=PAPER, lw=2.5))
        ax.set_xticks(range(n_cols), layout["cols"], fontsize=8)  # each column: names and values on lines
        ax.set_yticks(range(n_rows), layout["rows"] if ax is axes[0] else [""] * n_rows, fontsize=8)
        ax.set_title(title, fontsize=9)
    fig.suptitle("The readings map: each cell one reading of the printed family-tree recipe; "
                 "outlined, the recipe as printed", x=0.01, ha="left", fontsize=10)  # fmt: skip
    learned = layout["learned"]
    facts = {"cells": len(table), "seeds": int(table.seeds.iloc[0]), "learned_column": learned,
             "learning_cells": int((table[learned] >= share["reproduced"]).sum()), "best_share": float(table[learned].max()),
             "best_heldout_mean": float(table.heldout_mean.max()), "heldout_total": heldout_total,
             "share_rule": dict(share), "layout": layout}  # fmt: skip
    if printed is not None:
        p = table.loc[(table[list(printed)] == pd.Series(printed)).all(axis=1)].iloc[0]
        facts["printed"] = {**printed, "share": float(p[learned]), "heldout_mean": float(p.heldout_mean),
                            "final_error_median": float(p.final_error_median)}  # fmt: skip
    return fig, facts
