"""The command line: datasets, training outputs, and clear errors."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from backprop86.cli import main


def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "backprop86.cli", *args], cwd=cwd, capture_output=True, text=True
    )


def test_data_commands(tmp_path):
    assert main(["data", "family-trees", "-o", str(tmp_path / "f.csv")]) == 0
    assert main(["data", "symmetry", "-o", str(tmp_path / "s.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "f.csv")) == 112
    assert len(pd.read_csv(tmp_path / "s.csv")) == 64


def write_config(project, edit):
    path = project / "config" / "config.yaml"
    config = yaml.safe_load(path.read_text())
    edit(config)
    path.write_text(yaml.safe_dump(config))


def test_train_writes_results_and_is_deterministic(project):
    def small(c):
        c["experiments"]["symmetry"]["settings"]["max_sweeps"] = 300
        c["experiments"]["family_trees"]["settings"]["max_sweeps"] = 30

    write_config(project, small)
    for out in ("a", "b"):
        r = run_cli("train", "symmetry", "--seeds", "20", "--out", out, cwd=project)
        assert r.returncode == 0, r.stderr
    for name in ("weights.npz", "curves.npz", "summary.csv", "settings.json"):
        assert (project / "a" / name).read_bytes() == (project / "b" / name).read_bytes(), name
    summary = pd.read_csv(project / "a" / "summary.csv")
    assert list(summary.seed) == list(range(20))
    assert {"seed", "final_error", "sweeps_to_rounded", "sweeps_to_within_0_2"} <= set(summary.columns)
    weights = np.load(project / "a" / "weights.npz")
    assert weights["w:in->h1"].shape == (20, 6, 2)
    assert np.load(project / "a" / "curves.npz")["error"].shape == (20, 301)

    r = run_cli("train", "family_trees", "--seeds", "3", "--out", "f", cwd=project)
    assert r.returncode == 0, r.stderr
    held = pd.read_csv(project / "f" / "heldout.csv")
    assert len(held) == 12 and set(held.columns) == {"seed", "person1", "relation", "correct"}
    assert (pd.read_csv(project / "f" / "summary.csv").heldout_total == 4).all()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["experiments"]["symmetry"]["settings"].update(epsilon=0.1), "Additional properties"),
        (lambda c: c["experiments"]["symmetry"]["settings"]["schedule"][0].update(epsilon=-0.1),
         "experiments.symmetry.settings.schedule.0.epsilon"),
        (lambda c: c["experiments"]["symmetry"]["settings"]["schedule"][0].update(alpha=1.0),
         "experiments.symmetry.settings.schedule.0.alpha"),
        (lambda c: c["experiments"]["symmetry"].update(seeds=0), "experiments.symmetry.seeds"),
        (lambda c: c["experiments"]["symmetry"].update(seeds="ten"), "'ten' is not of type 'integer'"),
        (lambda c: c["experiments"]["family_trees"]["settings"].update(held_out=[["Colin", "wife"]]),
         "experiments.family_trees.settings.held_out.0"),
        (lambda c: c["experiments"]["symmetry"]["settings"].update(stop_at="never"), "stop_at"),
    ],
)  # fmt: skip
def test_bad_config_is_named(project, edit, message):
    write_config(project, edit)
    r = run_cli("train", "symmetry", "--seeds", "2", "--out", "x", cwd=project)
    assert r.returncode == 2
    assert message in r.stderr, r.stderr
    assert not (project / "x").exists()


def test_missing_config_and_unknown_experiment(project):
    r = run_cli("train", "symmetry", "--config", "nope.yaml", "--out", "x", cwd=project)
    assert r.returncode == 2 and "config file not found: nope.yaml" in r.stderr
    r = run_cli("train", "xor", "--out", "x", cwd=project)
    assert r.returncode == 2 and "unknown experiment 'xor'" in r.stderr
