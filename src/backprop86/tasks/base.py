"""What every task gives the training: a net, its inputs and targets, its cases."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..net import Architecture, OneHot


class SettingError(ValueError):
    """A task's setting that cannot be used: ``key`` names it (a key, or a path such as
    ``("held_out", 2)``), the message says why."""

    def __init__(self, key: str | tuple, message: str):
        self.key = key
        super().__init__(message)


# The units of an iterative net (Fig. 5), a setting of every task that trains one.
ITERATIVE_UNITS = {
    "description": (
        "units of an iterative net; the shift register's patterns have this many bits; the "
        "sequence net's first 3 units are its outputs. 2 to 16: the shift register trains on all "
        "2^units patterns, 65,536 at 16 units"
    ),
    "type": "integer",
    "minimum": 2,
    "maximum": 16,
}


@dataclass(frozen=True)
class HeldOut:
    """Questions each seed holds out of training: ``fixed`` case indices, or
    ``n`` drawn per seed from the seed's own generator, among the cases ``pool``
    (all if None)."""

    n: int
    fixed: tuple[int, ...] | None = None
    pool: tuple[int, ...] | None = None


@dataclass
class Task:
    """A net and what it trains on: ``inputs`` per input group, ``targets
    (n_cases, n_out)`` for ``net.readout``, a label per case, and for tasks
    that test generalisation, the questions held out."""

    net: Architecture
    inputs: dict[str, np.ndarray | OneHot]
    targets: np.ndarray
    case_labels: list
    held_out: HeldOut | None = None


def held_out_masks(n_cases: int, held_out: HeldOut | None, rngs: list[np.random.Generator]) -> np.ndarray:
    """Training masks ``(S, n_cases)``, False where a seed holds a case out."""
    mask = np.ones((len(rngs), n_cases), bool)
    if held_out is None:
        return mask
    for s, rng in enumerate(rngs):
        if held_out.fixed is not None:
            out = held_out.fixed
        else:
            out = rng.choice(
                n_cases if held_out.pool is None else np.array(held_out.pool), held_out.n, replace=False
            )
        mask[s, list(out)] = False
    return mask
