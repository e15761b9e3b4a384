"""Layered nets of sigmoid units, many seeds at once (paper eqs. 1-7).

Every array carries a leading seed axis ``S``: weights are ``(S, n_from, n_to)``
(so ``w[s, i, j]`` is the paper's ``w_ji``), biases ``(S, n)`` and activities
``(S, n_cases, n)``. Input groups may be given without the seed axis,
``(n_cases, n)``, when every seed sees the same cases.

Seed ``k`` must give the same bytes alone or among a thousand others, so every
contraction goes through ``np.matmul`` on the seed axis, which calls the same
BLAS routine on each seed's slice whatever the number of seeds. (One product
over all seeds at once is faster but not bit-stable: BLAS picks other kernels
for other sizes.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Params = dict[str, np.ndarray]


def _seeds_times_seeds(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a (S, m, k)`` (or shared ``(m, k)``) times ``b (S, k, n)`` seed by seed;
    with ``k == 1`` an outer product, exact without BLAS."""
    if a.shape[-1] == 1:
        return a * b
    return np.matmul(a, b)


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Eq. 2: ``y = 1 / (1 + exp(-x))``; ``out=x`` works in place."""
    y = np.negative(x, out=out)
    with np.errstate(over="ignore"):
        np.exp(y, out=y)
    y += 1.0
    return np.reciprocal(y, out=y)


def weight_key(src: str, dst: str) -> str:
    return f"w:{src}->{dst}"


def bias_key(group: str) -> str:
    return f"b:{group}"


@dataclass(frozen=True)
class Architecture:
    """Groups of units connected forward by full weight matrices.

    ``groups`` lists ``(name, size)`` in an order where every connection runs
    from an earlier group to a later one; ``inputs`` name the input groups and
    ``output`` the output group. Every non-input unit has a bias.
    """

    groups: tuple[tuple[str, int], ...]
    inputs: tuple[str, ...]
    output: str
    connections: tuple[tuple[str, str], ...]

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
        if self.output not in order or self.output in self.inputs:
            raise ValueError(f"output group {self.output!r} must be a non-input group")

    @property
    def sizes(self) -> dict[str, int]:
        return dict(self.groups)

    @property
    def hidden_and_output(self) -> list[str]:
        return [name for name, _ in self.groups if name not in self.inputs]

    def incoming(self, group: str) -> list[str]:
        return [src for src, dst in self.connections if dst == group]

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shapes of one seed's parameters, in the order they are initialised."""
        sizes = self.sizes
        shapes: dict[str, tuple[int, ...]] = {}
        for src, dst in self.connections:
            shapes[weight_key(src, dst)] = (sizes[src], sizes[dst])
        for group in self.hidden_and_output:
            shapes[bias_key(group)] = (sizes[group],)
        return shapes

    def init_params(self, rngs: list[np.random.Generator], init_range: float) -> Params:
        """Uniform initial weights and biases in ``[-init_range, init_range]``.

        One generator per seed; each seed's draws depend on its generator only.
        """
        shapes = self.param_shapes()
        per_seed = []
        for rng in rngs:
            per_seed.append({k: rng.uniform(-init_range, init_range, size=s) for k, s in shapes.items()})
        return {k: np.stack([p[k] for p in per_seed]) for k in shapes}

    def forward(self, params: Params, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Forward pass (eqs. 1-2); returns every group's activity ``y``."""
        y: dict[str, np.ndarray] = dict(inputs)
        for group in self.hidden_and_output:
            x = None
            for src in self.incoming(group):
                ysrc, w = y[src], params[weight_key(src, group)]
                term = _seeds_times_seeds(ysrc, w)  # eq. 1, (S, C, n)
                if x is None:
                    x = term
                else:
                    x += term
            x += params[bias_key(group)][:, None, :]  # the bias: a weight from a unit always on
            y[group] = sigmoid(x, out=x)  # eq. 2
        return y

    def backward(self, params: Params, y: dict[str, np.ndarray], dE_dy_output: np.ndarray) -> Params:
        """Backward pass (eqs. 5-7): ``dE/dw`` for every weight and bias.

        ``dE_dy_output`` is ``(S, n_cases, n_out)`` (eq. 4, with any error
        margin and case mask already applied).
        """
        dE_dy: dict[str, np.ndarray] = {self.output: dE_dy_output}
        grads: Params = {}
        for group in reversed(self.hidden_and_output):
            yg = y[group]
            delta = dE_dy.pop(group) * yg
            delta *= 1.0 - yg  # eq. 5: dE/dx = dE/dy y (1 - y)
            n_cases = delta.shape[1]
            grads[bias_key(group)] = np.matmul(np.ones(n_cases), delta)  # (S, n)
            for src in self.incoming(group):
                w = params[weight_key(src, group)]
                ysrc = y[src]
                grads[weight_key(src, group)] = np.matmul(np.swapaxes(ysrc, -1, -2), delta)  # eq. 6
                if src not in self.inputs:
                    back = _seeds_times_seeds(delta, np.swapaxes(w, -1, -2))  # eq. 7
                    if src in dE_dy:
                        dE_dy[src] += back
                    else:
                        dE_dy[src] = back
        return {k: grads[k] for k in self.param_shapes()}


def layered(sizes: list[int]) -> Architecture:
    """A plain chain ``sizes[0] -> sizes[1] -> ...`` with groups in, h1, ..., out."""
    names = ["in"] + [f"h{k}" for k in range(1, len(sizes) - 1)] + ["out"]
    return Architecture(
        groups=tuple(zip(names, sizes)),
        inputs=("in",),
        output="out",
        connections=tuple(zip(names[:-1], names[1:])),
    )


def family_tree_net(
    n_people: int = 24,
    n_relations: int = 12,
    person_code: int = 6,
    relation_code: int = 6,
    central: int = 12,
    answer_code: int = 6,
) -> Architecture:
    """The five-layer net of the family-tree task (Fig. 3)."""
    return Architecture(
        groups=(
            ("person1", n_people),
            ("relation", n_relations),
            ("person_code", person_code),
            ("relation_code", relation_code),
            ("central", central),
            ("answer_code", answer_code),
            ("person2", n_people),
        ),
        inputs=("person1", "relation"),
        output="person2",
        connections=(
            ("person1", "person_code"),
            ("relation", "relation_code"),
            ("person_code", "central"),
            ("relation_code", "central"),
            ("central", "answer_code"),
            ("answer_code", "person2"),
        ),
    )
