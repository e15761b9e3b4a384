"""The workflow end to end on a tiny config: targets, MLflow runs, reruns, errors."""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import TINY, copy_project, snakemake

pytestmark = pytest.mark.slow

EXPECTED = {("symmetry", "paper"): 6, ("symmetry", "hidden_3"): 6, ("family_trees", "paper"): 3}


def result_bytes(root: Path) -> dict[str, bytes]:
    """Every results file except the tracking markers (they name a store and its run ids)
    and the training jobs' timing records, by relative path."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted((root / "results").rglob("*"))
        if p.is_file() and not {"tracking", "timing"} & set(p.parts)
    }


def mlflow_runs(root: Path) -> pd.DataFrame:
    if not (root / "mlflow.db").is_file():
        raise FileNotFoundError(root / "mlflow.db")
    with sqlite3.connect(f"file:{root / 'mlflow.db'}?mode=ro", uri=True) as db:
        return pd.read_sql(
            """select r.run_uuid, r.status, r.lifecycle_stage, e.name as experiment,
                      (select value from tags t where t.run_uuid = r.run_uuid and t.key = 'backprop86.role') as role,
                      (select value from tags t where t.run_uuid = r.run_uuid and t.key = 'backprop86.configuration') as configuration,
                      (select value from tags t where t.run_uuid = r.run_uuid and t.key = 'backprop86.seed') as seed
               from runs r join experiments e on r.experiment_id = e.experiment_id""",
            db,
        )


def start_until_logging(root: Path, seeds: int, timeout: float = 180):
    """Start ``snakemake --cores 2`` in its own session with a one-configuration config of
    ``seeds`` symmetry seeds, and return it (a Popen) once MLflow holds some of its runs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "2"], cwd=root, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    log = root / "logs/mlflow/symmetry.log"
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
        # read the store only once MLflow has created it (the job's log says so)
        if log.is_file() and "Updating database tables" in log.read_text() and len(mlflow_runs(root)) > 4:
            break
    assert 4 < len(mlflow_runs(root)) < seeds + 1, "not stopped while logging"
    return proc


@pytest.fixture
def done(tiny_done):
    return tiny_done


def test_targets_and_tables(done):
    for exp, cfg in EXPECTED:
        d = done / "results" / "runs" / exp / cfg / "all_seeds"
        assert (d / "summary.csv").is_file() and (d / "weights.npz").is_file()
        assert (
            json.loads((done / "results" / "tracking" / exp / f"{cfg}.json").read_text())["n_runs"]
            == EXPECTED[exp, cfg]
        )
    assert len(pd.read_csv(done / "results" / "data" / "family_trees.csv")) == 112
    table = pd.read_csv(done / "results" / "tables" / "configurations.csv")
    assert list(zip(table.experiment, table.configuration)) == list(EXPECTED)
    seeds = pd.read_csv(done / "results" / "tables" / "seeds.csv")
    assert len(seeds) == sum(EXPECTED.values())


