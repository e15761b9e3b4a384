"""Training and storage of many seeds: one configuration over a range of seeds.

Results are files first: ``weights.npz`` (final weights, leading seed axis),
``curves.npz`` (error after every sweep, sweeps to each criterion, training
masks), ``summary.csv`` (one row per seed), ``settings.json`` and, for family
trees, ``heldout.csv``. Seeds are independent, so shards of a seed range
combine into exactly the bytes of the whole range trained at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import io
from .config import config_hash
from .learning import LearningRule, Phase, TrainResult, train
from .net import Params
from .tasks import Task, build_task, held_out_masks


def seed_generators(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent generators for seed ``seed``: (initial weights, held-out split)."""
    init, split = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(init), np.random.default_rng(split)


def learning_rule(settings: dict) -> LearningRule:
    return LearningRule(
        schedule=tuple(Phase(p["start_sweep"], p["epsilon"], p["alpha"]) for p in settings["schedule"]),
        weight_decay=settings["weight_decay"],
        decay_biases=settings["decay_biases"],
        margin=settings["margin"],
        margin_from_edge=settings["margin_error"] == "from_edge",
    )


@dataclass
class Run:
    """The results of training seeds ``seeds`` of one configuration."""

    settings: dict
    seeds: np.ndarray
    result: TrainResult
    train_mask: np.ndarray
    heldout: pd.DataFrame | None

    def summary(self) -> pd.DataFrame:
        r = self.result
        final = r.error[np.arange(len(self.seeds)), r.sweeps_run]
        table = {"seed": self.seeds, "final_error": final, "sweeps_run": r.sweeps_run}
        for name, first in r.sweeps_to.items():
            table[f"sweeps_to_{name}"] = pd.array(np.where(first >= 0, first, None), dtype="Int64")
        frame = pd.DataFrame(table)
        if self.heldout is not None:
            counts = self.heldout.groupby("seed")["correct"].agg(["sum", "size"])
            counts = counts.reindex(self.seeds, fill_value=0)  # seeds holding nothing out count 0 of 0
            frame["heldout_correct"] = counts["sum"].to_numpy().astype(np.int64)
            frame["heldout_total"] = counts["size"].to_numpy().astype(np.int64)
        return frame

    def error_from_target(self) -> np.ndarray:
        """E per sweep ``(S, sweeps + 1)`` measured from the target (eq. 3 with
        the margin, ``y - d`` outside it), whatever error the seeds trained on."""
        r = self.result
        return r.error if r.error_from_target is None else r.error_from_target

    def final_error_from_target(self) -> np.ndarray:
        """Each seed's E from the target after its last weight change."""
        return self.error_from_target()[np.arange(len(self.seeds)), self.result.sweeps_run]

    def trained_on(self) -> str:
        """Which E the seeds trained on: ``from_target`` (eq. 3 as published) or
        ``from_edge`` (outputs inside the margin measured from its edge; a
        different number from E from the target, which the run also records)."""
        s = self.settings
        return "from_edge" if s["margin"] > 0 and s["margin_error"] == "from_edge" else "from_target"

    def write(self, out: Path) -> None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        r = self.result
        io.save_npz(out / "weights.npz", {"seed": self.seeds, **r.params})
        curves = {
            "seed": self.seeds,
            "error": r.error,
            "train_mask": self.train_mask,
            "sweeps_run": r.sweeps_run,
        }
        curves.update({f"sweeps_to:{name}": v for name, v in r.sweeps_to.items()})
        if r.error_from_target is not None:
            curves["error_from_target"] = r.error_from_target
        io.save_npz(out / "curves.npz", curves)
        if self.heldout is not None:
            io.save_csv(out / "heldout.csv", self.heldout)
        io.save_json(out / "settings.json", {**self.settings, "config_hash": config_hash(self.settings)})
        io.save_csv(out / "summary.csv", self.summary())
        io.write_manifest(out)  # last: its presence marks a complete run, its hashes an intact one


