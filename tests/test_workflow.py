"""The workflow end to end on a tiny config: targets, MLflow runs, reruns, errors."""

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import TINY, copy_project, snakemake

pytestmark = pytest.mark.slow

EXPECTED = {("symmetry", "paper"): 6, ("symmetry", "hidden_3"): 6, ("family_trees", "paper"): 3}


def result_bytes(root: Path) -> dict[str, bytes]:
    """Every results file except the tracking markers, by relative path."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted((root / "results").rglob("*"))
        if p.is_file() and "tracking" not in p.parts
    }


def mlflow_runs(root: Path) -> pd.DataFrame:
    with sqlite3.connect(root / "mlflow.db") as db:
        return pd.read_sql(
            """select r.run_uuid, r.status, r.lifecycle_stage, e.name as experiment,
                      (select value from tags t where t.run_uuid = r.run_uuid and t.key = 'backprop86.role') as role,
                      (select value from tags t where t.run_uuid = r.run_uuid and t.key = 'backprop86.configuration') as configuration,
                      (select value from tags t where t.run_uuid = r.run_uuid and t.key = 'backprop86.seed') as seed
               from runs r join experiments e on r.experiment_id = e.experiment_id""",
            db,
        )


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    """The tiny workflow run once, cold, with parallel jobs on a fresh store."""
    root = copy_project(tmp_path_factory.mktemp("wf"), TINY)
    r = snakemake(root, "--cores", "4")
    assert r.returncode == 0, r.stderr[-3000:]
    return root


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
    with sqlite3.connect(done / "mlflow.db") as db:
        run = runs[
            (runs.configuration == "paper") & (runs.seed == "2") & (runs.experiment == "backprop86-symmetry")
        ]
        run_id = run.run_uuid.item()
        steps = [
            s
            for (s,) in db.execute(
                "select step from metrics where run_uuid=? and key='error' order by step", (run_id,)
            )
        ]
        params = dict(db.execute("select key, value from params where run_uuid=?", (run_id,)).fetchall())
        tags = dict(db.execute("select key, value from tags where run_uuid=?", (run_id,)).fetchall())
    summary = pd.read_csv(done / "results/runs/symmetry/paper/all_seeds/summary.csv").set_index("seed")
    assert steps == list(range(summary.loc[2, "sweeps_run"] + 1)), "the error after every sweep"
    assert params["init_range"] == "0.3" and params["seed"] == "2" and params["criteria.rounded"] == "0.5"
    assert {"backprop86.config_hash", "backprop86.git_commit", "backprop86.dataset_hash"} <= set(tags)
    artifacts = list((done / "mlruns").rglob(f"{run_id}/artifacts/weights_seed2.npz"))
    assert len(artifacts) == 1
    saved = np.load(done / "results/runs/symmetry/paper/all_seeds/weights.npz")
    assert np.array_equal(np.load(artifacts[0])["w:in->h1"], saved["w:in->h1"][2])


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
