"""Iterative nets (Fig. 5): the unrolled layered net as reference for the states,
every dE/dw and the weight change; the tasks; training; seeds; figure and claims."""

import numpy as np
import pytest
from conftest import assert_finite_differences

from backprop86.config import ConfigError, validate
from backprop86.experiments import train_seeds
from backprop86.iterative import (
    BIAS,
    INPUT,
    RECURRENT,
    IterativeNet,
    IterativeTask,
    claims_table,
    sequence_completion_task,
    shift_register_task,
    sum_of_squares,
    train_iterative,
    unrolled_gradients,
    unrolled_inputs,
    unrolled_params,
)
from backprop86.learning import LearningRule, Phase, output_error
from backprop86.net import bias_key, weight_key


def random_task(seed: int, n_units=4, n_inputs=2, steps=4, outputs=(1, 3), target_steps=(2, 4), n_cases=5):
    """An iterative net with inputs, some output units and targets at some steps, on random data."""
    rng = np.random.default_rng(seed)
    net = IterativeNet(
        n_units=n_units, steps=steps, outputs=outputs, target_steps=target_steps, n_inputs=n_inputs
    )
    initial = rng.uniform(0, 1, (n_cases, n_units))
    inputs = rng.uniform(0, 1, (n_cases, steps, n_inputs)) if n_inputs else None
    targets = (rng.uniform(0, 1, (n_cases, len(target_steps) * len(outputs))) > 0.5).astype(float)
    return IterativeTask(net, initial, inputs, targets, [str(c) for c in range(n_cases)])


TASKS = {
    "random": random_task(1),
    "random_no_inputs": random_task(
        2, n_units=3, n_inputs=0, steps=3, outputs=(0, 1, 2), target_steps=(1, 2, 3)
    ),
    "shift_register": shift_register_task(3, 3),
    "sequence_completion": sequence_completion_task(5),
}


def params_of(task, n_seeds=3, init_range=1.5, seed=0):
    return task.net.init_params([np.random.default_rng(seed + k) for k in range(n_seeds)], init_range)


def error(task, params, margin=0.0):
    y = task.net.forward(params, task.initial, task.inputs)
    return sum_of_squares(output_error(task.net.readout(y), task.targets, margin))


@pytest.mark.parametrize("name", TASKS)
def test_states_are_the_unrolled_layered_nets_exactly(name):
    task = TASKS[name]
    net, params = task.net, params_of(task)
    y = net.forward(params, task.initial, task.inputs)
    arch, ties = net.unroll()
    assert len(arch.hidden_and_output) == net.steps, "one layer per step"
    layered = arch.forward(unrolled_params(net, params), unrolled_inputs(net, task.initial, task.inputs))
    for t in range(net.steps + 1):
        ref = np.broadcast_to(layered[f"s{t}"], y[t].shape)  # s0 is shared by every seed
        assert np.array_equal(y[t], ref), f"step {t}: ours {y[t][0, 0]}, layered {ref[0, 0]}"
    assert not np.allclose(y[1], y[2]), "the states change from step to step"


@pytest.mark.parametrize("margin", [0.0, 0.2])
@pytest.mark.parametrize("name", TASKS)
def test_each_copy_and_the_shared_gradient_against_the_unrolled_net_and_finite_differences(name, margin):
    task = TASKS[name]
    net, params = task.net, params_of(task)
    y = net.forward(params, task.initial, task.inputs)
    e = output_error(net.readout(y), task.targets, margin)
    copies = net.backward_copies(params, y, task.inputs, e)
    shared = net.backward(params, y, task.inputs, e)
    layered = unrolled_gradients(net, params, task.initial, task.inputs, e)
    _, ties = net.unroll()

    # each copy t is the layered net's gradient of the weights into layer t
    for t in range(1, net.steps + 1):
        keys = {RECURRENT: weight_key(f"s{t - 1}", f"s{t}"), BIAS: bias_key(f"s{t}")}
        if net.n_inputs:
            keys[INPUT] = weight_key(f"in{t}", f"s{t}")
        for k, lk in keys.items():
            np.testing.assert_allclose(copies[t - 1][k], layered[lk], rtol=1e-12, atol=1e-15,
                                       err_msg=f"copy {t} of {k} (ours) vs layered {lk}")  # fmt: skip
    # the shared weight's dE/dw is the sum over its T copies ...
    for k in shared:
        total = sum(layered[lk] for lk, sk in ties.items() if sk == k)
        assert sum(1 for sk in ties.values() if sk == k) == net.steps
        np.testing.assert_allclose(
            shared[k], total, rtol=1e-12, atol=1e-15, err_msg=f"dE/d{k}: ours vs sum of copies"
        )
    # ... and is the derivative of E, by central differences
    assert_finite_differences(params, shared, lambda p: error(task, p, margin))


