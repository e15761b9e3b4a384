"""The claims of Figs. 2-4 (the family trees): learning, the held-out questions and the
person code, under the paper's recipe and every other reading, and the readings map;
their texts are ``templates/claims_family_trees.txt.j2``."""

from __future__ import annotations

import itertools
import math
from functools import partial

import numpy as np
import pandas as pd

from ..config import configurations, held_out_count, resolve
from ..experiments import Run
from ..tasks.family_trees import FamilyTrees
from .registry import ReportConfigError, claim, judged_by_share, learned_seeds, number, settings_diff

FEATURES = ("nationality", "generation", "branch")


def person_features(ft: FamilyTrees | None = None) -> pd.DataFrame:
    """Nationality, generation and branch of each of the 24 people, derived from the trees.

    Nationality: English +1, Italian -1. Generation: 0 for the oldest, one more
    per parent-child step; who married in takes their spouse's. Branch: +1 for
    the first founding couple (in the dataset's order) and its descendants, -1
    for the second, 0 for a descendant of both; who married in takes their spouse's.
    """
    ft = ft or FamilyTrees()
    gen: dict[str, int] = {}

    def generation(n: str) -> int:
        if n not in gen:
            if n in ft.parents:
                gen[n] = generation(ft.parents[n][0]) + 1
            elif ft.spouses(n) and ft.spouses(n)[0] in ft.parents:
                gen[n] = generation(ft.spouses(n)[0])
            else:
                gen[n] = 0
        return gen[n]

    def founders(n: str) -> frozenset[str]:
        """The founding couples (by their first member) ``n`` descends from."""
        if n in ft.parents:
            return founders(ft.parents[n][0]) | founders(ft.parents[n][1])
        sp = ft.spouses(n)
        if sp and sp[0] in ft.parents:
            return founders(sp[0])
        return frozenset([min([n, *sp], key=ft.names.index)])

    rows = []
    for p in ft.people:
        roots = founders(p.name)
        same = {f for q in ft.people if q.nationality == p.nationality for f in founders(q.name)}
        couples = [n for n in ft.names if n in same]
        branch = 0.0 if len(roots) > 1 else (1.0 if next(iter(roots)) == couples[0] else -1.0)
        nationality = 1.0 if p.nationality == "English" else -1.0
        rows.append(
            {
                "person": p.name,
                "nationality": nationality,
                "generation": float(generation(p.name)),
                "branch": branch,
            }
        )
    return pd.DataFrame(rows)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b / den) if den > 0 else 0.0


def encoding_strengths(run: Run, seeds: np.ndarray | None = None) -> pd.DataFrame:
    """For each seed (index into ``run``; default all), the person-code units that
    best encode nationality, generation and branch (Fig. 4).

    Every unit's 24 weights from the person inputs are correlated with each
    feature of :func:`person_features`; hidden units have no fixed order, so
    features are matched to distinct units by the assignment with the largest
    total |r|. Rows: seed, feature, unit (1-based), abs_r. Plus, per seed, the
    feature ``isomorphism``: over the units not matched to nationality, the mean
    correlation of each English person's weight with their Italian counterpart's.
    """
    feats = person_features()
    F = feats[list(FEATURES)].to_numpy()  # (24, 3)
    W = run.result.params["w:person1->person_code"]  # (S, 24, n_code)
    n_code = W.shape[2]
    rows = []
    for s in range(len(run.seeds)) if seeds is None else seeds:
        r = np.array([[abs(_corr(W[s, :, u], F[:, f])) for u in range(n_code)] for f in range(F.shape[1])])
        best = max(
            itertools.permutations(range(n_code), F.shape[1]),
            key=lambda p: sum(r[f, u] for f, u in enumerate(p)),
        )
        for f, u in enumerate(best):
            rows.append({"seed": int(run.seeds[s]), "feature": FEATURES[f], "unit": u + 1, "abs_r": r[f, u]})
        half = W.shape[1] // 2
        others = [u for u in range(n_code) if u != best[0]]
        iso = np.mean([_corr(W[s, :half, u], W[s, half:, u]) for u in others])
        rows.append({"seed": int(run.seeds[s]), "feature": "isomorphism", "unit": 0, "abs_r": float(iso)})
    return pd.DataFrame(rows, columns=["seed", "feature", "unit", "abs_r"])