def test_mlflow_holds_every_run(done):
    runs = mlflow_runs(done)
    assert (runs.status == "FINISHED").all() and (runs.lifecycle_stage == "active").all()
    for (exp, cfg), n in EXPECTED.items():
        mine = runs[(runs.experiment == f"backprop86-{exp}") & (runs.configuration == cfg)]
        assert (mine.role == "configuration").sum() == 1
        assert sorted(mine[mine.role == "seed"].seed.astype(int)) == list(range(n))
        marker = json.loads((done / "results" / "tracking" / exp / f"{cfg}.json").read_text())
        assert marker["store"] == f"sqlite:///{(done / 'mlflow.db').resolve()}"
        assert set(marker["run_ids"].values()) == set(mine[mine.role == "seed"].run_uuid)
        assert marker["parent_run_id"] == mine[mine.role == "configuration"].run_uuid.item()
    run = runs[
        (runs.configuration == "paper") & (runs.seed == "2") & (runs.experiment == "backprop86-symmetry")
    ]
    run_id = run.run_uuid.item()
    summary = pd.read_csv(done / "results/runs/symmetry/paper/all_seeds/summary.csv").set_index("seed")
    with sqlite3.connect(done / "mlflow.db") as db:
        params = dict(db.execute("select key, value from params where run_uuid=?", (run_id,)).fetchall())
        for seed, seed_id in json.loads((done / "results/tracking/symmetry/paper.json").read_text())[
            "run_ids"
        ].items():
            steps = [s for (s,) in db.execute(
                "select step from metrics where run_uuid=? and key='error' order by step", (seed_id,))]  # fmt: skip
            n = summary.loc[int(seed), "sweeps_run"]
            assert len(steps) == n + 1 if n + 1 <= 50 else 45 <= len(steps) <= 50
            assert steps[0] == 0 and steps[-1] == n
            met = summary.loc[int(seed), ["sweeps_to_rounded", "sweeps_to_within_0_2"]].dropna().astype(int)
            assert set(met) <= set(steps), "the sweep each criterion was met is charted"
    assert (summary.sweeps_run + 1 > 50).any(), "curves longer than the points charted"
    n = summary.loc[2, "sweeps_run"]
    assert params["init_range"] == "0.3" and params["seed"] == "2" and params["criteria.rounded"] == "0.5"
    # every artifact of the seed: weights as .npz and as JSON, the whole curve as CSV
    folder = next((done / "mlruns").rglob(f"{run_id}/artifacts"))
    assert sorted(p.name for p in folder.iterdir()) == [
        "curve_seed2.csv",
        "weights_seed2.json",
        "weights_seed2.npz",
    ]
    saved = np.load(done / "results/runs/symmetry/paper/all_seeds/weights.npz")
    assert np.array_equal(np.load(folder / "weights_seed2.npz")["w:in->h1"], saved["w:in->h1"][2])
    assert np.array_equal(
        json.loads((folder / "weights_seed2.json").read_text())["w:in->h1"], saved["w:in->h1"][2]
    )
    curve = pd.read_csv(folder / "curve_seed2.csv")
    error = np.load(done / "results/runs/symmetry/paper/all_seeds/curves.npz")["error"][2, : n + 1]
    assert curve.sweep.tolist() == list(range(n + 1)) and np.array_equal(curve.error.to_numpy(), error)


