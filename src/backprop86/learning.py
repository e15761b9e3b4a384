"""The learning procedure (eqs. 3-4, 8-9): batch weight changes, many seeds at once.

One weight change per sweep through the training set,
``dw(t) = -epsilon dE/dw(t) + alpha dw(t-1)`` (eq. 9), with a schedule for
``epsilon`` and ``alpha``, weight decay after each change, and an error margin.
Each seed trains on its own cases (a mask), so held-out splits may differ from
seed to seed while every seed still shares one array computation. The same
loop trains every net of the paper, the iterative ones included: a weight
shared by several connections has for ``dE/dw`` the sum over them
(``Architecture.backward``) and changes by their average (Fig. 5 text;
``change_weights``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from .net import Architecture, OneHot, Params, is_bias


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
    decay_biases: bool = True  # the decay shrinks the biases too ("every weight": a bias is a weight)
    margin: float = 0.0  # on-targets count no error above 1 - margin, off-targets below margin
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

    def phase(self, sweep: int) -> Phase:
        """The phase in force for weight change number ``sweep`` (1-based)."""
        return [p for p in self.schedule if p.start_sweep <= sweep][-1]

    def output_error(self, y: np.ndarray, d: np.ndarray) -> np.ndarray:
        """``dE/dy = y - d`` (eq. 4), zero where the output is inside the margin.

        An output whose target is on (``d >= 0.5``) counts no error above
        ``1 - margin``; one whose target is off counts none below ``margin``.
        Outside the margin, the error is measured from ``d`` or from the margin's edge.
        """
        on, m = d >= 0.5, self.margin
        e = y - (np.where(on, 1.0 - m, m) if self.margin_from_edge else d)
        if m > 0.0:
            sign, bound = np.where(on, 1.0, -1.0), np.where(on, 1.0 - m, -m)  # (n_cases, n_out)
            e *= (y * sign <= bound).astype(np.float64)  # 0 inside: y > 1 - m if on, y < m if off
        return e


def total_error(e: np.ndarray) -> np.ndarray:
    """Eq. 3, ``E = 1/2 sum_c sum_j e^2``, per seed from ``e (S, n_cases, n_out)``."""
    e = e.reshape(e.shape[0], -1)
    return 0.5 * np.sum(e * e, axis=1)


def worst_miss(y: np.ndarray, d: np.ndarray, cases: np.ndarray | None = None) -> np.ndarray:
    """Per seed, the largest ``|y - d|`` over every output of every training case
    (``cases (S, n_cases, 1)``, 1 for a training case and 0 for a held-out one)."""
    miss = np.abs(y - d)
    if cases is not None:
        miss *= cases
    return miss.reshape(miss.shape[0], -1).max(axis=1)


def change_weights(
    w: Params, dw: Params, dE_dw: Params, copies: dict[str, int], phase: Phase, rule: LearningRule
) -> None:
    """One weight change, in place: eq. 9, then weight decay. A parameter shared
    by ``copies[k]`` connections changes by the average of their ``dE/dw``."""
    for k, g in dE_dw.items():
        dw[k] = -phase.epsilon * (g / copies[k]) + phase.alpha * dw[k]  # eq. 9 (eq. 8: alpha = 0)
        w[k] += dw[k]
        if rule.weight_decay and (rule.decay_biases or not is_bias(k)):
            w[k] *= 1.0 - rule.weight_decay


@dataclass
class TrainResult:
    """What training produced, one row per seed.

    ``error[s, k]`` is E after ``k`` weight changes (NaN once seed ``s`` has
    stopped); ``sweeps_to[name][s]`` is the number of weight changes after which
    the criterion first held (-1 if never); ``sweeps_run[s]`` the number made.
    Where training measures the margin's error from its edge,
    ``error_from_target`` is E measured from the target as well, so that every
    configuration's curve can be read on the same E.
    """

    params: Params
    error: np.ndarray
    sweeps_to: dict[str, np.ndarray]
    sweeps_run: np.ndarray
    error_from_target: np.ndarray | None = None


def _seed_rows(groups: dict, keep: np.ndarray) -> dict:
    """The seeds ``keep`` of every group's ``(S, n_cases, n)`` activities; shared inputs as they are."""
    return {g: v[keep] if isinstance(v, np.ndarray) and v.ndim == 3 else v for g, v in groups.items()}


# Seeds computed together: small enough to stay in cache; no seed's numbers depend on it.
SEEDS_PER_BLOCK = 128


