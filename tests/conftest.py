import contextlib
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))  # the servers' helpers live with the load benchmark
from bench_tracking_load import free_ports  # noqa: E402

SNAKEMAKE = [sys.executable, "-m", "snakemake"]

# The small config (config/small.yaml): every stage of the workflow, seconds of training.
TINY = yaml.safe_load((ROOT / "config" / "small.yaml").read_text())


def copy_project(dest: Path, config: dict | None = None) -> Path:
    """The project's workflow and config in ``dest``, with ``config`` if given."""
    shutil.copytree(ROOT / "workflow", dest / "workflow")
    shutil.copytree(ROOT / "config", dest / "config")
    if config is not None:
        (dest / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return dest


@pytest.fixture
def project(tmp_path):
    """A copy of the project's workflow and config in a temporary directory."""
    return copy_project(tmp_path)


@pytest.fixture
def tiny_project(tmp_path):
    """The workflow with the tiny test configuration, in a temporary directory."""
    return copy_project(tmp_path / "tiny", TINY)


def snakemake(
    cwd: Path, *args: str, env: dict | None = None, timeout: float | None = None
) -> subprocess.CompletedProcess:
    """Run the workflow in ``cwd``; MLflow's default store is then ``cwd/mlflow.db``.
    With ``timeout`` (seconds), a run that takes longer is killed and the test fails."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    full_env.update(env or {})
    return subprocess.run(
        [*SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True, env=full_env, timeout=timeout
    )


def assert_finite_differences(params: dict, grads: dict, error, h: float = 1e-6) -> None:
    """Every ``grads[key][s, ...]`` against central differences of ``error(params)``,
    which gives E per seed ``(S,)``; the message prints ours beside the reference."""
    for key, value in params.items():
        for index in np.ndindex(value.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[key][index] += h
            minus[key][index] -= h
            s = index[0]
            reference = (error(plus)[s] - error(minus)[s]) / (2 * h)
            ours = grads[key][index]
            assert abs(ours - reference) <= 1e-6 * max(1.0, abs(reference)), (
                f"dE/d{key}{list(index)}: ours {ours!r}, finite differences {reference!r}"
            )


@pytest.fixture(scope="session")
def tiny_done(tmp_path_factory):
    """The tiny workflow run once, cold, with parallel jobs on a fresh store (shared: do not change it)."""
    root = copy_project(tmp_path_factory.mktemp("wf"), TINY)
    r = snakemake(root, "--cores", "4")
    assert r.returncode == 0, r.stderr[-3000:]
    return root


# --- integration tests: skips, result comparison, the tracking server -------------------------------


def require(ok, reason: str) -> None:
    """Skip on a developer's machine; fail in CI, where everything must run."""
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} -- CI is set, so this test must run, not skip (see .ci/run)")
    pytest.skip(reason)


def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def result_bytes(root: Path) -> dict[str, bytes]:
    """Every file under results/ (tables, runs, shards), by relative path; not the tracking
    markers (they name a store and its run ids) nor the timing records of training jobs."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted((root / "results").rglob("*"))
        if p.is_file() and not {"tracking", "timing"} & set(p.parts)
    }


def assert_same_results(a: Path, b: Path) -> None:
    x, y = result_bytes(a), result_bytes(b)
    assert len(x) > 20 and x.keys() == y.keys()
    assert [k for k in x if x[k] != y[k]] == [], "results differ byte for byte"


def query(db_uri: str, sql: str, *args) -> list[tuple]:
    import psycopg2

    with contextlib.closing(psycopg2.connect(db_uri)) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


RUNS_SQL = """select r.run_uuid, r.status, r.lifecycle_stage, e.name,
    (select value from tags t where t.run_uuid = r.run_uuid and t.key = 'backprop86.role'),
    (select value from tags t where t.run_uuid = r.run_uuid and t.key = 'backprop86.configuration'),
    (select value from tags t where t.run_uuid = r.run_uuid and t.key = 'backprop86.seed'),
    (select value from tags t where t.run_uuid = r.run_uuid and t.key = 'backprop86.config_hash')
    from runs r join experiments e on r.experiment_id = e.experiment_id"""


def server_runs(db_uri: str):
    """Every run the tracking server's database holds, with its backprop86 tags (a DataFrame)."""
    import pandas as pd

    cols = [
        "run_uuid",
        "status",
        "lifecycle_stage",
        "experiment",
        "role",
        "configuration",
        "seed",
        "config_hash",
    ]
    return pd.DataFrame(query(db_uri, RUNS_SQL), columns=cols)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """PostgreSQL on loopback in a temporary data directory and ``mlflow server`` on it,
    serving artifacts; both stopped afterwards. Yields (http URI, database URI, artifacts dir)."""
    import bench_tracking_load as bench  # the server helpers

    require(bench.pg_bin() is not None, "PostgreSQL is not installed (apt-get install postgresql)")
    require(has_module("psycopg2"), "psycopg2 is not installed (pip install psycopg2-binary)")
    require(os.geteuid() != 0 or shutil.which("runuser"), "running as root without runuser(1)")
    artifacts = tmp_path_factory.mktemp("server") / "artifacts"
    start = time.perf_counter()
    pg_port, mlflow_port = free_ports(2)
    with bench.postgres(pg_port) as db, bench.mlflow_server(db, artifacts, port=mlflow_port) as uri:
        print(f"PostgreSQL + mlflow server up in {time.perf_counter() - start:.1f} s")
        yield uri, db, artifacts
