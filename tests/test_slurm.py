"""The SLURM profile on a real SLURM cluster: one node on 127.0.0.1 with accounting
(slurmdbd on MariaDB), started by tests/slurm_cluster.py from Debian's packages.

The tiny workflow runs through ``--workflow-profile workflow/profiles/slurm`` with the
profile's site-specific keys filled in as a user would (account, partition), logging to
the PostgreSQL-backed tracking server; a job that fails on its node is reported as
failed, with its logs.

Needs root and the packages .ci/run installs; skips without them, except in CI (CI set),
where a skip is a failure.
"""

import json
import re
import sqlite3
import time
from collections import Counter
from contextlib import ExitStack, closing
from pathlib import Path

import pytest
import slurm_cluster
import yaml
from conftest import RUNS_SQL, TINY, assert_same_results, copy_project, has_module, require, snakemake

pytestmark = pytest.mark.slow

PROFILE = ("--workflow-profile", "workflow/profiles/slurm")
SHARDS = 2 + 2 + 1  # seeds_per_job 4: symmetry 6 seeds -> 2 shards (x2 configurations), family trees 3 -> 1
CONFIGURATIONS = 3
LOGGED = 2  # experiments, one log_mlflow job each
TIMEOUT = 900  # seconds: a run that hangs fails the test instead of CI


def require_cluster():
    for plugin in ("snakemake_executor_plugin_slurm", "snakemake_executor_plugin_slurm_jobstep"):
        require(has_module(plugin), f"{plugin} is not installed (pip install -e '.[test]')")


def start_cluster(stack: ExitStack, work: Path) -> slurm_cluster.Cluster:
    try:
        return stack.enter_context(slurm_cluster.cluster(work))
    except slurm_cluster.Unavailable as e:
        require(False, f"the SLURM test cluster cannot run here: {e}")


def process_start(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot), or None if there is none
    or only its zombie. PIDs wrap quickly on a busy machine (``pid_max`` 32,768 here):
    a PID is the same process only while its start time is."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else fields[19]  # state, starttime (fields 3 and 22 of proc(5))


def test_the_cluster_leaves_nothing_behind_when_a_test_fails(tmp_path):
    """Defined first, so that it runs before the module's cluster starts. The daemons and
    the job's long-lived process (its script, which writes its PID and then becomes
    ``sleep``) were running when the test failed, and all of them stop after it. The
    job's PID comes from the job itself, not from a listing of its step, which also
    names transient processes that may exit before they are read."""
    require_cluster()
    etc = sorted(slurm_cluster.ETC.iterdir()) if slurm_cluster.ETC.exists() else None
    pid_file = tmp_path / "job.pid"
    with pytest.raises(RuntimeError, match="a test failed"), ExitStack() as stack:
        cluster = start_cluster(stack, tmp_path)
        sbatch = ["sbatch", "--parsable", "-A", cluster.account, f"--output={tmp_path}/job.out"]
        slurm_cluster.run(
            [*sbatch, "--wrap", f"echo $$ > {pid_file}.new && mv {pid_file}.new {pid_file} && exec sleep 300"]
        )
        deadline = time.monotonic() + 60
        while not pid_file.exists():
            assert time.monotonic() < deadline, "the job did not start"
            time.sleep(0.25)
        started = {pid: process_start(pid) for pid in [*cluster.pids, int(pid_file.read_text())]}
        assert all(started.values()), started
        raise RuntimeError("a test failed")
    assert (sorted(slurm_cluster.ETC.iterdir()) if slurm_cluster.ETC.exists() else None) == etc
    deadline = time.monotonic() + 30  # a stopped process may take a moment to exit on a loaded machine
    while (running := [pid for pid, t in started.items() if process_start(pid) == t]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.5)
    assert not running, "daemons and the job's processes all stopped"


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """The cluster, for every test of this module; stopped and its configuration removed after."""
    require_cluster()
    with ExitStack() as stack:
        start = time.perf_counter()
        cluster = start_cluster(stack, tmp_path_factory.mktemp("slurm"))
        print(f"{cluster.version} cluster with slurmdbd up in {time.perf_counter() - start:.1f} s")
        yield cluster


