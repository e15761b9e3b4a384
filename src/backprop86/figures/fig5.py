"""Fig. 5 regenerated: a synchronous iterative net beside its unrolled layered
equivalent, and what a trained shift register does.

Both net drawings are made from the model object: the recurrent net's
connections and their labels from :meth:`IterativeNet.connections`, the unrolled
net's groups, connections and tying from :meth:`IterativeNet.unroll`. Every
connection of the unrolled net carries the label (and colour) of the shared
weight it is a copy of, so the drawing shows which weights are tied.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch

from ..claims_iterative import strictest
from ..config import resolve
from ..experiments import Run
from ..iterative import INPUT, RECURRENT, IterativeNet
from ..net import weight_key
from ..tasks import build_task, task_module
from . import Plan, config_section
from .style import LINE_COLOURS, WIDTH

TITLE = "Fig. 5"
LABEL = "Fig. 5: an iterative net and its layered equivalent"
CAPTION = """\
<strong>Fig. 5.</strong> The paper drew a synchronous iterative net beside the layered net with shared weights it is equivalent to.
Regenerated from our trained iterative nets: (a) the recurrent net, (b) the same net unrolled over {{ f.steps }} steps, every copy of a
weight labelled with the shared weight it copies, (c) the states of {{ f.example }}. {{ f.learned }} of {{ f.seeds }} seeds met
<code>{{ f.criterion }}</code>{% if f.median_sweeps is not none %}, in a median of {{ "%g"|format(f.median_sweeps) }} sweeps{% endif %}.
Its claims are the <code>iterative_*</code> rows of the claims table.
"""


def plan(config: dict, settings: dict) -> Plan | None:
    """The first shift-register experiment's published settings: panel (c) draws a shift register's states."""
    shift = [e for e, x in config["experiments"].items() if x["task"] == "shift_register"]
    if not shift:
        return None
    return Plan(
        runs=((shift[0], "paper"),),
        params={"settings": resolve(config, shift[0])},
        config=(config_section(shift[0], "paper"),),
    )


def draw(plan: Plan, runs: dict, files: list) -> tuple[Figure, dict]:
    (run,) = runs.values()
    return fig5(plan.params["settings"], run)


UNIT = dict(s=420, c="white", edgecolors="black", linewidths=1.2, zorder=3)


def weight_styles(net: IterativeNet) -> dict[tuple[str, int, int], tuple[str, tuple]]:
    """``(shared key, i, j) -> (label, colour)`` for every connection of ``net``."""
    colours = LINE_COLOURS  # the project's colour-blind-safe palette
    styles = {}
    for k, (kind, i, _, j, label) in enumerate(net.connections()):
        styles[(INPUT if kind == "input" else RECURRENT, i, j)] = (label, colours[k % len(colours)])
    return styles


def draw_recurrent(ax, net: IterativeNet) -> None:
    """The recurrent net: units on a circle, every connection of ``net.connections()``."""
    styles = weight_styles(net)
    n = net.n_units
    angle = np.pi / 2 + 2 * np.pi * np.arange(n) / n
    pos = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    for kind, i, _, j, label in net.connections():
        _, colour = styles[(INPUT if kind == "input" else RECURRENT, i, j)]
        if kind == "input":
            start = pos[j] * 1.9 + np.array([0.25 * (i - (net.n_inputs - 1) / 2), 0.0])
            ax.annotate(
                "", pos[j], start, arrowprops=dict(arrowstyle="-|>", color=colour, lw=1.0, shrinkB=11)
            )
            continue
        if i == j:  # a self-connection: a loop on the far side of the unit
            out = pos[i] / np.linalg.norm(pos[i])
            ax.add_patch(Circle(pos[i] + 0.3 * out, 0.2, fill=False, ec=colour, lw=1.3, zorder=2))
            ax.text(*(pos[i] + 0.68 * out), label, color=colour, ha="center", va="center", fontsize=9)
            continue
        arrow = FancyArrowPatch(
            pos[i],
            pos[j],
            connectionstyle="arc3,rad=0.18",
            arrowstyle="-|>",
            mutation_scale=10,
            color=colour,
            lw=1.3,
            shrinkA=13,
            shrinkB=13,
        )
        ax.add_patch(arrow)
        mid = (pos[i] + pos[j]) / 2
        normal = np.array([pos[j][1] - pos[i][1], pos[i][0] - pos[j][0]])
        ax.text(
            *(mid + 0.16 * normal / np.linalg.norm(normal)),
            label,
            color=colour,
            ha="center",
            va="center",
            fontsize=9,
        )
    ax.scatter(pos[:, 0], pos[:, 1], **UNIT)
    for u in range(n):
        ax.text(*pos[u], str(u + 1), ha="center", va="center", zorder=4, fontsize=10)
    ax.set_xlim(-1.7, 1.7)
    ax.set_ylim(-1.5, 1.9)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"(a) iterative net, {n} units,\nrun {net.steps} synchronous steps", fontsize=10)


def draw_unrolled(ax, net: IterativeNet) -> None:
    """The equivalent layered net from ``net.unroll()``: one row of units per step
    (time runs upward), every connection labelled with the shared weight it copies."""
    arch = net.unroll()
    styles = weight_styles(net)
    sizes = arch.sizes
    n, T = net.n_units, net.steps

    def place(group: str) -> np.ndarray:
        t = int(group[1:]) if group.startswith("s") else int(group[2:])
        xs = np.arange(sizes[group], dtype=float)
        if group.startswith("in"):
            return np.stack([-1.6 + 0.35 * xs, np.full_like(xs, t - 0.45)], axis=1)
        return np.stack([xs - (n - 1) / 2, np.full_like(xs, float(t))], axis=1)

    where = {g: place(g) for g, _ in arch.groups}
    for src, dst in arch.connections:
        shared = arch.param(weight_key(src, dst))
        a, b = where[src], where[dst]
        for i in range(sizes[src]):
            for j in range(sizes[dst]):
                label, colour = styles[(shared, i, j)]
                ax.annotate(
                    "",
                    b[j],
                    a[i],
                    arrowprops=dict(arrowstyle="-|>", color=colour, lw=1.0, shrinkA=9, shrinkB=9),
                )
                f = 0.3 + 0.4 * (i + 0.5) / sizes[src]  # spread labels of lines that cross
                at = a[i] + f * (b[j] - a[i])
                ax.text(
                    *at,
                    label,
                    color=colour,
                    fontsize=8,
                    ha="center",
                    va="center",
                    bbox=dict(boxstyle="round,pad=0.05", fc="white", ec="none", alpha=0.8),
                )
    for g, _ in arch.groups:
        xy = where[g]
        ax.scatter(xy[:, 0], xy[:, 1], **{**UNIT, "s": 260 if g.startswith("s") else 90})
        if g.startswith("s"):
            for u in range(sizes[g]):
                ax.text(*xy[u], str(u + 1), ha="center", va="center", zorder=4, fontsize=8)
            t = int(g[1:])
            ax.text(
                xy[-1, 0] + 0.55,
                xy[-1, 1],
                "initial state" if t == 0 else f"step {t}",
                va="center",
                fontsize=8,
            )
    ax.set_xlim(-(n + 1) / 2 - 0.4, (n + 1) / 2 + 1.0)
    ax.set_ylim(-0.5, T + 0.5)
    ax.axis("off")
    ax.set_title(
        f"(b) the same net unrolled: {T} layers,\nlabels name the shared weight of each copy", fontsize=10
    )


def shift_register_states(settings: dict, run: Run, seed_index: int) -> tuple[np.ndarray, list[str]]:
    """One trained seed's unit states ``(n_cases, T + 1, n)`` at steps 0..T, and the case labels."""
    task = build_task(settings)
    net = task_module(settings["task"]).cases(settings)[0]
    params = {k: v[seed_index : seed_index + 1] for k, v in run.result.params.items()}
    y = net.states(task.net.forward(params, task.inputs))
    return np.stack([y_t[0] for y_t in y], axis=1), task.case_labels


