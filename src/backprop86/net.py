"""Layered nets of sigmoid units, many seeds at once: the paper's eqs. 1-7.

Every net of the paper is one :class:`Architecture`: groups of units, full
weight matrices running forward from group to group, a bias on every unit that
is not an input, and the units that have targets. The iterative nets of Fig. 5
are layered nets too, unrolled in time, whose corresponding weights are *tied*
(several connections share one weight matrix), so the one forward and one
backward pass below serve every net.

Shapes carry a leading seed axis ``S``: weights are ``(S, n_from, n_to)`` (so
``w[s, i, j]`` is the paper's ``w_ji``), biases ``(S, n)``, activities ``y``
``(S, n_cases, n)``. An input group is either shared by every seed,
``(n_cases, n)``, or a :class:`OneHot` group given by the index of its one unit
on in each case.

Seed ``k`` gives the same bytes alone or among a thousand others: every
contraction is an ``np.matmul`` on the seed axis, which calls the same BLAS
routine on each seed's slice whatever the number of seeds, and every other
operation is elementwise or a sum over one seed's own numbers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

import numpy as np

Params = dict[str, np.ndarray]


def weight_key(src: str, dst: str) -> str:
    return f"w:{src}->{dst}"


def bias_key(group: str) -> str:
    return f"b:{group}"


def is_bias(key: str) -> bool:
    return key.startswith("b:")


@dataclass(frozen=True, eq=False)
class OneHot:
    """An input group with exactly one unit on in each case: ``index (n_cases,)``
    names that unit, among ``size`` units. Its net input (eq. 1) is a row
    lookup; as an array it is the dense group ``(n_cases, size)``."""

    index: np.ndarray
    size: int

    @classmethod
    def of(cls, y: np.ndarray) -> OneHot:
        """The indices of a dense one-hot group ``y (n_cases, size)``."""
        if not (np.all((y == 0.0) | (y == 1.0)) and np.all(y.sum(axis=1) == 1.0)):
            raise ValueError("not a one-hot group: every case needs exactly one unit at 1, the rest at 0")
        return cls(np.argmax(y, axis=1), y.shape[1])

    def __getitem__(self, cases) -> OneHot:
        """Some of the cases, as ``y[cases]`` of the dense group."""
        return OneHot(self.index[cases], self.size)

    @cached_property
    def dense(self) -> np.ndarray:
        """The group as ``y (n_cases, size)``: 1 for the unit on, 0 elsewhere."""
        return np.eye(self.size)[self.index]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return self.dense if dtype is None else self.dense.astype(dtype)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Eq. 2, ``y = 1 / (1 + exp(-x))``, in place on ``x``."""
    np.negative(x, out=x)
    with np.errstate(over="ignore"):  # exp(-x) may overflow to inf: y = 0, as it should
        np.exp(x, out=x)
    x += 1.0
    return np.divide(1.0, x, out=x)


def net_input(y: np.ndarray | OneHot, w: np.ndarray) -> np.ndarray:
    """Eq. 1, ``x_j = sum_i y_i w_ji``, from one group: ``y (S, C, n_i)`` or
    ``(C, n_i)`` and ``w (S, n_i, n_j)`` give ``(S, C, n_j)``. With one unit
    ``i`` on, the sum is row ``i`` of ``w``."""
    if isinstance(y, OneHot):
        return w[:, y.index, :]
    return np.matmul(y, w)


def weight_gradient(y: np.ndarray | OneHot, delta: np.ndarray) -> np.ndarray:
    """Eq. 6, ``dE/dw_ji = sum_c dE/dx_jc y_ic``: ``(S, n_i, n_j)`` from the
    layer below's ``y`` and ``delta = dE/dx (S, C, n_j)``."""
    return np.matmul(np.swapaxes(np.asarray(y), -1, -2), delta)


