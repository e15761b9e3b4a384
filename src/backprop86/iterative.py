"""Synchronous iterative nets, trained through time with shared weights (Fig. 5).

A set of sigmoid units with a full weight matrix among them (and biases, and
optionally weights from external input lines) is run for ``T`` synchronous
steps from an initial state: every unit's state at step ``t`` is the sigmoid
(eq. 2) of the net input (eq. 1) it receives from every unit's state at step
``t - 1``, from the external inputs of step ``t`` and from its bias. The paper's
Fig. 5 shows that this is the layered net with ``T`` layers whose corresponding
weights are equal, so the same learning procedure applies: keep the history of
every unit's state (the backward pass needs it), run eqs. 5-7 back through the
steps, and, so that corresponding weights stay equal, change every weight in a
set of ``T`` corresponding weights by an amount proportional to the *average*
of ``dE/dw`` over the set.

Shapes, as in :mod:`backprop86.net`, carry a leading seed axis ``S``: the
recurrent weights ``(S, n, n)`` (``w[s, i, j]`` is the paper's ``w_ji``, from
unit ``i`` to unit ``j``), input weights ``(S, n_in, n)``, biases ``(S, n)``,
states ``(S, n_cases, n)`` at each step. The initial state ``(n_cases, n)`` and
external inputs ``(n_cases, T, n_in)`` are shared by every seed. Targets are
given for the designated output units at chosen steps only, flattened per case
to ``(n_cases, n_target_steps * n_out)`` (step-major), so the learning rule's
``output_error`` and ``worst_miss`` apply unchanged.

Every contraction is a seed-by-seed ``np.matmul`` and every sum over steps a
fixed-order loop of elementwise adds, so seed ``k`` gives the same bytes alone
or among others.

Two tasks in the spirit of the PDP chapter (whose numbers we know only
second-hand, so nothing here is compared with them):

* **shift register**: ``n`` fully connected units with no external inputs
  start in one of the ``2**n`` binary patterns; after step ``t`` they must hold
  the pattern shifted ``t`` places (circularly). Only the recurrent weights and
  biases can learn it.
* **sequence completion**: two symbols ``a, b`` from ``{A, B, C}`` are shown
  one per step on external input lines (one-hot), and the net must complete
  the mirror sequence ``a b b a``: the output units name ``b`` at step 3 and
  ``a`` at step 4, with nothing shown. The net must hold ``a`` for two steps
  while it also holds and then reports ``b``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .experiments import Run, learning_rule, seed_generators
from .learning import LearningRule, TrainResult, change_weights, output_error, record_sweep, worst_miss
from .net import Architecture, Params, bias_key, weight_key

TASKS = ("shift_register", "sequence_completion")

RECURRENT = "w:units->units"  # the shared recurrent weights, (S, n, n)
INPUT = "w:inputs->units"  # the shared input weights, (S, n_in, n)
BIAS = "b:units"  # the shared biases, (S, n)


@dataclass(frozen=True)
class IterativeNet:
    """``n_units`` sigmoid units, fully connected among themselves, run ``steps``
    synchronous iterations; ``n_inputs`` external input lines feed every unit.

    ``outputs`` are the units that have targets, at the 1-based steps
    ``target_steps``.
    """

    n_units: int
    steps: int
    outputs: tuple[int, ...]
    target_steps: tuple[int, ...]
    n_inputs: int = 0

    def __post_init__(self) -> None:
        if self.n_units < 1 or self.steps < 1:
            raise ValueError("an iterative net needs at least one unit and one step")
        if not self.outputs or any(not 0 <= u < self.n_units for u in self.outputs):
            raise ValueError(f"output units {self.outputs} must be among units 0..{self.n_units - 1}")
        if not self.target_steps or list(self.target_steps) != sorted(set(self.target_steps)):
            raise ValueError(f"target steps {self.target_steps} must be distinct and increasing")
        if self.target_steps[0] < 1 or self.target_steps[-1] > self.steps:
            raise ValueError(f"target steps {self.target_steps} must lie in 1..{self.steps}")

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shapes of one seed's parameters, in the order they are initialised."""
        shapes = {RECURRENT: (self.n_units, self.n_units)}
        if self.n_inputs:
            shapes[INPUT] = (self.n_inputs, self.n_units)
        shapes[BIAS] = (self.n_units,)
        return shapes

    def init_params(self, rngs: list[np.random.Generator], init_range: float) -> Params:
        """Uniform initial weights and biases in ``[-init_range, init_range]``, one generator per seed."""
        shapes = self.param_shapes()
        per_seed = [
            {k: rng.uniform(-init_range, init_range, size=s) for k, s in shapes.items()} for rng in rngs
        ]
        return {k: np.stack([p[k] for p in per_seed]) for k in shapes}

    def step_inputs(self, inputs: np.ndarray | None) -> list[np.ndarray | None]:
        """The external inputs of steps ``1..T``, each ``(n_cases, n_in)`` (or None)."""
        if not self.n_inputs:
            return [None] * self.steps
        return [np.ascontiguousarray(inputs[:, t]) for t in range(self.steps)]

    def forward(
        self, params: Params, initial: np.ndarray, inputs: np.ndarray | None = None
    ) -> list[np.ndarray]:
        """Run ``T`` synchronous steps (eqs. 1-2 at every step) from ``initial (n_cases, n)``.

        Returns the history ``[y_0, y_1, ..., y_T]``, each ``(S, n_cases, n)``;
        ``y_0`` is the initial state broadcast over seeds.
        """
        W, b = params[RECURRENT], params[BIAS]
        n_seeds = W.shape[0]
        y = [np.broadcast_to(initial, (n_seeds, *initial.shape))]
        for x_t in self.step_inputs(inputs):
            x = np.matmul(y[-1], W)  # eq. 1 from every unit's previous state, (S, C, n)
            if x_t is not None:
                x += np.matmul(x_t, params[INPUT])  # and from the external inputs of this step
            x += b[:, None, :]
            y.append(sigmoid(x))  # eq. 2
        return y

    def readout(self, y: list[np.ndarray]) -> np.ndarray:
        """The output units at the target steps, ``(S, n_cases, n_target_steps * n_out)``."""
        out = [y[t][:, :, list(self.outputs)] for t in self.target_steps]
        return np.concatenate(out, axis=2)

    def backward_copies(self, params: Params, y: list[np.ndarray], inputs: np.ndarray | None,
                        dE_dout: np.ndarray) -> list[Params]:  # fmt: skip
        """Back through time (eqs. 5-7): ``dE/dw`` of each of the ``T`` copies of every weight.

        ``dE_dout`` is ``(S, n_cases, n_target_steps * n_out)`` (eq. 4, margin
        applied), as ``readout``. Returns ``[grads of step 1, ..., grads of step
        T]``: copy ``t`` is the weight from the states of step ``t - 1`` to those
        of step ``t`` in the unrolled layered net.
        """
        W = params[RECURRENT]
        Wt = np.swapaxes(W, -1, -2)
        x_steps = self.step_inputs(inputs)
        n_out = len(self.outputs)
        n_cases = dE_dout.shape[1]
        ones = np.ones(n_cases)
        copies: list[Params] = [{} for _ in range(self.steps)]
        dE_dy = np.zeros_like(y[-1])  # (S, C, n): what later steps send back to this one
        for t in range(self.steps, 0, -1):
            if t in self.target_steps:
                k = self.target_steps.index(t)
                dE_dy[:, :, list(self.outputs)] += dE_dout[:, :, k * n_out : (k + 1) * n_out]  # eq. 4
            delta = dE_dy * y[t]
            delta *= 1.0 - y[t]  # eq. 5: dE/dx = dE/dy y (1 - y)
            g = copies[t - 1]
            g[RECURRENT] = np.matmul(np.swapaxes(y[t - 1], -1, -2), delta)  # eq. 6, (S, n, n)
            if self.n_inputs:
                g[INPUT] = np.matmul(x_steps[t - 1].T, delta)  # eq. 6 for the input weights
            g[BIAS] = np.matmul(ones, delta)  # (S, n)
            dE_dy = np.matmul(delta, Wt)  # eq. 7: back to the states of step t - 1
        return [{k: g[k] for k in self.param_shapes()} for g in copies]

    def backward(self, params: Params, y: list[np.ndarray], inputs: np.ndarray | None,
                 dE_dout: np.ndarray) -> Params:  # fmt: skip
        """``dE/dw`` of every shared weight: the sum of its ``T`` copies' derivatives."""
        copies = self.backward_copies(params, y, inputs, dE_dout)
        total = {k: v.copy() for k, v in copies[0].items()}
        for g in copies[1:]:  # a fixed order of elementwise adds
            for k, v in g.items():
                total[k] += v
        return total

    # --- the unrolled equivalent (Fig. 5, right) ------------------------------

    def unroll(self) -> tuple[Architecture, dict[str, str]]:
        """The layered net of Fig. 5: groups ``s0`` (the initial state, an input
        group), ``s1 .. sT`` (the states after each step) and, with external
        inputs, input groups ``in1 .. inT``. Returns it and the tying map
        ``{layered parameter key: shared parameter key}``. The output group is
        ``sT``; targets at earlier steps are handled by truncating (see
        :func:`unrolled_gradients`).
        """
        T, n = self.steps, self.n_units
        lines = [(f"in{t}", self.n_inputs) for t in range(1, T + 1)] if self.n_inputs else []
        states = [(f"s{t}", n) for t in range(T + 1)]
        connections, ties = [], {}
        for t in range(1, T + 1):
            connections.append((f"s{t - 1}", f"s{t}"))
            ties[weight_key(f"s{t - 1}", f"s{t}")] = RECURRENT
            if self.n_inputs:
                connections.append((f"in{t}", f"s{t}"))
                ties[weight_key(f"in{t}", f"s{t}")] = INPUT
            ties[bias_key(f"s{t}")] = BIAS
        arch = Architecture(groups=tuple(lines + states), inputs=("s0", *(g for g, _ in lines)),
                            output=f"s{T}", connections=tuple(connections))  # fmt: skip
        return arch, ties

    def connections(self) -> list[tuple[str, int, str, int, str]]:
        """Every connection of the recurrent net as ``(from kind, i, to kind, j, label)``,
        kinds ``"unit"`` or ``"input"``; the label names the shared weight ``w_ji``."""
        out = []
        for i in range(self.n_inputs):
            for j in range(self.n_units):
                out.append(("input", i, "unit", j, f"v{j + 1}{i + 1}"))
        for i in range(self.n_units):
            for j in range(self.n_units):
                out.append(("unit", i, "unit", j, f"w{j + 1}{i + 1}"))
        return out


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Eq. 2, in place on ``x``; the same operations as :func:`backprop86.net.sigmoid`."""
    np.negative(x, out=x)
    with np.errstate(over="ignore"):
        np.exp(x, out=x)
    x += 1.0
    return np.reciprocal(x, out=x)


def unrolled_params(net: IterativeNet, params: Params) -> Params:
    """The iterative net's weights copied into every layer of its unrolled net."""
    arch, ties = net.unroll()
    return {k: params[ties[k]].copy() for k in arch.param_shapes()}