def fill_profile(root: Path, cluster: slurm_cluster.Cluster, account: str | None = None, **settings) -> None:
    """The project copy's SLURM profile with its site-specific keys filled in, as the
    profile asks a user to; status checks start after 2 s (the profile's 40 s suit a
    busy cluster whose accounting lags; here it answers at once)."""
    path = root / "workflow/profiles/slurm/config.yaml"
    profile = yaml.safe_load(path.read_text())
    profile["default-resources"].update(
        slurm_account=account or cluster.account, slurm_partition=cluster.partition
    )
    profile["slurm-init-seconds-before-status-checks"] = 2
    profile.update(settings)
    path.write_text(yaml.safe_dump(profile, sort_keys=False))


def run_slurm(root: Path, *args: str, env: dict | None = None):
    start = time.perf_counter()
    r = snakemake(root, *PROFILE, *args, env=env, timeout=TIMEOUT)
    print(f"workflow through SLURM: {time.perf_counter() - start:.1f} s")
    return r


def slurm_jobs(r) -> list[str]:
    """The SLURM job ids Snakemake reports it submitted."""
    return re.findall(r"has been submitted with SLURM jobid (\d+)", r.stderr)


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory, slurm, server):
    """The tiny workflow through the SLURM profile, logging to the tracking server, as
    the profile tells a user to (never to a SQLite store from a cluster)."""
    root = copy_project(tmp_path_factory.mktemp("slurm_run"), TINY)
    fill_profile(root, slurm)
    r = run_slurm(root, env={"MLFLOW_TRACKING_URI": server[0]})
    assert r.returncode == 0, r.stderr[-4000:]
    return root, r


def test_slurm_run_is_byte_identical_to_a_local_run(tiny_done, slurm_run):
    assert_same_results(tiny_done, slurm_run[0])


def test_slurm_ran_each_heavy_job_as_a_job_with_its_resources(slurm_run, slurm):
    root, r = slurm_run
    jobs = slurm_jobs(r)
    assert len(jobs) == SHARDS + LOGGED, r.stderr[-3000:]
    rows = slurm.sacct("-X", "-j", ",".join(jobs), "-o", "State,Account,Partition,NodeList,ReqMem,Timelimit")
    assert len(rows) == len(jobs)
    assert {tuple(row[:4]) for row in rows} == {("COMPLETED", slurm.account, slurm.partition, slurm.node)}
    # the rules' mem_mb and runtime reached the scheduler: train_shard 2000 MB / 60 min, log_mlflow 1000 / 30
    assert Counter(tuple(row[4:]) for row in rows) == {
        ("2000M", "01:00:00"): SHARDS,
        ("1000M", "00:30:00"): LOGGED,
    }
    # light rules ran on the submit host, not as jobs
    assert "localrule combine_shards" in r.stderr and "localrule tables" in r.stderr
    # a successful job's SLURM log is removed (slurm-keep-successful-logs: false)
    assert not list((root / "logs" / "slurm").rglob("*.log"))


def logged(conn) -> tuple[Counter, Counter, Counter]:
    """Runs, params and metric points of an MLflow store, by what they are (experiment,
    role, configuration, seed), not by their ids."""
    with closing(conn.cursor()) as cur:
        cur.execute(RUNS_SQL)
        who = {row[0]: (row[3], row[4], row[5], row[6], row[1]) for row in cur.fetchall()}
        cur.execute("select run_uuid, key, step, value, is_nan from metrics")
        points = Counter(
            (who[run], key, step, value, bool(nan)) for run, key, step, value, nan in cur.fetchall()
        )
        cur.execute("select run_uuid, key, value from params")
        params = Counter((who[run], key, value) for run, key, value in cur.fetchall())
    return Counter(who.values()), params, points