@dataclass(frozen=True)
class Architecture:
    """Groups of units connected forward by full weight matrices.

    ``groups`` lists ``(name, size)`` so that every connection runs from an
    earlier group to a later one; ``inputs`` name the input groups; every other
    unit has a bias. ``outputs`` lists ``(group, first, end)``: units
    ``first..end-1`` of the group have targets, in this order in the readout.
    ``ties`` maps a connection's or bias's key to the key of the weights it
    shares; untied keys name their own weights.
    """

    groups: tuple[tuple[str, int], ...]
    inputs: tuple[str, ...]
    connections: tuple[tuple[str, str], ...]
    outputs: tuple[tuple[str, int, int], ...]
    ties: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        order = {name: k for k, (name, _) in enumerate(self.groups)}
        if len(order) != len(self.groups):
            raise ValueError("group names must be unique")
        for src, dst in self.connections:
            if src not in order or dst not in order:
                raise ValueError(f"connection {src}->{dst} names an unknown group")
            if order[src] >= order[dst]:
                raise ValueError(f"connection {src}->{dst} does not run forward")
            if dst in self.inputs:
                raise ValueError(f"connection {src}->{dst} feeds an input group")
        for group in self.hidden_and_output:
            if not self.incoming(group):
                raise ValueError(f"group {group!r} is neither an input nor fed by a connection")
        for group, first, end in self.outputs:
            if group not in order or group in self.inputs:
                raise ValueError(f"output group {group!r} must be a non-input group")
            if not 0 <= first < end <= self.sizes[group]:
                raise ValueError(f"output units {first}..{end - 1} are not units of {group!r}")
        shapes: dict[str, tuple[int, ...]] = {}
        for key, shape in self._own_shapes().items():
            if shapes.setdefault(self.param(key), shape) != shape:
                raise ValueError(f"{key} is tied to {self.param(key)} of another shape")

    @property
    def sizes(self) -> dict[str, int]:
        return dict(self.groups)

    @cached_property
    def hidden_and_output(self) -> list[str]:
        return [name for name, _ in self.groups if name not in self.inputs]

    def incoming(self, group: str) -> list[str]:
        return [src for src, dst in self.connections if dst == group]

    def param(self, key: str) -> str:
        """The key of the weights that connection or bias ``key`` uses."""
        return dict(self.ties).get(key, key)

    def _own_shapes(self) -> dict[str, tuple[int, ...]]:
        sizes = self.sizes
        shapes = {weight_key(src, dst): (sizes[src], sizes[dst]) for src, dst in self.connections}
        shapes.update({bias_key(g): (sizes[g],) for g in self.hidden_and_output})
        return shapes

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """One seed's parameters and their shapes, in the order they are initialised."""
        return {self.param(k): s for k, s in self._own_shapes().items()}

    def copies(self) -> dict[str, int]:
        """How many connections or biases share each parameter (1 unless tied)."""
        count = dict.fromkeys(self.param_shapes(), 0)
        for key in self._own_shapes():
            count[self.param(key)] += 1
        return count

    def untied(self) -> Architecture:
        """The same net with every connection and bias its own parameter."""
        return dataclasses.replace(self, ties=())

    def init_params(self, rngs: list[np.random.Generator], init_range: float) -> Params:
        """Uniform initial weights and biases in ``[-init_range, init_range]``,
        one generator per seed: each seed's draws depend on its generator only."""
        shapes = self.param_shapes()
        per_seed = [
            {k: rng.uniform(-init_range, init_range, size=s) for k, s in shapes.items()} for rng in rngs
        ]
        return {k: np.stack([p[k] for p in per_seed]) for k in shapes}

    def forward(self, params: Params, inputs: dict[str, np.ndarray | OneHot]) -> dict[str, np.ndarray]:
        """The forward pass (eqs. 1-2), group by group: every group's ``y``."""
        y = dict(inputs)
        for group in self.hidden_and_output:
            x = None
            for src in self.incoming(group):
                term = net_input(y[src], params[self.param(weight_key(src, group))])  # eq. 1, (S, C, n)
                x = term if x is None else np.add(x, term, out=x)
            x += params[self.param(bias_key(group))][:, None, :]  # the bias: a weight from a unit always on
            y[group] = sigmoid(x)  # eq. 2
        return y

    def readout(self, y: dict[str, np.ndarray]) -> np.ndarray:
        """The units with targets, ``(S, n_cases, n_out)``, in the order of ``outputs``."""
        if len(self.outputs) == 1:
            group, first, end = self.outputs[0]
            return y[group][:, :, first:end]
        return np.concatenate([y[g][:, :, first:end] for g, first, end in self.outputs], axis=2)

    def backward(self, params: Params, y: dict[str, np.ndarray], dE_dout: np.ndarray) -> Params:
        """The backward pass (eqs. 5-7), from ``dE_dout = dE/dy`` of the readout
        ``(S, n_cases, n_out)`` (eq. 4, with any margin and held-out cases
        applied): ``dE/dw`` of every parameter, summed over the connections
        that share it."""
        # eq. 4 enters wherever there are targets
        (group, first, end), *more = self.outputs
        if not more and end - first == self.sizes[group]:
            dE_dy = {group: dE_dout}  # one output group, every unit with targets
        else:
            dE_dy, at = {}, 0
            for group, first, end in self.outputs:
                part = dE_dout[:, :, at : at + end - first]
                dE_dy.setdefault(group, np.zeros_like(y[group]))[:, :, first:end] += part
                at += end - first
        grads: Params = {}
        always_on = np.ones((dE_dout.shape[1], 1))  # the bias is a weight from a unit whose y is 1

        def add(key: str, g: np.ndarray) -> None:
            key = self.param(key)
            grads[key] = grads[key] + g if key in grads else g

        for group in reversed(self.hidden_and_output):
            if group not in dE_dy:
                continue  # nothing above this group has targets: dE/dw is zero
            y_j = y[group]
            delta = dE_dy.pop(group) * y_j
            delta *= 1.0 - y_j  # eq. 5: dE/dx = dE/dy y (1 - y), (S, C, n_j)
            add(bias_key(group), weight_gradient(always_on, delta)[:, 0])  # eq. 6, from a unit always on
            for src in self.incoming(group):
                add(weight_key(src, group), weight_gradient(y[src], delta))  # eq. 6, (S, n_i, n_j)
                if src not in self.inputs:
                    w = params[self.param(weight_key(src, group))]
                    back = np.matmul(delta, np.swapaxes(w, -1, -2))  # eq. 7: dE/dy_i = sum_j dE/dx_j w_ji
                    dE_dy[src] = dE_dy[src] + back if src in dE_dy else back
        return {k: grads[k] if k in grads else np.zeros_like(params[k]) for k in self.param_shapes()}


def layered(sizes: list[int]) -> Architecture:
    """A plain chain ``sizes[0] -> sizes[1] -> ...`` with groups in, h1, ..., out."""
    names = ["in"] + [f"h{k}" for k in range(1, len(sizes) - 1)] + ["out"]
    return Architecture(
        groups=tuple(zip(names, sizes)),
        inputs=("in",),
        connections=tuple(zip(names[:-1], names[1:])),
        outputs=(("out", 0, sizes[-1]),),
    )