def test_mlflow_conventions(done):
    """MLflow's own tags, the dataset as a run input, times from training, parent curves."""
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{done / 'mlflow.db'}")
    exp = client.get_experiment_by_name("backprop86-symmetry")
    parent = client.search_runs([exp.experiment_id], "tags.`backprop86.role` = 'configuration' and "
                                "tags.`backprop86.configuration` = 'hidden_3'")[0]  # fmt: skip
    seeds = client.search_runs([exp.experiment_id], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
    assert sorted(r.info.run_name for r in seeds) == [f"seed {k:03d} hidden_3" for k in range(6)]
    timing = [
        json.loads(p.read_text()) for p in sorted((done / "results/timing/symmetry/hidden_3").glob("*.json"))
    ]
    for r in [parent, *seeds]:
        tags = r.data.tags
        assert tags["mlflow.source.type"] == "LOCAL" and tags["mlflow.source.name"] == "workflow/Snakefile"
        assert tags["mlflow.user"] and "backprop86.config_hash" in tags
        (ds,) = r.inputs.dataset_inputs
        assert ds.dataset.name == "symmetry" and ds.dataset.digest == tags["backprop86.dataset_hash"]
        assert ds.dataset.source_type == "local"
        assert json.loads(ds.dataset.source)["uri"].endswith("results/data/symmetry.csv")
        # the run's times are its training's, not its logging's
        assert min(t["start_ms"] for t in timing) <= r.info.start_time <= r.info.end_time
        assert r.info.end_time <= max(t["end_ms"] for t in timing)
    assert "`hidden` 2 → 3" in parent.data.tags["mlflow.note.content"]
    # the experiment's description names a search that lists its configurations
    note = exp.tags["mlflow.note.content"]
    search = note[note.index("tags.`backprop86.role`") :].split(";")[0]
    listed = client.search_runs([exp.experiment_id], search)
    assert sorted(r.data.tags["backprop86.configuration"] for r in listed) == ["hidden_3", "paper"]
    seed = next(r for r in seeds if r.data.tags["backprop86.seed"] == "4")
    history = client.get_metric_history(seed.info.run_id, "error")
    times = [m.timestamp for m in sorted(history, key=lambda m: m.step)]
    assert times == sorted(times) and times[-1] > times[0], "timestamps follow training time"
    for name in ("error_median", "error_p25", "error_p75"):
        curve = client.get_metric_history(parent.info.run_id, name)
        assert len(curve) > 10 and min(m.step for m in curve) == 0
    median = {m.step: m.value for m in client.get_metric_history(parent.info.run_id, "error_median")}
    p25 = {m.step: m.value for m in client.get_metric_history(parent.info.run_id, "error_p25")}
    assert all(p25[k] <= median[k] for k in median)


def test_rerun_adds_nothing_and_is_fast(done):
    before = mlflow_runs(done)
    r = snakemake(done, "--cores", "4")
    assert r.returncode == 0 and "Nothing to be done" in r.stderr
    assert len(mlflow_runs(done)) == len(before)


def test_changed_setting_adds_runs_for_that_configuration_only(done, tmp_path):
    root = tmp_path / "changed"
    shutil.copytree(done, root)  # results, MLflow store and Snakemake's records
    config = yaml.safe_load((root / "config" / "config.yaml").read_text())
    config["experiments"]["symmetry"]["variants"]["hidden_3"]["init_range"] = 0.5
    (root / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    before = mlflow_runs(root)
    r = snakemake(root, "--cores", "2")
    assert r.returncode == 0, r.stderr[-3000:]
    after = mlflow_runs(root)
    new = after[~after.run_uuid.isin(before.run_uuid)]
    assert set(new.configuration) == {"hidden_3"} and len(new) == 1 + 6


def test_results_identical_across_cores_and_runs(done, tmp_path):
    other = copy_project(tmp_path / "one_core", TINY)
    r = snakemake(other, "--cores", "1")
    assert r.returncode == 0, r.stderr[-3000:]
    a, b = result_bytes(done), result_bytes(other)
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []


def test_fresh_store_with_many_parallel_loggers(tmp_path):
    """MLflow's SQLite migrations race when several processes create a store at once;
    with eight jobs at once on a fresh store, no job may fail and no run be lost."""
    config = json.loads(json.dumps(TINY))
    config["seeds_per_job"] = 1
    config["experiments"]["symmetry"]["variants"] = {
        f"v{k}": {"init_range": 0.3 + 0.01 * k} for k in range(6)
    }
    root = copy_project(tmp_path, config)
    r = snakemake(root, "--cores", "8")
    assert r.returncode == 0, r.stderr[-3000:]
    runs = mlflow_runs(root)
    assert (runs.role == "configuration").sum() == 8
    assert (runs.role == "seed").sum() == 7 * 6 + 3
    assert (runs.status == "FINISHED").all()


def _edit(path, *keys, value):
    def edit(config):
        node = config
        for k in path:
            node = node[k]
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value

    return edit


SYM = ("experiments", "symmetry")
FT = ("experiments", "family_trees")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_edit(SYM, "settings", "learning_rate", value=0.1), "config error at experiments.symmetry.settings: "
         "Additional properties are not allowed ('learning_rate' was unexpected)"),
        (_edit(SYM, "seeds", value="many"), "config error at experiments.symmetry.seeds: 'many' is not of type 'integer'"),
        (_edit(SYM, "settings", "schedule", value=[{"start_sweep": 1, "epsilon": -0.1, "alpha": 0.9}]),
         "config error at experiments.symmetry.settings.schedule.0.epsilon: -0.1 is less than or equal to the minimum of 0"),
        (_edit(SYM, "settings", "schedule", value=[{"start_sweep": 1, "epsilon": 0.1, "alpha": 1.0}]),
         "config error at experiments.symmetry.settings.schedule.0.alpha: 1.0 is greater than or equal to the maximum of 1"),
        (_edit(SYM, "seeds", value=0), "config error at experiments.symmetry.seeds: 0 is less than the minimum of 1"),
        (_edit(FT, "settings", "held_out", value=[["Colin", "aunt"], ["Penelope", "father"]]),
         "config error at experiments.family_trees.settings.held_out.1: [Penelope, father] is not one of the 104 questions"),
    ],
)  # fmt: skip
def test_bad_config_stops_before_any_job(tmp_path, edit, message):
    config = json.loads(json.dumps(TINY))
    edit(config)
    root = copy_project(tmp_path, config)
    r = snakemake(root, "--cores", "2")
    assert r.returncode != 0
    assert message in r.stderr, r.stderr[-2000:]
    assert not (root / "results").exists() and not (root / "mlflow.db").exists()