def example_seed(run: Run, criterion: str) -> int:
    """The index of the lowest seed that met ``criterion`` (else seed index 0)."""
    learned = np.flatnonzero(run.result.sweeps_to[criterion] >= 0)
    return int(learned[0]) if len(learned) else 0


def draw_states(fig: Figure, spec, settings: dict, run: Run, criterion: str) -> None:
    """Panel (c): every starting pattern's unit states at each step, one trained seed."""
    s = example_seed(run, criterion)
    states, labels = shift_register_states(settings, run, s)
    n_cases = len(labels)
    cols = 4
    grid = spec.subgridspec((n_cases + cols - 1) // cols, cols, hspace=0.5, wspace=0.25)
    for c in range(n_cases):
        ax = fig.add_subplot(grid[c // cols, c % cols])
        ax.imshow(states[c].T, cmap="Greys", vmin=0.0, vmax=1.0, aspect="equal")
        ax.set_xticks(range(states.shape[1]))
        ax.set_xticklabels([str(t) for t in range(states.shape[1])], fontsize=8)
        ax.set_yticks(range(states.shape[2]))
        ax.set_yticklabels([str(u + 1) for u in range(states.shape[2])], fontsize=8)
        ax.tick_params(length=0)
        ax.set_title(f"start {labels[c]}", fontsize=8, pad=2, loc="center")
    learned = run.result.sweeps_to[criterion][s]
    fig.text(
        spec.get_position(fig).x0 + spec.get_position(fig).width / 2,
        0.93,
        f"(c) trained shift register, seed {run.seeds[s]}\n({learned} sweeps): units 1-{states.shape[2]} (rows)\nat steps 0-{states.shape[1] - 1} (columns); black = 1",
        ha="center",
        va="center",
        fontsize=10,
    )


def fig5(settings: dict, run: Run) -> tuple[Figure, dict]:
    """Fig. 5 from the shift-register configuration ``settings`` and its trained ``run``,
    and the numbers its caption quotes; panel (c) shows the lowest seed that met the
    strictest criterion."""
    net = task_module(settings["task"]).cases(settings)[0]
    fig = plt.figure(figsize=(WIDTH, 4.9))
    spec = fig.add_gridspec(
        1, 3, width_ratios=[0.85, 1.6, 1.15], left=0.01, right=0.99, bottom=0.05, top=0.86
    )
    draw_recurrent(fig.add_subplot(spec[0]), net)
    draw_unrolled(fig.add_subplot(spec[1]), net)
    draw_states(fig, spec[2], settings, run, strictest(settings))
    return fig, fig5_facts(settings, run)


def fig5_facts(settings: dict, run: Run) -> dict:
    """The numbers Fig. 5's caption quotes: how many seeds learned, how fast, which is drawn."""
    criterion = strictest(settings)
    first = run.result.sweeps_to[criterion]
    s = example_seed(run, criterion)
    learned = first[first >= 0]
    return {
        "criterion": criterion,
        "seeds": len(run.seeds),
        "learned": int(len(learned)),
        "median_sweeps": float(np.median(learned)) if len(learned) else None,
        "steps": int(settings["steps"]),
        "seed": int(run.seeds[s]),
        "example": f"seed {run.seeds[s]}'s units at every step for every starting pattern",
    }