def test_gradient_written_out_for_one_unit_two_steps():
    """One unit, no inputs, target 1 after step 2: the chain rule by hand."""
    net = IterativeNet(n_units=1, steps=2, outputs=(0,), target_steps=(2,))
    w, b, y0 = 0.7, -0.2, np.array([[0.4]])
    params = {RECURRENT: np.array([[[w]]]), BIAS: np.array([[b]])}
    y = net.forward(params, y0)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    y1 = sig(w * 0.4 + b)
    y2 = sig(w * y1 + b)
    assert np.isclose(y[2][0, 0, 0], y2, rtol=1e-14)
    d2 = (y2 - 1.0) * y2 * (1 - y2)
    d1 = d2 * w * y1 * (1 - y1)
    g = net.backward(params, y, None, net.readout(y) - 1.0)
    np.testing.assert_allclose(g[RECURRENT][0, 0, 0], d2 * y1 + d1 * 0.4, rtol=1e-12)
    np.testing.assert_allclose(g[BIAS][0, 0], d2 + d1, rtol=1e-12)


@pytest.mark.parametrize(
    "rule",
    [
        LearningRule((Phase(1, 0.5, 0.0),)),
        LearningRule((Phase(1, 0.25, 0.5), Phase(2, 1.0, 0.8))),
        LearningRule((Phase(1, 0.5, 0.9),), weight_decay=0.05, margin=0.1),
    ],
)
def test_weight_change_is_the_average_over_the_copies(rule):
    """Three sweeps by hand from the unrolled net's copies: eq. 9 on the average
    (not the sum) of dE/dw over the T copies, then decay."""
    task = TASKS["random"]
    net, p0 = task.net, params_of(task, n_seeds=2, init_range=1.0)
    _, ties = net.unroll()
    p, v = {k: a.copy() for k, a in p0.items()}, {k: 0.0 for k in p0}
    for sweep in range(1, 4):
        y = net.forward(p, task.initial, task.inputs)
        e = output_error(net.readout(y), task.targets, rule.margin)
        layered = unrolled_gradients(net, p, task.initial, task.inputs, e)
        phase = rule.phase(sweep)
        for k in p:
            copies = [layered[lk] for lk, sk in ties.items() if sk == k]
            v[k] = -phase.epsilon * (sum(copies) / len(copies)) + phase.alpha * v[k]
            p[k] = (p[k] + v[k]) * (1 - rule.weight_decay)
    result = train_iterative(net, p0, task.initial, task.inputs, task.targets, rule, 3, {"any": 0.5})
    for k in p:
        np.testing.assert_allclose(
            result.params[k], p[k], rtol=1e-12, atol=1e-15, err_msg=f"{k}: ours vs by hand"
        )
    assert not np.allclose(result.params[RECURRENT], p0[RECURRENT])


def test_bookkeeping_matches_learning_train():
    """E before each change, sweeps to each criterion, and a stopped seed keeps its weights."""
    task = shift_register_task()
    params = params_of(task, n_seeds=4, init_range=0.3)
    rule = LearningRule((Phase(1, 0.5, 0.9),))
    r = train_iterative(task.net, params, task.initial, task.inputs, task.targets, rule, 400,
                        {"rounded": 0.5, "tight": 0.1}, stop_at="tight")  # fmt: skip
    assert np.allclose(r.error[:, 0], error(task, params))
    assert (r.sweeps_to["tight"] > 0).all() and (r.sweeps_to["rounded"] < r.sweeps_to["tight"]).all()
    assert (r.sweeps_run == r.sweeps_to["tight"]).all()
    for s in range(4):
        n = r.sweeps_run[s]
        assert np.isnan(r.error[s, n + 1 :]).all() and not np.isnan(r.error[s, : n + 1]).any()
        one = {k: v[s : s + 1] for k, v in r.params.items()}
        y = task.net.forward(one, task.initial)
        assert np.abs(task.net.readout(y) - task.targets).max() < 0.1
        assert np.isclose(error(task, one)[0], r.error[s, n])


def test_shift_register_targets_follow_the_definition():
    task = shift_register_task(4, 3)
    assert task.initial.shape == (16, 4) and len({tuple(p) for p in task.initial}) == 16
    for c, p in enumerate(task.initial):
        for t in (1, 2, 3):
            expect = [p[(j - t) % 4] for j in range(4)]
            assert list(task.targets[c, (t - 1) * 4 : t * 4]) == expect, (task.case_labels[c], t)
    assert task.inputs is None and task.net.n_inputs == 0, "trained through the recurrent weights only"


