"""Load on a shared MLflow tracking server: many logging jobs at once.

Trains one small symmetry configuration, then starts ``--jobs`` processes at
once (default 16), each logging that run as its own configuration with the
workflow's own code (``backprop86.tracking.log_configuration``: one parent run,
one child run per seed with its whole learning curve and weights). Then it
counts what PostgreSQL holds, straight from the database, and reports runs,
metric points and artifacts sent versus stored. Exits 1 unless they are equal.

Without ``--uri`` it starts its own PostgreSQL (Debian's ``postgresql``
package: initdb/pg_ctl from /usr/lib/postgresql/*/bin, loopback only, a
temporary data directory) and ``mlflow server`` with served artifacts, and
stops both afterwards:

    .venv/bin/python benchmarks/bench_tracking_load.py [--jobs 16] [--seeds 8] [--sweeps 300]
    .venv/bin/python benchmarks/bench_tracking_load.py --uri http://HOST:PORT \\
        --db postgresql://USER@HOST:PORT/mlflow --artifacts /srv/mlflow/artifacts

The server helpers (``postgres``, ``mlflow_server``) are also the test fixtures'
(tests/test_scaling.py).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT = "load"  # MLflow experiment backprop86-load
CURVE_POINTS = 100  # points charted per learning curve (the config default)


# --- servers -------------------------------------------------------------------------------------


def free_ports(n: int) -> list[int]:
    """``n`` distinct loopback ports, free now, for servers started next. Below the kernel's
    ephemeral range: a port from ``bind(0)`` is released before its server binds it, and in
    between any connection (or another ``bind(0)``) may be given it; below, nothing is."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports: list[int] = []
    for port in random.sample(range(max(1024, low - 8192), low), 64):
        with socket.socket() as s, contextlib.suppress(OSError):
            s.bind(("127.0.0.1", port))
            ports.append(port)
        if len(ports) == n:
            return ports
    raise RuntimeError(f"no {n} free ports below {low}")


def free_port() -> int:
    return free_ports(1)[0]


def pg_bin() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin with initdb and pg_ctl, else None."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")]
    found = [b for b in found if (b / "initdb").is_file()]
    return max(found, key=lambda b: int(b.parent.name)) if found else None


def _as_postgres_user() -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the 'postgres' user then."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        raise RuntimeError("running as root and runuser(1) is missing: cannot start PostgreSQL as 'postgres'")
    return [runuser, "-u", "postgres", "--"]


