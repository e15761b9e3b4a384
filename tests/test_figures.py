"""Figs. 1-4 and the learning curves, drawn from small trained fixtures: what is
drawn is checked against the saved nets that feed it."""

import numpy as np
import pytest

from backprop86 import figures as F
from backprop86.claims import encoding_strengths, person_features
from backprop86.experiments import Run, load_run, train_seeds
from backprop86.learning import TrainResult
from backprop86.tasks import build_task
from backprop86.tasks.family_trees import FamilyTrees

SYM = {"task": "symmetry", "seeds": 4, "hidden": 2, "init_range": 0.3,
       "schedule": [{"start_sweep": 1, "epsilon": 0.1, "alpha": 0.9}], "weight_decay": 0.0, "margin": 0.0,
       "margin_error": "from_target", "max_sweeps": 300, "stop_at": "within_0_2",
       "criteria": {"rounded": 0.5, "within_0_2": 0.2}}  # fmt: skip
FT = {"task": "family_trees", "seeds": 2, "init_range": 1.0,
      "schedule": [{"start_sweep": 1, "epsilon": 0.005, "alpha": 0.5}, {"start_sweep": 21, "epsilon": 0.01, "alpha": 0.9}],
      "weight_decay": 0.0, "margin": 0.2, "margin_error": "from_edge", "max_sweeps": 40, "stop_at": None,
      "criteria": {"rounded": 0.5}, "held_out": None, "n_held_out": 4}  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A symmetry and a family-tree run, written and read back as the workflow does."""
    out = tmp_path_factory.mktemp("runs")
    train_seeds(SYM, range(4)).write(out / "sym")
    train_seeds(FT, range(2)).write(out / "ft")
    return load_run(out / "sym"), load_run(out / "ft")


def test_fig1_arcs_carry_the_saved_weights(runs, tmp_path):
    sym, _ = runs
    fig, facts = F.fig1(sym, "within_0_2", "lowest_final_error")
    s = list(sym.seeds).index(facts["seed"])
    W1, W2 = sym.result.params["w:in->h1"][s], sym.result.params["w:h1->out"][s]
    arcs = {(a, b): w for a, b, w in facts["layout"]["arcs"]}
    assert len(arcs) == 6 * 2 + 2
    for i in range(6):
        for j in range(2):
            assert arcs[(f"x{i + 1}", f"h{j + 1}")] == W1[i, j]
    assert arcs[("h1", "out")] == W2[0, 0] and arcs[("h2", "out")] == W2[1, 0]
    assert facts["layout"]["units"]["out"][2] == sym.result.params["b:out"][s, 0]
    # every weight and bias is written on the drawing, as the paper does
    texts = [t.get_text() for t in fig.axes[0].texts]
    for w in [*W1.ravel(), *W2.ravel(), *sym.result.params["b:h1"][s]]:
        assert f"{w:.1f}" in texts
    F.save(fig, facts, tmp_path / "fig1.png")
    assert (tmp_path / "fig1.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "fig1.json").is_file()


def test_fig2_draws_every_marriage_and_child_of_the_dataset():
    ft = FamilyTrees()
    lay = F.fig2_layout(ft)
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
        F.check_family_dataset(bad)


def test_fig3_shows_the_net_s_activity_for_colin_has_aunt(runs):
    _, ft_run = runs
    fig, facts = F.fig3(ft_run, "rounded", "lowest_final_error", ("Colin", "aunt"))
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
    # the two outlined answers are the output cells of Margaret and Jennifer
    outlined = [p for p in fig.axes[0].patches if not p.get_fill()]
    assert len(outlined) == 2


def test_fig4_diagrams_are_the_saved_person_weights(runs):
    _, ft_run = runs
    _, facts = F.fig4(ft_run, "rounded", "lowest_final_error")
    s = list(ft_run.seeds).index(facts["seed"])
    np.testing.assert_array_equal(
        np.array(facts["weights"]), ft_run.result.params["w:person1->person_code"][s]
    )
    assert set(facts["median_abs_r"]) == {"nationality", "generation", "branch", "isomorphism"}


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


def test_learning_curves_hold_every_seed_after_it_stops(runs, tmp_path):
    sym, ft_run = runs
    q = F.curve_quantiles(sym)
    err = sym.result.error
    last = err[np.arange(len(sym.seeds)), sym.result.sweeps_run]
    assert q["median"].iloc[-1] == pytest.approx(np.median(last))  # stopped seeds keep their final error
    fig, facts = F.learning_curves(
        {("symmetry", "paper"): sym, ("family_trees", "x"): ft_run}, {"symmetry": 1425}
    )
    assert len(fig.axes) == 2
    assert facts["curves"]["paper_sweeps"] == {"symmetry": 1425}
    assert any(list(line.get_xdata())[:1] == [1425] for line in fig.axes[0].lines)


@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_same_figure_same_bytes(runs, tmp_path, suffix):
    sym, _ = runs
    for k in (1, 2):
        F.save(*F.fig1(sym, "within_0_2", "median_sweeps"), tmp_path / f"{k}.{suffix}")
    assert (tmp_path / f"1.{suffix}").read_bytes() == (tmp_path / f"2.{suffix}").read_bytes()


def test_save_names_a_bad_suffix(tmp_path):
    with pytest.raises(ValueError, match="must be .png or .svg"):
        F.save(*F.fig2(), tmp_path / "fig2.jpg")


def test_fig4_same_bytes_whatever_the_global_random_state(runs, tmp_path):
    _, ft_run = runs
    for k in (1, 2):
        np.random.seed(k)  # noqa: NPY002 -- seaborn's strip-plot jitter would draw from here
        F.save(*F.fig4(ft_run, "rounded", "lowest_final_error"), tmp_path / f"{k}.png")
    assert (tmp_path / "1.png").read_bytes() == (tmp_path / "2.png").read_bytes()