def family_tree_runs(config: dict, settings: dict) -> list | None:
    """Every configuration of the family-tree experiment (``report.family_trees``)."""
    ft = settings["family_trees"]
    return None if ft is None else [(ft["experiment"], c) for c in configurations(config, ft["experiment"])]


def judged_runs(config: dict, settings: dict) -> list | None:
    """The published recipe (judged first) and the net Figs. 3 and 4 draw."""
    ft = settings["family_trees"]
    return None if ft is None else [(ft["experiment"], c) for c in dict.fromkeys([ft["main"], ft["trained"]])]


def reading(ctx, configuration: str) -> dict:
    """What every family-tree measurement says of its configuration: the row's key, and
    whether it is the main reading, the net of Figs. 3 and 4, and what it changes."""
    ft = ctx.settings["family_trees"]
    main = configuration == ft["main"]
    return {
        "configuration": configuration,
        "main": main,
        "trained": configuration == ft["trained"],
        "diff": settings_diff(ctx.config, ft["experiment"], configuration),
    }


def per_configuration(ctx):
    """Each family-tree configuration's reading and run."""
    ft = ctx.settings["family_trees"]
    for c in configurations(ctx.config, ft["experiment"]):
        yield {"key": c, **reading(ctx, c)}, ctx.runs[(ft["experiment"], c)]


@claim(
    "family_trees_learned",
    statement="the net learns all training questions in {{ p.family_trees_sweeps|fmt(',') }} sweeps (every "
    "output on the right side of 0.5), with {{ t.role }}",
    paper="learned in {{ p.family_trees_sweeps|fmt(',') }} sweeps (two runs)",
    where="Figs. 2-3 text",
    runs=family_tree_runs,
    **judged_by_share(),
)
def family_trees_learned(ctx):
    """Seeds that learned every training question within the paper's sweeps, and within their budget."""
    limit, criterion = ctx.settings["paper"]["family_trees_sweeps"], ctx.settings["family_trees"]["criterion"]
    for m, run in per_configuration(ctx):
        first = run.result.sweeps_to[criterion]
        yield {
            **m,
            "limit": limit,
            "budget": run.settings["max_sweeps"],
            "n": len(first),
            "k": len(learned_seeds(run, criterion, limit)),
            "k_all": len(learned_seeds(run, criterion)),
            "sweeps": first[first >= 0],
            "final_error": run.final_error_from_target(),
            "trained_error": run.summary().final_error if run.trained_on() == "from_edge" else None,
        }


def heldout(ctx):
    """Each configuration's held-out questions right, per seed."""
    for m, run in per_configuration(ctx):
        s = run.summary()
        total = int(s.heldout_total.max()) if len(s) else 0
        yield {**m, "n": len(s), "total": total, "right": s.heldout_correct.to_numpy()}


def within_held_out(config: dict, settings: dict, rule: dict, where: str) -> None:
    """The rule asks for no more questions than the judged configurations hold out."""
    ft = settings["family_trees"]
    if ft is not None:
        total = min(held_out_count(resolve(config, ft["experiment"], c)) for c in (ft["main"], ft["trained"]))
        if rule["heldout_at_least"] > total:
            raise ReportConfigError(
                f"{where}.heldout_at_least: {rule['heldout_at_least']} is more than the "
                f"{total} questions {ft['experiment']} holds out per seed"
            )


@claim(
    "family_trees_heldout",
    statement="the trained net answers the held-out questions: {{ t.paper_runs }} in the paper's two runs, "
    "with {{ t.role }}",
    paper="{{ t.paper_runs }}",
    where="Fig. 3 text",
    runs=family_tree_runs,
    check=within_held_out,
    **judged_by_share(
        heldout_at_least=number(
            3, high=103, type="integer", description="held-out questions a seed must answer"
        )
    ),
)
def family_trees_heldout(ctx):
    """How many seeds answer how many held-out questions; seeds with at least the rule's."""
    for m in heldout(ctx):
        yield {**m, "k": int((m["right"] >= ctx.rule["heldout_at_least"]).sum())}


@claim(
    "family_trees_generalizes",
    statement="the net generalizes correctly to the {{ m.total }} triples on which it was not trained, "
    "with {{ t.role }}",
    paper="{{ p.heldout_correct[0] }}/{{ m.total }} (the first run)",
    where="Fig. 3 text",
    runs=family_tree_runs,
    **judged_by_share(),
)
def family_trees_generalizes(ctx):
    """Seeds that answer every held-out question."""
    for m in heldout(ctx):
        yield {**m, "k": int((m["right"] == m["total"]).sum()) if m["total"] else 0}