def test_interrupted_logging_is_completed_by_the_next_invocation(tmp_path):
    """Ctrl-C while runs are being logged: nothing is left RUNNING, and the next
    invocation finishes the logging without retraining or losing a run."""

    config = json.loads(json.dumps(TINY))
    config["experiments"] = {"symmetry": config["experiments"]["symmetry"]}
    config["experiments"]["symmetry"].update(seeds=400, variants={})  # enough to log for ~20 s
    config["seeds_per_job"] = 400
    root = copy_project(tmp_path, config)
    proc = start_until_logging(root, 400, timeout=120)
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(60) != 0
    runs = mlflow_runs(root)
    assert not (runs.status == "RUNNING").any(), runs.status.value_counts()
    trained = (root / "results/runs/symmetry/paper/all_seeds/weights.npz").stat().st_mtime_ns

    r = snakemake(root, "--cores", "2")
    assert r.returncode == 0, r.stderr[-3000:]
    runs = mlflow_runs(root)
    live = runs[runs.lifecycle_stage == "active"]
    assert (live.status == "FINISHED").all()
    assert (live.role == "configuration").sum() == 1
    assert sorted(live[live.role == "seed"].seed.astype(int)) == list(range(400))
    assert (root / "results/runs/symmetry/paper/all_seeds/weights.npz").stat().st_mtime_ns == trained


def test_tracking_uri_from_environment(tmp_path):
    """MLFLOW_TRACKING_URI set by the user wins over the default store."""
    config = json.loads(json.dumps(TINY))
    config["experiments"] = {"symmetry": {**config["experiments"]["symmetry"], "variants": {}, "seeds": 2}}
    root = copy_project(tmp_path, config)
    r = snakemake(root, "--cores", "2", env={"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'elsewhere.db'}"})
    assert r.returncode == 0, r.stderr[-3000:]
    assert not (root / "mlflow.db").exists()
    with sqlite3.connect(tmp_path / "elsewhere.db") as db:
        assert db.execute("select count(*) from runs").fetchone()[0] == 1 + 2


def test_changed_results_replace_their_mlflow_runs(done, tmp_path):
    """Same settings, different results (e.g. a fixed bug): the seed's run is relogged, not kept stale."""
    from backprop86 import io

    root = tmp_path / "changed_results"
    shutil.copytree(done, root)
    weights_file = root / "results/runs/symmetry/paper/all_seeds/weights.npz"
    weights = io.load_npz(weights_file)
    weights["b:out"] = weights["b:out"].copy()
    weights["b:out"][3] += 1.0
    io.save_npz(weights_file, weights)
    io.write_manifest(weights_file.parent)  # as a retrained run writes it (else it is damage, rebuilt)
    r = snakemake(root, "--cores", "2", "--forcerun", "log_mlflow")  # as after retraining
    assert r.returncode == 0, r.stderr[-3000:]
    log = (root / "logs/mlflow/symmetry.log").read_text()
    assert "symmetry/paper: {'created': 1, 'kept': 5, 'replaced': 1" in log, log
    runs = mlflow_runs(root)
    live = runs[(runs.lifecycle_stage == "active") & (runs.configuration == "paper")]
    assert sorted(
        live[(live.experiment == "backprop86-symmetry") & (live.role == "seed")].seed.astype(int)
    ) == list(range(6))
