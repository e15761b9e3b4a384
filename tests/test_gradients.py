"""Every dE/dw of every net against central finite differences (float64), through
the one forward and backward pass of :mod:`backprop86.net`."""

import numpy as np
import pytest
from conftest import assert_finite_differences

from backprop86.config import setting_defaults
from backprop86.learning import LearningRule, Phase, total_error
from backprop86.net import Architecture, OneHot, layered
from backprop86.tasks import build_task
from backprop86.tasks.family_trees import family_tree_net


def error(arch, params, inputs, targets, rule):
    return total_error(rule.output_error(arch.readout(arch.forward(params, inputs)), targets))


def check_gradients(arch: Architecture, seed: int, n_cases: int, init_range: float, margin=0.0, inputs=None):
    rng = np.random.default_rng(seed)
    params = arch.init_params([np.random.default_rng(seed + k) for k in range(3)], init_range)
    sizes = arch.sizes
    if inputs is None:
        inputs = {g: rng.uniform(0, 1, (n_cases, sizes[g])) for g in arch.inputs}
    n_out = sum(end - first for _, first, end in arch.outputs)
    targets = (rng.uniform(0, 1, (n_cases, n_out)) > 0.5).astype(float)
    rule = LearningRule((Phase(1, 0.1, 0.0),), margin=margin)
    y = arch.forward(params, inputs)
    grads = arch.backward(params, y, rule.output_error(arch.readout(y), targets))
    assert set(grads) == set(params)
    assert_finite_differences(params, grads, lambda p: error(arch, p, inputs, targets, rule))


@pytest.mark.parametrize("sizes", [[6, 2, 1], [6, 3, 1], [4, 5, 3], [3, 4, 4, 2]])
def test_layered_gradients(sizes):
    check_gradients(layered(sizes), seed=sum(sizes), n_cases=7, init_range=1.0)


@pytest.mark.parametrize(
    "shape",
    [dict(), dict(n_people=5, n_relations=3, person_code=2, relation_code=3, central=4, answer_code=2)],
)
def test_family_tree_gradients(shape):
    arch = family_tree_net(**shape)
    if not shape:  # the full net: check a subsample of cases to keep it quick
        check_gradients(arch, seed=1, n_cases=3, init_range=0.8)
    else:
        check_gradients(arch, seed=2, n_cases=6, init_range=1.5)


def test_family_tree_gradients_with_one_hot_inputs_and_margin():
    """The task's own inputs, given as indices: eq. 1 as a row lookup, eq. 6 as a sum over each unit's cases."""
    task = build_task({"task": "family_trees", **setting_defaults("family_trees")})
    assert all(isinstance(task.inputs[g], OneHot) for g in ("person1", "relation"))
    cases = [0, 7, 50, 103]
    inputs = {g: v[cases] for g, v in task.inputs.items()}
    check_gradients(task.net, seed=3, n_cases=4, init_range=1.0, margin=0.2, inputs=inputs)


def test_one_hot_inputs_give_what_the_dense_product_gives():
    task = build_task({"task": "family_trees", **setting_defaults("family_trees")})
    dense = {g: v.dense for g, v in task.inputs.items()}
    params = task.net.init_params([np.random.default_rng(k) for k in range(2)], 1.0)
    y, yd = task.net.forward(params, task.inputs), task.net.forward(params, dense)
    np.testing.assert_array_equal(y["person2"], yd["person2"])
    e = y["person2"] - task.targets
    g, gd = task.net.backward(params, y, e), task.net.backward(params, yd, e)
    for k in g:
        np.testing.assert_allclose(g[k], gd[k], rtol=1e-12, atol=1e-15, err_msg=k)


def test_gradients_with_margin():
    """With a margin, outputs inside it contribute nothing, so E stays differentiable there."""
    check_gradients(layered([3, 4, 5]), seed=9, n_cases=8, init_range=2.0, margin=0.2)


def test_targets_on_several_groups():
    """Error derivatives entering at a hidden group and at part of the output group."""
    arch = Architecture(
        groups=(("in", 3), ("h", 4), ("out", 3)),
        inputs=("in",),
        connections=(("in", "h"), ("h", "out")),
        outputs=(("h", 1, 3), ("out", 0, 2)),
    )
    check_gradients(arch, seed=5, n_cases=6, init_range=1.5)


def test_gradients_match_an_independent_scalar_backprop():
    """Eqs. 4-7 written out unit by unit for one case of the 6-2-1 net."""
    arch = layered([6, 2, 1])
    params = arch.init_params([np.random.default_rng(4)], 1.0)
    x = np.array([[1.0, 0.0, 1.0, 1.0, 0.0, 0.0]])
    d = np.array([[1.0]])
    y = arch.forward(params, {"in": x})
    grads = arch.backward(params, y, y["out"] - d)
    w1, b1 = params["w:in->h1"][0], params["b:h1"][0]
    w2, b2 = params["w:h1->out"][0], params["b:out"][0]
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    h = [sig(sum(x[0, i] * w1[i, j] for i in range(6)) + b1[j]) for j in range(2)]
    o = sig(sum(h[j] * w2[j, 0] for j in range(2)) + b2[0])
    dx_o = (o - 1.0) * o * (1 - o)
    dx_h = [dx_o * w2[j, 0] * h[j] * (1 - h[j]) for j in range(2)]
    np.testing.assert_allclose(grads["b:out"][0, 0], dx_o, rtol=1e-12)
    np.testing.assert_allclose(grads["w:h1->out"][0, :, 0], [dx_o * h[j] for j in range(2)], rtol=1e-12)
    np.testing.assert_allclose(grads["b:h1"][0], dx_h, rtol=1e-12)
    expect = [[dx_h[j] * x[0, i] for j in range(2)] for i in range(6)]
    np.testing.assert_allclose(grads["w:in->h1"][0], expect, rtol=1e-12)
