"""The command line: datasets, training outputs, and clear errors."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from backprop86.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "backprop86.cli", *args], cwd=cwd, capture_output=True, text=True
    )


def test_data_commands(tmp_path):
    assert main(["data", "family_trees", "-o", str(tmp_path / "f.csv")]) == 0
    assert main(["data", "symmetry", "-o", str(tmp_path / "s.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "f.csv")) == 112
    assert len(pd.read_csv(tmp_path / "s.csv")) == 64


def test_iterative_datasets_are_the_workflows(tmp_path):
    """`data shift_register` sizes the net from the project's config, as the workflow's
    iterative_dataset rule does (its first experiment of that task)."""
    from backprop86.config import load, resolve
    from backprop86.tasks import task_module

    config = load(ROOT / "config" / "config.yaml")
    for task in ("shift_register", "sequence_completion"):
        out = tmp_path / f"{task}.csv"
        assert main(["data", task, "-o", str(out), "--config", str(ROOT / "config" / "config.yaml")]) == 0
        expected = task_module(task).frame(resolve(config, task)).to_csv(index=False, lineterminator="\n")
        assert out.read_text() == expected and len(expected.splitlines()) > 8


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
        (
            lambda c: c["experiments"]["symmetry"]["settings"]["schedule"][0].update(epsilon=-0.1),
            "experiments.symmetry.settings.schedule.0.epsilon",
        ),
        (
            lambda c: c["experiments"]["symmetry"]["settings"]["schedule"][0].update(alpha=1.0),
            "experiments.symmetry.settings.schedule.0.alpha",
        ),
        (lambda c: c["experiments"]["symmetry"].update(seeds=0), "experiments.symmetry.seeds"),
        (lambda c: c["experiments"]["symmetry"].update(seeds="ten"), "'ten' is not of type 'integer'"),
        (
            lambda c: c["experiments"]["family_trees"]["settings"].update(held_out=[["Colin", "wife"]]),
            "experiments.family_trees.settings.held_out.0",
        ),
        (lambda c: c["experiments"]["symmetry"]["settings"].update(stop_at="never"), "stop_at"),
    ],
)
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


# --- errors: one line, exit 2, before any training, nothing left behind -------------------


def one_line_error(r, *needles):
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert lines[0].startswith("backprop86: error: "), lines
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert "training" not in r.stdout, "refused before training started"
    return lines[0]


@pytest.fixture
def no_training(monkeypatch):
    """Fails the test if training starts (for in-process runs of the command)."""
    import backprop86.experiments

    def refuse(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(backprop86.experiments, "train_seeds", refuse)


def unwritable(tmp_path) -> Path:
    if os.geteuid() == 0:  # root writes anywhere a permission allows; sysfs refuses even root
        return Path("/sys/kernel/backprop86_test")
    d = tmp_path / "readonly"
    d.mkdir(mode=0o500)
    return d / "x"


def cli_cases(tmp_path):
    (tmp_path / "afile").write_text("not a directory")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("keep me")
    (tmp_path / "empty").mkdir()
    (tmp_path / "link").symlink_to("empty")  # results are renamed into place: a link would be replaced
    (tmp_path / "dangling").symlink_to("nowhere")
    return {
        "out a symlink": (
            ["train", "symmetry", "--seeds", "2", "--out", "link"],
            ["--out link is a symbolic link"],
        ),
        "out a dangling symlink": (
            ["train", "symmetry", "--seeds", "2", "--out", "dangling"],
            ["is a symbolic link"],
        ),
        "data to a symlink": (["data", "symmetry", "-o", "dangling"], ["-o dangling is a symbolic link"]),
        "out is a file": (["train", "symmetry", "--seeds", "2", "--out", "afile"], ["--out afile is a file"]),
        "out under a file": (
            ["train", "symmetry", "--seeds", "2", "--out", "afile/run"],
            ["afile is a file"],
        ),
        "out not empty": (
            ["train", "symmetry", "--seeds", "2", "--out", "full"],
            ["exists and is not empty"],
        ),
        "out unwritable": (
            ["train", "symmetry", "--seeds", "2", "--out", str(unwritable(tmp_path))],
            ["cannot write", "--out"],
        ),
        "first seed negative": (
            ["train", "symmetry", "--first-seed", "-1", "--out", "o"],
            ["--first-seed: -1 is below 0"],
        ),
        "seeds zero": (["train", "symmetry", "--seeds", "0", "--out", "o"], ["--seeds: 0 is below 1"]),
        "seeds not a number": (
            ["train", "symmetry", "--seeds", "many", "--out", "o"],
            ["'many' is not a whole number"],
        ),
        "too large for memory": (
            ["train", "symmetry", "--seeds", "10000000", "--out", "o"],
            ["10000000 seeds of symmetry/paper need", "GB of memory available"],
        ),
        "seeds past int64": (
            ["train", "symmetry", "--first-seed", str(2**63), "--seeds", "1", "--out", "o"],
            ["below 2**63"],
        ),
        "kebab-case experiment": (
            ["train", "family-trees", "--out", "o"],
            ["spelled with _", "'family_trees'"],
        ),
        "unknown experiment": (["train", "xor", "--out", "o"], ["unknown experiment 'xor'"]),
        "unknown configuration": (
            ["train", "symmetry", "--configuration", "nope", "--out", "o"],
            ["unknown configuration 'nope'"],
        ),
        "missing config": (
            ["train", "symmetry", "--config", "nope.yaml", "--out", "o"],
            ["config file not found: nope.yaml"],
        ),
        "data to a directory": (["data", "symmetry", "-o", "full"], ["-o full is a directory"]),
        "data under a file": (["data", "symmetry", "-o", "afile/s.csv"], ["afile is a file"]),
        "data unwritable": (["data", "symmetry", "-o", str(unwritable(tmp_path))], ["-o"]),
        "kebab-case dataset": (["data", "family-trees", "-o", "f.csv"], ["spelled with _", "'family_trees'"]),
        "unknown dataset": (["data", "xor", "-o", "f.csv"], ["unknown dataset 'xor'", "shift_register"]),
        "no command": ([], ["command"]),
    }


CLI_NAMES = [
    "out a symlink",
    "out a dangling symlink",
    "data to a symlink",
    "out is a file",
    "out under a file",
    "out not empty",
    "out unwritable",
    "first seed negative",
    "seeds zero",
    "seeds not a number",
    "too large for memory",
    "seeds past int64",
    "kebab-case experiment",
    "unknown experiment",
    "unknown configuration",
    "missing config",
    "data to a directory",
    "data under a file",
    "data unwritable",
    "kebab-case dataset",
    "unknown dataset",
    "no command",
]


@pytest.mark.parametrize("name", CLI_NAMES)
def test_cli_error_is_one_line_before_training_and_leaves_nothing(
    tmp_path, monkeypatch, no_training, capsys, name
):
    args, needles = cli_cases(tmp_path)[name]
    monkeypatch.chdir(tmp_path)
    config = (
        ["--config", str(ROOT / "config" / "config.yaml")]
        if args[:1] == ["train"] and "--config" not in args
        else []
    )
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code = main([*args, *config])
    out, err = capsys.readouterr()
    one_line_error(subprocess.CompletedProcess(args, code, out, err), *needles)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before, (
        "nothing written, no temp files"
    )
    assert (tmp_path / "full" / "keep.txt").read_text() == "keep me"


def test_errors_from_a_real_process_have_no_traceback(tmp_path):
    r = run_cli("train", "symmetry", "--seeds", "10000000", "--out", "o", cwd=tmp_path)
    one_line_error(r, "GB of memory available")
    r = run_cli("data", "symmetry", "-o", str(tmp_path), cwd=tmp_path)
    one_line_error(r, "is a directory")
    assert list(tmp_path.iterdir()) == []


def test_version():
    r = run_cli("--version", cwd=ROOT)
    assert r.returncode == 0 and re.fullmatch(r"backprop86 \d+\.\d+\.\d+\S*\n", r.stdout), r.stdout


def test_list_and_train_from_any_directory(project, tmp_path_factory):
    """Inside a project (any subdirectory) its config is used; elsewhere the checkout's."""
    write_config(
        project,
        lambda c: (
            c["experiments"].pop("family_trees"),
            c["report"].pop("family_trees"),
            c.pop("readings_map"),
        ),
    )
    sub = project / "workflow" / "scripts"
    r = run_cli("list", cwd=sub)
    assert r.returncode == 0, r.stderr
    assert str(project / "config" / "config.yaml") in r.stdout and "family_trees" not in r.stdout
    elsewhere = tmp_path_factory.mktemp("elsewhere")  # no config/config.yaml here or above
    r = run_cli("list", cwd=elsewhere)
    assert r.returncode == 0 and "family_trees (family_trees" in r.stdout, r.stderr
    r = run_cli("train", "shift_register", "--seeds", "1", "--out", "run", cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    assert (elsewhere / "run" / "manifest.json").is_file()


def test_interrupted_or_failed_training_leaves_nothing(tmp_path, monkeypatch, capsys):
    import backprop86.experiments

    for exc, code in ((KeyboardInterrupt(), 130), (OSError(28, "No space left on device"), 2)):

        def fail(*args, exc=exc, **kwargs):
            raise exc

        monkeypatch.setattr(backprop86.experiments, "train_seeds", fail)
        out = tmp_path / "deep" / "run"
        args = [
            "train",
            "symmetry",
            "--seeds",
            "2",
            "--out",
            str(out),
            "--config",
            str(ROOT / "config/config.yaml"),
        ]
        assert main(args) == code
        assert list(tmp_path.iterdir()) == [], "no temporary directory, no half run"
    assert "nothing was written" in capsys.readouterr().err


def test_train_labels_its_progress_with_configuration_and_seeds(tmp_path, monkeypatch):
    import backprop86.experiments

    real, seen = backprop86.experiments.train_seeds, []

    def spy(settings, seeds, progress=False):
        seen.append(progress)
        return real({**settings, "max_sweeps": 5}, seeds)

    monkeypatch.setattr(backprop86.experiments, "train_seeds", spy)
    args = ["train", "symmetry", "--configuration", "hidden_3_long", "--first-seed", "7", "--seeds", "3"]
    assert main([*args, "--out", str(tmp_path / "r"), "--config", str(ROOT / "config/config.yaml")]) == 0
    assert seen == ["symmetry/hidden_3_long seeds 7..9"]
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [
        "curves.npz",
        "manifest.json",
        "settings.json",
        "summary.csv",
        "weights.npz",
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["r"]
