"""Synchronous iterative nets (Fig. 5), as the layered nets they are.

A set of sigmoid units with a full weight matrix among them (and biases, and
optionally weights from external input lines) runs ``T`` synchronous steps
from an initial state: every unit's state at step ``t`` is the sigmoid (eq. 2)
of the net input (eq. 1) it receives from every unit's state at step ``t - 1``,
from the external inputs of step ``t`` and from its bias. Fig. 5 shows that
this is the layered net with ``T`` layers whose corresponding weights are
equal. :meth:`IterativeNet.unroll` builds that layered net, with the
corresponding weights tied, so the one forward and backward pass of
:mod:`backprop86.net` run it, keeping every unit's history, and the one
training loop of :mod:`backprop86.learning` changes each shared weight by the
average of ``dE/dw`` over its ``T`` copies.

The shared parameters have a leading seed axis ``S``: the recurrent weights
``(S, n, n)`` (``w[s, i, j]`` is the paper's ``w_ji``, from unit ``i`` to unit
``j``), the input weights ``(S, n_in, n)`` and the biases ``(S, n)``. The
initial state ``(n_cases, n)`` and the external inputs ``(n_cases, T, n_in)``
are shared by every seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .net import Architecture, bias_key, weight_key

RECURRENT = "w:units->units"  # the shared recurrent weights, (S, n, n)
INPUT = "w:inputs->units"  # the shared input weights, (S, n_in, n)
BIAS = "b:units"  # the shared biases, (S, n)


@dataclass(frozen=True)
class IterativeNet:
    """``n_units`` sigmoid units, fully connected among themselves, run ``steps``
    synchronous iterations; ``n_inputs`` external input lines feed every unit.
    ``outputs`` are the units that have targets, at the 1-based steps ``target_steps``.
    """

    n_units: int
    steps: int
    outputs: tuple[int, ...]
    target_steps: tuple[int, ...]
    n_inputs: int = 0

    def __post_init__(self) -> None:
        if self.n_units < 1 or self.steps < 1:
            raise ValueError("an iterative net needs at least one unit and one step")
        if not self.outputs or list(self.outputs) != list(range(self.outputs[0], self.outputs[-1] + 1)):
            raise ValueError(f"output units {self.outputs} must be consecutive units")
        if not 0 <= self.outputs[0] <= self.outputs[-1] < self.n_units:
            raise ValueError(f"output units {self.outputs} must be among units 0..{self.n_units - 1}")
        if not self.target_steps or list(self.target_steps) != sorted(set(self.target_steps)):
            raise ValueError(f"target steps {self.target_steps} must be distinct and increasing")
        if self.target_steps[0] < 1 or self.target_steps[-1] > self.steps:
            raise ValueError(f"target steps {self.target_steps} must lie in 1..{self.steps}")

    def unroll(self) -> Architecture:
        """The layered net of Fig. 5: groups ``s0`` (the initial state, an input
        group), ``s1 .. sT`` (the states after each step) and, with external
        inputs, input groups ``in1 .. inT``; the connections into each step are
        tied to the shared weights, and the targets sit on the output units of
        every target step."""
        T, n = self.steps, self.n_units
        lines = [(f"in{t}", self.n_inputs) for t in range(1, T + 1)] if self.n_inputs else []
        states = [(f"s{t}", n) for t in range(T + 1)]
        connections, ties = [], []
        for t in range(1, T + 1):
            connections.append((f"s{t - 1}", f"s{t}"))
            ties.append((weight_key(f"s{t - 1}", f"s{t}"), RECURRENT))
            if self.n_inputs:
                connections.append((f"in{t}", f"s{t}"))
                ties.append((weight_key(f"in{t}", f"s{t}"), INPUT))
            ties.append((bias_key(f"s{t}"), BIAS))
        first, end = self.outputs[0], self.outputs[-1] + 1
        return Architecture(
            groups=tuple(lines + states),
            inputs=("s0", *(g for g, _ in lines)),
            connections=tuple(connections),
            outputs=tuple((f"s{t}", first, end) for t in self.target_steps),
            ties=tuple(ties),
        )

    def feed(self, initial: np.ndarray, inputs: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The unrolled net's input groups: the initial state ``(n_cases, n)`` and
        each step's external inputs, from ``inputs (n_cases, T, n_in)``."""
        feed = {"s0": initial}
        for t in range(1, self.steps + 1 if self.n_inputs else 1):
            feed[f"in{t}"] = np.ascontiguousarray(inputs[:, t - 1])
        return feed

    def states(self, y: dict[str, np.ndarray]) -> list[np.ndarray]:
        """The history ``[y_0, ..., y_T]``, each ``(S, n_cases, n)``, from the unrolled net's ``y``."""
        n_seeds = y[f"s{self.steps}"].shape[0]
        return [
            np.broadcast_to(y["s0"], (n_seeds, *y["s0"].shape)),
            *(y[f"s{t}"] for t in range(1, self.steps + 1)),
        ]

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


def iterative_frame(
    net: IterativeNet,
    initial: np.ndarray,
    inputs: np.ndarray | None,
    targets: np.ndarray,
    case_labels: list[str],
) -> pd.DataFrame:
    """A task's cases in long form, one row per (case, step): the state the net
    starts from (step 0), the external inputs of each step and the targets of
    the output units (empty where there is none)."""
    n_out = len(net.outputs)
    rows = []
    for c, label in enumerate(case_labels):
        for t in range(net.steps + 1):
            row = {"case": label, "step": t}
            for i in range(net.n_units):
                row[f"initial_{i + 1}"] = initial[c, i] if t == 0 else np.nan
            for i in range(net.n_inputs):
                row[f"input_{i + 1}"] = inputs[c, t - 1, i] if t > 0 else np.nan
            for j, u in enumerate(net.outputs):
                at = net.target_steps.index(t) if t in net.target_steps else None
                row[f"target_{u + 1}"] = targets[c, at * n_out + j] if at is not None else np.nan
            rows.append(row)
    return pd.DataFrame(rows)
