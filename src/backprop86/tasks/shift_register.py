"""The shift register, an iterative net's task (Fig. 5; the PDP chapter's, in its spirit).

``units`` fully connected units with no external inputs start in one of the
``2**units`` binary patterns; after step ``t`` they must hold the pattern
shifted ``t`` places to the right (circularly). Only the recurrent weights and
biases can learn it.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from ..iterative import IterativeNet, iterative_frame
from .base import ITERATIVE_UNITS, Task

ITERATIVE = True
SETTINGS = {
    "units": ITERATIVE_UNITS,
    "steps": {
        "description": (
            "synchronous steps the register runs, with a target after each, 1 to 64: training "
            "keeps every step's activations to back-propagate through time"
        ),
        "type": "integer",
        "minimum": 1,
        "maximum": 64,
        "default": 3,
    },
}


def binary_patterns(n: int) -> np.ndarray:
    """All ``2**n`` binary patterns, ``(2**n, n)``, unit 1 most significant."""
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def cases(settings: dict) -> tuple[IterativeNet, np.ndarray, None, np.ndarray, list[str]]:
    """The net, its initial states, (no) external inputs, targets at every step, case labels."""
    units, steps = settings["units"], settings["steps"]
    patterns = binary_patterns(units)
    targets = np.concatenate([np.roll(patterns, t, axis=1) for t in range(1, steps + 1)], axis=1)
    net = IterativeNet(
        n_units=units, steps=steps, outputs=tuple(range(units)), target_steps=tuple(range(1, steps + 1))
    )
    labels = ["".join(str(int(v)) for v in p) for p in patterns]
    return net, patterns, None, targets, labels


def build(settings: dict) -> Task:
    net, initial, inputs, targets, labels = cases(settings)
    return Task(net.unroll(), net.feed(initial, inputs), targets, labels)


def frame(settings: dict) -> pd.DataFrame:
    return iterative_frame(*cases(settings))


def size(settings: dict) -> tuple[int, int]:
    """The training cases (every starting pattern) and the unrolled net's units, for
    the memory a block of seeds needs: ``2**units`` cases, ``steps + 1`` copies of the units."""
    return 2 ** settings["units"], (settings["steps"] + 1) * settings["units"]
