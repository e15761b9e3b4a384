"""A single-node SLURM cluster with accounting, on 127.0.0.1, for the scale-out tests.

``cluster(work)`` starts, as root and from Debian's packages (installed by .ci/run,
never here): munged, MariaDB in a temporary data directory, slurmdbd on it,
slurmctld, and slurmd for this machine's node; it creates an account for the jobs
and yields a ``Cluster``. On the way out, even when a test fails, it cancels every
job, stops the daemons by PID in reverse order and restores /etc/slurm as it was.

The configuration must be /etc/slurm/slurm.conf: the SLURM jobstep executor clears
the SLURM_* variables (SLURM_CONF too) before its inner ``srun``. State, spool, logs
and the database live under ``work``. There is no init system to start the daemons
(the CI machine has none): each runs in the foreground as a child of this process.
"""

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from conftest import free_ports

ETC = Path("/etc/slurm")
CLUSTER = "backprop86"
ACCOUNT = "backprop86"
PARTITION = "main"
MARK = "# A single-node test cluster on loopback (tests/slurm_cluster.py)"
PROGRAMS = ["munged", "mariadbd", "mariadb-install-db", "mariadb", "slurmdbd", "slurmctld", "slurmd"]
CLIENTS = ["sbatch", "srun", "squeue", "sacct", "sacctmgr", "scancel", "sinfo", "scontrol"]


class Unavailable(Exception):
    """The cluster cannot run here; the message says why."""


@dataclass
class Cluster:
    node: str
    partition: str
    account: str
    version: str  # e.g. "slurm-wlm 22.05.8"
    work: Path
    pids: list[int]  # of the daemons

    def sacct(self, *args: str) -> list[list[str]]:
        """Rows of ``sacct --parsable2 --noheader --allusers <args>``, split into fields."""
        out = run(["sacct", "--parsable2", "--noheader", "--allusers", *args]).stdout
        return [line.split("|") for line in out.splitlines()]


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, **kw)
    if r.returncode:
        raise CommandFailed(f"{' '.join(cmd)} exited {r.returncode}: {(r.stdout + r.stderr)[-2000:]}")
    return r


class CommandFailed(subprocess.SubprocessError):
    pass


def wait_for(what: str, ok, timeout: float, logs) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            if ok():
                return
        time.sleep(0.25)
    raise Unavailable(f"{what} did not come up within {timeout:.0f} s\n{logs()[-3000:]}")


def check_prerequisites() -> None:
    if os.geteuid() != 0:
        raise Unavailable("a SLURM cluster needs root (its daemons and /etc/slurm)")
    missing = [p for p in PROGRAMS + CLIENTS if shutil.which(p) is None]
    if missing:
        raise Unavailable(
            f"not on PATH: {', '.join(missing)} "
            "(apt-get install slurmctld slurmd slurm-client munge slurmdbd mariadb-server)"
        )
    if not Path("/etc/munge/munge.key").is_file():
        raise Unavailable("no MUNGE key at /etc/munge/munge.key (the munge package creates one)")
    for name in ("slurm.conf", "slurmdbd.conf"):
        path = ETC / name
        if not path.exists():
            continue
        text = path.read_text(errors="replace")
        if text.startswith(MARK):  # a test run killed before it could clean up
            pids = re.search(r"PidFile=(\S+)/", text)
            raise Unavailable(
                f"{path} is left from a test cluster whose run was killed: stop its daemons "
                f"(PID files in {pids[1] if pids else '?'}) and remove {ETC}/slurm.conf and slurmdbd.conf"
            )
        raise Unavailable(f"{path} exists: this machine has a SLURM configuration, left alone")


@contextlib.contextmanager
def etc_files(files: dict[str, tuple[str, int]]):
    """Write ``files`` (name -> (text, mode)) into /etc/slurm; afterwards remove them
    (and /etc/slurm itself if it was made here)."""
    made_dir = not ETC.exists()
    ETC.mkdir(parents=True, exist_ok=True)
    written = []
    try:
        for name, (text, mode) in files.items():
            path = ETC / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            written.append(path)
            with os.fdopen(fd, "w") as f:
                f.write(text)
        yield
    finally:
        for path in written:
            path.unlink(missing_ok=True)
        if made_dir:
            with contextlib.suppress(OSError):
                ETC.rmdir()