def unrolled_inputs(
    net: IterativeNet, initial: np.ndarray, inputs: np.ndarray | None
) -> dict[str, np.ndarray]:
    feed = {"s0": initial}
    for t, x_t in enumerate(net.step_inputs(inputs), start=1):
        if x_t is not None:
            feed[f"in{t}"] = x_t
    return feed


def unrolled_gradients(net: IterativeNet, params: Params, initial: np.ndarray, inputs: np.ndarray | None,
                       dE_dout: np.ndarray) -> Params:  # fmt: skip
    """``dE/dw`` of every layered-net parameter of the unrolled net, by ``Architecture.backward``.

    ``E`` is a sum over target steps; the part of step ``t`` depends on the
    first ``t`` layers only, so each is back-propagated through the net truncated
    to ``t`` layers (output group ``st``) and the derivatives added.
    """
    full, _ = net.unroll()
    p = unrolled_params(net, params)
    feed = unrolled_inputs(net, initial, inputs)
    n_out = len(net.outputs)
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    for k, t in enumerate(net.target_steps):
        arch = truncated(full, t)
        y = arch.forward({key: p[key] for key in arch.param_shapes()}, feed)
        e = np.zeros_like(y[f"s{t}"])
        e[:, :, list(net.outputs)] = dE_dout[:, :, k * n_out : (k + 1) * n_out]
        for key, g in arch.backward({key: p[key] for key in arch.param_shapes()}, y, e).items():
            grads[key] += g
    return grads


