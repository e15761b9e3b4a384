"""The learning rule on cases checked by hand: momentum, schedule, decay, margin."""

import numpy as np
import pytest

from backprop86.learning import LearningRule, Phase, output_error, total_error, train
from backprop86.net import layered

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
    result = train(ARCH, start(), {"in": X}, D, rule, max_sweeps=400, criteria={"loose": 0.5, "tight": 0.2},
                   stop_at="tight")  # fmt: skip
    loose, tight = result.sweeps_to["loose"][0], result.sweeps_to["tight"][0]
    assert 0 <= loose <= tight < 400
    assert result.sweeps_run[0] == tight
    assert np.isnan(result.error[0, tight + 1 :]).all() and np.isfinite(result.error[0, : tight + 1]).all()
    y = ARCH.forward(result.params, {"in": X})["out"]
    assert (np.abs(y - D) < 0.2).all()
    earlier = train(ARCH, start(), {"in": X}, D, rule, tight - 1, {"tight": 0.2})
    y = ARCH.forward(earlier.params, {"in": X})["out"]
    assert not (np.abs(y - D) < 0.2).all(), "the criterion was not met one sweep earlier"


@pytest.mark.parametrize("task", ["symmetry", "family_trees"])
@pytest.mark.parametrize(("margin", "from_edge"), [(0.0, False), (0.2, False), (0.2, True)])
def test_training_paths_follow_the_reference_backward(task, margin, from_edge):
    """``train`` runs its own fast passes; one of its weight changes must equal
    ``-epsilon dE/dw`` of the reference ``Architecture.backward`` (itself checked
    against finite differences), with a held-out mask and with a margin."""
    from backprop86.experiments import build_task, seed_generators
    from backprop86.tasks import held_out_masks

    settings = {"task": task, "hidden": 2}
    t = build_task(settings)
    gens = [seed_generators(s) for s in range(5)]
    params = t.arch.init_params([g[0] for g in gens], 1.0)
    mask = held_out_masks(t.targets.shape[0], 4, [g[1] for g in gens])
    eps = 0.5
    rule = LearningRule((Phase(1, eps, 0.0),), margin=margin, margin_from_edge=from_edge)
    before = {k: v.copy() for k, v in params.items()}
    result = train(
        t.arch, params, t.inputs, t.targets, rule, max_sweeps=1, criteria={"c": 0.5}, train_mask=mask
    )
    for k in params:
        assert np.array_equal(params[k], before[k]), f"train changed its input {k}"
    y = t.arch.forward(params, t.inputs)
    e = output_error(y[t.arch.output], t.targets, margin, from_edge) * mask[:, :, None]
    reference = t.arch.backward(params, y, e)
    np.testing.assert_allclose(result.error[:, 0], total_error(e), rtol=1e-12)
    for k in params:
        np.testing.assert_allclose(
            result.params[k] - params[k], -eps * reference[k], rtol=1e-9, atol=1e-13, err_msg=k
        )
