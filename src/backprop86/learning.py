"""The learning procedure (eqs. 3-4, 8-9), batch updates over many seeds.

One weight change per sweep through the training set:
``dw(t) = -epsilon * dE/dw(t) + alpha * dw(t-1)`` (eq. 9), with a schedule for
``epsilon`` and ``alpha``, weight decay after each change, and an error margin.
Each seed trains on its own cases (a mask), so held-out splits may differ per
seed while every seed still shares one array computation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from .net import Architecture, Params, SeedsFirstNet, SeedsLastNet, case_sum, from_seeds_last, to_seeds_last


@dataclass(frozen=True)
class Phase:
    """Settings in force from weight change ``start_sweep`` (1-based) on."""

    start_sweep: int
    epsilon: float
    alpha: float


@dataclass(frozen=True)
class LearningRule:
    schedule: tuple[Phase, ...]
    weight_decay: float = 0.0  # fraction every weight shrinks by after each change
    margin: float = 0.0  # on-targets count no error above 1-margin, off-targets below margin
    # Outside the margin, the error is measured from the target (y - d), or from
    # the margin's edge (y - (1 - margin) for on-targets, y - margin for off):
    # "counts zero error above 0.8" reads either way, and the edge reading has
    # no jump at the edge.
    margin_from_edge: bool = False

    def __post_init__(self) -> None:
        if not self.schedule or self.schedule[0].start_sweep != 1:
            raise ValueError("the schedule must start at sweep 1")
        starts = [p.start_sweep for p in self.schedule]
        if starts != sorted(set(starts)):
            raise ValueError("schedule phases must start at increasing sweeps")

    def error_targets(self, d: np.ndarray) -> np.ndarray:
        """What outputs are compared with outside the margin: ``d``, or the margin's edge."""
        if not self.margin_from_edge:
            return d
        return np.where(d >= 0.5, 1.0 - self.margin, self.margin)

    def margin_bounds(self, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(sign, threshold)``: an output ``y`` is inside the margin where
        ``sign * y > threshold`` (``y > 1 - margin`` on, ``-y > -margin`` off),
        one comparison for both kinds of target, as ``output_error`` decides."""
        on = d >= 0.5
        return np.where(on, 1.0, -1.0), np.where(on, 1.0 - self.margin, -self.margin)

    def phase(self, sweep: int) -> Phase:
        """The phase in force for weight change number ``sweep`` (1-based)."""
        current = self.schedule[0]
        for p in self.schedule:
            if p.start_sweep <= sweep:
                current = p
        return current


def output_error(y: np.ndarray, d: np.ndarray, margin: float, from_edge: bool = False) -> np.ndarray:
    """``dE/dy = y - d`` (eq. 4), zero where the output is inside the margin.

    An output whose target is on (``d >= 0.5``) counts no error above
    ``1 - margin``; one whose target is off counts none below ``margin``.
    With ``from_edge`` the error outside the margin is measured from its edge.
    """
    e = y - (np.where(d >= 0.5, 1.0 - margin, margin) if from_edge else d)
    if margin > 0.0:
        satisfied = np.where(d >= 0.5, y > 1.0 - margin, y < margin)
        e = np.where(satisfied, 0.0, e)
    return e


def total_error(e: np.ndarray) -> np.ndarray:
    """``E = 1/2 sum_c sum_j e^2`` (eq. 3) per seed; ``e`` is ``(S, n_cases, n_out)``."""
    flat = e.reshape(e.shape[0], -1)
    return 0.5 * np.einsum("sk,sk->s", flat, flat)


def worst_miss(y: np.ndarray, d: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per seed: the largest ``|y - d|`` over every output of every masked case."""
    miss = np.abs(y - d).max(axis=2)  # (S, C)
    return np.where(mask, miss, 0.0).max(axis=1)


def meets(y: np.ndarray, d: np.ndarray, tolerance: float, mask: np.ndarray) -> np.ndarray:
    """Per seed: is every output of every masked case within ``tolerance`` of its target?"""
    return worst_miss(y, d, mask) < tolerance


@dataclass
class TrainResult:
    """What training produced, one row per seed.

    ``error[s, k]`` is E after ``k`` weight changes (NaN once seed ``s`` has
    stopped); ``sweeps_to[name][s]`` is the number of weight changes after which
    the criterion first held (-1 if never).
    """

    params: Params
    error: np.ndarray
    sweeps_to: dict[str, np.ndarray]
    sweeps_run: np.ndarray
    extra: dict = field(default_factory=dict)


def train(
    arch: Architecture,
    params: Params,
    inputs: dict[str, np.ndarray],
    targets: np.ndarray,
    rule: LearningRule,
    max_sweeps: int,
    criteria: dict[str, float],
    train_mask: np.ndarray | None = None,
    stop_at: str | None = None,
    progress: bool = False,
    progress_label: str = "sweeps",
) -> TrainResult:
    """Train every seed for ``max_sweeps`` weight changes, or until ``stop_at``.

    ``targets`` is ``(n_cases, n_out)``; ``train_mask`` ``(S, n_cases)`` marks
    each seed's training cases (all cases if None). A seed that meets
    ``stop_at`` stops changing at once, exactly as if trained alone.
    """
    n_seeds = next(iter(params.values())).shape[0]
    n_cases = targets.shape[0]
    mask = np.ones((n_seeds, n_cases), bool) if train_mask is None else train_mask
    if stop_at is not None and stop_at not in criteria:
        raise ValueError(f"stop_at {stop_at!r} is not one of the criteria {sorted(criteria)}")

    error = np.full((n_seeds, max_sweeps + 1), np.nan)
    sweeps_to = {name: np.full(n_seeds, -1, np.int64) for name in criteria}
    sweeps_run = np.zeros(n_seeds, np.int64)
    # Seeds train in blocks that fit in cache, each block on its own: every seed's
    # arithmetic is independent of the others', so blocking changes no bytes.
    size = SEEDS_PER_CHUNK if seeds_last(arch) else SEEDS_FIRST_CHUNK
    chunks = [slice(lo, min(lo + size, n_seeds)) for lo in range(0, n_seeds, size)]
    out_params: dict[str, list[np.ndarray]] = {k: [] for k in params}
    bar = tqdm(
        total=max_sweeps * len(chunks), desc=progress_label, disable=None if progress else True, leave=False
    )
    for sl in chunks:
        run = _train_seeds_last if seeds_last(arch) else _train_seeds_first
        with np.errstate(over="ignore"):  # exp(-x) may overflow to inf: y = 0, as it should
            p = run(
                arch, {k: v[sl] for k, v in params.items()},
                {g: x if x.ndim == 2 else x[sl] for g, x in inputs.items()}, targets, rule, max_sweeps, criteria,
                mask[sl], stop_at, error[sl], {n: s[sl] for n, s in sweeps_to.items()}, sweeps_run[sl], bar,
            )  # fmt: skip
        for key, v in p.items():
            out_params[key].append(v)
    bar.close()
    params = {k: v[0] if len(v) == 1 else np.concatenate(v) for k, v in out_params.items()}
    return TrainResult(params=params, error=error, sweeps_to=sweeps_to, sweeps_run=sweeps_run)


SEEDS_PER_CHUNK = 256  # seeds-last path (the symmetry net)
SEEDS_FIRST_CHUNK = 32  # seeds-first path: measured fastest for the family-tree net


def record_sweep(k, E, worst, active, error, sweeps_to, criteria, stop_at) -> np.ndarray:
    """Book-keeping after the forward pass of sweep ``k`` (``k`` changes made so far):
    the error ``E`` and first sweep meeting each criterion of the active seeds
    (``worst`` is each seed's largest miss). Returns the seeds still training."""
    error[active, k] = E[active]
    for name, tol in criteria.items():
        first = active & (sweeps_to[name] < 0) & (worst < tol)
        sweeps_to[name][first] = k
    if stop_at is not None:
        active = active & (sweeps_to[stop_at] < 0)
    return active


def change_weights(params: Params, velocity: Params, grads: Params, phase: Phase, weight_decay: float,
                   active: np.ndarray) -> None:  # fmt: skip
    """One weight change of the active seeds, in place: eq. 9, then weight decay.
    Arrays have the seed axis first; seeds that have stopped keep their weights."""
    everyone = active.all()
    for key, g in grads.items():
        step = -phase.epsilon * g + phase.alpha * velocity[key]  # eq. 9
        new = params[key] + step
        if weight_decay:
            new *= 1.0 - weight_decay
        if everyone:
            velocity[key], params[key] = step, new
        else:
            sel = active.reshape((-1,) + (1,) * (g.ndim - 1))
            velocity[key] = np.where(sel, step, velocity[key])
            params[key] = np.where(sel, new, params[key])


def seeds_last(arch: Architecture) -> bool:
    """Whether ``train`` runs ``arch`` with the seed axis last: nets of a few units per group."""
    sizes = arch.sizes
    return max(sizes[g] for g in arch.hidden_and_output) <= 4


def _train_seeds_first(arch, params, inputs, targets, rule, max_sweeps, criteria, mask, stop_at, error, sweeps_to,
                       sweeps_run, bar) -> Params:  # fmt: skip
    n_seeds = mask.shape[0]
    weight = None if mask.all() else mask[:, :, None].astype(np.float64)
    params = {k: v.copy() for k, v in params.items()}
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    active = np.ones(n_seeds, bool)
    e = miss = satisfied = None
    if rule.margin > 0.0:
        sign, threshold = rule.margin_bounds(targets)

    net = SeedsFirstNet(arch, inputs)
    edge = rule.error_targets(targets)
    for k in range(max_sweeps + 1):
        y = net.forward(params)
        out = y[arch.output]
        if miss is None:
            e, miss, satisfied = np.empty_like(out), np.empty_like(out), np.empty(out.shape, bool)
        np.subtract(out, targets, out=e)  # output_error and worst_miss, in fewer passes
        np.abs(e, out=miss)
        if weight is not None:
            miss *= weight  # held-out cases count no miss
        worst = miss.reshape(n_seeds, -1).max(axis=1)
        if rule.margin_from_edge:
            np.subtract(out, edge, out=e)
        if rule.margin > 0.0:
            np.greater(np.multiply(out, sign, out=miss), threshold, out=satisfied)
            np.copyto(e, 0.0, where=satisfied)
        if weight is not None:
            e *= weight  # cases a seed does not train on carry no error
        active = record_sweep(k, total_error(e), worst, active, error, sweeps_to, criteria, stop_at)
        if k == max_sweeps or not active.any():
            break

        grads = net.backward(params, y, e)
        change_weights(params, velocity, grads, rule.phase(k + 1), rule.weight_decay, active)
        sweeps_run[active] = k + 1
        bar.update(1)
    return params


def _train_seeds_last(arch, params, inputs, targets, rule, max_sweeps, criteria, mask, stop_at, error, sweeps_to,
                      sweeps_run, bar) -> Params:  # fmt: skip
    """``train`` on one chunk of seeds with ``SeedsLastNet``; fills ``error``,
    ``sweeps_to`` and ``sweeps_run`` in place and returns the final parameters."""
    n_seeds, n_cases = mask.shape
    n_out = targets.shape[1]
    net = SeedsLastNet(arch, inputs, n_seeds)
    p = to_seeds_last(params)
    velocity = {k: np.zeros_like(v) for k, v in p.items()}
    grads = {k: np.empty_like(v) for k, v in p.items()}
    d = targets[:, :, None]
    edge = rule.error_targets(targets)[:, :, None]
    y = net.y[arch.output]
    e, miss = np.empty_like(y), np.empty_like(y)
    flat = miss.reshape(n_cases * n_out, n_seeds)
    scratch = np.empty((flat.shape[0] // 2 + 1, n_seeds))
    sum_sq = np.empty(n_seeds)
    weight = None if mask.all() else np.ascontiguousarray(mask.T[:, None, :], dtype=np.float64)
    if rule.margin > 0.0:
        sign, threshold = (b[:, :, None] for b in rule.margin_bounds(targets))
        satisfied = np.empty(y.shape, bool)
    active = np.ones(n_seeds, bool)
    keep = 1.0 - rule.weight_decay
    for k in range(max_sweeps + 1):
        net.forward(p)
        np.subtract(y, d, out=e)  # eq. 4
        np.abs(e, out=miss)
        if weight is not None:
            miss *= weight
        worst = miss.max(axis=(0, 1))
        if rule.margin_from_edge:
            np.subtract(y, edge, out=e)
        if rule.margin > 0.0:
            np.multiply(y, sign, out=miss)
            np.greater(miss, threshold, out=satisfied)
            np.copyto(e, 0.0, where=satisfied)
        if weight is not None:
            e *= weight  # cases a seed does not train on carry no error
        np.multiply(e, e, out=miss)
        case_sum(flat, scratch, sum_sq)
        active = record_sweep(k, 0.5 * sum_sq, worst, active, error, sweeps_to, criteria, stop_at)  # eq. 3
        if k == max_sweeps or not active.any():
            break

        net.backward(p, e, grads)
        phase = rule.phase(k + 1)
        everyone = active.all()
        for key, g in grads.items():
            v, w = velocity[key], p[key]
            if everyone:
                g *= -phase.epsilon
                v *= phase.alpha
                v += g  # eq. 9
                w += v
                if rule.weight_decay:
                    w *= keep
            else:  # seeds that have stopped keep their weights
                step = -phase.epsilon * g + phase.alpha * v
                new = w + step
                if rule.weight_decay:
                    new *= keep
                np.copyto(v, step, where=active)
                np.copyto(w, new, where=active)
        sweeps_run[active] = k + 1
        bar.update(1)
    return from_seeds_last(p)