def test_sequence_completion_is_the_mirror_of_what_is_shown():
    task = sequence_completion_task(6)
    assert len(task.case_labels) == 9
    for c, label in enumerate(task.case_labels):
        a, b = (int(np.argmax(task.inputs[c, t])) for t in (0, 1))
        assert not task.inputs[c, 2:].any(), "nothing is shown after step 2"
        assert label == "ABC"[a] + "ABC"[b] + "ABC"[b] + "ABC"[a]
        assert list(task.targets[c]) == list(np.eye(3)[b]) + list(np.eye(3)[a])


SHIFT = dict(task="shift_register", seeds=1, units=3, steps=3, init_range=0.3, weight_decay=0.0, margin=0.0,
             schedule=[dict(start_sweep=1, epsilon=0.1, alpha=0.9)], max_sweeps=300, stop_at="tight",
             criteria={"rounded": 0.5, "tight": 0.2})  # fmt: skip
SEQUENCE = {**SHIFT, "task": "sequence_completion", "units": 6, "max_sweeps": 1500}
del SEQUENCE["steps"]


@pytest.mark.parametrize("settings", [SHIFT, SEQUENCE], ids=["shift_register", "sequence_completion"])
def test_seed_alone_equals_seed_in_batch_and_most_learn(settings):
    batch = train_seeds(settings, range(30))
    assert batch.heldout is None and batch.train_mask.all()
    for seed in (0, 29):
        for alone, i in (
            (train_seeds(settings, [seed]), 0),
            (train_seeds(settings, [29, 3, 0]), [29, 3, 0].index(seed)),
        ):
            for k in batch.result.params:
                assert alone.result.params[k][i].tobytes() == batch.result.params[k][seed].tobytes(), k
            assert alone.result.error[i].tobytes() == batch.result.error[seed].tobytes()
    learned = (batch.result.sweeps_to["tight"] >= 0).mean()
    assert learned >= 0.9, f"only {learned:.0%} of seeds learned {settings['task']}"
    assert (batch.result.sweeps_to["tight"] > 0).all(), "no seed starts out solved"


def test_a_net_too_small_cannot_complete_sequences():
    """With only its 3 output units the net cannot hold the first symbol: the
    learning test above measures a task, not a criterion any net meets."""
    run = train_seeds({**SEQUENCE, "units": 3, "max_sweeps": 800}, range(10))
    assert (run.result.sweeps_to["tight"] < 0).all()


def test_claims_table_on_trained_runs():
    runs = {
        "shift_register": train_seeds(SHIFT, range(12)),
        "sequence_completion": train_seeds(SEQUENCE, range(4)),
    }
    table = claims_table(runs)
    assert list(table.columns) == ["id", "claim", "paper", "measured", "verdict", "rule"]
    assert list(table.verdict) == ["holds"] * 3 + ["supported"] * 2
    assert "12/12 seeds" in table.set_index("id").loc["iterative_learns_shift_register", "measured"]


def test_figure_is_drawn_from_the_model_and_byte_stable(tmp_path):
    from backprop86.figures_iterative import save_fig5

    run = train_seeds(SHIFT, range(3))
    save_fig5(tmp_path / "a.png", SHIFT, run)
    save_fig5(tmp_path / "b.png", SHIFT, run)
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    bigger = {**SHIFT, "units": 4, "steps": 2}
    save_fig5(tmp_path / "c.png", bigger, train_seeds(bigger, range(2)))
    assert (tmp_path / "c.png").read_bytes() != (tmp_path / "a.png").read_bytes()


def config_with(**settings):
    exp = {"task": settings.pop("task"), "seeds": 2, "settings": {
        "init_range": 0.3, "schedule": [{"start_sweep": 1, "epsilon": 0.1, "alpha": 0.9}], "max_sweeps": 10,
        "criteria": {"rounded": 0.5}, **settings}}  # fmt: skip
    return {"experiments": {"x": exp}}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (dict(task="sequence_completion", steps=3), "experiments.x.settings.steps: only the shift register"),
        (dict(task="symmetry", units=3), "experiments.x.settings.units: only the iterative nets"),
        (dict(task="sequence_completion", units=2), "experiments.x.settings.units: 2 is too few"),
        (
            dict(task="shift_register", units=1),
            "experiments.x.settings.units: 1 is less than the minimum of 2",
        ),
    ],
)
def test_config_errors_name_the_key(settings, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        validate(config_with(**settings))
    validate(config_with(task="shift_register", units=4, steps=5))
