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
    return np.divide(1.0, y, out=y)  # the same bytes as np.reciprocal, twice as fast


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


# --- fast path for train(): seeds last ------------------------------------------
#
# For nets of a few units per group, the per-seed np.matmul calls cost more than
# the arithmetic. ``SeedsLastNet`` keeps the seed axis last (activities
# ``(n_cases, n, S)``, weights ``(n_from, n_to, S)``, biases ``(n, S)``) and does
# every contraction as a Python loop over a unit axis of elementwise ufuncs, and
# every sum over cases with ``case_sum``, a halving tree of elementwise adds
# whose order depends on the number of cases only. Each seed's numbers are thus
# computed the same way whatever the number of seeds.


def case_sum(a: np.ndarray, scratch: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out = `` the sum of ``a`` over its leading axis, by a fixed halving tree of
    elementwise adds; ``scratch`` holds at least ``a.shape[0] // 2`` rows like ``a``."""
    n = a.shape[0]
    if n == 1:
        np.copyto(out, a[0])
        return out
    src = a
    while n > 1:
        h = n // 2
        dst = out[None] if h == 1 else scratch[:h]
        np.add(src[:h], src[h : 2 * h], out=dst)
        if n % 2:
            dst[0] += src[2 * h]
        src, n = dst, h
    return out


def is_binary(x: np.ndarray) -> bool:
    return x.ndim == 2 and x.shape[1] > 0 and bool(np.all((x == 0.0) | (x == 1.0)))


class BinaryInput:
    """A shared input group of 0/1 values (cases, units). Its contribution
    ``sum_i x_ci w_i`` is built exactly as ``root + w_a1 + w_a2 + ...`` over each
    case's active inputs in increasing order (products by 0 or 1 are exact),
    sharing the partial sums of common prefixes (a trie, level by level)."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = x
        active = [tuple(int(i) for i in np.flatnonzero(row)) for row in x]
        depth = max(len(a) for a in active)
        index: list[dict[tuple, int]] = [{(): 0}]
        self.levels: list[tuple[np.ndarray, np.ndarray]] = []  # per level >= 1: (parent node, input added)
        for p in range(1, depth + 1):
            nodes: dict[tuple, int] = {}
            for a in active:
                if len(a) >= p and a[:p] not in nodes:
                    nodes[a[:p]] = len(nodes)
            self.levels.append(
                (
                    np.array([index[p - 1][k[:-1]] for k in nodes], np.intp),
                    np.array([k[-1] for k in nodes], np.intp),
                )
            )
            index.append(nodes)
        self.place: list[tuple[int, np.ndarray, np.ndarray]] = []  # (level, cases, their nodes)
        for p in range(depth + 1):
            cases = [c for c, a in enumerate(active) if len(a) == p]
            if cases:
                self.place.append(
                    (p, np.array(cases, np.intp), np.array([index[p][active[c]] for c in cases], np.intp))
                )
        # for dE/dw: the cases in which each input is on, padded with case n_cases (a row of zeros)
        on = [np.flatnonzero(x[:, i]) for i in range(x.shape[1])]
        self.most_on = max(1, max(len(c) for c in on))
        table = np.full((self.most_on, x.shape[1]), x.shape[0], np.intp)
        for i, cases in enumerate(on):
            table[: len(cases), i] = cases
        self.on_table = table.ravel()
        self.widest = max(len(parent) for parent, _ in self.levels) if self.levels else 1

    def fill(
        self, w: np.ndarray, root: np.ndarray, out: np.ndarray, bufs: tuple[list[np.ndarray], np.ndarray]
    ) -> None:
        """``out[c] = root + sum_i x_ci w[i]`` (seeds last: ``w (n_in, n, S)``,
        ``root (n, S)``, ``out (n_cases, n, S)``)."""
        nodes, rows = bufs
        prev = root[None]
        for p in range(len(self.levels) + 1):
            if p > 0:
                parent, last = self.levels[p - 1]
                cur = nodes[p - 1][: len(parent)]
                np.take(prev, parent, axis=0, out=cur, mode="clip")
                np.add(cur, np.take(w, last, axis=0, out=rows[: len(last)], mode="clip"), out=cur)
                prev = cur
            for level, cases, at in self.place:
                if level == p:
                    out[cases] = prev[at]

    def grad(self, delta: np.ndarray, out: np.ndarray, gather: np.ndarray, scratch: np.ndarray) -> None:
        """``out[i] = sum_c x_ci delta[c]``, the sum of ``delta`` over the cases where
        input ``i`` is on, in a fixed order (seeds last: ``delta (n_cases + 1, n, S)``
        whose last row is zero, ``out (n_in, n, S)``, ``gather (most_on * n_in, n, S)``)."""
        np.take(delta, self.on_table, axis=0, out=gather, mode="clip")
        g = gather.reshape((self.most_on,) + out.shape)
        case_sum(g, scratch.reshape((-1,) + out.shape), out)


def to_seeds_last(params: Params) -> Params:
    return {
        k: np.moveaxis(v, 0, -1).copy() for k, v in params.items()
    }  # a copy: train never changes its input


def from_seeds_last(params: Params) -> Params:
    return {k: np.ascontiguousarray(np.moveaxis(v, -1, 0)) for k, v in params.items()}


class SeedsLastNet:
    """Forward and backward passes of ``arch`` with the seed axis last, into
    buffers reused from sweep to sweep. ``inputs`` as for ``Architecture.forward``."""

    def __init__(self, arch: Architecture, inputs: dict[str, np.ndarray], n_seeds: int) -> None:
        self.arch = arch
        sizes = arch.sizes
        self.order = arch.hidden_and_output
        self.n_cases = n_cases = next(iter(inputs.values())).shape[-2]
        self.binary: dict[str, BinaryInput] = {}
        self.y: dict[str, np.ndarray] = {}
        for name in arch.inputs:
            x = inputs[name]
            if is_binary(x):
                self.binary[name] = BinaryInput(x)
            self.y[name] = x[:, :, None] if x.ndim == 2 else np.ascontiguousarray(np.moveaxis(x, 0, -1))
        # binary inputs first: they start each sum from the bias
        self.incoming = {
            g: sorted(arch.incoming(g), key=lambda src: src not in self.binary) for g in self.order
        }  # fmt: skip
        self.n_seeds = n_seeds
        for g in self.order:
            self.y[g] = np.empty((n_cases, sizes[g], n_seeds))
        self.dE_dy = {g: np.empty((n_cases, sizes[g], n_seeds)) for g in self.order if g != arch.output}
        # the extra last case stays zero: BinaryInput.grad pads with it
        self._delta = {g: np.zeros((n_cases + 1, sizes[g], n_seeds)) for g in self.order}
        self.delta = {g: d[:n_cases] for g, d in self._delta.items()}
        self.most = max((b.widest for b in self.binary.values()), default=1)
        self._bufs: dict[tuple, np.ndarray] = {}
        self.neg: Params = {}

    def buf(self, tag: str, *shape: int, zero: bool = False) -> np.ndarray:
        """A scratch array ``(*shape, S)`` kept from sweep to sweep."""
        key = (tag,) + shape
        if key not in self._bufs:
            self._bufs[key] = (np.zeros if zero else np.empty)(shape + (self.n_seeds,))
        return self._bufs[key]

    def forward(self, p: Params) -> dict[str, np.ndarray]:
        """Every group's activity; runs on the negated weights, so each sum is
        ``-x`` exactly (negation commutes with rounding) and the sigmoid
        ``1 / (1 + exp(-x))`` needs no negation pass."""
        y, neg, C = self.y, self.neg, self.n_cases
        for k, v in p.items():
            if k not in neg:
                neg[k] = np.empty_like(v)
            np.negative(v, out=neg[k])
        for g in self.order:
            x = y[g]  # holds -x until the sigmoid
            n = x.shape[1]
            tmp = self.buf("tmp", C, n)
            bias_done = started = False
            for src in self.incoming[g]:
                w = neg[weight_key(src, g)]
                if src in self.binary:
                    b = self.binary[src]
                    if started:
                        root, target = self.buf("zero", 1, n, zero=True)[0], tmp
                    else:
                        root, target, bias_done = neg[bias_key(g)], x, True
                    nodes = [self.buf(f"node{k}", self.most, n) for k in range(len(b.levels))]
                    b.fill(w, root, target, (nodes, self.buf("rows", self.most, n)))
                    if started:
                        x += tmp
                else:
                    ysrc = y[src]
                    for i in range(w.shape[0]):
                        np.multiply(ysrc[:, i : i + 1], w[i], out=tmp if started else x)
                        if started:
                            x += tmp
                        started = True
                started = True
            if not bias_done:
                x += neg[bias_key(g)]
            np.exp(x, out=x)  # eq. 2
            x += 1.0
            np.divide(1.0, x, out=x)
        return y

    def backward(self, p: Params, dE_dy_output: np.ndarray, grads: Params) -> Params:
        """``grads`` (seeds last, like ``p``) receives every dE/dw."""
        y, C = self.y, self.n_cases
        fresh = set(self.dE_dy)
        for g in reversed(self.order):
            yg = y[g]
            n = yg.shape[1]
            tmp = self.buf("tmp", C, n)
            delta = self.delta[g]
            np.multiply(dE_dy_output if g == self.arch.output else self.dE_dy[g], yg, out=delta)
            np.subtract(1.0, yg, out=tmp)
            delta *= tmp  # eq. 5
            case_sum(delta, self.buf("scratch", C // 2 + 1, n), grads[bias_key(g)])
            for src in self.incoming[g]:
                w = p[weight_key(src, g)]
                gw = grads[weight_key(src, g)]
                n_src = w.shape[0]
                if src in self.binary:
                    b = self.binary[src]
                    m = b.most_on
                    gather = self.buf("gather", m * n_src, n)
                    b.grad(self._delta[g], gw, gather, self.buf("bscratch", (m // 2 + 1) * n_src, n))
                else:  # eq. 6, all weights at once
                    prod = self.buf("prod", C, n_src, n)
                    np.multiply(y[src][:, :, None, :], delta[:, None], out=prod)
                    case_sum(prod, self.buf("pscratch", C // 2 + 1, n_src, n), gw)
                if src in self.dE_dy:  # eq. 7
                    back = self.dE_dy[src]
                    tsrc = self.buf("tmp", C, n_src)
                    for j in range(n):
                        if src in fresh:
                            np.multiply(delta[:, j : j + 1], w[:, j], out=back)
                            fresh.discard(src)
                        else:
                            np.multiply(delta[:, j : j + 1], w[:, j], out=tsrc)
                            back += tsrc
        return grads


def one_hot_index(x: np.ndarray) -> np.ndarray | None:
    """For a shared input group whose every case has exactly one unit on
    (``x`` all 0 and 1), the index of that unit per case; else None."""
    if x.ndim != 2 or not np.all((x == 0.0) | (x == 1.0)) or not np.all(x.sum(axis=1) == 1.0):
        return None
    return np.argmax(x, axis=1)


class SeedsFirstNet:
    """``Architecture.forward``/``backward`` for train(), seed axis first, with
    one-hot shared input groups done without BLAS: their contribution to the
    forward sum is a gather of weight rows (the same bytes as the product), and
    their dE/dw a sum of ``delta`` over each unit's cases in a fixed order."""

    def __init__(self, arch: Architecture, inputs: dict[str, np.ndarray]) -> None:
        self.arch = arch
        self.inputs = inputs
        self.onehot: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}
        for g in arch.inputs:
            idx = one_hot_index(inputs[g])
            if idx is not None:
                n_cases, n_in = inputs[g].shape
                cases = [np.flatnonzero(idx == i) for i in range(n_in)]
                most = max(1, max(len(c) for c in cases))
                table = np.full((most, n_in), n_cases, np.intp)  # case n_cases: a row of zeros
                for i, c in enumerate(cases):
                    table[: len(c), i] = c
                self.onehot[g] = (idx, table.ravel(), most)
        self.incoming = {g: arch.incoming(g) for g in arch.hidden_and_output}
        self.keys = list(arch.param_shapes())
        self.n_cases = next(iter(inputs.values())).shape[-2]
        self.ones = np.ones(self.n_cases)
        self._bufs: dict[tuple, np.ndarray] = {}

    def buf(self, tag: str, shape: tuple[int, ...]) -> np.ndarray:
        """A scratch array kept from sweep to sweep (fresh large arrays cost page faults)."""
        key = (tag, shape)
        if key not in self._bufs:
            self._bufs[key] = np.empty(shape)
        return self._bufs[key]

    def forward(self, params: Params) -> dict[str, np.ndarray]:
        """Every group's activity, in buffers that the next call overwrites."""
        y: dict[str, np.ndarray] = dict(self.inputs)
        sizes = self.arch.sizes
        # run on the negated weights: each sum is -x exactly (negation commutes
        # with rounding), so the sigmoid 1 / (1 + exp(-x)) needs no negation pass
        neg = {k: np.negative(v, out=self.buf(f"neg:{k}", v.shape)) for k, v in params.items()}
        for group in self.arch.hidden_and_output:
            x = None
            for src in self.incoming[group]:
                w = neg[weight_key(src, group)]
                shape = (w.shape[0], self.n_cases, sizes[group])
                out = self.buf(f"y:{group}", shape) if x is None else self.buf("tmp", shape)
                if src in self.onehot:
                    np.take(w, self.onehot[src][0], axis=1, out=out, mode="clip")  # eq. 1: row idx of w
                elif y[src].shape[-1] == 1:
                    np.multiply(y[src], w, out=out)
                else:
                    np.matmul(y[src], w, out=out)  # eq. 1, seed by seed
                if x is None:
                    x = out
                else:
                    x += out
            x += neg[bias_key(group)][:, None, :]
            np.exp(x, out=x)  # eq. 2
            x += 1.0
            y[group] = np.divide(1.0, x, out=x)
        return y

    def backward(self, params: Params, y: dict[str, np.ndarray], dE_dy_output: np.ndarray) -> Params:
        """Every dE/dw, in buffers that the next call overwrites."""
        dE_dy: dict[str, np.ndarray] = {self.arch.output: dE_dy_output}
        grads: Params = {}
        for group in reversed(self.arch.hidden_and_output):
            yg = y[group]
            n_seeds, n_cases, n = yg.shape
            full = self.buf(f"delta:{group}", (n_seeds, n_cases + 1, n))
            delta = full[:, :n_cases]
            np.multiply(dE_dy.pop(group), yg, out=delta)
            tmp = self.buf("tmp", yg.shape)
            np.subtract(1.0, yg, out=tmp)
            delta *= tmp  # eq. 5
            full[:, n_cases] = 0.0
            grads[bias_key(group)] = np.matmul(self.ones, delta, out=self.buf(f"g:{group}", (n_seeds, n)))
            for src in self.incoming[group]:
                key = weight_key(src, group)
                w = params[key]
                g = self.buf(key, w.shape)
                if src in self.onehot:  # eq. 6: the sum of delta over the cases of each input unit
                    _, table, most = self.onehot[src]
                    n_in = w.shape[1]
                    parts = self.buf(f"parts:{src}", (n_seeds, most * n_in, n))
                    np.take(full, table, axis=1, out=parts, mode="clip")
                    parts = parts.reshape(n_seeds, most, n_in, n)
                    np.copyto(g, parts[:, 0])
                    for k in range(1, most):
                        g += parts[:, k]
                else:
                    np.matmul(np.swapaxes(y[src], -1, -2), delta, out=g)  # eq. 6
                grads[key] = g
                if src not in self.arch.inputs:
                    shape = (n_seeds, n_cases, w.shape[1])
                    back = self.buf(f"back:{src}", shape) if src not in dE_dy else self.buf("tmp", shape)
                    if n == 1:
                        np.multiply(delta, np.swapaxes(w, -1, -2), out=back)
                    else:
                        np.matmul(delta, np.swapaxes(w, -1, -2), out=back)  # eq. 7
                    if src in dE_dy:
                        dE_dy[src] += back
                    else:
                        dE_dy[src] = back
        return {k: grads[k] for k in self.keys}
