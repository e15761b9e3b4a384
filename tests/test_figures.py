"""Figs. 1-5 and the learning curves, drawn from small trained fixtures: what is
drawn is checked against the saved nets that feed it, and every figure is drawn
at the report's width with text readable on the page."""

import json

import numpy as np
import pytest
from conftest import ROOT, TINY
from matplotlib.text import Text

from backprop86.claims import encoding_strengths, person_features
from backprop86.config import setting_defaults
from backprop86.experiments import Run, learning_rule, load_run, train_seeds
from backprop86.figures.fig1 import fig1
from backprop86.figures.fig2 import check_family_dataset, fig2, fig2_layout
from backprop86.figures.fig3 import fig3
from backprop86.figures.fig4 import fig4
from backprop86.figures.learning_curves import curve_quantiles, learning_curves
from backprop86.figures.style import log_ticks, save
from backprop86.learning import TrainResult, total_error
from backprop86.tasks import build_task
from backprop86.tasks.family_trees import FamilyTrees

SYM = {
    **setting_defaults("symmetry"),
    "task": "symmetry",
    "seeds": 4,
    "hidden": 2,
    "init_range": 0.3,
    "schedule": [{"start_sweep": 1, "epsilon": 0.1, "alpha": 0.9}],
    "weight_decay": 0.0,
    "margin": 0.0,
    "max_sweeps": 300,
    "stop_at": "within_0_2",
    "criteria": {"rounded": 0.5, "within_0_2": 0.2},
}
FT = {
    **setting_defaults("family_trees"),
    "task": "family_trees",
    "seeds": 2,
    "init_range": 1.0,
    "schedule": [
        {"start_sweep": 1, "epsilon": 0.005, "alpha": 0.5},
        {"start_sweep": 21, "epsilon": 0.01, "alpha": 0.9},
    ],
    "weight_decay": 0.0,
    "margin": 0.2,
    "margin_error": "from_edge",
    "max_sweeps": 40,
    "stop_at": None,
    "criteria": {"rounded": 0.5},
    "held_out": None,
    "n_held_out": 4,
}


