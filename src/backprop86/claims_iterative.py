"""What the claims of the paper's Fig. 5 section measure on trained iterative nets
(the claims themselves are :mod:`backprop86.claims.iterative`).

The equivalence of an iterative net and its unrolled layered net holds by
construction here (the iterative net *is* trained as the unrolled net, with
tied weights); it is measured anyway, on every trained seed: the synchronous
iteration of eqs. 1-2 against the unrolled net, the tied ``dE/dw`` against the
sum of the untied copies' and against finite differences, and the first weight
change against ``-epsilon`` times the average.
"""

from __future__ import annotations

import numpy as np

from .experiments import Run, learning_rule
from .iterative import BIAS, INPUT, RECURRENT
from .learning import total_error, train
from .net import Architecture, Params, is_bias, net_input, sigmoid
from .tasks import build_task, task_module


def iterate(settings: dict, params: Params) -> list[np.ndarray]:
    """The iterative net run as Fig. 5 (left) defines it: ``T`` synchronous
    steps of eqs. 1-2 from the initial state; the states ``[y_0, ..., y_T]``."""
    net, initial, inputs, _, _ = task_module(settings["task"]).cases(settings)
    n_seeds = params[RECURRENT].shape[0]
    y = [np.broadcast_to(initial, (n_seeds, *initial.shape))]
    for t in range(1, net.steps + 1):
        x = net_input(y[-1], params[RECURRENT])  # from every unit's last state
        if net.n_inputs:
            x += net_input(np.ascontiguousarray(inputs[:, t - 1]), params[INPUT])  # from this step's inputs
        x += params[BIAS][:, None, :]
        y.append(sigmoid(x))
    return y


def task_error(net: Architecture, params: Params, inputs: dict, targets: np.ndarray, rule) -> np.ndarray:
    """``E`` (eq. 3) per seed."""
    return total_error(rule.output_error(net.readout(net.forward(params, inputs)), targets))


def equivalence_check(settings: dict, params: Params) -> dict[str, float]:
    """Fig. 5's equivalence, measured on (trained) weights of every seed:

    * ``forward``: the largest difference between the synchronous iteration's
      states and the unrolled layered net's (0 when they are the same numbers);
    * ``sum_of_copies``: the largest relative difference between ``dE/dw`` of a
      shared weight and the sum of ``dE/dw`` over its copies in the untied net;
    * ``finite_differences``: the largest relative difference between ``dE/dw``
      and central finite differences of ``E`` (step 1e-6), for the first 10 seeds;
    * ``average_change``: the largest difference between the first weight change
      training makes and ``-epsilon`` times the average over the ``T`` copies.
    """
    task, rule = build_task(settings), learning_rule(settings)
    net, spec = task.net, task_module(settings["task"]).cases(settings)[0]
    y = net.forward(params, task.inputs)
    forward = max(float(np.max(np.abs(a - b))) for a, b in zip(iterate(settings, params), spec.states(y)))

    e = rule.output_error(net.readout(y), task.targets)
    ours = net.backward(params, y, e)
    untied = net.untied()
    copies = {k: params[net.param(k)] for k in untied.param_shapes()}
    per_copy = untied.backward(copies, untied.forward(copies, task.inputs), e)
    summed = {k: sum(g for c, g in per_copy.items() if net.param(c) == k) for k in ours}
    rel = lambda a, b: float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))  # noqa: E731
    sum_of_copies = max(rel(ours[k], summed[k]) for k in ours)

    few = {k: v[:10] for k, v in params.items()}
    fd = finite_differences(lambda p: task_error(net, p, task.inputs, task.targets, rule), few)
    finite = max(rel(ours[k][:10], fd[k]) for k in ours)

    one = train(net, params, task.inputs, task.targets, rule, 1, {"any": 0.5})
    epsilon, n = rule.phase(1).epsilon, net.copies()
    change = 0.0
    for k in ours:  # the first change has no momentum: (w - epsilon * average), then the decay
        keep = 1.0 - rule.weight_decay if rule.decay_biases or not is_bias(k) else 1.0
        expected = (params[k] - epsilon * (summed[k] / n[k])) * keep - params[k]
        change = max(change, float(np.max(np.abs((one.params[k] - params[k]) - expected))))
    return {
        "forward": forward,
        "sum_of_copies": sum_of_copies,
        "finite_differences": finite,
        "average_change": change,
    }


def finite_differences(error, params: Params, h: float = 1e-6) -> Params:
    """Central differences ``(E(w + h) - E(w - h)) / 2h`` of every parameter, every seed at once."""
    out = {}
    for key, value in params.items():
        g = np.empty_like(value)
        for index in np.ndindex(value.shape[1:]):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[key][(slice(None), *index)] += h
            minus[key][(slice(None), *index)] -= h
            g[(slice(None), *index)] = (error(plus) - error(minus)) / (2 * h)
        out[key] = g
    return out


def learning_summary(run: Run, criterion: str) -> dict:
    """Seeds that met ``criterion`` within the budget, and their sweeps to it."""
    first = run.result.sweeps_to[criterion]
    learned = first[first >= 0]
    return {
        "seeds": len(first),
        "learned": int(len(learned)),
        "share": len(learned) / len(first),
        "median": float(np.median(learned)) if len(learned) else np.nan,
        "q25": float(np.quantile(learned, 0.25)) if len(learned) else np.nan,
        "q75": float(np.quantile(learned, 0.75)) if len(learned) else np.nan,
        "max_sweeps": int(run.settings["max_sweeps"]),
    }


def strictest(settings: dict) -> str:
    """The criterion with the smallest tolerance: the strictest reading of "learned"."""
    return min(settings["criteria"], key=lambda name: settings["criteria"][name])