def truncated(arch: Architecture, t: int) -> Architecture:
    """The unrolled net up to the states of step ``t`` (output ``st``)."""

    def step(name: str) -> int:
        return int(name[1:]) if name.startswith("s") else int(name[2:])

    groups = tuple(g for g in arch.groups if step(g[0]) <= t)
    names = {g for g, _ in groups}
    return Architecture(
        groups=groups,
        inputs=tuple(g for g in arch.inputs if g in names),
        output=f"s{t}",
        connections=tuple(c for c in arch.connections if c[1] in names),
    )


# --- training ----------------------------------------------------------------


def sum_of_squares(e: np.ndarray) -> np.ndarray:
    """``E = 1/2 sum e^2`` (eq. 3) per seed, as a seed-by-seed product ``e e^T``."""
    flat = e.reshape(e.shape[0], 1, -1)
    return 0.5 * np.matmul(flat, np.swapaxes(flat, -1, -2))[:, 0, 0]


def train_iterative(
    net: IterativeNet,
    params: Params,
    initial: np.ndarray,
    inputs: np.ndarray | None,
    targets: np.ndarray,
    rule: LearningRule,
    max_sweeps: int,
    criteria: dict[str, float],
    stop_at: str | None = None,
    progress: bool = False,
    progress_label: str = "sweeps",
) -> TrainResult:
    """Train every seed for ``max_sweeps`` weight changes, or until ``stop_at``,
    with the bookkeeping of :func:`backprop86.learning.train`.

    ``targets`` is ``(n_cases, n_target_steps * n_out)``, as ``net.readout``.
    Each weight change is eq. 9 with ``dE/dw`` replaced by its average over the
    ``T`` copies of the weight (Fig. 5 text), then weight decay.
    """
    n_seeds = next(iter(params.values())).shape[0]
    if stop_at is not None and stop_at not in criteria:
        raise ValueError(f"stop_at {stop_at!r} is not one of the criteria {sorted(criteria)}")
    mask = np.ones((n_seeds, targets.shape[0]), bool)
    params = {k: v.copy() for k, v in params.items()}
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    error = np.full((n_seeds, max_sweeps + 1), np.nan)
    sweeps_to = {name: np.full(n_seeds, -1, np.int64) for name in criteria}
    sweeps_run = np.zeros(n_seeds, np.int64)
    active = np.ones(n_seeds, bool)
    bar = tqdm(total=max_sweeps, desc=progress_label, disable=None if progress else True, leave=False)
    for k in range(max_sweeps + 1):
        y = net.forward(params, initial, inputs)
        out = net.readout(y)
        e = output_error(out, targets, rule.margin, rule.margin_from_edge)
        worst = worst_miss(out, targets, mask)
        active = record_sweep(k, sum_of_squares(e), worst, active, error, sweeps_to, criteria, stop_at)
        if k == max_sweeps or not active.any():
            break

        grads = net.backward(params, y, inputs, e)
        average = {key: g / net.steps for key, g in grads.items()}  # over the T corresponding weights
        change_weights(params, velocity, average, rule.phase(k + 1), rule.weight_decay, active)
        sweeps_run[active] = k + 1
        bar.update(1)
    bar.close()
    return TrainResult(params=params, error=error, sweeps_to=sweeps_to, sweeps_run=sweeps_run)


