"""Fig. 2: the two isomorphic family trees, drawn from the dataset the nets train on."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..paths import dataset
from ..tasks.family_trees import FamilyTrees
from . import Plan
from .style import WIDTH

TITLE = "Fig. 2"
LABEL = "Fig. 2: the two family trees"
CAPTION = """\
<strong>Fig. 2.</strong> The paper's two isomorphic family trees. Drawn here from the dataset itself:
{{ f.people }} people, {{ f.marriages }} marriages ("="), {{ f.children }} children; they give {{ f.questions }} questions
(person 1, relationship) and {{ f.triples }} facts.
"""


def plan(config: dict, settings: dict) -> Plan | None:
    ft = settings["family_trees"]
    if ft is None:
        return None
    exp = ft["experiment"]
    return Plan(
        files=(dataset(config["experiments"][exp]["task"]),),
        config=(f"experiments.{exp}.task",),
        shows=((exp, ft["main"]),),
    )


def draw(plan: Plan, runs: dict, files: list) -> tuple[Figure, dict]:
    return fig2(check_family_dataset(files[0]))


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
    marriages = sorted(
        {tuple(sorted((a, b), key=ft.names.index)) for a, b in ft.spouse.items()},
        key=lambda m: ft.names.index(m[0]),
    )
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
        ax.text(
            x,
            y,
            n,
            ha="center",
            va="center",
            fontsize=9,
            bbox=dict(
                boxstyle="round,pad=0.3", fc="#cde3f3" if ft.by_name[n].sex == "m" else "#f9dcc4", ec="0.3"
            ),
        )
    for k, nat in enumerate(("English", "Italian")):
        ax.text(
            min(x for x, _ in pos.values()) - 1.3, -3.5 * k - 1.2, nat, rotation=90, va="center", fontsize=11
        )
    ax.set_xlim(min(x for x, _ in pos.values()) - 1.6, max(x for x, _ in pos.values()) + 0.8)
    ax.axis("off")
    facts = {
        "people": len(ft.people),
        "marriages": len(lay["marriages"]),
        "children": len(lay["descents"]),
        "questions": len(ft.questions),
        "triples": len(ft.triples),
    }
    return fig, facts
