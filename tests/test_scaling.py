"""Scaling out, with the real components on loopback: the tiny workflow through
Snakemake's generic cluster executor (submit script, job scripts, status checks),
the SLURM profile (dry run), and an MLflow tracking server backed by PostgreSQL.

Skips where PostgreSQL or the executor plugins are missing, except in CI (CI set),
where a skip is a failure: .ci/run installs them.
"""

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import (
    ROOT,
    TINY,
    assert_same_results,
    copy_project,
    has_module,
    query,
    require,
    server_runs,
    snakemake,
)

sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_tracking_load as bench  # noqa: E402  (the server helpers and the load check)

pytestmark = pytest.mark.slow

EXPECTED = {("symmetry", "paper"): 6, ("symmetry", "hidden_3"): 6, ("family_trees", "paper"): 3}
SHARDS = 2 + 2  # seeds_per_job 4: symmetry 6 seeds -> 2 shards (x2 configurations)
WHOLE = 1  # family trees, 3 seeds: one job trains the whole configuration
CLUSTER = ("--workflow-profile", "workflow/profiles/cluster-test")


def jobs_run(r: subprocess.CompletedProcess) -> Counter:
    """Rules and how many jobs of each, from Snakemake's 'Job stats' table (stdout in a dry run)."""
    out = r.stderr + r.stdout
    assert "Job stats:" in out, out[-2000:]
    table = out.split("Job stats:", 1)[1].split("total", 1)[0]
    return Counter({m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)})


# --- the local reference and the generic cluster executor ---------------------------------------


@pytest.fixture
def local_run(tiny_done):
    return tiny_done


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory):
    require(has_module("snakemake_executor_plugin_cluster_generic"),
            "snakemake-executor-plugin-cluster-generic is not installed")  # fmt: skip
    root = copy_project(tmp_path_factory.mktemp("cluster"), TINY)
    start = time.perf_counter()
    r = snakemake(root, *CLUSTER)
    print(f"cluster run: {time.perf_counter() - start:.1f} s")
    assert r.returncode == 0, r.stderr[-4000:]
    return root, r


def test_cluster_run_is_byte_identical_to_a_local_run(local_run, cluster_run):
    assert_same_results(local_run, cluster_run[0])


def test_cluster_jobs_went_through_submit_scripts_and_status_checks(cluster_run):
    root, r = cluster_run
    spool = root / ".snakemake" / "cluster-test"
    records = [json.loads(p.read_text()) for p in sorted(spool.glob("*.json"))]
    # every heavy job was submitted, no light (local) rule was
    assert Counter(rec["rule"] for rec in records) == {
        "train_shard": SHARDS,
        "train_configuration": WHOLE,
        "log_mlflow": len({e for e, _ in EXPECTED}),  # one job per experiment
    }
    submitted = set(re.findall(r"Submitted job \d+ with external jobid '([^']+)'", r.stderr))
    assert submitted == {rec["job_id"] for rec in records}
    assert "localrule combine_shards" in r.stderr and "localrule tables" in r.stderr
    finals = dict(line.split() for line in (spool / "status.log").read_text().splitlines())
    for rec in records:
        job = rec["job_id"]
        assert rec["threads"] == 1 and {"mem_mb", "runtime"} <= set(rec["resources"]), rec
        # the job script starts Snakemake again, which parses the Snakefile and runs this job only
        assert "--target-jobs" in rec["jobscript"] and "--mode 'remote'" in rec["jobscript"]
        out = (spool / f"{job}.out").read_text()
        assert "Building DAG of jobs" in out and f"rule {rec['rule']}:" in out, out[-2000:]
        assert (spool / f"{job}.rc").read_text().strip() == "0"
        assert finals[job] == "success", "the status command reported the job done"


def test_cluster_run_logged_every_run_and_rerun_does_nothing(cluster_run):
    import sqlite3

    root, _ = cluster_run
    with sqlite3.connect(f"file:{root / 'mlflow.db'}?mode=ro", uri=True) as db:
        statuses = [s for (s,) in db.execute("select status from runs")]
    assert statuses == ["FINISHED"] * (len(EXPECTED) + sum(EXPECTED.values()))
    n_records = len(list((root / ".snakemake" / "cluster-test").glob("*.json")))
    r = snakemake(root, *CLUSTER)
    assert r.returncode == 0 and "Nothing to be done" in r.stderr, r.stderr[-2000:]
    assert len(list((root / ".snakemake" / "cluster-test").glob("*.json"))) == n_records


def test_slurm_profile_is_valid(tmp_path):
    """The SLURM profile parses (unknown keys would be refused) and plans every job; no cluster here."""
    require(has_module("snakemake_executor_plugin_slurm"), "snakemake-executor-plugin-slurm is not installed")
    root = copy_project(tmp_path, TINY)
    r = snakemake(root, "--workflow-profile", "workflow/profiles/slurm", "--dry-run")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "workflow/profiles/slurm" in r.stderr
    assert jobs_run(r)["train_shard"] == SHARDS


