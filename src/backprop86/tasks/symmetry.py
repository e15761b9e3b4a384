"""Mirror symmetry (Fig. 1): is a binary vector symmetric about its middle?

The dataset is every ``2**n_bits`` vector, derived here, not typed in; the net
is ``n_bits -> hidden -> 1``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from ..net import layered
from .base import Task

ITERATIVE = False
SETTINGS = {
    "hidden": {
        "description": (
            "hidden units, 1 to 64: as many as the task's 64 input patterns is already enough to "
            "tell each apart"
        ),
        "type": "integer",
        "minimum": 1,
        "maximum": 64,
        "default": 2,
    },
}
N_BITS = 6


def symmetry_dataset(n_bits: int = N_BITS) -> tuple[np.ndarray, np.ndarray]:
    """All ``2**n_bits`` binary vectors (x1 most significant) and whether each
    is symmetric about its middle: the input units' states ``(2**n, n)`` and the
    target ``d (2**n, 1)``."""
    vectors = np.array(list(itertools.product([0.0, 1.0], repeat=n_bits)))
    d = np.all(vectors == vectors[:, ::-1], axis=1).astype(np.float64)[:, None]
    return vectors, d


def build(settings: dict) -> Task:
    vectors, d = symmetry_dataset()
    labels = ["".join(str(int(v)) for v in row) for row in vectors]
    return Task(layered([vectors.shape[1], settings["hidden"], 1]), {"in": vectors}, d, labels)


def frame(settings: dict | None = None) -> pd.DataFrame:
    """``x1..x6,target``, one row per vector."""
    vectors, d = symmetry_dataset()
    table = pd.DataFrame(vectors.astype(int), columns=[f"x{i + 1}" for i in range(vectors.shape[1])])
    table["target"] = d[:, 0].astype(int)
    return table


def size(settings: dict) -> tuple[int, int]:
    """The training cases and the net's units (for the memory a block of seeds needs)."""
    return 2**N_BITS, N_BITS + settings["hidden"] + 1