def train(
    net: Architecture,
    params: Params,
    inputs: dict[str, np.ndarray | OneHot],
    targets: np.ndarray,
    rule: LearningRule,
    max_sweeps: int,
    criteria: dict[str, float],
    train_mask: np.ndarray | None = None,
    stop_at: str | None = None,
    progress: str | None = None,
) -> TrainResult:
    """Train every seed for ``max_sweeps`` weight changes, or until it meets ``stop_at``.

    ``params`` have a leading seed axis; ``targets`` is ``(n_cases, n_out)``
    for the readout; ``train_mask (S, n_cases)`` marks each seed's training
    cases (all if None); ``criteria`` maps a name to a tolerance: the criterion
    holds when every output of every training case is within it of its target.
    A seed that stops leaves the computation: its rows are dropped from every
    array, so the others go on without it, and it keeps exactly the weights and
    curve it would have had alone. Seeds are computed in blocks that stay in
    cache, which changes nothing in any seed's numbers. ``progress`` labels a
    progress bar of sweeps.
    """
    if stop_at is not None and stop_at not in criteria:
        raise ValueError(f"stop_at {stop_at!r} is not one of the criteria {sorted(criteria)}")
    n_seeds, n_cases = next(iter(params.values())).shape[0], targets.shape[0]
    mask = np.ones((n_seeds, n_cases), bool) if train_mask is None else train_mask
    result = TrainResult(
        params={k: np.empty_like(v) for k, v in params.items()},
        error=np.full((n_seeds, max_sweeps + 1), np.nan),
        sweeps_to={name: np.full(n_seeds, -1, np.int64) for name in criteria},
        sweeps_run=np.zeros(n_seeds, np.int64),
        error_from_target=np.full((n_seeds, max_sweeps + 1), np.nan) if rule.margin_from_edge else None,
    )
    blocks = [np.arange(lo, min(lo + SEEDS_PER_BLOCK, n_seeds)) for lo in range(0, n_seeds, SEEDS_PER_BLOCK)]
    bar = tqdm(total=max_sweeps, desc=progress, unit="sweep", disable=None if progress else True, leave=False)
    for live in blocks:
        bar.reset()
        bar.set_postfix_str(f"seeds {live[0]}-{live[-1]} of {n_seeds}" if len(blocks) > 1 else "")
        _train_block(
            net, params, inputs, targets, rule, max_sweeps, criteria, mask, stop_at, live, result, bar
        )
    bar.close()
    return result


def _train_block(
    net, params, inputs, targets, rule, max_sweeps, criteria, mask, stop_at, live, result, bar
) -> None:
    """Train the seeds ``live`` (rows of ``params``), filling their rows of ``result``."""
    w = {k: v[live] for k, v in params.items()}  # fancy indexing: copies, the caller's stay as they were
    dw = {k: np.zeros_like(v) for k, v in w.items()}
    cases = None if mask[live].all() else mask[live][:, :, None].astype(np.float64)  # 1 trains, 0 held out
    copies = net.copies()
    error, sweeps_to = result.error, result.sweeps_to
    from_target = dataclasses.replace(rule, margin_from_edge=False) if rule.margin_from_edge else None
    for sweep in range(max_sweeps + 1):  # ``sweep`` weight changes made so far
        y = net.forward(w, inputs)
        out = net.readout(y)
        e = rule.output_error(out, targets)  # eq. 4
        if cases is not None:
            e *= cases  # held-out cases carry no error
        error[live, sweep] = total_error(e)  # eq. 3
        if from_target is not None:
            e_target = from_target.output_error(out, targets)
            result.error_from_target[live, sweep] = total_error(
                e_target if cases is None else e_target * cases
            )
        worst = worst_miss(out, targets, cases)
        for name, tolerance in criteria.items():
            first = (sweeps_to[name][live] < 0) & (worst < tolerance)
            sweeps_to[name][live[first]] = sweep
        result.sweeps_run[live] = sweep

        done = np.full(len(live), sweep == max_sweeps)
        if stop_at is not None:
            done |= sweeps_to[stop_at][live] >= 0
        if done.any():  # these seeds leave the computation
            for k in result.params:
                result.params[k][live[done]] = w[k][done]
            keep = ~done
            live, e, cases = live[keep], e[keep], None if cases is None else cases[keep]
            w, dw = {k: v[keep] for k, v in w.items()}, {k: v[keep] for k, v in dw.items()}
            y = _seed_rows(y, keep)
            if not len(live):
                return

        dE_dw = net.backward(w, y, e)
        change_weights(w, dw, dE_dw, copies, rule.phase(sweep + 1), rule)
        bar.update(1)
