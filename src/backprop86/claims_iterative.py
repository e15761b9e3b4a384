"""The claims of the paper's Fig. 5 section, measured on trained iterative nets.

``results/tables/claims_iterative.csv`` has the columns of ``claims.csv``. The
equivalence of an iterative net and its unrolled layered net holds by
construction here (the iterative net *is* trained as the unrolled net, with
tied weights); these rows measure it anyway, on every trained seed: the
synchronous iteration of eqs. 1-2 against the unrolled net, the tied
``dE/dw`` against the sum of the untied copies' and against finite
differences, and the first weight change against ``-epsilon`` times the average.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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
    return {"forward": forward, "sum_of_copies": sum_of_copies, "finite_differences": finite,
            "average_change": change}  # fmt: skip


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


def claims_table(runs: dict[str, Run], verdicts: dict) -> pd.DataFrame:
    """The claims of the paper's Fig. 5 section, measured on trained runs (``runs``
    maps experiment name to its run); learning is judged by each run's strictest
    criterion, and every verdict by the config's ``report.verdicts.iterative``
    (``verdicts``: ``exact``, ``finite_differences``, ``learned_share``).
    Columns id, claim, paper, measured, verdict, rule."""
    exact, finite, share = verdicts["exact"], verdicts["finite_differences"], verdicts["learned_share"]
    rows = []
    checks = {name: equivalence_check(run.settings, run.result.params) for name, run in runs.items()}
    fwd = max(c["forward"] for c in checks.values())
    rows.append({
        "id": "iterative_forward_equivalence",
        "claim": "a synchronous iterative net run for T steps computes what the layered net with T layers "
                 "and corresponding weights shared computes",
        "paper": "stated (Fig. 5)",
        "measured": f"largest state difference {fwd:.3g} over every step, case and trained seed of "
                    + ", ".join(f"{n} ({len(r.seeds)} seeds)" for n, r in runs.items()),
        "verdict": "holds" if fwd == 0.0 else "fails",
        "rule": "holds if the states are identical (difference exactly 0)",
    })  # fmt: skip
    soc = max(c["sum_of_copies"] for c in checks.values())
    fd = max(c["finite_differences"] for c in checks.values())
    rows.append({
        "id": "iterative_gradient_sum_of_copies",
        "claim": "dE/dw of a shared weight is the sum of the layered net's dE/dw over its T copies, "
                 "found by keeping every unit's history and running the backward pass through the steps",
        "paper": "stated (Fig. 5 text)",
        "measured": f"largest relative difference {soc:.2g} from the sum over the copies in the untied unrolled net; "
                    f"{fd:.2g} from central finite differences (first 10 seeds)",
        "verdict": "holds" if soc < exact and fd < finite else "fails",
        "rule": f"holds if within {exact:g} of the summed copies and {finite:g} of finite differences",
    })  # fmt: skip
    avg = max(c["average_change"] for c in checks.values())
    rows.append({
        "id": "iterative_average_weight_change",
        "claim": "each weight changes in proportion to dE/dw averaged over its T corresponding weights, "
                 "so corresponding weights stay equal",
        "paper": "stated (Fig. 5 text)",
        "measured": f"largest difference {avg:.2g} between the applied change and -epsilon times the average",
        "verdict": "holds" if avg < exact else "fails",
        "rule": f"holds if within {exact:g}",
    })  # fmt: skip
    for name, run in runs.items():
        criterion = strictest(run.settings)
        s = learning_summary(run, criterion)
        tol = run.settings["criteria"][criterion]
        rows.append({
            "id": f"iterative_learns_{name}",
            "claim": f"an iterative net can learn sequential structure: {run.settings['task'].replace('_', ' ')}",
            "paper": "stated qualitatively; the PDP chapter's numbers are known to us only second-hand",
            "measured": f"{s['learned']}/{s['seeds']} seeds with every output within {tol:g} of its target "
                        f"within {s['max_sweeps']} sweeps; median {s['median']:.0f} sweeps "
                        f"(quartiles {s['q25']:.0f}-{s['q75']:.0f})",
            "verdict": "supported" if s["share"] >= share else "not supported",
            "rule": f"supported if at least {share:.0%} of seeds learn within the budget",
        })  # fmt: skip
    return pd.DataFrame(rows, columns=["id", "claim", "paper", "measured", "verdict", "rule"])
