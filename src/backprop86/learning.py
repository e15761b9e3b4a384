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

from .net import Architecture, Params


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

    def __post_init__(self) -> None:
        if not self.schedule or self.schedule[0].start_sweep != 1:
            raise ValueError("the schedule must start at sweep 1")
        starts = [p.start_sweep for p in self.schedule]
        if starts != sorted(set(starts)):
            raise ValueError("schedule phases must start at increasing sweeps")

    def phase(self, sweep: int) -> Phase:
        """The phase in force for weight change number ``sweep`` (1-based)."""
        current = self.schedule[0]
        for p in self.schedule:
            if p.start_sweep <= sweep:
                current = p
        return current


def output_error(y: np.ndarray, d: np.ndarray, margin: float) -> np.ndarray:
    """``dE/dy = y - d`` (eq. 4), zero where the output is inside the margin.

    An output whose target is on (``d >= 0.5``) counts no error above
    ``1 - margin``; one whose target is off counts none below ``margin``.
    """
    e = y - d
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
    weight = None if mask.all() else mask[:, :, None].astype(np.float64)
    if stop_at is not None and stop_at not in criteria:
        raise ValueError(f"stop_at {stop_at!r} is not one of the criteria {sorted(criteria)}")

    params = {k: v.copy() for k, v in params.items()}
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    error = np.full((n_seeds, max_sweeps + 1), np.nan)
    sweeps_to = {name: np.full(n_seeds, -1, np.int64) for name in criteria}
    sweeps_run = np.zeros(n_seeds, np.int64)
    active = np.ones(n_seeds, bool)

    bar = tqdm(total=max_sweeps, desc=progress_label, disable=None if progress else True, leave=False)
    for k in range(max_sweeps + 1):
        y = arch.forward(params, inputs)
        out = y[arch.output]
        e = output_error(out, targets, rule.margin)
        if weight is not None:
            e *= weight  # cases a seed does not train on carry no error
        error[active, k] = total_error(e)[active]
        worst = worst_miss(out, targets, mask)
        for name, tol in criteria.items():
            first = active & (sweeps_to[name] < 0) & (worst < tol)
            sweeps_to[name][first] = k
        if stop_at is not None:
            active &= sweeps_to[stop_at] < 0
        if k == max_sweeps or not active.any():
            break

        grads = arch.backward(params, y, e)
        phase = rule.phase(k + 1)
        keep = 1.0 - rule.weight_decay
        everyone = active.all()
        for key, g in grads.items():
            step = -phase.epsilon * g + phase.alpha * velocity[key]  # eq. 9
            new = params[key] + step
            if rule.weight_decay:
                new *= keep
            if everyone:
                velocity[key], params[key] = step, new
            else:  # seeds that have stopped keep their weights
                sel = active.reshape((-1,) + (1,) * (g.ndim - 1))
                velocity[key] = np.where(sel, step, velocity[key])
                params[key] = np.where(sel, new, params[key])
        sweeps_run[active] = k + 1
        bar.update(1)
    bar.close()
    return TrainResult(params=params, error=error, sweeps_to=sweeps_to, sweeps_run=sweeps_run)