# --- the two tasks -------------------------------------------------------------


@dataclass
class IterativeTask:
    """An iterative net and what it is trained on: ``initial (n_cases, n)``,
    ``inputs (n_cases, T, n_in)`` or None, ``targets`` as ``net.readout``."""

    net: IterativeNet
    initial: np.ndarray
    inputs: np.ndarray | None
    targets: np.ndarray
    case_labels: list[str]


def binary_patterns(n: int) -> np.ndarray:
    """All ``2**n`` binary patterns, ``(2**n, n)``, unit 1 most significant."""
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def shift_register_task(units: int = 3, steps: int = 3) -> IterativeTask:
    """Every binary starting pattern of ``units`` units; after step ``t`` the
    units must hold it shifted ``t`` places to the right (circularly), with no
    external inputs: only the recurrent weights and biases can do it."""
    patterns = binary_patterns(units)
    targets = np.concatenate([np.roll(patterns, t, axis=1) for t in range(1, steps + 1)], axis=1)
    net = IterativeNet(n_units=units, steps=steps, outputs=tuple(range(units)),
                       target_steps=tuple(range(1, steps + 1)))  # fmt: skip
    labels = ["".join(str(int(v)) for v in p) for p in patterns]
    return IterativeTask(net, patterns, None, targets, labels)


SYMBOLS = "ABC"