class Daemons:
    """Foreground daemons started here, stopped by PID in reverse order."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, cmd: list[str], **kw) -> subprocess.Popen:
        out = open(self.log_dir / f"{name}.out", "ab")  # noqa: SIM115  (closed with the process)
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **kw
        )
        out.close()
        self.procs.append((name, proc))
        return proc

    def logs(self) -> str:
        """The output of every daemon so far, for an error message."""
        parts = []
        for name, proc in self.procs:
            text = ""
            for suffix in (".out", ".log"):
                p = self.log_dir / f"{name}{suffix}"
                if p.exists():
                    text += p.read_text(errors="replace")
            state = "running" if proc.poll() is None else f"exited {proc.returncode}"
            parts.append(f"--- {name} ({state}):\n{text[-1500:]}")
        return "\n".join(parts)

    def alive(self) -> None:
        dead = [f"{n} (exit {p.returncode})" for n, p in self.procs if p.poll() is not None]
        if dead:
            raise Unavailable(f"daemon exited: {', '.join(dead)}\n{self.logs()[-3000:]}")

    def stop(self) -> None:
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.procs.clear()


def slurm_conf(work: Path, node: str, cpus: int, memory: int, ports: dict, munge_socket: Path) -> str:
    return f"""\
{MARK}; removed after the tests.
ClusterName={CLUSTER}
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ports["slurmctld"]}
SlurmdPort={ports["slurmd"]}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={munge_socket}
StateSaveLocation={work}/state
SlurmdSpoolDir={work}/spool
SlurmctldPidFile={work}/run/slurmctld.pid
SlurmdPidFile={work}/run/slurmd.pid
SlurmctldLogFile={work}/log/slurmctld.log
SlurmdLogFile={work}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort={ports["slurmdbd"]}
# with MUNGE, the socket that authenticates to slurmdbd
AccountingStoragePass={munge_socket}
AccountingStorageEnforce=associations
# memory use sampled every second; a step over its memory request is killed
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName={PARTITION} Nodes={node} Default=YES MaxTime=INFINITE State=UP
"""


def slurmdbd_conf(work: Path, ports: dict, password: str, munge_socket: Path) -> str:
    return f"""\
{MARK}: its accounting; removed after the tests.
AuthType=auth/munge
AuthInfo=socket={munge_socket}
DbdHost=localhost
DbdPort={ports["slurmdbd"]}
SlurmUser=root
PidFile={work}/run/slurmdbd.pid
LogFile={work}/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort={ports["mariadb"]}
StorageUser=slurm
StoragePass={password}
StorageLoc=slurm_acct_db
"""


def node_hardware() -> tuple[str, int, int]:
    """This machine as slurmd sees it: node name, CPUs, RealMemory (MB)."""
    out = run(["slurmd", "-C"]).stdout
    fields = dict(re.findall(r"(\w+)=(\S+)", out.splitlines()[0]))
    return fields["NodeName"], int(fields["CPUs"]), int(fields["RealMemory"])


@contextlib.contextmanager
def cluster(work: Path):
    """Start the cluster under ``work``; yield a Cluster; stop it and clean up. Raises
    Unavailable (after cleaning up) where it cannot run."""
    check_prerequisites()
    with contextlib.ExitStack() as stack:
        try:
            started = start(stack, work)
        except CommandFailed as e:
            raise Unavailable(f"the cluster did not start: {e}") from None
        yield started


def start(stack: contextlib.ExitStack, work: Path) -> Cluster:
    """Start every daemon, registering its clean-up on ``stack``."""
    for d in ("state", "spool", "run", "log", "db"):
        (work / d).mkdir(parents=True)
    node, cpus, memory = node_hardware()
    version = run(["slurmctld", "-V"]).stdout.strip()
    ports = dict(zip(("mariadb", "slurmdbd", "slurmctld", "slurmd"), free_ports(4)))
    password = secrets.token_hex(12)
    daemons = Daemons(work / "log")
    # MUNGE runs as its own user, with its socket in a directory only it writes
    munge_dir = Path(tempfile.mkdtemp(prefix="munge-"))
    stack.callback(shutil.rmtree, munge_dir, ignore_errors=True)
    shutil.chown(munge_dir, "munge", "munge")
    munge_dir.chmod(0o755)  # munged requires its socket directory open to all for execute
    munge_socket = munge_dir / "munge.socket"
    stack.callback(daemons.stop)  # runs before the directories above are removed
    daemons.start(
        "munged",
        [
            "munged",
            "--foreground",
            f"--socket={munge_socket}",
            f"--pid-file={munge_dir}/munged.pid",
            f"--log-file={munge_dir}/munged.log",
            f"--seed-file={munge_dir}/munged.seed",
        ],
        user="munge",
        group="munge",
        extra_groups=[],
    )
    wait_for("munged", lambda: daemons.alive() or munge_socket.exists(), 15, daemons.logs)

    # MariaDB on loopback, in a temporary data directory, with a database for slurmdbd
    db = work / "db"
    sql_socket = work / "run" / "mariadb.sock"
    r = subprocess.run(
        [
            "mariadb-install-db",
            "--no-defaults",
            "--user=root",
            f"--datadir={db}",
            "--auth-root-authentication-method=socket",
            "--skip-test-db",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if r.returncode:
        raise Unavailable(f"mariadb-install-db failed:\n{(r.stdout + r.stderr)[-3000:]}")
    daemons.start(
        "mariadbd",
        [
            "mariadbd",
            "--no-defaults",
            "--user=root",
            f"--datadir={db}",
            f"--socket={sql_socket}",
            "--bind-address=127.0.0.1",
            f"--port={ports['mariadb']}",
            "--skip-name-resolve",
            f"--pid-file={work}/run/mariadb.pid",
            "--innodb-buffer-pool-size=64M",
        ],
    )
    sql = ["mariadb", "--no-defaults", f"--socket={sql_socket}", "-u", "root"]
    wait_for("mariadbd", lambda: daemons.alive() or run([*sql, "-e", "select 1"]), 60, daemons.logs)
    run(
        [
            *sql,
            "-e",
            f"create database slurm_acct_db; create user 'slurm'@'127.0.0.1' identified by '{password}';"
            "grant all on slurm_acct_db.* to 'slurm'@'127.0.0.1';",
        ]
    )

    stack.enter_context(
        etc_files(
            {
                "slurm.conf": (slurm_conf(work, node, cpus, memory, ports, munge_socket), 0o644),
                "slurmdbd.conf": (slurmdbd_conf(work, ports, password, munge_socket), 0o600),
            }
        )
    )
    stack.callback(daemons.stop)  # the daemons stop before their configuration goes
    daemons.start("slurmdbd", ["slurmdbd", "-D"])
    wait_for(
        "slurmdbd", lambda: daemons.alive() or run(["sacctmgr", "-n", "show", "cluster"]), 60, daemons.logs
    )
    run(["sacctmgr", "-i", "add", "cluster", CLUSTER])
    run(["sacctmgr", "-i", "add", "account", ACCOUNT, f"cluster={CLUSTER}", "description=tests"])
    run(["sacctmgr", "-i", "add", "user", "root", f"account={ACCOUNT}", f"cluster={CLUSTER}"])

    daemons.start("slurmctld", ["slurmctld", "-D"])
    stack.callback(cancel_all_jobs)  # runs before the daemons stop
    daemons.start("slurmd", ["slurmd", "-D", "-N", node])

    def node_idle():
        daemons.alive()
        return run(["sinfo", "-h", "-n", node, "-o", "%T"]).stdout.strip() == "idle"

    wait_for(f"node {node}", node_idle, 60, daemons.logs)
    pids = [proc.pid for _, proc in daemons.procs]
    return Cluster(node=node, partition=PARTITION, account=ACCOUNT, version=version, work=work, pids=pids)


FINISHED = {
    "COMPLETED",
    "CANCELLED",
    "FAILED",
    "TIMEOUT",
    "OUT_OF_MEMORY",
    "NODE_FAIL",
    "BOOT_FAIL",
    "DEADLINE",
}


def cancel_all_jobs() -> None:
    """Cancel every job and wait (up to 30 s) until none is left pending or running."""
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        run(["scancel", "--full", "--user=root"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if set(run(["squeue", "-h", "-t", "all", "-o", "%T"]).stdout.split()) <= FINISHED:
                return
            time.sleep(0.5)