def test_slurm_run_logged_every_run_and_point_once(slurm_run, server, tiny_done):
    """The same runs, params and metric points as the local run's store, each once: no
    job logged twice (a retry would), none was lost."""
    import psycopg2

    root, _ = slurm_run
    assert not (root / "mlflow.db").exists() and not (root / "mlruns").exists(), (
        "nothing went to a local store"
    )
    with closing(sqlite3.connect(f"file:{tiny_done / 'mlflow.db'}?mode=ro", uri=True)) as local:
        want_runs, want_params, want_points = logged(local)
    with closing(psycopg2.connect(server[1])) as remote:
        runs, params, points = logged(remote)
    assert sum(want_runs.values()) == CONFIGURATIONS + 6 + 6 + 3  # a run per configuration and per seed
    assert sum(want_points.values()) > 1000
    assert runs == want_runs, "every run logged once, each FINISHED"
    assert params == want_params
    missing, extra = want_points - points, points - want_points
    assert not missing and not extra, f"{len(missing)} points missing, {len(extra)} logged twice or wrong"


def test_a_job_failing_on_its_node_is_reported_with_its_logs(tmp_path, slurm):
    """A training job that asks for less memory than it uses (mem_mb 100; the job's
    Python alone takes more) is killed on its node by SLURM. Snakemake reports the
    failure after the profile's retries, naming the job's log and its SLURM log, which
    says why, and exits instead of waiting for the job."""
    config = json.loads(json.dumps(TINY))
    config["experiments"] = {"symmetry": config["experiments"]["symmetry"]}
    del config["experiments"]["symmetry"]["variants"]
    config["experiments"]["symmetry"]["seeds"] = 4  # one job: train_configuration
    root = copy_project(tmp_path, config)
    fill_profile(root, slurm, retries=1, **{"set-resources": {"train_configuration": {"mem_mb": 100}}})
    start = time.perf_counter()
    r = run_slurm(root)
    elapsed = time.perf_counter() - start
    assert r.returncode != 0, r.stderr[-3000:]

    out = r.stderr
    jobs = slurm_jobs(r)
    failed = re.findall(r"SLURM-job '(\d+)' failed, SLURM status is: '(\w+)'", out)
    assert len(jobs) == 2 and [j for j, _ in failed] == jobs, out[-4000:]  # tried twice (retries: 1)
    assert {state for _, state in failed} == {"FAILED"}, out[-4000:]
    assert slurm.sacct("-X", "-j", ",".join(jobs), "-o", "State,ReqMem") == [["FAILED", "100M"]] * 2
    log = "logs/train/symmetry/paper/all_seeds.log"
    assert "Error in rule train_configuration" in out and log in out, out[-4000:]
    # each failure names its SLURM log, which is kept and says what happened
    slurm_logs = re.findall(r"log: .*?, (\S+/logs/slurm/rule_train_configuration/\S+?\.log) \(check log", out)
    assert [Path(p).stem for p in slurm_logs] == jobs, out[-4000:]
    for path in slurm_logs:
        text = Path(path).read_text()
        assert re.search(
            r"StepId=\d+\.batch exceeded memory limit \(\d+ > 104857600\), being killed", text
        ), text
    assert not (root / "results/runs/symmetry/paper/all_seeds").exists()
    print(f"failing job reported after {elapsed:.1f} s")


def test_a_wrong_account_is_refused_naming_the_accounts(tmp_path, slurm):
    """A site key filled in wrongly: no job reaches the queue, and the error lists the accounts."""
    root = copy_project(tmp_path, TINY)
    fill_profile(root, slurm, account="no_such_account")
    every_job = ("-X", "-o", "JobID", "-S", "2000-01-01")  # sacct's default: since midnight, which may pass
    before = slurm.sacct(*every_job)
    r = run_slurm(root)
    assert r.returncode != 0
    assert "The given account no_such_account appears to be invalid" in r.stderr, r.stderr[-3000:]
    accounts = re.search(r"Available accounts:\n(.*)", r.stderr)[1]
    assert slurm.account in accounts.split(", ")
    assert not slurm_jobs(r) and slurm.sacct(*every_job) == before
    assert not (root / "results" / "runs").exists()