@contextlib.contextmanager
def postgres(port: int | None = None, database: str = "mlflow"):
    """A throwaway PostgreSQL on 127.0.0.1 in a temporary data directory; yields its SQLAlchemy URI.

    Trust authentication on loopback and fsync off: a test database, never a shared one.
    """
    bindir = pg_bin()
    if bindir is None:
        raise RuntimeError(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl): apt-get install postgresql"
        )
    port = port or free_port()
    sudo = _as_postgres_user()
    home = Path(tempfile.mkdtemp(prefix="backprop86-pg-"))
    if sudo:
        shutil.chown(home, "postgres")
    data, log = home / "data", home / "server.log"
    run = lambda *cmd: subprocess.run([*sudo, *map(str, cmd)], check=True, capture_output=True, text=True)  # noqa: E731
    try:
        run(bindir / "initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        opts = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={home} -c fsync=off"
        try:
            run(bindir / "pg_ctl", "-D", data, "-l", log, "-o", opts, "-w", "-t", "60", "start")
        except subprocess.CalledProcessError as exc:
            tail = log.read_text()[-2000:] if log.is_file() else ""
            raise RuntimeError(f"PostgreSQL did not start on 127.0.0.1:{port}: {exc.stderr}{tail}") from None
        try:
            run(bindir / "createdb", "-h", "127.0.0.1", "-p", port, "-U", "postgres", database)
            yield f"postgresql://postgres@127.0.0.1:{port}/{database}"
        finally:
            subprocess.run(
                [*sudo, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                capture_output=True,
            )
    finally:
        shutil.rmtree(home, ignore_errors=True)


def wait_healthy(uri: str, proc: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    import requests

    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{uri}/health", timeout=2).ok:
                return
        time.sleep(0.5)
    raise RuntimeError(
        f"mlflow server at {uri} not healthy after {timeout:.0f} s:\n{log.read_text()[-3000:]}"
    )


@contextlib.contextmanager
def mlflow_server(backend_uri: str, artifacts: Path, port: int | None = None, workers: int = 2):
    """``mlflow server`` on 127.0.0.1 serving artifacts from ``artifacts``; yields its http URI."""
    port = port or free_port()
    artifacts = Path(artifacts)
    artifacts.mkdir(parents=True, exist_ok=True)
    log = artifacts.parent / f"mlflow-server-{port}.log"
    mlflow = Path(sys.executable).with_name("mlflow")
    cmd = [
        str(mlflow) if mlflow.is_file() else "mlflow",
        "server",
        "--backend-store-uri",
        backend_uri,
        "--serve-artifacts",
        "--artifacts-destination",
        str(artifacts),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(uri, proc, log)
        yield uri
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# --- what PostgreSQL holds -----------------------------------------------------------------------


def stored(db_uri: str, experiment: str) -> dict:
    """Runs, metric points and error-curve points per run of ``experiment``, read from the database."""
    import psycopg2

    with contextlib.closing(psycopg2.connect(db_uri)) as conn, conn.cursor() as cur:
        cur.execute(
            """select r.status, r.lifecycle_stage, count(*) from runs r join experiments e
               on r.experiment_id = e.experiment_id where e.name = %s group by 1, 2""",
            (experiment,),
        )
        status = {f"{s}/{lc}": n for s, lc, n in cur.fetchall()}
        cur.execute(
            """select count(*) from metrics m join runs r on m.run_uuid = r.run_uuid
               join experiments e on r.experiment_id = e.experiment_id
               where e.name = %s and r.lifecycle_stage = 'active'""",
            (experiment,),
        )
        (points,) = cur.fetchone()
        cur.execute(
            """select t.value, count(*) from metrics m join runs r on m.run_uuid = r.run_uuid
               join experiments e on r.experiment_id = e.experiment_id
               join tags t on t.run_uuid = r.run_uuid and t.key = 'backprop86.seed'
               where e.name = %s and r.lifecycle_stage = 'active' and m.key = 'error' group by r.run_uuid, t.value""",
            (experiment,),
        )
        curves = [(int(seed), n) for seed, n in cur.fetchall()]
        cur.execute("select experiment_id from experiments where name = %s", (experiment,))
        row = cur.fetchone()
    return {
        "status": status,
        "runs": sum(status.values()),
        "points": points,
        "curves": curves,
        "experiment_id": row and str(row[0]),
    }


# --- load ----------------------------------------------------------------------------------------


def make_run(work: Path, seeds: int, sweeps: int) -> tuple[Path, Path, Path]:
    """One trained symmetry configuration (no early stopping: every seed runs ``sweeps``),
    its dataset and its training job's timing record."""
    from backprop86 import io
    from backprop86.cli import dataset as task_dataset
    from backprop86.config import setting_defaults
    from backprop86.experiments import train_seeds

    settings = {
        **setting_defaults("symmetry"),
        "task": "symmetry",
        "seeds": seeds,
        "weight_decay": 0.0,
        "margin": 0.0,
        "margin_error": "from_target",
        "stop_at": None,
        "hidden": 2,
        "init_range": 0.3,
        "schedule": [{"start_sweep": 1, "epsilon": 0.1, "alpha": 0.9}],
        "max_sweeps": sweeps,
        "criteria": {"rounded": 0.5, "within_0_2": 0.2},
    }
    run_dir, dataset, timing = work / "run", work / "symmetry.csv", work / "timing.json"
    start = time.time()
    train_seeds(settings, range(seeds)).write(run_dir)
    io.save_json(
        timing,
        {
            "first_seed": 0,
            "last_seed": seeds - 1,
            "start_ms": int(start * 1000),
            "end_ms": int(time.time() * 1000),
        },
    )
    io.save_csv(dataset, task_dataset("symmetry"))
    return run_dir, dataset, timing


def sent_per_job(run_dir: Path, timing: Path) -> dict:
    """What one job sends: runs, metric points (as log_configuration builds them), artifacts."""
    from backprop86.experiments import load_run
    from backprop86.tracking import (
        TrainingTimes,
        _seed_metrics,
        _summary_metrics,
        curve_steps,
        quartile_curves,
        read_timings,
    )

    run = load_run(run_dir)
    times, points = TrainingTimes(run, read_timings([timing])), CURVE_POINTS
    n_points = sum(len(_seed_metrics(run, s, times, points)) for s in range(len(run.seeds)))
    n_points += len(_summary_metrics(run, times, quartile_curves(run), points))
    parent_files = 1 + sum((run_dir / n).is_file() for n in ("summary.csv", "settings.json", "heldout.csv"))
    met = lambda s: [int(f[s]) for f in run.result.sweeps_to.values() if f[s] >= 0]  # noqa: E731
    curve = {
        int(seed): len(curve_steps(int(run.result.sweeps_run[s]), met(s), points))
        for s, seed in enumerate(run.seeds)
    }
    return {
        "runs": 1 + len(run.seeds),
        "points": n_points,
        "artifacts": 3 * len(run.seeds) + parent_files,
        "curve": curve,
    }


def worker(uri: str, run_dir: str, dataset: str, timing: str, configuration: str, marker: str) -> None:
    from backprop86.tracking import log_configuration

    start = time.perf_counter()
    counts = log_configuration(
        Path(run_dir),
        EXPERIMENT,
        configuration,
        Path(dataset),
        [Path(timing)],
        Path(marker),
        curve_points=CURVE_POINTS,
        uri=uri,
    )
    print(json.dumps({"configuration": configuration, "seconds": time.perf_counter() - start, **counts}))


def drive(
    uri: str, db_uri: str, artifacts: Path | None, jobs: int, seeds: int, sweeps: int, work: Path
) -> dict:
    """Train once, log with ``jobs`` processes at once, count what arrived. Returns the report."""
    t0 = time.perf_counter()
    run_dir, dataset, timing = make_run(work, seeds, sweeps)
    per_job = sent_per_job(run_dir, timing)
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    t1 = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--worker",
                uri,
                str(run_dir),
                str(dataset),
                str(timing),
                f"job{k:02d}",
                str(work / f"marker{k:02d}.json"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for k in range(jobs)
    ]
    results, failures = [], []
    for p in procs:
        out, err = p.communicate(timeout=900)
        if p.returncode == 0:
            results.append(json.loads(out.strip().splitlines()[-1]))
        else:
            failures.append(err[-2000:])
    t2 = time.perf_counter()
    db = stored(db_uri, f"backprop86-{EXPERIMENT}")
    curves_ok = sorted(db["curves"]) == sorted(list(per_job["curve"].items()) * jobs)
    artifact_files = None
    if artifacts is not None and db["experiment_id"] is not None:  # served artifacts: <dest>/<experiment id>/
        artifact_files = sum(1 for p in (Path(artifacts) / db["experiment_id"]).rglob("*") if p.is_file())
    report = {
        "jobs": jobs,
        "jobs_failed": len(failures),
        "seeds": seeds,
        "sweeps": sweeps,
        "runs_sent": jobs * per_job["runs"],
        "runs_stored": db["runs"],
        "run_status": db["status"],
        "points_sent": jobs * per_job["points"],
        "points_stored": db["points"],
        "error_curves_complete": curves_ok,
        "artifacts_sent": jobs * per_job["artifacts"],
        "artifacts_stored": artifact_files,
        "train_seconds": round(t1 - t0, 1),
        "logging_seconds": round(t2 - t1, 1),
        "slowest_job_seconds": round(max((r["seconds"] for r in results), default=0), 1),
        "points_per_second": round(jobs * per_job["points"] / (t2 - t1)),
        "failures": failures,
    }
    report["ok"] = (
        not failures
        and report["runs_sent"] == report["runs_stored"]
        and db["status"] == {"FINISHED/active": report["runs_sent"]}
        and report["points_sent"] == report["points_stored"]
        and curves_ok
        and artifact_files in (None, report["artifacts_sent"])
    )
    return report


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(*sys.argv[2:])
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=16, help="logging processes at once (default 16)")
    p.add_argument("--seeds", type=int, default=8, help="seed runs per job (default 8)")
    p.add_argument("--sweeps", type=int, default=300, help="points of each learning curve, less one")
    p.add_argument("--uri", help="a running tracking server (default: start PostgreSQL and mlflow server)")
    p.add_argument("--db", help="its backend store, to count what it holds (with --uri)")
    p.add_argument("--artifacts", type=Path, help="its artifacts destination, to count files (optional)")
    p.add_argument("--workers", type=int, default=2, help="mlflow server workers, when started here")
    args = p.parse_args()
    if bool(args.uri) != bool(args.db):
        p.error("--uri and --db go together")
    with tempfile.TemporaryDirectory(prefix="backprop86-load-") as tmp:
        work = Path(tmp)
        with contextlib.ExitStack() as stack:
            uri, db, artifacts = args.uri, args.db, args.artifacts
            if uri is None:
                db = stack.enter_context(postgres())
                artifacts = work / "artifacts"
                uri = stack.enter_context(mlflow_server(db, artifacts, workers=args.workers))
            report = drive(uri, db, artifacts, args.jobs, args.seeds, args.sweeps, work)
    failures = report.pop("failures")
    print(json.dumps(report, indent=2))
    for f in failures:
        print(f"--- a job failed:\n{f}", file=sys.stderr)
    sys.exit(0 if report["ok"] else 1)


if __name__ == "__main__":
    main()
