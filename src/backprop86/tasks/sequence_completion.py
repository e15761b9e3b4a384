"""Sequence completion, an iterative net's task (Fig. 5; our design, in the PDP chapter's spirit).

Two symbols ``a, b`` of ``A, B, C`` are shown one per step on external input
lines (one-hot), and the net must complete the mirror sequence ``a b b a``:
its first three units name ``b`` at step 3 and ``a`` at step 4, with nothing
shown. The net must hold ``a`` for two steps while it also holds and then
reports ``b``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from ..iterative import IterativeNet, iterative_frame
from .base import ITERATIVE_UNITS, SettingError, Task

ITERATIVE = True
SETTINGS = {"units": ITERATIVE_UNITS}
SYMBOLS = "ABC"


def check(settings: dict) -> None:
    if settings["units"] < len(SYMBOLS):
        raise SettingError(
            "units",
            f"{settings['units']} is too few; the sequence net's first {len(SYMBOLS)} units are its outputs",
        )


def cases(settings: dict) -> tuple[IterativeNet, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """The net, its initial states (all off), inputs, targets at steps 3 and 4, case labels."""
    units, k = settings["units"], len(SYMBOLS)
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
    labels = [f"{SYMBOLS[a]}{SYMBOLS[b]}{SYMBOLS[b]}{SYMBOLS[a]}" for a, b in pairs]
    return net, np.zeros((len(pairs), units)), inputs, targets, labels


def build(settings: dict) -> Task:
    net, initial, inputs, targets, labels = cases(settings)
    return Task(net.unroll(), net.feed(initial, inputs), targets, labels)


def frame(settings: dict) -> pd.DataFrame:
    return iterative_frame(*cases(settings))


def size(settings: dict) -> tuple[int, int]:
    """The training cases (every pair of symbols) and the unrolled net's units (5 copies
    of the units, and the inputs of 4 steps), for the memory a block of seeds needs."""
    k = len(SYMBOLS)
    return k * k, 5 * settings["units"] + 4 * k
