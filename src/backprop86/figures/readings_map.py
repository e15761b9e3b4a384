"""The readings map's figure: how far from the printed family-tree recipe learning begins."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..paths import READINGS_MAP_TABLE
from . import Plan
from .style import PAPER, WIDTH

TITLE = "The readings map"
LABEL = "the readings map: how far from the printed family-tree recipe learning begins"
CAPTION = """\
<strong>The readings map.</strong> {{ f.cells }} readings of the printed family-tree recipe, each trained over {{ f.seeds }} seeds with everything
else as printed: left, the share of seeds whose every training output is on the right side of 0.5 within the budget; right, the mean
held-out questions right; the printed recipe's cell outlined.
{% if f.printed is defined %}As printed, the recipe learned in {{ "%.0f"|format(100 * f.printed.share) }}% of the seeds (median E from the target
{{ "%.3g"|format(f.printed.final_error_median) }}), and {{ f.learning_cells }} of the {{ f.cells }} cells learn in at least {{ "%.0f"|format(100 * f.share_rule.reproduced) }}% of theirs
(the best {{ "%.0f"|format(100 * f.best_share) }}%, the best held-out mean {{ "%.2f"|format(f.best_heldout_mean) }} of {{ f.heldout_total }}):
{% if f.printed.share < f.share_rule.partly %}the published run, which learned, is not what the printed settings give here; the claims table names the nearest
reading that learns{% else %}the printed settings learn here as the published run did{% endif %}.{% endif %}
"""


def plan(config: dict, settings: dict) -> Plan | None:
    """The map's table; its MLflow run is the map's own parent (logged with the map)."""
    from ..config import held_out_count
    from ..readings_map import cell_settings, cells, printed_cell

    if "readings_map" not in config:
        return None
    grid, printed = cells(config), printed_cell(config)
    return Plan(
        files=(READINGS_MAP_TABLE,),
        params={
            # every cell holds out the same questions: the grid varies none of those settings
            "heldout_total": held_out_count(cell_settings(config, next(iter(grid.values())))),
            "share": settings["verdicts"]["share"],
            "printed": grid[printed] if printed is not None else None,
        },
        config=("readings_map", f"experiments.{config['readings_map']['experiment']}.settings"),
        shows=(),
    )


def draw(plan: Plan, runs: dict, files: list) -> tuple[Figure, dict]:
    p = plan.params
    return readings_map_figure(pd.read_csv(files[0]), p["printed"], p["heldout_total"], p["share"])


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
    return {
        "row_axes": row_axes,
        "col_axes": col_axes,
        "rows": [label(row_axes, r, " ") for r in rows],
        "cols": [label(col_axes, c, "\n") for c in cols],
        "learned": learned,
        "values": {k: v.tolist() for k, v in grids.items()},
        "printed": at,
    }


def readings_map_figure(
    table: pd.DataFrame, printed: dict | None, heldout_total: int, share: dict
) -> tuple[Figure, dict]:
    """Two heatmaps of the readings map, drawn from its table: the share of seeds
    that learned within the budget, and the mean held-out questions right (of
    ``heldout_total`` per seed); the printed recipe's cell outlined. A cell learns
    if its share reaches the verdict rule's ``share["reproduced"]`` (the config's
    ``report.verdicts.share``), as in the claims table."""
    layout = readings_map_layout(table, printed)
    n_rows = len(layout["rows"])
    # inches under the maps: a line for the name and one for the value of each column axis
    below = 0.25 + 0.16 * 2 * len(layout["col_axes"])
    height = 0.9 + 0.62 * n_rows + below
    fig, axes = plt.subplots(
        1,
        2,
        figsize=(WIDTH, height),
        gridspec_kw=dict(left=0.13, right=0.97, bottom=below / height, top=1 - 0.55 / height, wspace=0.25),
    )
    panels = (
        (
            layout["learned"],
            "share of seeds that learned within " + layout["learned"].split("_")[-1] + " sweeps",
            1.0,
        ),
        ("heldout_mean", f"held-out questions right (mean, of {heldout_total})", float(heldout_total)),
    )
    for ax, (name, title, vmax) in zip(axes, panels):
        heatmap(ax, layout, np.array(layout["values"][name]), vmax, with_rows=ax is axes[0])
        ax.set_title(title, fontsize=9)
    fig.suptitle(
        "The readings map: each cell one reading of the printed family-tree recipe; "
        "outlined, the recipe as printed",
        x=0.01,
        ha="left",
        fontsize=10,
    )
    return fig, readings_map_facts(table, printed, heldout_total, share, layout)


def heatmap(ax, layout: dict, values: np.ndarray, vmax: float, with_rows: bool) -> None:
    """One map: each cell's value written in it, the printed recipe's cell outlined."""
    n_rows, n_cols = values.shape
    ax.imshow(values, cmap="cividis", vmin=0.0, vmax=vmax, aspect="auto")
    for i in range(n_rows):
        for j in range(n_cols):
            v = values[i, j]
            colour = "black" if v > 0.6 * vmax else "white"
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8, color=colour)
    if layout["printed"] is not None:
        i, j = layout["printed"]
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=PAPER, lw=2.5))
    ax.set_xticks(range(n_cols), layout["cols"], fontsize=8)  # each column: names and values on lines
    ax.set_yticks(range(n_rows), layout["rows"] if with_rows else [""] * n_rows, fontsize=8)


def readings_map_facts(
    table: pd.DataFrame, printed: dict | None, heldout_total: int, share: dict, layout
) -> dict:
    """The numbers the map's caption quotes."""
    learned = layout["learned"]
    facts = {
        "cells": len(table),
        "seeds": int(table.seeds.iloc[0]),
        "learned_column": learned,
        "learning_cells": int((table[learned] >= share["reproduced"]).sum()),
        "best_share": float(table[learned].max()),
        "best_heldout_mean": float(table.heldout_mean.max()),
        "heldout_total": heldout_total,
        "share_rule": dict(share),
        "layout": layout,
    }
    if printed is not None:
        p = table.loc[(table[list(printed)] == pd.Series(printed)).all(axis=1)].iloc[0]
        facts["printed"] = {
            **printed,
            "share": float(p[learned]),
            "heldout_mean": float(p.heldout_mean),
            "final_error_median": float(p.final_error_median),
        }
    return facts
