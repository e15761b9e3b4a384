"""MLflow stays true to results/: a lost or replaced store is logged again, many writers
leave every run once, a live writer's runs are left alone; the points charted; packaging."""

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import tomllib

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT, TINY, copy_project, snakemake
from test_workflow import EXPECTED, mlflow_runs

from backprop86.tracking import curve_steps

pytestmark = pytest.mark.slow

N_RUNS = len(EXPECTED) + sum(EXPECTED.values())


def assert_each_run_once(runs, expected=EXPECTED):
    live = runs[runs.lifecycle_stage == "active"]
    assert (live.status == "FINISHED").all(), live.status.value_counts()
    for (exp, cfg), n in expected.items():
        mine = live[(live.experiment == f"backprop86-{exp}") & (live.configuration == cfg)]
        assert (mine.role == "configuration").sum() == 1, (exp, cfg)
        assert sorted(mine[mine.role == "seed"].seed.astype(int)) == list(range(n)), (exp, cfg)
    assert len(live) == len(expected) + sum(expected.values())


def jobs(stderr: str) -> dict[str, int]:
    table = stderr.split("Job stats:", 1)[1].split("total", 1)[0]
    return {line.split()[0]: int(line.split()[1]) for line in table.splitlines()[3:] if line.strip()}


# --- the points charted --------------------------------------------------------------------------


def test_curve_steps_are_log_spaced_with_first_last_and_criteria():
    steps = curve_steps(20000, always=[1234, 777], max_points=200)
    assert len(steps) <= 200 and steps[0] == 0 and steps[-1] == 20000
    assert {1234, 777} <= set(steps)
    assert steps == sorted(set(steps))
    gaps = np.diff(steps[1:])
    assert gaps[-1] > 50 * gaps[0], "denser early, where the error changes fastest"
    assert curve_steps(150, always=[7], max_points=200) == list(range(151)), "short curves whole"


def test_logged_curves_include_the_sweep_each_criterion_was_met(tmp_path):
    """Seeds that learn, logged into a real store: 0, the last sweep and each criterion's sweep."""
    from mlflow import MlflowClient

    from backprop86.cli import dataset
    from backprop86.config import resolve
    from backprop86.experiments import train_seeds
    from backprop86.io import save_csv, save_json
    from backprop86.tracking import log_configuration

    settings = resolve({"experiments": {"symmetry": TINY["experiments"]["symmetry"]}}, "symmetry")
    settings.update(max_sweeps=3000, seeds=4)
    start = time.time()
    train_seeds(settings, range(4)).write(tmp_path / "run")
    save_json(tmp_path / "timing.json", {"first_seed": 0, "last_seed": 3, "start_ms": int(start * 1000),
                                         "end_ms": int(time.time() * 1000)})  # fmt: skip
    save_csv(tmp_path / "symmetry.csv", dataset("symmetry"))
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    log_configuration(tmp_path / "run", "symmetry", "paper", tmp_path / "symmetry.csv", [tmp_path / "timing.json"],
                      tmp_path / "marker.json", curve_points=40, uri=uri)  # fmt: skip
    marker = json.loads((tmp_path / "marker.json").read_text())
    summary = pd.read_csv(tmp_path / "run/summary.csv").set_index("seed")
    assert summary.sweeps_to_within_0_2.notna().sum() >= 1, "a seed learned"
    client = MlflowClient(uri)
    for seed, run_id in marker["run_ids"].items():
        steps = sorted(m.step for m in client.get_metric_history(run_id, "error"))
        row = summary.loc[int(seed)]
        met = {int(row[c]) for c in ("sweeps_to_rounded", "sweeps_to_within_0_2") if pd.notna(row[c])}
        assert len(steps) <= 40 and steps[0] == 0 and steps[-1] == row.sweeps_run
        assert met <= set(steps), (seed, met)
        for name in ("rounded", "within_0_2"):
            if pd.notna(row[f"sweeps_to_{name}"]):
                (m,) = client.get_metric_history(run_id, f"sweeps_to_{name}")
                assert m.value == row[f"sweeps_to_{name}"]


# --- the store is the truth ----------------------------------------------------------------------