# --- a tracking server backed by PostgreSQL ------------------------------------------------------


@pytest.fixture(scope="module")
def served_run(tmp_path_factory, server):
    uri = server[0]
    root = copy_project(tmp_path_factory.mktemp("served"), TINY)
    r = snakemake(root, "--cores", "2", env={"MLFLOW_TRACKING_URI": uri})
    assert r.returncode == 0, r.stderr[-4000:]
    return root


def test_server_holds_every_run_with_metrics_and_artifacts(served_run, server):
    from mlflow import MlflowClient

    uri, db, artifacts = server
    runs = server_runs(db)
    runs = runs[runs.experiment.isin(["backprop86-symmetry", "backprop86-family_trees"])]
    assert (runs.status == "FINISHED").all() and (runs.lifecycle_stage == "active").all()
    for (exp, cfg), n in EXPECTED.items():
        mine = runs[(runs.experiment == f"backprop86-{exp}") & (runs.configuration == cfg)]
        assert (mine.role == "configuration").sum() == 1
        assert sorted(mine[mine.role == "seed"].seed.astype(int)) == list(range(n))
    run_id = runs[(runs.experiment == "backprop86-symmetry") & (runs.configuration == "paper")
                  & (runs.seed == "2")].run_uuid.item()  # fmt: skip
    steps = [
        s
        for (s,) in query(
            db, "select step from metrics where run_uuid=%s and key='error' order by step", run_id
        )
    ]
    summary = pd.read_csv(served_run / "results/runs/symmetry/paper/all_seeds/summary.csv").set_index("seed")
    n = summary.loc[2, "sweeps_run"]
    assert len(steps) <= TINY["tracking"]["curve_points"] and steps[0] == 0 and steps[-1] == n
    met = summary.loc[2, ["sweeps_to_rounded", "sweeps_to_within_0_2"]].dropna().astype(int)
    assert set(met) <= set(steps)
    params = dict(query(db, "select key, value from params where run_uuid=%s", run_id))
    assert params["seed"] == "2" and params["init_range"] == "0.3"
    # the weights went through the server into its artifacts destination, and it serves them back
    stored = list(artifacts.rglob(f"{run_id}/artifacts/weights_seed2.npz"))
    assert len(stored) == 1
    saved = np.load(served_run / "results/runs/symmetry/paper/all_seeds/weights.npz")
    assert np.array_equal(np.load(stored[0])["w:in->h1"], saved["w:in->h1"][2])
    assert sorted(a.path for a in MlflowClient(uri).list_artifacts(run_id)) == [
        "curve_seed2.csv",
        "weights_seed2.json",
        "weights_seed2.npz",
    ]
    # nothing went to a local store
    assert not (served_run / "mlflow.db").exists() and not (served_run / "mlruns").exists()


def test_server_run_is_byte_identical_to_a_local_run(served_run, local_run):
    assert_same_results(local_run, served_run)


def test_server_rerun_adds_nothing(served_run, server):
    uri, db, _ = server
    before = len(server_runs(db))
    r = snakemake(served_run, "--cores", "2", env={"MLFLOW_TRACKING_URI": uri})
    assert r.returncode == 0 and "Nothing to be done" in r.stderr
    # even with the markers gone, logging again keeps every run and creates none
    shutil.rmtree(served_run / "results" / "tracking")
    r = snakemake(served_run, "--cores", "2", env={"MLFLOW_TRACKING_URI": uri})
    assert r.returncode == 0, r.stderr[-3000:]
    # the figures' logging and the report, downstream of the logging, run again too
    assert jobs_run(r) == {"log_mlflow": 2, "log_figures": 1, "report": 1, "all": 1}
    log = (served_run / "logs/mlflow/symmetry.log").read_text()
    assert "symmetry/paper: {'created': 0, 'kept': 6" in log, log
    assert len(server_runs(db)) == before


