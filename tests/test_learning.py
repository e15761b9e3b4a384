"""The learning rule on cases checked by hand: momentum, schedule, decay, margin."""

import numpy as np
import pytest

from backprop86.config import setting_defaults
from backprop86.learning import LearningRule, Phase, total_error, train
from backprop86.net import layered


def output_error(y, d, margin, from_edge=False):
    return LearningRule((Phase(1, 0.1, 0.0),), margin=margin, margin_from_edge=from_edge).output_error(y, d)


ARCH = layered([2, 1])  # one sigmoid unit: gradients are easy to write out
X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
D = np.array([[1.0], [0.0], [1.0]])


def start():
    return {"w:in->out": np.array([[[0.2], [-0.1]]]), "b:out": np.array([[0.05]])}


def gradient(p):
    y = ARCH.forward(p, {"in": X})
    return ARCH.backward(p, y, y["out"] - D)


def step_by_hand(rule, sweeps):
    p, v = start(), {k: 0.0 for k in start()}
    for t in range(1, sweeps + 1):
        g = gradient(p)
        phase = rule.phase(t)
        for k in p:
            v[k] = -phase.epsilon * g[k] + phase.alpha * v[k]
            p[k] = (p[k] + v[k]) * (1 - rule.weight_decay)
    return p


@pytest.mark.parametrize(
    "rule",
    [
        LearningRule((Phase(1, 0.5, 0.0),)),  # plain gradient descent, eq. 8
        LearningRule((Phase(1, 0.5, 0.9),)),  # momentum, eq. 9
        LearningRule((Phase(1, 0.25, 0.5), Phase(3, 1.0, 0.8))),  # switch after sweep 2
        LearningRule((Phase(1, 0.5, 0.9),), weight_decay=0.1),
    ],
)
def test_training_matches_hand_steps(rule):
    result = train(ARCH, start(), {"in": X}, D, rule, max_sweeps=4, criteria={"c": 0.5})
    expect = step_by_hand(rule, 4)
    for k in expect:
        np.testing.assert_allclose(result.params[k], expect[k], rtol=1e-13, err_msg=k)


def test_first_steps_written_out():
    """Two sweeps of eq. 9 with numbers: dw1 = -eps g0; dw2 = -eps g1 + alpha dw1."""
    eps, alpha = 0.5, 0.9
    g0 = gradient(start())
    w1 = {k: start()[k] - eps * g0[k] for k in g0}
    g1 = gradient(w1)
    w2 = {k: w1[k] - eps * g1[k] + alpha * (-eps * g0[k]) for k in g0}
    result = train(ARCH, start(), {"in": X}, D, LearningRule((Phase(1, eps, alpha),)), 2, {"c": 0.5})
    for k in w2:
        np.testing.assert_allclose(result.params[k], w2[k], rtol=1e-13)
    assert result.error.shape == (1, 3) and np.isfinite(result.error).all()


def test_schedule_phase_lookup():
    rule = LearningRule((Phase(1, 0.005, 0.5), Phase(21, 0.01, 0.9)))
    assert rule.phase(1) == rule.phase(20) == Phase(1, 0.005, 0.5)
    assert rule.phase(21) == rule.phase(1500) == Phase(21, 0.01, 0.9)
    with pytest.raises(ValueError):
        LearningRule((Phase(2, 0.1, 0.0),))


def test_decay_alone_shrinks_weights_geometrically():
    """With epsilon tiny, 3 weight changes shrink every weight by (1 - 0.2)^3."""
    rule = LearningRule((Phase(1, 1e-300, 0.0),), weight_decay=0.2)
    result = train(ARCH, start(), {"in": X}, D, rule, max_sweeps=3, criteria={"c": 0.5})
    for k, v in start().items():
        np.testing.assert_allclose(result.params[k], v * 0.8**3, rtol=1e-12)


def test_margin():
    y = np.array([[[0.85, 0.75, 0.15, 0.25]]])
    d = np.array([[1.0, 1.0, 0.0, 0.0]])
    np.testing.assert_allclose(output_error(y, d, 0.2), [[[0.0, -0.25, 0.0, 0.25]]])
    np.testing.assert_allclose(output_error(y, d, 0.0), y - d)
    np.testing.assert_allclose(total_error(output_error(y, d, 0.2)), [0.0625])
    # from the edge: 0.75 misses 0.8 by 0.05, 0.25 overshoots 0.2 by 0.05
    np.testing.assert_allclose(
        output_error(y, d, 0.2, from_edge=True), [[[0.0, -0.05, 0.0, 0.05]]], atol=1e-15
    )