def test_lost_store_is_logged_again_and_only_what_is_missing(tiny_done, tmp_path):
    root = tmp_path / "lost"
    shutil.copytree(tiny_done, root)
    # one seed's run deleted (e.g. in the UI): only that run is logged again
    from mlflow import MlflowClient

    def logged_again(why: str, counts: str) -> None:
        """The next run logs symmetry/paper again, saying ``why``, with ``counts`` in its log."""
        r = snakemake(root, "--cores", "2")
        assert r.returncode == 0, r.stderr[-3000:]
        assert f"results/tracking/symmetry/paper.json {why}" in r.stderr
        assert jobs(r.stderr)["log_mlflow"] == 1
        assert f"symmetry/paper: {{{counts}" in (root / "logs/mlflow/symmetry.log").read_text()
        assert_each_run_once(mlflow_runs(root))

    marker = json.loads((root / "results/tracking/symmetry/paper.json").read_text())
    MlflowClient(f"sqlite:///{root / 'mlflow.db'}").delete_run(marker["run_ids"]["3"])
    logged_again("is stale", "'created': 1, 'kept': 5")
    # a marker lost from its experiment's folder: the folder is logged again, and the store already has it all
    (root / "results/tracking/symmetry/paper.json").unlink()
    logged_again("is missing", "'created': 0")

    # the whole store gone: everything is logged again, once
    for p in [*root.glob("mlflow.db*"), root / "mlruns"]:
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    r = snakemake(root, "--cores", "2")
    assert r.returncode == 0, r.stderr[-3000:]
    assert jobs(r.stderr)["log_mlflow"] == len({e for e, _ in EXPECTED})  # one per experiment
    runs = mlflow_runs(root)
    assert_each_run_once(runs)
    for exp, cfg in EXPECTED:
        marker = json.loads((root / f"results/tracking/{exp}/{cfg}.json").read_text())
        assert set(marker["run_ids"].values()) <= set(runs.run_uuid)
    r = snakemake(root, "--cores", "2")
    assert r.returncode == 0 and "Nothing to be done" in r.stderr, r.stderr[-2000:]


def test_another_store_gets_every_run(tiny_done, tmp_path):
    root = tmp_path / "moved"
    shutil.copytree(tiny_done, root)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    r = snakemake(root, "--cores", "2", env={"MLFLOW_TRACKING_URI": other})
    assert r.returncode == 0, r.stderr[-3000:]
    assert jobs(r.stderr)["log_mlflow"] == len({e for e, _ in EXPECTED})  # one per experiment
    with sqlite3.connect(tmp_path / "other.db") as db:
        assert db.execute("select count(*) from runs where status = 'FINISHED'").fetchone()[0] == N_RUNS
    r = snakemake(root, "--cores", "2", env={"MLFLOW_TRACKING_URI": other})
    assert "Nothing to be done" in r.stderr, r.stderr[-2000:]
    assert len(mlflow_runs(root)) == N_RUNS, "the first store is untouched"


