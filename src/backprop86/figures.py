"""Figs. 1-4 of the paper and the learning curves, regenerated from result files.

Every ``fig*`` function takes loaded runs (never trains), returns the matplotlib
figure and a dict of *facts* (the seed drawn, why, and the numbers a caption
quotes); :func:`save` writes both with the same bytes for the same input. The
data each drawing is made from is returned by a separate ``*_layout`` function,
so tests can check what is drawn against the saved nets.
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
from matplotlib.patches import Circle, Rectangle  # noqa: E402

from . import io  # noqa: E402
from .claims import FEATURES, encoding_strengths, learned_seeds, pick_seed, symmetry_solution  # noqa: E402
from .experiments import Run  # noqa: E402
from .tasks import build_task  # noqa: E402
from .tasks.family_trees import RELATIONS, FamilyTrees  # noqa: E402

# Same input, same bytes: stable SVG ids, and swarm plots (deterministic) rather than
# seaborn's strip plots, whose jitter draws from the global random generator.
plt.rcParams["svg.hashsalt"] = "backprop86"
SAVE = {
    "png": dict(dpi=130, metadata={"Software": None}),
    "svg": dict(metadata={"Date": None, "Creator": None}),
}


def save(fig: Figure, facts: dict, out: Path) -> None:
    """Write ``fig`` to ``out`` (PNG or SVG, by suffix) and ``facts`` beside it as JSON."""
    out = Path(out)
    kind = out.suffix.lstrip(".")
    if kind not in SAVE:
        raise ValueError(f"cannot write a figure as {out.name}: the suffix must be .png or .svg")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format=kind, **SAVE[kind])
    plt.close(fig)
    io.save_json(out.with_suffix(".json"), facts)


# --- Fig. 1: the symmetry net ---------------------------------------------------


def fig1_layout(run: Run, s: int) -> dict:
    """Positions, biases and weighted arcs of seed index ``s`` of a symmetry run:
    ``units`` name -> (x, y, bias or None), ``arcs`` list of (from, to, weight)."""
    p = {k: v[s] for k, v in run.result.params.items()}
    W1, W2 = p["w:in->h1"], p["w:h1->out"]  # (n_in, H), (H, 1)
    n_in, H = W1.shape
    units = {f"x{i + 1}": (float(i), 0.0, None) for i in range(n_in)}
    mid = (n_in - 1) / 2
    for j in range(H):
        units[f"h{j + 1}"] = (mid + (j - (H - 1) / 2) * (n_in - 1) / H * 1.3, 1.0, float(p["b:h1"][j]))
    units["out"] = (mid, 2.0, float(p["b:out"][0]))
    arcs = [(f"x{i + 1}", f"h{j + 1}", float(W1[i, j])) for j in range(H) for i in range(n_in)]
    arcs += [(f"h{j + 1}", "out", float(W2[j, 0])) for j in range(H)]
    return {"units": units, "arcs": arcs}


def draw_net(ax, layout: dict) -> None:
    """Units as circles with their bias inside, every weight written on its arc (Fig. 1)."""
    units = layout["units"]
    hidden = sorted({b for _, b, _ in layout["arcs"] if b != "out"})
    for a, b, w in layout["arcs"]:
        (x0, y0, _), (x1, y1, _) = units[a], units[b]
        ax.plot([x0, x1], [y0, y1], color="0.55", lw=0.6 + 0.12 * min(abs(w), 12), zorder=1)
        # labels near the lower end, staggered per hidden unit so they do not collide
        t = 0.5 if b == "out" else 0.2 + 0.22 * hidden.index(b) / max(1, len(hidden) - 1)
        ax.text(x0 + t * (x1 - x0), y0 + t * (y1 - y0), f"{w:.1f}", fontsize=7, ha="center", va="center",
                color="C3" if w < 0 else "C0", bbox=dict(fc="white", ec="none", pad=0.3), zorder=4)  # fmt: skip
    for name, (x, y, bias) in units.items():
        ax.add_patch(Circle((x, y), 0.22, fc="white", ec="black", lw=1.2, zorder=3))
        ax.text(x, y, name if bias is None else f"{bias:.1f}", ha="center", va="center", fontsize=8, zorder=5)
    ax.set_xlim(-0.5, max(x for x, _, _ in units.values()) + 0.5)
    ax.set_ylim(-0.4, 2.4)
    ax.set_aspect("equal")
    ax.axis("off")


def fig1(run: Run, criterion: str, seed_rule: str) -> tuple[Figure, dict]:
    """Fig. 1: the trained symmetry net of the seed ``seed_rule`` picks, and beside
    it, over every seed that met ``criterion``, the antisymmetry of each hidden
    unit's weights and the outward magnitude ratios (the paper: 1:2:4)."""
    s, why = pick_seed(run, criterion, seed_rule)
    sol = symmetry_solution(run, criterion)
    fig = plt.figure(figsize=(11, 4.2))
    gs = fig.add_gridspec(1, 3, width_ratios=[2.4, 0.8, 1.2], wspace=0.35)
    ax = fig.add_subplot(gs[0])
    draw_net(ax, fig1_layout(run, s))
    ax.set_title(f"Seed {run.seeds[s]}: weights on arcs, biases in units", fontsize=10)
    a1, a2 = fig.add_subplot(gs[1]), fig.add_subplot(gs[2])
    if len(sol):
        sns.swarmplot(y=sol.antisymmetry, ax=a1, color="C0", size=3)
        long = sol.melt(value_vars=["ratio_1", "ratio_2"], var_name="pair", value_name="ratio")
        long["pair"] = long.pair.map({"ratio_1": "middle / inner", "ratio_2": "outer / inner"})
        sns.swarmplot(data=long, x="pair", y="ratio", ax=a2, color="C0", size=3, alpha=0.6)
        sns.boxplot(
            data=long, x="pair", y="ratio", ax=a2, showfliers=False, fill=False, color="0.3", width=0.5
        )
        for k, target in ((0, 2), (1, 4)):
            a2.plot([k - 0.3, k + 0.3], [target, target], color="C3", lw=2, label="paper" if k == 0 else None)
        a2.legend(fontsize=8, loc="upper left")
        a2.set_yscale("log")
    a1.set_ylim(-1.05, 1.05)
    a1.set_ylabel("-cos(w, mirror w)   (1 = equal and opposite)")
    a1.set_title(f"Antisymmetry\n({sol.seed.nunique() if len(sol) else 0} solved seeds)", fontsize=10)
    a2.set_xlabel("")
    a2.set_title("Pair magnitude ratios, outward", fontsize=10)
    facts = {
        "seed": int(run.seeds[s]), "why": why, "criterion": criterion, "seed_rule": seed_rule,
        "solved_seeds": int(sol.seed.nunique()) if len(sol) else 0, "seeds": len(run.seeds),
        "median_antisymmetry": float(sol.antisymmetry.median()) if len(sol) else None,
        "median_ratio_middle": float(sol.ratio_1.median()) if len(sol) else None,
        "median_ratio_outer": float(sol.ratio_2.median()) if len(sol) else None,
        "layout": fig1_layout(run, s),
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
    fig, ax = plt.subplots(figsize=(10, 6.4))
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
                bbox=dict(boxstyle="round,pad=0.3", fc="#dbe9f6" if ft.by_name[n].sex == "m" else "#fbe3e1", ec="0.3"))  # fmt: skip
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

