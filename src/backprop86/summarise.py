"""Summary tables over seeds, one row per configuration (pandas)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .experiments import Run


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95% Wilson score interval for a binomial proportion."""
    if n == 0:
        return (math.nan, math.nan)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def configuration_row(experiment: str, configuration: str, run: Run) -> dict:
    """What one configuration measured over its seeds."""
    summary = run.summary()
    n = len(summary)
    row = {
        "experiment": experiment,
        "configuration": configuration,
        "seeds": n,
        "max_sweeps": run.settings["max_sweeps"],
        "trained_on": run.trained_on(),
        "median_final_error": summary.final_error.median(),
        "median_final_error_from_target": float(np.median(run.final_error_from_target())),
    }
    for name in run.result.sweeps_to:
        col = summary[f"sweeps_to_{name}"].dropna().astype(float)
        lo, hi = wilson_interval(len(col), n)
        row[f"learned_{name}"] = len(col)
        row[f"share_learned_{name}"] = len(col) / n
        row[f"share_learned_{name}_ci_low"] = lo
        row[f"share_learned_{name}_ci_high"] = hi
        for q, label in ((0.0, "min"), (0.25, "q25"), (0.5, "median"), (0.75, "q75"), (1.0, "max")):
            row[f"sweeps_to_{name}_{label}"] = col.quantile(q) if len(col) else math.nan
    if "heldout_correct" in summary:
        total = int(summary.heldout_total.max()) if n else 0
        row["heldout_mean_correct"] = summary.heldout_correct.mean()
        for k in range(total, -1, -1):
            row[f"heldout_{k}_of_{total}"] = int((summary.heldout_correct == k).sum())
    return row


def configurations_table(runs: dict[tuple[str, str], Run]) -> pd.DataFrame:
    """One row per (experiment, configuration), in the given order."""
    return pd.DataFrame([configuration_row(e, c, r) for (e, c), r in runs.items()])


def seeds_table(runs: dict[tuple[str, str], Run]) -> pd.DataFrame:
    """Every seed's summary row, labelled with its experiment and configuration."""
    frames = [r.summary().assign(experiment=e, configuration=c) for (e, c), r in runs.items()]
    table = pd.concat(frames, ignore_index=True)
    first = ["experiment", "configuration"]
    return table[first + [c for c in table.columns if c not in first]]
