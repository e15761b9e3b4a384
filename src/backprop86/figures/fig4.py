"""Fig. 4: the person code, the weights from the 24 people to the person-code units."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..claims import FEATURES, encoding_strengths, learned_seeds, person_features, pick_seed
from ..experiments import Run
from ..tasks.family_trees import FamilyTrees
from . import Plan, config_section
from .fig3 import CELL, column_names, hinton_cells
from .style import POSITIVE, WIDTH

TITLE = "Fig. 4"
LABEL = "Fig. 4: the person code"
CAPTION = """\
<strong>Fig. 4.</strong> The paper's Hinton diagrams of the weights from the 24 people to the 6 person-code units:
unit 1 separates English from Italian, unit 2 encodes generation, unit 6 the branch, and the other units give counterparts similar codes.
Left: the same net as Fig. 3 ({{ f.why }}); white positive, black negative, area = magnitude. Each unit has the English people in its
top row and the Italians below, in the order of the paper's text ({{ f.order[:12]|join(", ") }}; {{ f.order[12:]|join(", ") }}),
so each column holds a person and their counterpart.
Each unit is labelled with the feature it is matched to and the correlation of its 24 weights with it
({% for k, v in f.unit_correlation.items() %}{{ k }}: unit {{ f.shown_units[k] }}, r = {{ "%+.2f"|format(v) }}{% if not loop.last %}; {% endif %}{% endfor %}).
Right: over {{ f.seeds_measured }} seeds{% if f.only_learned %} that learned{% endif %}, the absolute correlation of the best-matched unit's weights with each feature
(medians: {% for k, v in f.median_abs_r.items() %}{{ k }} {{ "%.2f"|format(v) }}{% if not loop.last %}, {% endif %}{% endfor %}); units are matched to features by the best total.
"""


def plan(config: dict, settings: dict) -> Plan | None:
    ft = settings["family_trees"]
    if ft is None:
        return None
    return Plan(
        runs=((ft["experiment"], ft["trained"]),),
        params={"criterion": ft["criterion"], "seed_rule": ft["seed_rule"]},
        config=(config_section(ft["experiment"], ft["trained"]), "report.family_trees"),
    )


def draw(plan: Plan, runs: dict, files: list) -> tuple[Figure, dict]:
    (run,) = runs.values()
    return fig4(run, plan.params["criterion"], plan.params["seed_rule"])


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
    order = [*FEATURES, "isomorphism"]
    encodings(fig.add_axes((0.7, 0.13, 0.29, 0.8)), enc, order, len(idx) or len(run.seeds), bool(len(idx)))
    facts = {
        "seed": int(run.seeds[s]),
        "why": why,
        "criterion": criterion,
        "seed_rule": seed_rule,
        "seeds_measured": int(len(idx) if len(idx) else len(run.seeds)),
        "only_learned": bool(len(idx)),
        "median_abs_r": {f: float(enc[enc.feature == f].abs_r.median()) for f in order},
        "shown_units": {f: u for u, f, _ in lay["units"] if f},
        "unit_correlation": {f: r for _, f, r in lay["units"] if f},
        "order": ft.names,
        "weights": W.tolist(),
        "layout": lay,
    }
    return fig, facts


def encodings(ax, enc, order: list[str], n: int, only_learned: bool) -> None:
    """Over ``n`` seeds, how strongly the best-matched unit encodes each feature."""
    import seaborn as sns  # here, not at the top: the workflow imports every figure to plan it

    sns.boxplot(
        data=enc, x="feature", y="abs_r", ax=ax, order=order, showfliers=False, fill=False, color="0.2"
    )
    sns.swarmplot(data=enc, x="feature", y="abs_r", ax=ax, order=order, size=3, alpha=0.7, color=POSITIVE)
    ax.set_ylim(-0.05 if enc.abs_r.min() >= 0 else -1.05, 1.05)
    ax.set_xlabel("")
    ax.set_ylabel("|r| of the best-matched unit\n(isomorphism: r, English vs Italian weights)")
    ax.set_title(f"Over {n} seeds{' that learned' if only_learned else ''}")
    ax.tick_params(axis="x", rotation=30)