FIG3_GROUPS = (  # (group, rows, y of the group's centre): the five layers, bottom to top
    ("person1", 2, 0.0), ("relation", 2, 0.0), ("person_code", 1, 1.6), ("relation_code", 1, 1.6),
    ("central", 1, 3.0), ("answer_code", 1, 4.4), ("person2", 2, 6.0),
)  # fmt: skip


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
    grey ground, in a grid ``values (rows, cols)`` with top-left corner (x0, y0)."""
    rows, cols = values.shape
    ax.add_patch(Rectangle((x0, y0 - rows * cell), cols * cell, rows * cell, fc="0.55", ec="0.3", lw=0.5))
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
                    Rectangle((x0 + k * cell, y0 - (r + 1) * cell), cell, cell, fill=False, ec="C3", lw=2)
                )


def fig3(run: Run, criterion: str, seed_rule: str, question: tuple[str, str]) -> tuple[Figure, dict]:
    """Fig. 3: the activity of every unit in all five layers for ``question``
    (white squares, area = activity), English people in the top row and Italians
    below in the input and output groups, the correct answers outlined in red."""
    s, why = pick_seed(run, criterion, seed_rule)
    person, relation = question
    act = fig3_activities(run, s, person, relation)
    ft = FamilyTrees()
    answers = sorted(ft.related(person, relation), key=ft.names.index)
    fig, ax = plt.subplots(figsize=(10, 6.5))
    cell = 0.35
    for group, rows, y in FIG3_GROUPS:
        v = act[group].reshape(rows, -1)
        width = v.shape[1] * cell
        x = {"person1": 0.0, "relation": 5.0, "person_code": 1.0, "relation_code": 4.5}.get(
            group, 4.25 - width / 2
        )
        marks = [divmod(ft.names.index(a), 12) for a in answers] if group == "person2" else []
        hinton_cells(ax, v, x, y + rows * cell / 2, cell, 1.0, marks)
        ax.text(x + width + 0.1, y, group.replace("_", " "), va="center", fontsize=8, color="0.25")
        if group in ("person1", "person2"):
            for k, n in enumerate(ft.names):
                r, col = divmod(k, 12)
                yy = y + rows * cell / 2 - (r + 0.5) * cell
                ax.text(x + (col + 0.5) * cell, yy + (0.2 if r == 0 else -0.2), n, fontsize=4.5,
                        ha="center", va="bottom" if r == 0 else "top", rotation=90)  # fmt: skip
        if group == "relation":
            for k, n in enumerate(RELATIONS):
                r, col = divmod(k, 6)
                yy = y + rows * cell / 2 - (r + 0.5) * cell
                ax.text(x + (col + 0.5) * cell, yy + (0.2 if r == 0 else -0.2), n, fontsize=4.5,
                        ha="center", va="bottom" if r == 0 else "top", rotation=90)  # fmt: skip
    ax.set_xlim(-0.3, 9.3)
    ax.set_ylim(-1.2, 7.4)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"'{person} has-{relation}', seed {run.seeds[s]} (answers outlined)", fontsize=10)
    out = act["person2"]
    idx = {n: k for k, n in enumerate(ft.names)}
    facts = {
        "seed": int(run.seeds[s]), "why": why, "criterion": criterion, "seed_rule": seed_rule,
        "question": [person, relation], "answers": answers,
        "answer_activity": {a: float(out[idx[a]]) for a in answers},
        "largest_other_activity": float(max(out[k] for n, k in idx.items() if n not in answers)),
        "activities": {g: v.tolist() for g, v in act.items()},
    }  # fmt: skip
    return fig, facts


# --- Fig. 4: the person code -------------------------------------------------------------


def fig4(run: Run, criterion: str, seed_rule: str) -> tuple[Figure, dict]:
    """Fig. 4: Hinton diagrams of the weights from the 24 person inputs to each of
    the 6 person-code units (white positive, black negative, area = magnitude;
    English top row, Italians below) of one seed, and beside them, over every seed
    that learned (all seeds if none did), how strongly the best-matched unit
    encodes nationality, generation and branch (|r| of its weights with the feature)."""
    s, why = pick_seed(run, criterion, seed_rule)
    W = run.result.params["w:person1->person_code"][s]  # (24, n_code)
    n_code = W.shape[1]
    enc_one = encoding_strengths(run, [s])
    idx = learned_seeds(run, criterion)
    enc = encoding_strengths(run, idx if len(idx) else None)
    fig = plt.figure(figsize=(11, 6))
    gs = fig.add_gridspec(n_code, 2, width_ratios=[1.5, 1], hspace=0.5, wspace=0.15)
    vmax = float(np.abs(W).max())
    label = {int(r.unit): f"{r.feature} |r|={r.abs_r:.2f}" for r in enc_one.itertuples() if r.unit > 0}
    for u in range(n_code):
        ax = fig.add_subplot(gs[u, 0])
        hinton_cells(ax, W[:, u].reshape(2, -1), 0, 2, 1, vmax)
        ax.set_xlim(0, 12)
        ax.set_ylim(0, 2)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(
            f"unit {u + 1}" + (f": {label[u + 1]}" if u + 1 in label else ""), fontsize=8, loc="left", pad=2
        )
    ax = fig.add_subplot(gs[:, 1])
    sns.boxplot(
        data=enc,
        x="feature",
        y="abs_r",
        ax=ax,
        order=[*FEATURES, "isomorphism"],
        showfliers=False,
        fill=False,
        color="0.3",
    )
    sns.swarmplot(
        data=enc, x="feature", y="abs_r", ax=ax, order=[*FEATURES, "isomorphism"], size=3, alpha=0.6
    )
    ax.set_ylim(-0.05 if enc.abs_r.min() >= 0 else -1.05, 1.05)
    ax.set_xlabel("")
    ax.set_ylabel("|r| of best-matched unit (isomorphism: r English vs Italian)")
    ax.set_title(f"Over {len(idx) if len(idx) else len(run.seeds)} seeds", fontsize=10)
    ax.tick_params(axis="x", labelsize=8)
    facts = {
        "seed": int(run.seeds[s]), "why": why, "criterion": criterion, "seed_rule": seed_rule,
        "seeds_measured": int(len(idx) if len(idx) else len(run.seeds)), "only_learned": bool(len(idx)),
        "median_abs_r": {f: float(enc[enc.feature == f].abs_r.median()) for f in [*FEATURES, "isomorphism"]},
        "shown_units": {r.feature: int(r.unit) for r in enc_one.itertuples() if r.unit > 0},
        "weights": W.tolist(),
    }  # fmt: skip
    return fig, facts


# --- learning curves ---------------------------------------------------------------


def curve_quantiles(run: Run, every: int = 1) -> pd.DataFrame:
    """Median and quartiles of E per sweep across seeds; a seed that stopped keeps its
    final error (it had learned), so the quantiles are over every seed throughout."""
    err = pd.DataFrame(run.result.error.T).ffill().to_numpy()  # (sweeps+1, S)
    sweeps = np.arange(0, err.shape[0], every)
    q = np.quantile(err[sweeps], [0.25, 0.5, 0.75], axis=1)
    return pd.DataFrame({"sweep": sweeps, "q25": q[0], "median": q[1], "q75": q[2]})


def learning_curves(runs: dict[tuple[str, str], Run], paper_sweeps: dict[str, int]) -> tuple[Figure, dict]:
    """Error per sweep, median across seeds with the quartiles shaded, one panel per
    experiment and one line per configuration; the paper's sweep counts dashed."""
    frames = []
    for (e, c), r in runs.items():
        every = max(1, r.result.error.shape[1] // 1000)
        frames.append(curve_quantiles(r, every).assign(experiment=e, configuration=c))
    data = pd.concat(frames, ignore_index=True)
    experiments = list(dict.fromkeys(e for e, _ in runs))
    with sns.axes_style("whitegrid"):
        g = sns.relplot(data=data, x="sweep", y="median", hue="configuration", col="experiment", kind="line",
                        col_order=experiments, facet_kws=dict(sharex=False, sharey=False), height=3.6, aspect=1.3)  # fmt: skip
    colours = dict(zip(data.configuration.unique(), sns.color_palette()))
    for e, ax in g.axes_dict.items():
        for c, part in data[data.experiment == e].groupby("configuration", sort=False):
            ax.fill_between(part.sweep, part.q25, part.q75, color=colours[c], alpha=0.15, lw=0)
        if e in paper_sweeps:
            ax.axvline(paper_sweeps[e], color="black", ls="--", lw=1)
            ax.text(
                paper_sweeps[e],
                1.01,
                f"paper: {paper_sweeps[e]:,}",
                transform=ax.get_xaxis_transform(),
                ha="center",
                fontsize=8,
            )
        ax.set_yscale("log")
        ax.set_ylabel("E (median, quartiles shaded)")
        ax.set_title(e, pad=14)
    facts = {f"{e}/{c}": {"seeds": len(r.seeds), "final_median": float(data[(data.experiment == e) & (data.configuration == c)]["median"].iloc[-1])}
             for (e, c), r in runs.items()}  # fmt: skip
    facts["paper_sweeps"] = paper_sweeps
    return g.figure, {"curves": facts}