def load_run(directory: Path) -> Run:
    """Read back what :meth:`Run.write` wrote."""
    directory = Path(directory)
    io.verify_manifest(directory)
    settings = json.loads((directory / "settings.json").read_text())
    settings.pop("config_hash", None)
    weights, curves = io.load_npz(directory / "weights.npz"), io.load_npz(directory / "curves.npz")
    seeds = weights.pop("seed")
    sweeps_to = {k.split(":", 1)[1]: v for k, v in curves.items() if k.startswith("sweeps_to:")}
    result = TrainResult(
        weights, curves["error"], sweeps_to, curves["sweeps_run"], curves.get("error_from_target")
    )
    heldout = None
    if (directory / "heldout.csv").is_file():
        heldout = pd.read_csv(directory / "heldout.csv")
    return Run(settings, seeds, result, curves["train_mask"], heldout)


def combine(runs: list[Run]) -> Run:
    """One run from shards of the same configuration, in seed order."""
    runs = sorted(runs, key=lambda r: int(r.seeds[0]))
    first = runs[0]
    for r in runs[1:]:
        if {**r.settings, "seeds": 0} != {**first.settings, "seeds": 0}:
            raise ValueError("shards of different configurations cannot be combined")
    seeds = np.concatenate([r.seeds for r in runs])
    if len(np.unique(seeds)) != len(seeds):
        raise ValueError("shards overlap: a seed appears twice")
    cat = lambda get: np.concatenate([get(r) for r in runs])  # noqa: E731
    result = TrainResult(
        params={k: cat(lambda r, k=k: r.result.params[k]) for k in first.result.params},
        error=cat(lambda r: r.result.error),
        sweeps_to={k: cat(lambda r, k=k: r.result.sweeps_to[k]) for k in first.result.sweeps_to},
        sweeps_run=cat(lambda r: r.result.sweeps_run),
        error_from_target=None
        if first.result.error_from_target is None
        else cat(lambda r: r.result.error_from_target),
    )
    heldout = None
    if first.heldout is not None:
        heldout = pd.concat([r.heldout for r in runs], ignore_index=True)
    return Run(first.settings, seeds, result, cat(lambda r: r.train_mask), heldout)


def train_seeds(settings: dict, seeds, progress: str | None = None) -> Run:
    """Train every seed in ``seeds`` of one resolved configuration at once;
    ``progress`` labels a progress bar."""
    seeds = np.asarray(list(seeds), dtype=np.int64)
    task = build_task(settings)
    gens = [seed_generators(int(s)) for s in seeds]
    params = task.net.init_params([g[0] for g in gens], settings["init_range"])
    mask = held_out_masks(task.targets.shape[0], task.held_out, [g[1] for g in gens])
    result = train(
        task.net,
        params,
        task.inputs,
        task.targets,
        learning_rule(settings),
        max_sweeps=settings["max_sweeps"],
        criteria=settings["criteria"],
        train_mask=mask,
        stop_at=settings["stop_at"],
        progress=progress,
    )
    heldout = evaluate_heldout(task, result.params, seeds, mask) if task.held_out is not None else None
    return Run(settings, seeds, result, mask, heldout)


def evaluate_heldout(task: Task, params: Params, seeds: np.ndarray, mask: np.ndarray) -> pd.DataFrame:
    """Each seed's held-out questions and whether each was answered correctly:
    every output that should be on above 0.5, every other below 0.5."""
    out = task.net.readout(task.net.forward(params, task.inputs))
    right = np.abs(out - task.targets).max(axis=2) < 0.5  # (S, n_cases), the "rounded" reading
    rows = []
    for s, seed in enumerate(seeds):
        for c in np.flatnonzero(~mask[s]):
            person, rel = task.case_labels[c]
            rows.append({"seed": int(seed), "person1": person, "relation": rel, "correct": bool(right[s, c])})
    return pd.DataFrame(rows, columns=["seed", "person1", "relation", "correct"])
