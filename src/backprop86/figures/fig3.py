"""Fig. 3: the activity of every unit of a trained family-tree net for one question."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..claims import pick_seed
from ..experiments import Run
from ..tasks import build_task
from ..tasks.family_trees import RELATIONS, FamilyTrees
from . import Plan, config_section
from .style import PAPER, WIDTH

TITLE = "Fig. 3"
LABEL = "Fig. 3: every unit's activity for one question"
CAPTION = """\
<strong>Fig. 3.</strong> The paper showed the activity of every unit of its trained net for "Colin has-aunt", both aunts on.
We show "{{ f.question[0] }} has-{{ f.question[1] }}" in configuration <code>{{ readings.trained }}</code>, {{ f.why }}.
Inputs at the bottom, output on top; white squares, area = activity; English people in the top row and Italians below, in the input
and output groups, each cell named. The answers ({{ f.answers|join(", ") }}) are outlined; their activities
{% for a, v in f.answer_activity.items() %}{{ a }} {{ "%.2f"|format(v) }}{% if not loop.last %}, {% endif %}{% endfor %},
the largest other output {{ "%.2f"|format(f.largest_other_activity) }}.
{% if f.heldout_correct is defined %}This seed answers {{ f.heldout_correct }} of its {{ f.heldout_total }} held-out questions;
{{ f.seeds_as_good }} of the configuration's {{ f.seeds }} seeds answer as many or more.{% endif %}
"""


def plan(config: dict, settings: dict) -> Plan | None:
    ft = settings["family_trees"]
    if ft is None:
        return None
    return Plan(
        runs=((ft["experiment"], ft["trained"]),),
        params={"criterion": ft["criterion"], "seed_rule": ft["seed_rule"], "question": list(ft["question"])},
        config=(config_section(ft["experiment"], ft["trained"]), "report.family_trees"),
    )


def draw(plan: Plan, runs: dict, files: list) -> tuple[Figure, dict]:
    (run,) = runs.values()
    p = plan.params
    return fig3(run, p["criterion"], p["seed_rule"], tuple(p["question"]))


CELL = 0.3  # inches: one unit of Figs. 3 and 4 (30 px)
# The five layers, bottom to top: (group, rows, columns, x of its left edge, y of its
# bottom edge), in inches; person and relationship groups have English / the first
# six relationships in their top row.
FIG3_GROUPS = (
    ("person1", 2, 12, 1.2, 0.9),
    ("relation", 2, 6, 6.9, 0.9),
    ("person_code", 1, 6, 2.1, 2.5),
    ("relation_code", 1, 6, 6.9, 2.5),
    ("central", 1, 12, 3.45, 3.3),
    ("answer_code", 1, 6, 4.35, 4.1),
    ("person2", 2, 12, 3.45, 5.4),
)
FIG3_TITLES = {
    "person1": "person 1 (input)",
    "relation": "relationship (input)",
    "person_code": "person 1 code",
    "relation_code": "relationship code",
    "central": "central units",
    "answer_code": "person 2 code",
    "person2": "person 2 (output)",
}


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
        ax.text(
            x0 + (k + 0.5) * cell,
            y + (0.06 if above else -0.06),
            n,
            rotation=90,
            ha="center",
            va="bottom" if above else "top",
            fontsize=8,
            color=PAPER if n in bold else "black",
            fontweight="bold" if n in bold else "normal",
        )


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
    for group, place in lay["groups"].items():
        bold = answers if group == "person2" else [person] if group == "person1" else [relation]
        draw_group(ax, group, place, act[group], lay["names"].get(group), bold, ft)
    ax.text(
        0.15,
        H - 0.2,
        f"Input '{person} has-{relation}'; seed {run.seeds[s]}. White squares: activity (area).\n"
        f"Outlined: the correct answers, {' and '.join(answers)}.",
        va="top",
        fontsize=10,
    )
    ax.set_xlim(0, WIDTH)
    ax.set_ylim(0, H)
    ax.axis("off")
    out = act["person2"]
    idx = {n: k for k, n in enumerate(ft.names)}
    facts = {
        "seed": int(run.seeds[s]),
        "why": why,
        "criterion": criterion,
        "seed_rule": seed_rule,
        "question": [person, relation],
        "answers": answers,
        "answer_activity": {a: float(out[idx[a]]) for a in answers},
        "largest_other_activity": float(max(out[k] for n, k in idx.items() if n not in answers)),
        "activities": {g: v.tolist() for g, v in act.items()},
        "names": lay["names"],
    }
    summary = run.summary()
    if "heldout_correct" in summary:  # how this seed generalises, beside every seed of its configuration
        right = summary.heldout_correct.to_numpy()
        facts.update(
            heldout_correct=int(right[s]),
            heldout_total=int(summary.heldout_total.iloc[s]),
            seeds=len(right),
            seeds_as_good=int((right >= right[s]).sum()),
        )
    return fig, facts


def draw_group(ax, group: str, place: tuple, activity, labels, bold: list, ft: FamilyTrees) -> None:
    """One group of Fig. 3: its units' activities as white squares, named (``labels``:
    (row, column, name) per cell, or None), ``bold`` names in bold and, in the output
    group, outlined; English and Italian rows marked; its title beside it."""
    rows, cols, x, top = place
    marks = [divmod(ft.names.index(a), 12) for a in bold] if group == "person2" else []
    hinton_cells(ax, activity.reshape(rows, cols), x, top, CELL, 1.0, marks)
    bottom = top - rows * CELL
    if labels is not None:
        column_names(ax, [n for r, _, n in labels if r == 0], x, top, CELL, True, bold)
        column_names(ax, [n for r, _, n in labels if r == 1], x, bottom, CELL, False, bold)
    if group in ("person1", "person2"):
        for r, nat in enumerate(("English", "Italian")):
            ax.text(x - 0.08, top - (r + 0.5) * CELL, nat, ha="right", va="center", fontsize=8)
    ax.text(
        x + cols * CELL + 0.12, (top + bottom) / 2, FIG3_TITLES[group], va="center", fontsize=9, color="0.25"
    )