def person_code(feature: str, what: str) -> None:
    """Register the claim that a person-code unit encodes ``feature`` (Fig. 4)."""

    @claim(
        f"person_code_{feature}",
        statement=f"a person-code unit encodes {what}",
        paper="shown (Fig. 4)",
        where="Fig. 4",
        runs=judged_runs,
        **judged_by_share(correlation_at_least=number(0.7)),
    )
    def measure(ctx):
        """The feature's best-matched unit's |r| per seed that learned (all, if none did),
        judged on the published recipe first, then on the net of Figs. 3 and 4."""
        ft = ctx.settings["family_trees"]
        for c in dict.fromkeys([ft["main"], ft["trained"]]):
            run = ctx.runs[(ft["experiment"], c)]
            idx = learned_seeds(run, ft["criterion"])
            enc = ctx.once(
                ("encoding_strengths", c), partial(encoding_strengths, run, idx if len(idx) else None)
            )
            x = enc[enc.feature == feature].abs_r.to_numpy()
            m = reading(ctx, c)
            yield {
                **m,
                "key": None if m["main"] else c,
                "feature": feature,
                "learned": len(idx),
                "seeds": len(run.seeds),
                "values": x,
                "n": len(x),
                "k": int((x >= ctx.rule["correlation_at_least"]).sum()),
            }


for _feature, _what in (
    ("nationality", "English from Italian (the paper's unit 1)"),
    ("generation", "the generation (unit 2)"),
    ("branch", "the branch of the family (unit 6)"),
    (
        "isomorphism",
        "the same code for an English person and their Italian counterpart in the units that do "
        "not encode nationality: the net uses the isomorphism",
    ),
):
    person_code(_feature, _what)


def map_runs(config: dict, settings: dict) -> list | None:
    """The readings map reads its own table, where the config has a map."""
    return [] if "readings_map" in config else None


@claim(
    "readings_map",
    statement="the net learns all training questions in {{ m.budget|fmt(',') }} sweeps: the readings map, "
    "{{ m.cells }} cells around the printed recipe",
    paper="learned in {{ m.budget|fmt(',') }} sweeps (two runs)",
    where="Figs. 2-3 text",
    runs=map_runs,
    tables=["readings_map"],
    of="family_trees_learned",
    **judged_by_share(),
)
def readings_map(ctx):
    """Whether the printed cell of the readings map learns, and the nearest cell that does
    (fewest settings changed, then the largest share learned), with what it changes."""
    from ..readings_map import AXES, cells, map_settings, printed_cell

    rm, table = map_settings(ctx.config), ctx.tables["readings_map"]
    learned = f"learned_by_{rm['max_sweeps']}"
    grid, printed = cells(ctx.config), printed_cell(ctx.config)
    axes = [a for a in AXES if a in table]
    base = grid[printed] if printed is not None else None

    def changes(row) -> list[str]:
        changed = [a for a in axes if base is not None and row[a] != base[a]]
        return [
            f"{a} {base[a]} -> {row[a]}" if isinstance(row[a], str) else f"{a} {base[a]:g} -> {row[a]:g}"
            for a in changed
        ]

    table = table.assign(cell=list(grid))
    table["changes"] = [changes(r) for _, r in table.iterrows()]
    learns = table[table[learned] >= ctx.rule["share"]["reproduced"]]
    m = {
        "main": False,
        "budget": rm["max_sweeps"],
        "cells": len(table),
        "learns": len(learns),
        "axes": axes,
        "at": rm["heldout_at_least"],
        "k": 0,
        "n": 0,
        "printed": None,
        "near": None,
        "best": None,
    }
    if base is not None:
        p = table[table.cell == printed].iloc[0]
        m.update(n=int(p.seeds), k=int(round(p[learned] * int(p.seeds))), printed=p)
    if len(learns):
        by = ["distance", learned, "heldout_mean"]
        near = learns.assign(distance=learns.changes.map(len))
        m["near"] = near.sort_values(by, ascending=[True, False, False], kind="stable").iloc[0]
    else:
        m["best"] = table.sort_values([learned, "heldout_mean"], ascending=False, kind="stable").iloc[0]
    yield {**m, "learned": learned}