def test_unreachable_server_fails_fast_and_keeps_training(tmp_path, server):
    uri, db, _ = server
    config = json.loads(json.dumps(TINY))
    config["experiments"] = {"symmetry": config["experiments"]["symmetry"]}
    config["experiments"]["symmetry"]["settings"]["init_range"] = 0.31  # settings new to the server
    root = copy_project(tmp_path, config)
    # a port where nothing listens: held, not listening, for the whole run (released, it
    # could be given to another socket, even to the job's own connection, which then reaches itself)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
        start = time.perf_counter()
        r = snakemake(root, "--cores", "2", "--keep-going", env={"MLFLOW_TRACKING_URI": dead})
        elapsed = time.perf_counter() - start
    assert r.returncode != 0
    assert f"MLflow tracking server at {dead} is unreachable" in r.stderr, r.stderr[-3000:]
    assert elapsed < 60, f"took {elapsed:.0f} s to give up"
    assert not (root / "results" / "tracking").exists()
    trained = {p: p.stat().st_mtime_ns for p in (root / "results" / "runs").rglob("*") if p.is_file()}
    assert len([p for p in trained if p.name == "summary.csv"]) == 2 + 2 + 2  # 2 all_seeds + 4 shards
    assert (root / "results/tables/seeds.csv").is_file()

    # with the server back, only the logging is left to do
    r = snakemake(root, "--cores", "2", "--dry-run", env={"MLFLOW_TRACKING_URI": uri})
    assert jobs_run(r) == {"log_mlflow": 1, "log_figures": 1, "report": 1, "all": 1}, r.stderr[-2000:]
    r = snakemake(root, "--cores", "2", env={"MLFLOW_TRACKING_URI": uri})
    assert r.returncode == 0, r.stderr[-3000:]
    assert {p: p.stat().st_mtime_ns for p in trained} == trained, "training results were kept, not redone"
    runs = server_runs(db)
    h = json.loads((root / "results/tracking/symmetry/paper.json").read_text())["config_hash"]
    mine = runs[(runs.config_hash == h) & (runs.configuration == "paper")]
    assert len(mine) == 1 + 6 and (mine.status == "FINISHED").all()


class _Errors(BaseHTTPRequestHandler):
    """A server in front of MLflow gone wrong: healthy, but every API call answers 503."""

    def do_GET(self):  # noqa: N802
        self.send_response(200 if self.path == "/health" else 503)
        self.end_headers()
        self.wfile.write(b"OK" if self.path == "/health" else b"unavailable")

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("kind", ["answers_503", "never_answers"])
def test_bad_server_gives_up_within_a_minute_naming_the_uri(kind):
    """MLflow alone retries 7 times with backoff factor 2 (minutes): a job must give up sooner."""
    with contextlib.ExitStack() as stack:
        if kind == "answers_503":
            httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Errors)
            stack.callback(httpd.server_close)
            stack.callback(httpd.shutdown)
            threading.Thread(target=httpd.serve_forever, daemon=True).start()
            port = httpd.server_address[1]
        else:  # accepts connections (the kernel does) and never says a word
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            sock.listen(16)
            port = sock.getsockname()[1]
        uri = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        start = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", f"from backprop86.tracking import Tracker; Tracker({uri!r})"],
                           capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
        elapsed = time.perf_counter() - start
    assert r.returncode != 0
    error = [line for line in r.stderr.splitlines() if line.startswith("backprop86.tracking.TrackingError")]
    assert error and uri in error[0], r.stderr[-2000:]
    assert elapsed < 60, f"took {elapsed:.0f} s to give up"


def test_load_16_concurrent_logging_jobs_lose_nothing(server, tmp_path):
    uri, db, artifacts = server
    report = bench.drive(uri, db, artifacts, jobs=16, seeds=4, sweeps=200, work=tmp_path)
    failures = report.pop("failures")
    print("load check:", json.dumps(report))
    assert not failures, failures[0]
    assert report["runs_sent"] == report["runs_stored"] == 16 * 5
    assert report["points_sent"] == report["points_stored"] > 16 * 4 * bench.CURVE_POINTS
    assert report["error_curves_complete"]
    assert report["artifacts_sent"] == report["artifacts_stored"]
    assert report["ok"]


def _log_at_once(uri: str, log, work: Path, n: int = 16) -> tuple[list[BaseException], list]:
    """``log(tracker, run_id, dataset_input)`` from n threads released together, each with
    its own run of a fresh experiment and the same new dataset. Returns what they raised
    and the runs as stored."""
    from backprop86.tracking import Tracker, _dataset_input

    tracker = Tracker(uri)
    exp = tracker.client.create_experiment(f"datasets-at-once-{time.time_ns()}")
    runs = [tracker.client.create_run(exp).info.run_id for _ in range(n)]
    csv = work / f"dataset-{time.time_ns()}.csv"
    csv.write_text("x,target\n" + "".join(f"{i},{time.time_ns()}\n" for i in range(3)))  # a new digest
    dataset = _dataset_input(csv, "at_once")
    barrier, raised = threading.Barrier(n), []

    def one(run_id):
        t = Tracker(uri)
        barrier.wait()
        try:
            log(t, run_id, dataset)
        except BaseException as exc:  # noqa: BLE001  (collected for the assertion)
            raised.append(exc)

    threads = [threading.Thread(target=one, args=(r,)) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return raised, [tracker.client.get_run(r) for r in runs]


def test_jobs_logging_one_dataset_at_once_all_succeed(server, tmp_path):
    """The server's get-or-create of a dataset row races; every run still gets its input."""
    uri, db, _ = server
    for _ in range(5):
        raised, runs = _log_at_once(uri, lambda t, run_id, ds: t.log_dataset(run_id, ds), tmp_path)
        assert not raised, raised[0]
        assert all([d.dataset.name for d in r.inputs.dataset_inputs] == ["at_once"] for r in runs)