def test_two_checkouts_logging_into_one_store_leave_each_run_once(tmp_path):
    """Two checkouts of the same config, one SQLite store, at the same time."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp_path / 'shared.db'}"
    roots = [copy_project(tmp_path / name, TINY) for name in ("a", "b")]
    procs = [subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "2"], cwd=root, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for root in roots]  # fmt: skip
    errors = [p.communicate(timeout=600)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e[-3000:] for e in errors]
    shutil.copy(tmp_path / "shared.db", roots[0] / "mlflow.db")  # where mlflow_runs reads
    for wal in tmp_path.glob("shared.db-*"):
        shutil.copy(wal, roots[0] / wal.name.replace("shared.db", "mlflow.db"))
    runs = mlflow_runs(roots[0])
    assert_each_run_once(runs)
    for exp, cfg in EXPECTED:
        a, b = (json.loads((root / f"results/tracking/{exp}/{cfg}.json").read_text()) for root in roots)
        assert a["run_ids"] == b["run_ids"] and a["parent_run_id"] == b["parent_run_id"]
    for root in roots:
        r = snakemake(root, "--cores", "2", env={"MLFLOW_TRACKING_URI": env["MLFLOW_TRACKING_URI"]})
        assert "Nothing to be done" in r.stderr, r.stderr[-2000:]


def test_a_live_writers_run_is_not_deleted(tiny_done, tmp_path):
    """A configuration another live process is writing is waited for, then taken over once
    that process is gone: its unfinished seed run deleted, its parent kept."""
    import psutil
    from mlflow import MlflowClient

    from backprop86.config import config_hash
    from backprop86.experiments import load_run

    run_dir = tiny_done / "results/runs/symmetry/paper/all_seeds"
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    client = MlflowClient(uri)
    exp_id = client.create_experiment("backprop86-symmetry")
    other = subprocess.Popen(["sleep", "120"])
    try:
        writer = f"{socket.gethostname()}:{other.pid}:{int(psutil.Process(other.pid).create_time())}"
        tags = {"backprop86.config_hash": config_hash(load_run(run_dir).settings),
                "backprop86.configuration": "paper"}  # fmt: skip
        parent = client.create_run(exp_id, run_name="paper", tags={**tags, "backprop86.role": "configuration",
                                                                   "backprop86.writer": writer})  # fmt: skip
        child = client.create_run(exp_id, tags={**tags, "backprop86.role": "seed", "backprop86.seed": "0",
                                                "mlflow.parentRunId": parent.info.run_id})  # fmt: skip
        seen = tmp_path / "writer_seen"  # a line per look at the other writer: whether it lived
        code = (
            "import backprop86.tracking as t\n"
            "def writer_alive(*args, _alive=t.writer_alive):\n"
            "    alive = _alive(*args)\n"
            f"    with open({str(seen)!r}, 'a') as f:\n"
            "        print(alive, file=f)\n"
            "    return alive\n"
            "t.writer_alive = writer_alive\n"
            "from backprop86.tracking import log_configuration as log\n"
            f"print(log({str(run_dir)!r}, 'symmetry', 'paper', {str(tiny_done / 'results/data/symmetry.csv')!r}, "
            f"{[str(p) for p in sorted((tiny_done / 'results/timing/symmetry/paper').glob('*.json'))]!r}, "
            f"{str(tmp_path / 'marker.json')!r}, curve_points=50, uri={uri!r}))"
        )
        second = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)  # fmt: skip
        # it found the writer alive, and again a pass later: it is waiting (however slow its start)
        deadline = time.monotonic() + 120
        while (seen.read_text().split() if seen.exists() else []).count("True") < 2:
            assert second.poll() is None, second.communicate()
            assert time.monotonic() < deadline, "the second writer never looked at the first"
            time.sleep(0.2)
        assert second.poll() is None, second.communicate()
        for run_id in (parent.info.run_id, child.info.run_id):
            run = client.get_run(run_id)
            assert run.info.lifecycle_stage == "active" and run.info.status == "RUNNING"
        assert len(client.search_runs([exp_id])) == 2, "nothing else logged meanwhile"
    finally:
        other.kill()
        other.wait()
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err[-3000:]
    assert "'created': 6" in out
    assert client.get_run(child.info.run_id).info.lifecycle_stage == "deleted"
    assert client.get_run(parent.info.run_id).info.status == "FINISHED", "the parent was taken over"
    live = client.search_runs([exp_id])
    assert len(live) == 1 + 6 and {r.info.status for r in live} == {"FINISHED"}


# --- packaging -----------------------------------------------------------------------------------


def test_snakemake_report_succeeds(tiny_done, tmp_path):
    root = tmp_path / "report"
    shutil.copytree(tiny_done, root)
    r = snakemake(root, "--report", "report.html")
    assert r.returncode == 0, r.stderr[-3000:]
    assert (root / "report.html").stat().st_size > 10_000


def test_packaging_has_what_the_documented_commands_need():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"]
    assert any(d.startswith("snakemake[reports]==") for d in deps), "snakemake --report needs pygments"
    assert all("==" in d for d in deps)
    assert project["license"] == {"text": "MIT"}
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    catalog = yaml.safe_load((ROOT / ".snakemake-workflow-catalog.yml").read_text())
    assert catalog["usage"]["software-stack-deployment"]["conda"] is True
    assert "--cores" in catalog["usage"]["mandatory-flags"]["flags"]