FT_TARGET = {**FT, "margin_error": "from_target", "seeds": 2}
SHIFT = {
    **setting_defaults("shift_register"),
    "task": "shift_register",
    "seeds": 3,
    "units": 3,
    "steps": 3,
    "init_range": 0.3,
    "weight_decay": 0.0,
    "margin": 0.0,
    "margin_error": "from_target",
    "schedule": [{"start_sweep": 1, "epsilon": 0.1, "alpha": 0.9}],
    "max_sweeps": 300,
    "stop_at": "tight",
    "criteria": {"rounded": 0.5, "tight": 0.2},
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A symmetry and a family-tree run, written and read back as the workflow does."""
    out = tmp_path_factory.mktemp("runs")
    train_seeds(SYM, range(4)).write(out / "sym")
    train_seeds(FT, range(2)).write(out / "ft")
    return load_run(out / "sym"), load_run(out / "ft")


def assert_readable(fig) -> None:
    """Every piece of text on ``fig`` is at least 10 px high on the page (the figure's own dpi)."""
    for t in fig.findobj(Text):
        if t.get_visible() and t.get_text().strip():
            px = t.get_fontsize() * fig.dpi / 72
            assert px >= 10, f"text {t.get_text()!r} is {px:.1f} px high"
    width = fig.get_size_inches()[0] * fig.dpi
    assert width <= 1100, f"figure is {width:.0f} px wide: wider than the report's column"


def assert_titles_fit(fig) -> int:
    """Every axes' title lies inside the figure and overlaps no other text on it;
    returns how many titles there are."""
    fig.canvas.draw()  # titles take their place when drawn
    renderer = fig.canvas.get_renderer()
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    wanted = {ax.get_title(loc=loc) for ax in fig.axes for loc in ("left", "center", "right")} - {""}
    titles = [t for t in texts if t.get_text() in wanted]
    boxes = {id(t): t.get_window_extent(renderer) for t in texts}
    frame = fig.bbox
    for title in titles:
        box = boxes[id(title)]
        inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
        assert inside, f"{title.get_text()!r} leaves the figure"
        for t in texts:
            if t is not title:
                assert not box.overlaps(boxes[id(t)]), f"{title.get_text()!r} runs into {t.get_text()!r}"
    return len(titles)


def test_fig1_arcs_carry_the_saved_weights(runs, tmp_path):
    sym, _ = runs
    fig, facts = fig1(sym, "within_0_2", "lowest_final_error", (1, 2, 4))
    s = list(sym.seeds).index(facts["seed"])
    W1, W2 = sym.result.params["w:in->h1"][s], sym.result.params["w:h1->out"][s]
    arcs = {(a, b): w for a, b, w in facts["layout"]["arcs"]}
    assert len(arcs) == 6 * 2 + 2
    for i in range(6):
        for j in range(2):
            assert arcs[(f"x{i + 1}", f"h{j + 1}")] == W1[i, j]
    assert arcs[("h1", "out")] == W2[0, 0] and arcs[("h2", "out")] == W2[1, 0]
    units = facts["layout"]["units"]
    assert units["out"][2] == sym.result.params["b:out"][s, 0]
    assert [units[f"h{j + 1}"][2] for j in range(2)] == list(sym.result.params["b:h1"][s])
    assert all(
        units[f"x{i + 1}"][1] < units["h1"][1] < units["out"][1] for i in range(6)
    )  # inputs at the bottom
    # one label per arc, carrying that arc's weight, lying on that arc, drawn as such
    drawn = {
        (round(t.get_position()[0], 9), round(t.get_position()[1], 9)): t.get_text()
        for t in fig.axes[0].texts
    }
    labels = facts["layout"]["labels"]
    assert len(labels) == len(facts["layout"]["arcs"])
    for (a, b, w), (x, y, _, lw) in zip(facts["layout"]["arcs"], labels):
        assert lw == w
        (x0, y0, _), (x1, y1, _) = units[a], units[b]
        cross = (x1 - x0) * (y - y0) - (y1 - y0) * (x - x0)
        assert abs(cross) < 1e-9 and min(y0, y1) < y < max(y0, y1), f"label of {a}->{b} is off its arc"
        assert drawn[(round(x, 9), round(y, 9))] == f"{w:.1f}"
    # no two weight labels overlap, so none can be read as another arc's
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [
        t.get_window_extent(renderer)
        for t in fig.axes[0].texts
        if t.get_text() in {f"{w:.1f}" for *_, w in labels}
    ]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), "two weight labels overlap"
    # biases inside their units; a legend for the sign colours
    for w in sym.result.params["b:h1"][s]:
        assert f"{w:.1f}" in drawn.values()
    assert {t.get_text() for t in fig.axes[0].get_legend().get_texts()} == {
        "positive weight or bias",
        "negative weight or bias",
    }
    assert_readable(fig)
    save(fig, facts, tmp_path / "fig1.png")
    assert (tmp_path / "fig1.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "fig1.json").is_file()
    assert b"<svg" in (tmp_path / "fig1.svg").read_bytes()[:500]  # the full-resolution version


def test_fig1_ratio_axis_has_plain_ticks(runs):
    sym, _ = runs
    solved = train_seeds({**SYM, "max_sweeps": 3000}, range(8))
    fig, facts = fig1(solved, "within_0_2", "median_sweeps", (1, 2, 4))
    assert facts["solved_seeds"] > 0
    fig.canvas.draw()
    ticks = [t.get_text() for t in fig.axes[2].get_yticklabels()]
    assert {"1", "2", "4"} <= set(ticks)
    assert all(t.replace(".", "").isdigit() for t in ticks), ticks  # no 2x10^0


def test_fig2_draws_every_marriage_and_child_of_the_dataset():
    ft = FamilyTrees()
    lay = fig2_layout(ft)
    assert set(lay["pos"]) == set(ft.names)
    married = {frozenset(m) for m in lay["marriages"]}
    assert married == {frozenset((a, b)) for a, b in ft.spouse.items()}
    assert {c: p for p, c in lay["descents"]} == ft.parents
    pos = lay["pos"]
    for a, b in lay["marriages"]:
        assert pos[a][1] == pos[b][1]  # spouses side by side
    for (f, m), c in lay["descents"]:
        assert pos[c][1] < pos[f][1] == pos[m][1]  # children below their parents
    assert len({p for p in pos.values()}) == 24  # nobody drawn on top of anybody


def test_fig2_rejects_a_dataset_that_is_not_the_trees(tmp_path):
    bad = tmp_path / "ft.csv"
    bad.write_text("person1,relation,person2\nColin,aunt,Penelope\n")
    with pytest.raises(ValueError, match="does not hold the 112 facts"):
        check_family_dataset(bad)


def test_fig3_shows_the_net_s_activity_for_colin_has_aunt(runs):
    _, ft_run = runs
    fig, facts = fig3(ft_run, "rounded", "lowest_final_error", ("Colin", "aunt"))
    act = facts["activities"]
    ft = FamilyTrees()
    assert np.flatnonzero(act["person1"]).tolist() == [ft.names.index("Colin")]
    assert facts["answers"] == ["Margaret", "Jennifer"]
    s = list(ft_run.seeds).index(facts["seed"])
    task = build_task(ft_run.settings)
    y = task.net.forward({k: v[s : s + 1] for k, v in ft_run.result.params.items()}, task.inputs)
    c = ft.question_index("Colin", "aunt")
    for group in ("person_code", "central", "answer_code", "person2"):
        np.testing.assert_allclose(act[group], y[group][0, c], rtol=0, atol=1e-12)
    right = ft_run.summary().heldout_correct.to_numpy()  # the caption says how this seed generalises
    assert facts["heldout_correct"] == right[s] and facts["heldout_total"] == 4
    assert facts["seeds_as_good"] == (right >= right[s]).sum() and facts["seeds"] == len(right)
    # the two outlined answers are the output cells of Margaret and Jennifer
    outlined = [p for p in fig.axes[0].patches if not p.get_fill()]
    assert len(outlined) == 2
    # English in the top row, Italians below, every person named in both person groups
    for group in ("person1", "person2"):
        names = facts["names"][group]
        assert [n for r, _, n in names if r == 0] == ft.names[:12]
        assert [n for r, _, n in names if r == 1] == ft.names[12:]
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert all(texts.count(n) == 2 for n in ft.names)
    assert_readable(fig)


def test_fig4_diagrams_are_the_saved_person_weights(runs):
    _, ft_run = runs
    fig, facts = fig4(ft_run, "rounded", "lowest_final_error")
    s = list(ft_run.seeds).index(facts["seed"])
    W = ft_run.result.params["w:person1->person_code"][s]
    np.testing.assert_array_equal(np.array(facts["weights"]), W)
    assert set(facts["median_abs_r"]) == {"nationality", "generation", "branch", "isomorphism"}
    ft = FamilyTrees()
    cells = facts["layout"]["cells"]
    assert len(cells) == 6 * 24
    for u in range(1, 7):
        mine = [c for c in cells if c[0] == u]
        assert [n for _, r, _, n, _ in mine if r == 0] == ft.names[:12]  # English on top, the paper's order
        assert [n for _, r, _, n, _ in mine if r == 1] == ft.names[12:]
        for _, _, col, n, w in mine:
            assert col == ft.names.index(n) % 12 and w == W[ft.names.index(n), u - 1]
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert all(texts.count(n) == 1 for n in ft.names)  # names labelled once
    # each matched feature written on its unit, with that unit's correlation
    feats = person_features().set_index("person").loc[ft.names]
    for u, feature, r in facts["layout"]["units"]:
        if feature:
            assert r == pytest.approx(np.corrcoef(W[:, u - 1], feats[feature])[0, 1])
            assert any(t.startswith(f"unit {u}: {feature}") and f"{r:+.2f}" in t for t in texts)
    assert sum(f is not None for _, f, _ in facts["layout"]["units"]) == 3
    assert_readable(fig)


def test_encoding_strengths_find_planted_features_in_any_unit_order():
    feats = person_features()
    W = np.random.default_rng(0).normal(scale=0.01, size=(1, 24, 6))
    W[0, :, 4] += feats.nationality  # planted in units 5, 1 and 3
    W[0, :, 0] += 2 * feats.generation
    W[0, :, 2] -= feats.branch
    run = Run({}, np.array([7]), TrainResult({"w:person1->person_code": W}, None, {}, None), None, None)
    enc = encoding_strengths(run).set_index("feature")
    assert enc.loc["nationality", "unit"] == 5 and enc.loc["generation", "unit"] == 1
    assert enc.loc["branch", "unit"] == 3
    assert (enc.loc[["nationality", "generation", "branch"], "abs_r"] > 0.99).all()


def test_fig1_pair_magnitudes_are_read_as_the_claim_reads_them():
    """Sorted from smallest to largest (the text gives no order), as the claims table judges them."""
    from backprop86.claims import symmetry_solution

    solved = train_seeds({**SYM, "max_sweeps": 3000}, range(6))
    fig, facts = fig1(solved, "within_0_2", "median_sweeps", (1, 2, 4))
    sol = symmetry_solution(solved, "within_0_2")
    assert len(sol) and facts["solved_seeds"] == sol.seed.nunique()
    assert facts["median_ratio_middle"] == pytest.approx(sol.ratio_sorted_1.median())
    assert facts["median_ratio_largest"] == pytest.approx(sol.ratio_sorted_2.median())
    assert facts["outward_increasing"] == pytest.approx(sol.outward_increasing.mean())
    ticks = [t.get_text() for t in fig.axes[2].get_xticklabels()]
    assert ticks == ["middle\n/ smallest", "largest\n/ smallest"]
    assert "smallest to largest" in fig.axes[2].get_title(loc="left")
    assert assert_titles_fit(fig) == 3


def test_learning_curves_one_panel_per_configuration(runs, tmp_path):
    sym, ft_run = runs
    q = curve_quantiles(sym)
    err = sym.result.error
    last = err[np.arange(len(sym.seeds)), sym.result.sweeps_run]
    assert q["median"].iloc[-1] == pytest.approx(np.median(last))  # stopped seeds keep their final error
    ft_target = train_seeds(FT_TARGET, range(2))
    curves = {
        ("symmetry", "paper"): sym,
        ("symmetry", "again"): sym,
        ("family_trees", "paper"): ft_target,
        ("family_trees", "edge"): ft_run,
    }
    fig, facts = learning_curves(
        curves, {"symmetry": 1425, "family_trees": 1500}, {"symmetry": "paper", "family_trees": "paper"}
    )
    panels = facts["panels"]
    assert [(p["experiment"], p["configuration"]) for p in panels] == list(curves)
    drawn = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
    assert len(drawn) == len(curves)
    assert [p["paper"] for p in panels] == [True, False, True, False]
    assert [ax.get_title(loc="left").startswith("\u2605") for ax in drawn] == [True, False, True, False]
    for ax, p in zip(drawn, panels):  # the paper's sweep count drawn in every panel
        paper = 1425 if p["experiment"] == "symmetry" else 1500
        assert any(list(line.get_xdata())[:1] == [paper] for line in ax.lines)

    # every panel draws E from the target: for the edge-trained run, training recorded
    # it beside its own E, and it is what the saved weights give
    def recomputed(run):
        task = build_task(run.settings)
        y = task.net.readout(task.net.forward(run.result.params, task.inputs))
        e = learning_rule({**run.settings, "margin_error": "from_target"}).output_error(y, task.targets)
        return total_error(e * run.train_mask[:, :, None])

    assert ft_target.result.error_from_target is None and ft_run.result.error_from_target is not None
    np.testing.assert_allclose(ft_run.final_error_from_target(), recomputed(ft_run), rtol=1e-12)
    np.testing.assert_allclose(ft_target.final_error_from_target(), recomputed(ft_target), rtol=1e-12)
    assert [p["trained_on"] for p in panels] == ["from_target", "from_target", "from_target", "from_edge"]
    assert {p["drawn"] for p in panels} == {"from_target"}
    edge = panels[3]
    assert edge["final_median"] == pytest.approx(np.median(recomputed(ft_run)))
    assert edge["final_median"] != pytest.approx(np.median(ft_run.summary().final_error))
    assert "margin's edge" in drawn[3].get_title(loc="left")
    assert "margin's edge" not in drawn[2].get_title(loc="left")
    assert_readable(fig)


def test_learning_curve_titles_fit_the_shipped_configurations(runs):
    """With the shipped config's configurations (five family-tree panels, the
    longest names, two trained on the edge reading), no panel's title runs off
    the figure or into another text."""
    from conftest import ROOT

    from backprop86.config import configurations, load

    sym, ft_edge = runs
    config = load(ROOT / "config" / "config.yaml")
    curves = {}
    for e, run in (("symmetry", sym), ("family_trees", ft_edge)):
        for c in configurations(config, e):
            curves[(e, c)] = run
    assert max(len(c) for _, c in curves) > 30 and len(configurations(config, "family_trees")) >= 5
    fig, _ = learning_curves(
        curves, {"symmetry": 1425, "family_trees": 1500}, {"symmetry": "paper", "family_trees": "paper"}
    )
    assert assert_titles_fit(fig) == len(curves)
    for ax in [a for a in fig.axes if a.get_visible() and a.axison]:  # E on plain ticks, not 10^0
        labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
        assert labels and all(float(t) > 0 for t in labels), labels


def test_fig5_is_drawn_for_the_page(tmp_path):
    from backprop86.figures.fig5 import fig5

    fig, facts = fig5(SHIFT, train_seeds(SHIFT, range(3)))
    assert_readable(fig)
    assert assert_titles_fit(fig) >= 3
    save(fig, facts, tmp_path / "fig5.png")
    facts = json.loads((tmp_path / "fig5.json").read_text())
    assert facts["seeds"] == 3 and facts["width_px"] <= 1100 and (tmp_path / "fig5.svg").is_file()


@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_same_figure_same_bytes(runs, tmp_path, suffix):
    sym, _ = runs
    for k in (1, 2):
        save(*fig1(sym, "within_0_2", "median_sweeps", (1, 2, 4)), tmp_path / f"{k}.{suffix}")
    assert (tmp_path / f"1.{suffix}").read_bytes() == (tmp_path / f"2.{suffix}").read_bytes()


def test_save_names_a_bad_suffix(tmp_path):
    with pytest.raises(ValueError, match="must be .png or .svg"):
        save(*fig2(), tmp_path / "fig2.jpg")


def test_fig4_same_bytes_whatever_the_global_random_state(runs, tmp_path):
    _, ft_run = runs
    for k in (1, 2):
        np.random.seed(k)  # noqa: NPY002 -- seaborn's strip-plot jitter would draw from here
        save(*fig4(ft_run, "rounded", "lowest_final_error"), tmp_path / f"{k}.png")
    assert (tmp_path / "1.png").read_bytes() == (tmp_path / "2.png").read_bytes()


def test_log_ticks_label_every_range_with_plain_numbers():
    """At least two plain ticks inside any range a panel can have, a flat one too."""
    for bottom, top in ((0.2, 12.0), (3.5, 7.9), (5.2, 5.4), (2.0, 300.0), (1e-4, 0.05)):
        ticks = log_ticks(bottom, top)
        assert len(ticks) >= 2 and all(bottom <= t <= top for t in ticks), (bottom, top, ticks)
    assert log_ticks(0.2, 12.0) == pytest.approx([0.3, 1, 3, 10])


def test_a_figure_is_a_module_of_the_package_and_one_lacking_part_of_the_contract_is_named(
    tmp_path, monkeypatch
):
    """A module dropped into the figures package is a figure, with no list to edit; one
    that lacks part of the contract fails in one line naming the module and the part."""
    import sys

    import backprop86.figures as figures

    module = (ROOT / "src/backprop86/figures/fig2.py").read_text().replace("from ..", "from backprop86.")
    module = module.replace("from . import", "from backprop86.figures import").replace(
        "from .", "from backprop86.figures."
    )
    (tmp_path / "probe_complete.py").write_text(module)
    (tmp_path / "probe_partial.py").write_text(module.replace("CAPTION =", "_CAPTION ="))
    monkeypatch.setattr(figures, "__path__", [*figures.__path__, str(tmp_path)])
    for name in ("probe_complete", "probe_partial"):
        monkeypatch.delitem(sys.modules, f"backprop86.figures.{name}", raising=False)
    with pytest.raises(TypeError) as error:
        figures._discover()
    assert str(error.value) == (
        "figure module backprop86.figures.probe_partial lacks CAPTION (its caption, a jinja2 template)"
    )
    (tmp_path / "probe_partial.py").unlink()
    monkeypatch.delitem(sys.modules, "backprop86.figures.probe_partial", raising=False)
    assert set(figures._discover()) == {*figures.FIGURES, "probe_complete"}


def test_each_figure_plans_from_the_config_and_is_left_out_where_the_config_has_nothing_for_it():
    from backprop86.claims import report_settings
    from backprop86.figures import plans

    tiny = plans(TINY, report_settings(TINY))
    assert set(tiny) == {"fig1", "fig2", "fig3", "fig4", "learning_curves"}  # no shift register, no map
    assert tiny["fig1"].runs == (("symmetry", "paper"),) and tiny["fig2"].files == (
        "results/data/family_trees.csv",
    )
    assert tiny["fig2"].shown == (("family_trees", "paper"),) and not tiny["fig2"].runs
    assert tiny["learning_curves"].runs == (
        ("symmetry", "paper"),
        ("symmetry", "hidden_3"),
        ("family_trees", "paper"),
    )
    only_symmetry = {**TINY, "experiments": {"symmetry": TINY["experiments"]["symmetry"]}}
    assert set(plans(only_symmetry, report_settings(only_symmetry))) == {"fig1", "learning_curves"}