def sequence_completion_task(units: int = 6, symbols: str = SYMBOLS) -> IterativeTask:
    """Sequences ``a b b a`` for every pair of symbols: ``a`` and ``b`` are shown
    (one-hot on the input lines) at steps 1 and 2, nothing after; the first
    ``len(symbols)`` units are the outputs and must name ``b`` at step 3 and
    ``a`` at step 4. The net starts from all units off."""
    k = len(symbols)
    if units < k:
        raise ValueError(f"the net needs at least {k} units: its first {k} are the outputs")
    eye = np.eye(k)
    pairs = list(itertools.product(range(k), repeat=2))
    inputs = np.zeros((len(pairs), 4, k))
    targets = np.zeros((len(pairs), 2 * k))
    for c, (a, b) in enumerate(pairs):
        inputs[c, 0], inputs[c, 1] = eye[a], eye[b]
        targets[c] = np.concatenate([eye[b], eye[a]])
    net = IterativeNet(n_units=units, steps=4, outputs=tuple(range(k)), target_steps=(3, 4), n_inputs=k)
    labels = [f"{symbols[a]}{symbols[b]}{symbols[b]}{symbols[a]}" for a, b in pairs]
    return IterativeTask(net, np.zeros((len(pairs), units)), inputs, targets, labels)


def build_iterative_task(settings: dict) -> IterativeTask:
    if settings["task"] == "shift_register":
        return shift_register_task(settings["units"], settings["steps"])
    if settings["task"] == "sequence_completion":
        return sequence_completion_task(settings["units"])
    raise ValueError(f"not an iterative task: {settings['task']!r}; iterative tasks: {', '.join(TASKS)}")


def dataset_frame(task_name: str, settings: dict | None = None) -> pd.DataFrame:
    """A task's cases in long form, one row per (case, step): the state the net
    starts from (step 0), the external inputs of each step and the targets of
    the output units (empty where there is none)."""
    defaults = {"shift_register": {"units": 3, "steps": 3}, "sequence_completion": {"units": 6}}
    task = build_iterative_task({"task": task_name, **defaults[task_name], **(settings or {})})
    net = task.net
    n_out = len(net.outputs)
    rows = []
    for c, label in enumerate(task.case_labels):
        for t in range(net.steps + 1):
            row = {"case": label, "step": t}
            for i in range(net.n_units):
                row[f"initial_{i + 1}"] = task.initial[c, i] if t == 0 else np.nan
            for i in range(net.n_inputs):
                row[f"input_{i + 1}"] = task.inputs[c, t - 1, i] if t > 0 else np.nan
            for j, u in enumerate(net.outputs):
                at = net.target_steps.index(t) if t in net.target_steps else None
                row[f"target_{u + 1}"] = task.targets[c, at * n_out + j] if at is not None else np.nan
            rows.append(row)
    return pd.DataFrame(rows)


def train_iterative_seeds(settings: dict, seeds, progress: bool = False) -> Run:
    """Train every seed in ``seeds`` of one resolved iterative configuration at once.

    Initial weights come from each seed's own generator (``seed_generators``);
    there is no held-out split, so every case is a training case.
    """
    seeds = np.asarray(list(seeds), dtype=np.int64)
    task = build_iterative_task(settings)
    params = task.net.init_params([seed_generators(int(s))[0] for s in seeds], settings["init_range"])
    result = train_iterative(
        task.net, params, task.initial, task.inputs, task.targets, learning_rule(settings),
        max_sweeps=settings["max_sweeps"], criteria=settings["criteria"], stop_at=settings.get("stop_at"),
        progress=progress, progress_label=settings["task"],
    )  # fmt: skip
    return Run(settings, seeds, result, np.ones((len(seeds), task.targets.shape[0]), bool), None)


# --- claims checked on trained nets ----------------------------------------------