def test_criteria_and_stop():
    """A seed stops at its stopping criterion and keeps its weights after."""
    rule = LearningRule((Phase(1, 2.0, 0.9),))
    result = train(
        ARCH,
        start(),
        {"in": X},
        D,
        rule,
        max_sweeps=400,
        criteria={"loose": 0.5, "tight": 0.2},
        stop_at="tight",
    )
    loose, tight = result.sweeps_to["loose"][0], result.sweeps_to["tight"][0]
    assert 0 <= loose <= tight < 400
    assert result.sweeps_run[0] == tight
    assert np.isnan(result.error[0, tight + 1 :]).all() and np.isfinite(result.error[0, : tight + 1]).all()
    y = ARCH.forward(result.params, {"in": X})["out"]
    assert (np.abs(y - D) < 0.2).all()
    earlier = train(ARCH, start(), {"in": X}, D, rule, tight - 1, {"tight": 0.2})
    y = ARCH.forward(earlier.params, {"in": X})["out"]
    assert not (np.abs(y - D) < 0.2).all(), "the criterion was not met one sweep earlier"


def reference_family_trees(p, person1, relation, d, train, eps_alpha, decay, margin, sweeps):
    """An independent per-seed loop for the family-tree net, in plain Python and
    NumPy: dense one-hot inputs, one seed's own matrices, eqs. 1-9 written out."""
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    p = {k: v.copy() for k, v in p.items()}
    vel = {k: np.zeros_like(v) for k, v in p.items()}
    errors = []
    for sweep in range(1, sweeps + 1):
        pc = sig(person1 @ p["w:person1->person_code"] + p["b:person_code"])
        rc = sig(relation @ p["w:relation->relation_code"] + p["b:relation_code"])
        c = sig(pc @ p["w:person_code->central"] + rc @ p["w:relation_code->central"] + p["b:central"])
        a = sig(c @ p["w:central->answer_code"] + p["b:answer_code"])
        y = sig(a @ p["w:answer_code->person2"] + p["b:person2"])
        e = y - d
        for i in range(e.shape[0]):  # the margin, output by output; held-out cases carry no error
            for j in range(e.shape[1]):
                inside = y[i, j] > 1 - margin if d[i, j] == 1 else y[i, j] < margin
                if inside or not train[i]:
                    e[i, j] = 0.0
        errors.append(0.5 * float(np.sum(e**2)))
        dy = e * y * (1 - y)
        da = (dy @ p["w:answer_code->person2"].T) * a * (1 - a)
        dc = (da @ p["w:central->answer_code"].T) * c * (1 - c)
        dpc = (dc @ p["w:person_code->central"].T) * pc * (1 - pc)
        drc = (dc @ p["w:relation_code->central"].T) * rc * (1 - rc)
        g = {
            "w:answer_code->person2": a.T @ dy,
            "b:person2": dy.sum(0),
            "w:central->answer_code": c.T @ da,
            "b:answer_code": da.sum(0),
            "w:person_code->central": pc.T @ dc,
            "w:relation_code->central": rc.T @ dc,
            "b:central": dc.sum(0),
            "w:person1->person_code": person1.T @ dpc,
            "b:person_code": dpc.sum(0),
            "w:relation->relation_code": relation.T @ drc,
            "b:relation_code": drc.sum(0),
        }
        eps, alpha = eps_alpha(sweep)
        for k in p:
            vel[k] = -eps * g[k] + alpha * vel[k]
            p[k] = (p[k] + vel[k]) * (1 - decay)
    return p, errors


def test_family_trees_against_an_independent_per_seed_loop():
    """5 sweeps of the family-tree net: a schedule switch at sweep 3, momentum,
    decay, margin and a held-out split per seed, ours beside the reference."""
    from backprop86.experiments import seed_generators
    from backprop86.tasks import build_task, held_out_masks

    task = build_task({"task": "family_trees", **setting_defaults("family_trees")})
    gens = [seed_generators(s) for s in range(3)]
    params = task.net.init_params([g[0] for g in gens], 1.0)
    mask = held_out_masks(104, task.held_out, [g[1] for g in gens])
    rule = LearningRule((Phase(1, 0.05, 0.5), Phase(3, 0.2, 0.9)), weight_decay=0.01, margin=0.2)
    ours = train(task.net, params, task.inputs, task.targets, rule, 5, {"rounded": 0.5}, train_mask=mask)
    switch = lambda sweep: (0.05, 0.5) if sweep < 3 else (0.2, 0.9)  # noqa: E731  (weight change 1, 2; then 3 on)
    person1, relation = task.inputs["person1"].dense, task.inputs["relation"].dense
    for s in range(3):
        mine = {k: v[s] for k, v in params.items()}
        ref, errors = reference_family_trees(
            mine, person1, relation, task.targets, mask[s], switch, 0.01, 0.2, 5
        )
        np.testing.assert_allclose(
            ours.error[s, :5], errors, rtol=1e-12, err_msg=f"seed {s}: E, ours vs reference"
        )
        for k in ref:
            moved = np.abs(ref[k] - params[k][s]).max()
            assert moved > 1e-4, f"{k} barely changed: the check would be empty"
            np.testing.assert_allclose(
                ours.params[k][s], ref[k], rtol=1e-10, atol=1e-13, err_msg=f"seed {s} {k}: ours vs reference"
            )