def equivalence_check(settings: dict, params: Params) -> dict[str, float]:
    """Fig. 5's equivalence, measured on (trained) weights of every seed:

    * ``forward``: the largest difference between the iterative net's states
      and its unrolled layered net's (0 when they are the same numbers);
    * ``sum_of_copies``: the largest relative difference between our ``dE/dw``
      of a shared weight and the sum of the layered net's derivatives of its copies;
    * ``finite_differences``: the largest relative difference between our ``dE/dw``
      and central finite differences of ``E`` (step 1e-6), for the first 10 seeds;
    * ``average_change``: the largest difference between the first weight change
      ``train_iterative`` makes and ``-epsilon`` times the average over the ``T``
      copies of the layered net's derivatives.
    """
    task = build_iterative_task(settings)
    net, rule = task.net, learning_rule(settings)
    y = net.forward(params, task.initial, task.inputs)
    arch, ties = net.unroll()
    layered_y = arch.forward(unrolled_params(net, params), unrolled_inputs(net, task.initial, task.inputs))
    forward = max(float(np.max(np.abs(layered_y[f"s{t}"] - y[t]))) for t in range(net.steps + 1))

    e = output_error(net.readout(y), task.targets, rule.margin)
    ours = net.backward(params, y, task.inputs, e)
    per_layer = unrolled_gradients(net, params, task.initial, task.inputs, e)
    summed = {k: sum(per_layer[lk] for lk, sk in ties.items() if sk == k) for k in ours}
    rel = lambda a, b: float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))  # noqa: E731
    sum_of_copies = max(rel(ours[k], summed[k]) for k in ours)

    few = {k: v[:10] for k, v in params.items()}
    fd = finite_difference_gradients(task, few, rule.margin)
    finite = max(rel(ours[k][:10], fd[k]) for k in ours)

    one = train_iterative(net, params, task.initial, task.inputs, task.targets, rule, 1, {"any": 0.5})
    epsilon, keep = rule.phase(1).epsilon, 1.0 - rule.weight_decay
    change = 0.0
    for k in ours:  # the first change has no momentum: (w - epsilon * average) * keep
        expected = (params[k] - epsilon * (summed[k] / net.steps)) * keep - params[k]
        change = max(change, float(np.max(np.abs((one.params[k] - params[k]) - expected))))
    return {
        "forward": forward,
        "sum_of_copies": sum_of_copies,
        "finite_differences": finite,
        "average_change": change,
    }


def task_error(task: IterativeTask, params: Params, margin: float) -> np.ndarray:
    """``E`` (eq. 3) per seed."""
    y = task.net.forward(params, task.initial, task.inputs)
    return sum_of_squares(output_error(task.net.readout(y), task.targets, margin))


def finite_difference_gradients(
    task: IterativeTask, params: Params, margin: float, h: float = 1e-6
) -> Params:
    """Central differences ``(E(w + h) - E(w - h)) / 2h`` of every parameter, every seed at once."""
    out = {}
    for key, value in params.items():
        g = np.empty_like(value)
        for index in np.ndindex(value.shape[1:]):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[key][(slice(None), *index)] += h
            minus[key][(slice(None), *index)] -= h
            g[(slice(None), *index)] = (task_error(task, plus, margin) - task_error(task, minus, margin)) / (
                2 * h
            )
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


SUPPORTED_SHARE = 0.5  # a learning claim is supported when at least this share of seeds learn
EXACT = 1e-9  # derivatives that agree to this (relative) are the same numbers up to rounding
FINITE = 1e-6  # central differences with h = 1e-6 agree to about this


def strictest(settings: dict) -> str:
    """The criterion with the smallest tolerance: the strictest reading of "learned"."""
    return min(settings["criteria"], key=lambda name: settings["criteria"][name])


def claims_table(runs: dict[str, Run]) -> pd.DataFrame:
    """The claims of the paper's Fig. 5 section, measured on trained runs (``runs``
    maps experiment name to its run); learning is judged by each run's strictest
    criterion. Columns id, claim, paper, measured, verdict, rule."""
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
        "measured": f"largest relative difference {soc:.2g} from the unrolled net's summed copies; "
                    f"{fd:.2g} from central finite differences (first 10 seeds)",
        "verdict": "holds" if soc < EXACT and fd < FINITE else "fails",
        "rule": f"holds if within {EXACT:g} of the summed copies and {FINITE:g} of finite differences",
    })  # fmt: skip
    avg = max(c["average_change"] for c in checks.values())
    rows.append({
        "id": "iterative_average_weight_change",
        "claim": "each weight changes in proportion to dE/dw averaged over its T corresponding weights, "
                 "so corresponding weights stay equal",
        "paper": "stated (Fig. 5 text)",
        "measured": f"largest difference {avg:.2g} between the applied change and -epsilon times the average",
        "verdict": "holds" if avg < EXACT else "fails",
        "rule": f"holds if within {EXACT:g}",
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
            "verdict": "supported" if s["share"] >= SUPPORTED_SHARE else "not supported",
            "rule": f"supported if at least {SUPPORTED_SHARE:.0%} of seeds learn within the budget",
        })  # fmt: skip
    return pd.DataFrame(rows, columns=["id", "claim", "paper", "measured", "verdict", "rule"])
