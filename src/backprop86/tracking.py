"""Log training results to MLflow, from the result files (never from memory).

One MLflow experiment per paper experiment (``backprop86-<experiment>``), one
parent run per configuration, one child run per seed, in MLflow's own terms:
system tags (``mlflow.runName``, ``mlflow.source.*``, ``mlflow.user``,
``mlflow.parentRunId``, ``mlflow.note.content``), the task's dataset as a run
input (``mlflow.data``), start and end times and metric timestamps from the
training itself, weights and full learning curves as artifacts. What MLflow has
no name for is under ``backprop86.*`` tags.

The store is the truth, not a marker file. Each logging job writes a marker
naming the store and the run ids it holds; :func:`stale_markers` asks the store
(cheaply) whether it still holds them, and the workflow drops markers that no
longer match, so the next ``snakemake`` logs what is missing, and only that.

Any number of writers may log into one store. A parent run belongs to the
process writing it (tag ``backprop86.writer``: host, pid, process start, and a
heartbeat): only that process adds seeds to it. Another writer finding it waits
for it to finish and then adopts its runs; a run whose writer is gone counts as
interrupted and is taken over (seeds not FINISHED deleted, the rest kept). For a
SQLite store, finding and claiming happen under one exclusive file lock beside
the database (which also serialises MLflow's migrations of a new store); stores
behind a server have no shared lock, so a writer that finds a second claim on
its configuration keeps the older one's runs and deletes its own.

The tracking URI is MLflow's own: ``MLFLOW_TRACKING_URI`` if set, else the
default local store, ``sqlite:///mlflow.db`` in the working directory, which is
opened in WAL mode with ``synchronous=NORMAL``.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import hashlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from . import io
from .config import config_hash
from .experiments import Run, load_run

TAG = "backprop86."  # prefix of our tags
LOG_FORMAT = "2"  # what a seed's run holds; a change relogs every run
MAX_METRICS_PER_BATCH = 1000  # what a tracking server accepts in one log_batch call
HEARTBEAT_S = 30  # a writer refreshes its claim this often...
STALE_S = 300  # ...and a claim from another host older than this is abandoned
WAIT_S = 3600  # longest wait for another live writer of the same configuration
# MLflow's own HTTP defaults (7 retries, backoff factor 2, 120 s timeout) keep a job
# retrying for minutes against a server that went away or answers only errors; these
# fail within about a minute instead. Set the variables to override them.
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
}
DEFAULT_URI = "sqlite:///mlflow.db"
# The UI opens an experiment of this kind on its runs ("Model training"), not on traces.
EXPERIMENT_KIND = (
    "mlflow.experimentKind",
    "custom_model_development",
)  # MLflow's default store (mlflow.store.tracking.DEFAULT_TRACKING_URI)


# The experiment's description in the UI. The UI lists runs 100 at a time, newest
# first, so one configuration's seeds can fill the first pages.
EXPERIMENT_NOTE = (
    "mlflow.note.content",
    "One parent run per configuration, a child run per seed. To list the configurations, "
    "search tags.`backprop86.role` = 'configuration'; for one configuration's seeds, "
    "tags.`backprop86.configuration` = 'paper' (or another configuration's name).",
)


class TrackingError(RuntimeError):
    """The tracking store cannot be reached or used."""


def experiment_name(experiment: str) -> str:
    return f"backprop86-{experiment}"


def tracking_uri() -> str:
    """The store MLflow would use here, found without importing MLflow."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    legacy = Path("mlruns")  # MLflow keeps an existing file store in ./mlruns as the default
    if legacy.is_dir() and any(p.name.isdigit() and (p / "meta.yaml").exists() for p in legacy.iterdir()):
        return str(legacy.resolve())
    return DEFAULT_URI


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, else None."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri[len("sqlite:///") :])


def store_name(uri: str) -> str:
    """The URI with a SQLite path made absolute (what a marker records)."""
    path = sqlite_path(uri)
    return f"sqlite:///{path.resolve()}" if path is not None else uri


def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """WAL lets readers (the UI, the workflow's checks) run beside the writer, and with
    ``synchronous=NORMAL`` a commit no longer waits for the disk: a power cut may lose
    the last commits (never consistency), which the marker check then logs again."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def use_wal() -> None:
    """Register :func:`_sqlite_pragmas` on every SQLAlchemy engine, before MLflow creates its
    own (``mlflow.store.db.utils.create_sqlalchemy_engine`` calls ``sqlalchemy.create_engine``
    and adds only its own functions on connect)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)


def check_server(uri: str, timeout: float = 5.0) -> None:
    """Fail fast, naming the URI, when an HTTP tracking server does not answer."""
    if urlparse(uri).scheme not in ("http", "https"):
        return
    import requests

    try:
        requests.get(uri.rstrip("/") + "/health", timeout=timeout).raise_for_status()
    except requests.RequestException as exc:
        raise TrackingError(f"MLflow tracking server at {uri} is unreachable: {exc}") from None


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def git_commit(cwd: Path | None = None) -> str:
    """The checked-out commit, with ``-dirty`` for uncommitted changes; ``unknown`` outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, check=True)  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def system_tags(commit: str) -> dict[str, str]:
    """MLflow's own tags for where a run came from and who made it."""
    tags = {"mlflow.source.name": "workflow/Snakefile", "mlflow.source.type": "LOCAL",
            "mlflow.user": getpass.getuser()}  # fmt: skip
    if commit != "unknown":
        tags["mlflow.source.git.commit"] = commit.removesuffix("-dirty")
    return tags


def seed_hash(run: Run, s: int, curve_points: int) -> str:
    """What one seed's MLflow run shows: its weights, its curve and how the curve is logged."""
    digest = hashlib.sha256(f"{LOG_FORMAT}:{curve_points}".encode())
    for key in sorted(run.result.params):
        digest.update(np.ascontiguousarray(run.result.params[key][s]).tobytes())
    digest.update(np.ascontiguousarray(run.result.error[s]).tobytes())
    return digest.hexdigest()[:16]


def flat_params(settings: dict) -> dict[str, str]:
    """Every resolved setting as an MLflow param (nested values as JSON)."""
    out = {}
    for key, value in sorted(settings.items()):
        if key == "criteria":
            out.update({f"criteria.{k}": str(v) for k, v in value.items()})
        elif isinstance(value, list | dict):
            out[key] = json.dumps(value, sort_keys=True)
        else:
            out[key] = str(value)
    return out


def curve_points(config: dict) -> int:
    """The most sweeps of a learning curve charted in MLflow (``tracking.curve_points``)."""
    from .config import schema

    default = schema()["properties"]["tracking"]["properties"]["curve_points"]["default"]
    return config.get("tracking", {}).get("curve_points", default)


def curve_steps(n: int, always, max_points: int) -> list[int]:
    """At most ``max_points`` sweeps of 0..n, log-spaced, always with 0, n and ``always``
    (the sweeps each criterion was met); every sweep when there are few enough."""
    if n + 1 <= max_points:
        return list(range(n + 1))
    fixed = {0, n, *(int(k) for k in always if 0 <= k <= n)}
    log_spaced = lambda m: fixed | set(np.rint(np.geomspace(1, n, m)).astype(int).tolist())  # noqa: E731
    # Rounding merges early sweeps, so ask for more log-spaced points than will be left:
    # the most (a bisection over how many) that still give at most max_points sweeps.
    lo, hi = 1, 20 * max_points
    if len(log_spaced(lo)) > max_points:
        return sorted(fixed)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if len(log_spaced(mid)) <= max_points else (lo, mid - 1)
    return sorted(log_spaced(lo))


def note(experiment: str, configuration: str, settings: dict, paper: dict | None, n_seeds: int) -> str:
    """The parent run's description (``mlflow.note.content``, Markdown): what the configuration
    trains and how it reads the paper, as the settings say."""
    lines = [f"**{experiment} / {configuration}**: {n_seeds} seeds of the `{settings['task']}` task."]
    if paper is None or configuration == "paper":
        lines.append("The paper's settings as configured (the experiment's `paper` configuration).")
    else:
        changed = [
            k for k in sorted(set(settings) | set(paper)) if k != "seeds" and settings.get(k) != paper.get(k)
        ]
        diff = "; ".join(f"`{k}` {json.dumps(paper.get(k))} → {json.dumps(settings.get(k))}" for k in changed)
        lines.append(f"A variant of the paper's settings: {diff or 'no setting changed'}.")
    readings = [f"`{name}`: every output within {tol} of its target" if tol < 0.5
                else f"`{name}`: every output on the right side of 0.5" for name, tol in settings["criteria"].items()]  # fmt: skip
    lines.append("Readings of *learned* recorded for every seed: " + "; ".join(readings) + ".")
    stop = settings.get("stop_at")
    lines.append(
        f"A seed stops at `{stop}`." if stop else f"Every seed trains all {settings['max_sweeps']} sweeps."
    )
    if settings.get("margin"):
        side = "its edge" if settings.get("margin_error") == "from_edge" else "the target (y - d, as printed)"
        lines.append(f"Error margin {settings['margin']}: outside it, the error is measured from {side}.")
    if settings.get("weight_decay"):
        lines.append(f"Weight decay {settings['weight_decay']} after each weight change.")
    lines.append("Each child run is one seed; the metrics `error_median`, `error_p25`, `error_p75` "
                 "chart this configuration's learning curve against others'.")  # fmt: skip
    return "\n\n".join(lines)


class TrainingTimes:
    """When each seed trained, from the training jobs' timing records.

    A job trains its seeds together, so sweep ``k`` of a seed is placed at fraction
    ``k / K`` of its job's training time (``K``: the most sweeps any of its seeds ran)."""

    def __init__(self, run: Run, timings: list[dict]):
        seeds = run.seeds.tolist()
        self.span = {}
        for t in timings:
            members = [s for s, seed in enumerate(seeds) if t["first_seed"] <= seed <= t["last_seed"]]
            longest = max(int(run.result.sweeps_run[s]) for s in members) if members else 1
            for s in members:
                self.span[s] = (int(t["start_ms"]), int(t["end_ms"]), max(longest, 1))
        if len(self.span) != len(seeds):
            raise ValueError("the timing records do not cover every seed of the run")

    def at(self, s: int, k: float) -> int:
        start, end, longest = self.span[s]
        return int(start + (end - start) * min(k, longest) / longest)

    def start(self, s: int | None = None) -> int:
        return self.span[s][0] if s is not None else min(v[0] for v in self.span.values())

    def end(self, s: int | None = None) -> int:
        if s is None:
            return max(v[1] for v in self.span.values())
        return self.at(s, self.span[s][2])


def read_timings(paths) -> list[dict]:
    return [json.loads(Path(p).read_text()) for p in paths]


# --- the store ----------------------------------------------------------------------------------


def _writer_id() -> str:
    import psutil

    return f"{socket.gethostname()}:{os.getpid()}:{int(psutil.Process().create_time())}"


def writer_alive(writer: str, heartbeat_ms: int | None, now_ms: int) -> bool:
    """Whether the process named by a ``backprop86.writer`` tag may still be writing:
    on this host, its pid runs with the same start time; elsewhere, its heartbeat is recent."""
    import psutil

    host, _, rest = writer.partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname():
        return heartbeat_ms is not None and now_ms - heartbeat_ms < STALE_S * 1000
    try:
        return int(psutil.Process(int(pid)).create_time()) == int(started)
    except (psutil.NoSuchProcess, ValueError):
        return False


def _runs_of(config_hash: str, configuration: str, role: str, parent: str | None = None) -> str:
    """MLflow filter for the runs of one configuration's settings: its parents or its seeds."""
    f = (
        f"tags.`{TAG}config_hash` = '{config_hash}' and tags.`{TAG}configuration` = '{configuration}' "
        f"and tags.`{TAG}role` = '{role}'"
    )
    return f + (f" and tags.`mlflow.parentRunId` = '{parent}'" if parent else "")


class Tracker:
    """An ``MlflowClient`` whose writes hold the store lock (re-entrant) and no signal."""

    def __init__(self, uri: str | None = None):
        self.uri = uri or tracking_uri()
        self.sqlite = sqlite_path(self.uri)
        # A local SQLite store takes a whole learning curve in one call, which is
        # much faster (MLflow updates each run's latest metrics once per call).
        self.batch_size = 10**9 if self.sqlite is not None else MAX_METRICS_PER_BATCH
        if urlparse(self.uri).scheme in ("http", "https"):
            for var, value in HTTP_DEFAULTS.items():
                os.environ.setdefault(var, value)
        check_server(self.uri)
        self._depth, self._fh = 0, None
        if self.sqlite is not None:
            use_wal()  # before MLflow creates its engine for this store
        from mlflow import MlflowClient

        with self.lock():  # the first open creates and migrates a new store
            self.client = MlflowClient(self.uri)
            try:
                self.client.search_experiments(max_results=1)
            except Exception as exc:
                raise TrackingError(f"cannot use the MLflow tracking store at {self.uri}: {exc}") from exc

    @contextlib.contextmanager
    def lock(self):
        """Exclusive lock for SQLite stores (a no-op for servers and other databases)."""
        if self.sqlite is None:
            yield
            return
        if self._depth == 0:
            self.sqlite.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.sqlite.with_name(self.sqlite.name + ".lock"), "a")  # noqa: SIM115
            fcntl.flock(self._fh, fcntl.LOCK_EX)
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                fcntl.flock(self._fh, fcntl.LOCK_UN)
                self._fh.close()

    @contextlib.contextmanager
    def writing(self):
        """Several writes as one: under the lock, with signals held off until they are done."""
        with _INTERRUPTS.deferred(), self.lock():
            yield

    def write(self, method: str, *args, **kwargs):
        with self.writing():
            return getattr(self.client, method)(*args, **kwargs)

    def log_artifacts(self, run_info, folder: Path) -> None:
        """``MlflowClient.log_artifacts`` for a run whose info is at hand: it would first
        fetch the whole run (its params, metrics, tags) just to learn where its artifacts go."""
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        get_artifact_repository(run_info.artifact_uri, tracking_uri=self.uri).log_artifacts(str(folder))

    def log_dataset(self, run_id: str, dataset_input, attempts: int = 5) -> None:
        """Log a dataset input. A tracking server's get-or-create of the dataset row is not
        atomic: jobs logging the same dataset at once can collide on its unique key, and the
        loser then finds the row the winner wrote."""
        from mlflow.exceptions import MlflowException

        for attempt in range(attempts):
            try:
                with self.writing():
                    return self.client.log_inputs(run_id, [dataset_input])
            except MlflowException as exc:
                collided = "dataset_pk" in str(exc) or "UNIQUE constraint failed: datasets" in str(exc)
                if not collided or attempt == attempts - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def experiment_id(self, name: str) -> str:
        """Get or create an experiment; jobs running at once may race to create it."""
        from mlflow.exceptions import MlflowException

        with self.lock():
            exp = self.client.get_experiment_by_name(name)
            if exp is None:
                try:
                    return self.client.create_experiment(name, tags=dict([EXPERIMENT_KIND, EXPERIMENT_NOTE]))
                except MlflowException:  # another job (on a server) created it first
                    exp = self.client.get_experiment_by_name(name)
                    if exp is None:
                        raise
            if exp.lifecycle_stage == "deleted":
                self.client.restore_experiment(exp.experiment_id)
            for key, value in (EXPERIMENT_KIND, EXPERIMENT_NOTE):
                if exp.tags.get(key) != value:
                    self.client.set_experiment_tag(exp.experiment_id, key, value)
            return exp.experiment_id

    def runs(self, experiment_id: str, filter_string: str):
        out, token = [], None
        while True:
            with self.lock():
                page = self.client.search_runs(
                    [experiment_id], filter_string, max_results=1000, page_token=token
                )
            out.extend(page)
            token = page.token
            if not token:
                return out


class _Interrupts:
    """SIGINT and SIGTERM as KeyboardInterrupt, but never inside a store write: a
    write cut short can leave its SQLite connection holding the write lock, so
    the runs could not then be marked KILLED. A signal during a write is raised
    as soon as the write is done."""

    def __init__(self) -> None:
        self.writing = 0
        self.pending: int | None = None

    def handler(self, signum, frame) -> None:
        if self.writing:
            self.pending = signum
        else:
            raise KeyboardInterrupt(f"signal {signum}")

    @contextlib.contextmanager
    def deferred(self):
        self.writing += 1
        try:
            yield
        finally:
            self.writing -= 1
            if not self.writing and self.pending is not None:
                signum, self.pending = self.pending, None
                raise KeyboardInterrupt(f"signal {signum}")


_INTERRUPTS = _Interrupts()


@contextlib.contextmanager
def terminate_on_signal():
    """Turn SIGINT and SIGTERM into an exception between writes, so interrupted runs are marked KILLED."""
    previous = {sig: signal.signal(sig, _INTERRUPTS.handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# --- what a run holds ---------------------------------------------------------------------------


def _seed_metrics(run: Run, s: int, times: TrainingTimes, max_points: int):
    from mlflow.entities import Metric

    r = run.result
    n = int(r.sweeps_run[s])
    met = {name: int(first[s]) for name, first in r.sweeps_to.items() if first[s] >= 0}
    metrics = [Metric("error", float(r.error[s, k]), times.at(s, k), k)
               for k in curve_steps(n, met.values(), max_points)]  # fmt: skip
    end = times.end(s)
    metrics.append(Metric("final_error", float(r.error[s, n]), end, n))
    for name in r.sweeps_to:
        metrics.append(Metric(f"learned_{name}", float(name in met), end, n))
        if name in met:
            metrics.append(Metric(f"sweeps_to_{name}", float(met[name]), times.at(s, met[name]), met[name]))
    if run.heldout is not None:
        held = run.heldout[run.heldout.seed == run.seeds[s]]
        metrics.append(Metric("heldout_correct", float(held.correct.sum()), end, n))
        metrics.append(
            Metric("heldout_accuracy", float(held.correct.mean()) if len(held) else float("nan"), end, n)
        )
    return metrics


def quartile_curves(run: Run) -> np.ndarray:
    """(3, K+1): the 25th, 50th and 75th percentile over seeds of E after each sweep,
    a stopped seed counting with its final error."""
    r = run.result
    error = r.error[:, : int(r.sweeps_run.max()) + 1].copy()
    for s, n in enumerate(r.sweeps_run):
        error[s, n + 1 :] = error[s, n]
    return np.percentile(error, [25, 50, 75], axis=0)


def _summary_metrics(run: Run, times: TrainingTimes, quartiles: np.ndarray, max_points: int):
    from mlflow.entities import Metric

    summary = run.summary()
    n = quartiles.shape[1] - 1
    end = times.end()
    span = (times.start(), end)
    at = lambda k: int(span[0] + (span[1] - span[0]) * k / max(n, 1))  # noqa: E731
    out = []
    for k in curve_steps(n, (), max_points):
        for name, row in (("error_p25", 0), ("error_median", 1), ("error_p75", 2)):
            out.append(Metric(name, float(quartiles[row, k]), at(k), k))
    out.append(Metric("median_final_error", float(summary.final_error.median()), end, n))
    for name in run.result.sweeps_to:
        col = summary[f"sweeps_to_{name}"]
        out.append(Metric(f"share_learned_{name}", float(col.notna().mean()), end, n))
        if col.notna().any():
            out.append(Metric(f"median_sweeps_to_{name}", float(col.median()), end, n))
    if "heldout_correct" in summary:
        out.append(Metric("mean_heldout_correct", float(summary.heldout_correct.mean()), end, n))
    return out


def _csv(columns: dict[str, np.ndarray]) -> str:
    rows = zip(*(c.tolist() for c in columns.values()))
    return ",".join(columns) + "\n" + "".join(",".join(map(repr, row)) + "\n" for row in rows)


def _seed_artifacts(run: Run, s: int, seed: int, folder: Path) -> None:
    """The seed's weights (``.npz`` and previewable JSON) and its whole learning curve (CSV)."""
    from . import io

    weights = {k: v[s] for k, v in run.result.params.items()}
    io.save_npz(folder / f"weights_seed{seed}.npz", weights)
    (folder / f"weights_seed{seed}.json").write_text(json.dumps({k: v.tolist() for k, v in weights.items()}))
    n = int(run.result.sweeps_run[s])
    curve = "".join(f"{k},{e!r}\n" for k, e in enumerate(run.result.error[s, : n + 1].tolist()))
    (folder / f"curve_seed{seed}.csv").write_text("sweep,error\n" + curve)


def _dataset_input(dataset: Path, task: str):
    """The task's dataset as an MLflow run input: an ``mlflow.data`` dataset of the CSV file."""
    import mlflow.data
    import pandas as pd
    from mlflow.entities import DatasetInput, InputTag

    frame = pd.read_csv(dataset)
    with warnings.catch_warnings():  # on a local path's two readings, and on integer columns
        warnings.simplefilter("ignore", UserWarning)
        ds = mlflow.data.from_pandas(
            frame, source=str(Path(dataset).resolve()), name=task, digest=file_hash(dataset)
        )
        entity = ds._to_mlflow_entity()  # what mlflow.log_input sends
    return DatasetInput(entity, [InputTag("mlflow.data.context", "training")])


# --- logging one configuration ------------------------------------------------------------------


class _Claim:
    """One configuration's parent run and who writes it."""

    def __init__(self, tracker: Tracker, exp_id: str, h: str, configuration: str):
        self.tracker, self.exp_id, self.h, self.configuration = tracker, exp_id, h, configuration
        self.me = _writer_id()
        self.beat = 0.0

    def parents(self):
        # oldest first, so every writer picks the same one of several
        runs = self.tracker.runs(self.exp_id, _runs_of(self.h, self.configuration, "configuration"))
        return sorted(runs, key=lambda p: (p.info.start_time or 0, p.info.run_id))

    def children(self, parent_id: str):
        return self.tracker.runs(self.exp_id, _runs_of(self.h, self.configuration, "seed", parent_id))

    def live_elsewhere(self, p, now_ms: int) -> bool:
        writer = p.data.tags.get(f"{TAG}writer")
        beat = p.data.tags.get(f"{TAG}heartbeat")
        return (p.info.status == "RUNNING" and writer is not None and writer != self.me
                and writer_alive(writer, int(beat) if beat else None, now_ms))  # fmt: skip

    def delete(self, run_id: str) -> None:
        with self.tracker.writing():
            for c in self.children(run_id):
                self.tracker.client.delete_run(c.info.run_id)
            self.tracker.client.delete_run(run_id)

    def heartbeat(self, parent_id: str, force: bool = False) -> None:
        if force or time.time() - self.beat > HEARTBEAT_S:
            self.beat = time.time()
            self.tracker.write("set_tag", parent_id, f"{TAG}heartbeat", str(int(self.beat * 1000)))

    def take(self, parent_id: str) -> None:
        with self.tracker.writing():
            self.tracker.client.set_tag(parent_id, f"{TAG}writer", self.me)
            self.tracker.client.update_run(parent_id, status="RUNNING")
            self.heartbeat(parent_id, force=True)


def log_configuration(
    run_dir: Path,
    experiment: str,
    configuration: str,
    dataset: Path,
    timings: list[Path],
    marker: Path,
    curve_points: int,
    paper_settings: dict | None = None,
    uri: str | None = None,
) -> dict:
    """Log one configuration's seeds (``run_dir``, as written by training) to MLflow, each
    learning curve at ``curve_points`` or fewer sweeps (all of it in a CSV artifact).

    ``timings`` are the training jobs' records of when they ran. Writes ``marker`` (the
    store, the run ids) last. Returns counts of runs created, kept and replaced.
    """
    from mlflow.entities import Param

    run = load_run(run_dir)
    h = config_hash(run.settings)
    times = TrainingTimes(run, read_timings(timings))
    tracker = Tracker(uri)
    exp_id = tracker.experiment_id(experiment_name(experiment))
    commit = git_commit()
    tags = {
        **system_tags(commit),
        f"{TAG}experiment": experiment,
        f"{TAG}configuration": configuration,
        f"{TAG}config_hash": h,
        f"{TAG}dataset_hash": file_hash(dataset),
        f"{TAG}git_commit": commit,
    }
    params = flat_params(run.settings)
    logged_as = {seed: seed_hash(run, s, curve_points) for s, seed in enumerate(run.seeds.tolist())}
    counts = {"created": 0, "kept": 0, "replaced": 0}
    claim = _Claim(tracker, exp_id, h, configuration)
    live = []  # runs this job opened and has not finished
    dataset_input = None
    with terminate_on_signal():
        try:
            parent_id, children, waited = None, {"keep": {}, "drop": []}, 0.0
            while parent_id is None:
                with tracker.writing():  # find or create, under one lock (SQLite)
                    now = int(time.time() * 1000)
                    parents = claim.parents()
                    busy = [p for p in parents if claim.live_elsewhere(p, now)]
                    if not busy:
                        finished = [p for p in parents if p.info.status == "FINISHED"]
                        keep = (finished or parents or [None])[0]
                        for p in parents:  # duplicates, and interrupted runs beside a finished one
                            if p is not keep:
                                claim.delete(p.info.run_id)
                                counts["replaced"] += 1
                        if keep is None:
                            parent = tracker.client.create_run(
                                exp_id, start_time=times.start(), run_name=configuration,
                                tags={**tags, f"{TAG}role": "configuration", f"{TAG}writer": claim.me,
                                      f"{TAG}curve_points": str(curve_points),
                                      "mlflow.note.content": note(experiment, configuration, run.settings,
                                                                  paper_settings, len(run.seeds))},
                            )  # fmt: skip
                            parent_id = parent.info.run_id
                            live.append(parent_id)
                            tracker.client.log_batch(
                                parent_id, params=[Param(k, v) for k, v in params.items()]
                            )
                            claim.heartbeat(parent_id, force=True)
                        else:
                            parent_id = keep.info.run_id
                            children = _sort_children(claim.children(parent_id), logged_as)
                            complete = keep.info.status == "FINISHED" and len(children["keep"]) == len(logged_as) \
                                and not children["drop"]  # fmt: skip
                            if not complete:
                                claim.take(parent_id)
                                live.append(parent_id)
                if parent_id is None:  # another live process is writing it: wait, then adopt
                    if waited > WAIT_S:
                        raise TrackingError(f"{experiment}/{configuration} has been written by "
                                            f"{busy[0].data.tags[TAG + 'writer']} for over {WAIT_S} s")  # fmt: skip
                    time.sleep(1.0)
                    waited += 1.0
            if parent_id in live:
                for c in children["drop"]:
                    tracker.write("delete_run", c.info.run_id)
                    counts["replaced"] += 1
                with tempfile.TemporaryDirectory() as tmp:
                    for s, seed in enumerate(run.seeds.tolist()):
                        if seed in children["keep"]:
                            continue
                        if dataset_input is None:
                            dataset_input = _dataset_input(dataset, run.settings["task"])
                        folder = Path(tmp) / str(seed)
                        folder.mkdir()
                        _seed_artifacts(run, s, seed, folder)
                        metrics = _seed_metrics(run, s, times, curve_points)
                        seed_params = [Param(k, v) for k, v in params.items()] + [Param("seed", str(seed))]
                        with tracker.writing():
                            child = tracker.client.create_run(
                                exp_id, start_time=times.start(s), run_name=f"seed {seed:03d} {configuration}",
                                tags={**tags, f"{TAG}role": "seed", f"{TAG}seed": str(seed),
                                      "mlflow.parentRunId": parent_id, f"{TAG}result_hash": logged_as[seed]},
                            )  # fmt: skip
                            cid = child.info.run_id
                            live.append(cid)
                            for k in range(0, len(metrics), tracker.batch_size):  # params ride with the first
                                tracker.client.log_batch(cid, metrics=metrics[k : k + tracker.batch_size],
                                                         params=seed_params if k == 0 else [])  # fmt: skip
                            tracker.log_dataset(cid, dataset_input)
                            tracker.log_artifacts(child.info, folder)
                            tracker.client.set_terminated(cid, "FINISHED", end_time=times.end(s))
                            live.remove(cid)
                        counts["created"] += 1
                        claim.heartbeat(parent_id)
                    _finish_parent(tracker, run, run_dir, parent_id, times, curve_points, tmp, dataset_input
                                   or _dataset_input(dataset, run.settings["task"]))  # fmt: skip
                live.remove(parent_id)
            # Without a shared lock (a server), two writers may both have created a parent:
            # the older one stays, the younger writer deletes its own and adopts it.
            oldest = [p for p in claim.parents() if p.info.status == "FINISHED" or claim.live_elsewhere(
                p, int(time.time() * 1000))]  # fmt: skip
            if oldest and oldest[0].info.run_id != parent_id:
                claim.delete(parent_id)
                return log_configuration(run_dir, experiment, configuration, dataset, timings, marker,
                                         curve_points, paper_settings, uri)  # fmt: skip
            ids = {int(c.data.tags[f"{TAG}seed"]): c.info.run_id for c in claim.children(parent_id)}
            counts["kept"] = len(logged_as) - counts["created"]
            if sorted(ids) != sorted(logged_as):
                raise TrackingError(f"{experiment}/{configuration}: the store holds seeds {sorted(ids)} "
                                    f"after logging, expected {sorted(logged_as)}")  # fmt: skip
        except BaseException:
            # Leave nothing RUNNING; the next invocation logs these again. Snakemake
            # follows Ctrl-C with a SIGTERM to its jobs: hold both off meanwhile.
            held = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                for run_id in live:
                    try:
                        tracker.write("set_terminated", run_id, "KILLED")
                    except Exception as exc:  # noqa: BLE001 -- report it and go on with the others
                        print(f"could not mark run {run_id} KILLED: {exc!r}", file=sys.stderr)
            finally:
                for sig, handler in held.items():
                    signal.signal(sig, handler)
            raise
    from . import io

    io.save_json(marker, {
        "experiment": experiment_name(experiment), "configuration": configuration,
        "config_hash": h, "seeds": [int(run.seeds[0]), int(run.seeds[-1])], "n_runs": len(run.seeds),
        "store": store_name(tracker.uri), "experiment_id": exp_id, "parent_run_id": parent_id,
        "run_ids": {str(seed): ids[seed] for seed in sorted(ids)},
    })  # fmt: skip
    return counts


def _sort_children(children, logged_as: dict[int, str]) -> dict:
    """Seed runs to keep (FINISHED, these very results, one per seed) and to delete."""
    keep, drop = {}, []
    for c in sorted(children, key=lambda c: (c.info.start_time or 0, c.info.run_id)):
        seed = int(c.data.tags[f"{TAG}seed"])
        same = c.data.tags.get(f"{TAG}result_hash") == logged_as.get(seed)
        if c.info.status == "FINISHED" and same and seed not in keep:
            keep[seed] = c
        else:
            drop.append(c)
    return {"keep": keep, "drop": drop}


def _finish_parent(tracker, run, run_dir, parent_id, times, curve_points, tmp, dataset_input) -> None:
    from mlflow.entities import RunTag

    quartiles = quartile_curves(run)
    folder = Path(tmp) / "parent"
    folder.mkdir()
    for name in ("summary.csv", "settings.json", "heldout.csv"):
        if (Path(run_dir) / name).is_file():
            (folder / name).write_bytes((Path(run_dir) / name).read_bytes())
    k = np.arange(quartiles.shape[1])
    (folder / "curve_quartiles.csv").write_text(
        _csv({"sweep": k, "error_p25": quartiles[0], "error_median": quartiles[1], "error_p75": quartiles[2]})
    )
    metrics = _summary_metrics(run, times, quartiles, curve_points)
    with tracker.writing():
        for b in range(0, len(metrics), tracker.batch_size):
            tracker.client.log_batch(parent_id, metrics=metrics[b : b + tracker.batch_size],
                                     tags=[RunTag(f"{TAG}seeds", str(len(run.seeds)))] if b == 0 else [])  # fmt: skip
        tracker.log_dataset(parent_id, dataset_input)
        tracker.client.log_artifacts(parent_id, str(folder))
        tracker.client.set_terminated(parent_id, "FINISHED", end_time=times.end())


def log_figures(marker: Path, figures: list[Path]) -> str:
    """Attach figures to the parent run a logging marker names; returns that run's id."""
    parent = json.loads(Path(marker).read_text())["parent_run_id"]
    tracker = Tracker()
    with tempfile.TemporaryDirectory() as tmp:
        for f in figures:
            (Path(tmp) / Path(f).name).write_bytes(Path(f).read_bytes())
        tracker.write("log_artifacts", parent, tmp, "figures")
    return parent


# --- does the store still hold what the markers say? ---------------------------------------------


def _held_sqlite(path: Path, ids: list[str]) -> set[str] | None:
    if not path.is_file():
        return set()
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
        try:
            held = set()
            for k in range(0, len(ids), 500):
                chunk = ids[k : k + 500]
                held |= {r for (r,) in db.execute(
                    f"select run_uuid from runs where status = 'FINISHED' and lifecycle_stage = 'active' "
                    f"and run_uuid in ({','.join('?' * len(chunk))})", chunk)}  # fmt: skip
            return held
        except sqlite3.DatabaseError:  # not an MLflow store (yet)
            return set()


def _held_mlflow(uri: str, markers: list[dict]) -> set[str]:
    """Through MLflow's API (servers, other databases)."""
    check_server(uri)
    for var, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(var, value)
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    held = set()
    for m in markers:
        ids = [m["parent_run_id"], *m["run_ids"].values()]
        for k in range(0, len(ids), 100):
            flt = "attributes.run_id IN (" + ",".join(f"'{i}'" for i in ids[k : k + 100]) + ")"
            try:
                page = client.search_runs([m["experiment_id"]], flt, max_results=100)
            except Exception:  # noqa: BLE001 -- e.g. the experiment is not in this store
                continue
            held |= {r.info.run_id for r in page if r.info.status == "FINISHED"}
    return held


def stale_markers(paths, uri: str | None = None) -> dict[Path, str]:
    """Markers whose runs the store no longer holds (FINISHED and not deleted), with why.

    A SQLite store is read directly (milliseconds, no MLflow import); others through MLflow.
    Raises :class:`TrackingError` if the store cannot be asked."""
    uri = uri or tracking_uri()
    markers = {}
    for p in map(Path, paths):
        if p.is_file():
            try:
                m = json.loads(p.read_text())
                markers[p] = m if {"parent_run_id", "run_ids", "experiment_id"} <= set(m) else None
            except json.JSONDecodeError:
                markers[p] = None
    out = {p: "written by an older version, without run ids" for p, m in markers.items() if m is None}
    markers = {p: m for p, m in markers.items() if m is not None}
    if not markers:
        return out
    ids = sorted({i for m in markers.values() for i in [m["parent_run_id"], *m["run_ids"].values()]})
    path = sqlite_path(uri)
    held = _held_sqlite(path, ids) if path is not None else _held_mlflow(uri, list(markers.values()))
    here = store_name(uri)
    for p, m in markers.items():
        missing = [i for i in [m["parent_run_id"], *m["run_ids"].values()] if i not in held]
        if missing:
            where = "" if m.get("store") == here else f" (it was logged to {m.get('store')})"
            out[p] = f"{here} lacks {len(missing)} of its {1 + len(m['run_ids'])} runs{where}"
    return out


# --- the readings map: one run per cell ------------------------------------------------------------


def log_readings_map(
    table: Path, seeds: Path, figures: list[Path], marker: Path, uri: str | None = None
) -> dict:
    """Log the readings map (``readings_map.csv`` and its per-seed table) to the
    experiment ``backprop86-readings_map``: a parent run holding both tables and
    the heatmap, and a child run per cell with the cell's settings as params, its
    row as metrics and its seeds' rows as a CSV artifact. A map already logged
    with these tables is kept, and any of its cells deleted from the store is
    logged again; a map logged with other results is replaced, and so, in a
    SQLite store (whose lock keeps every other writer out), is one cut short.
    Writes ``marker`` (the store, the run ids) last; returns counts."""
    from mlflow.entities import Metric, Param, RunTag

    rows, per_seed = pd.read_csv(table), pd.read_csv(seeds)
    tracker = Tracker(uri)
    exp_id = tracker.experiment_id(experiment_name("readings_map"))
    tags = system_tags(git_commit())
    now = int(time.time() * 1000)
    cells = list(dict.fromkeys(per_seed.cell))
    counts = {"created": 0, "kept": 0, "replaced": 0}
    with tracker.writing():  # find-or-create as one locked step
        digest = hashlib.sha256(Path(table).read_bytes() + Path(seeds).read_bytes()).hexdigest()[:16]
        parents = tracker.runs(exp_id, f"tags.`{TAG}role` = 'readings_map'")
        parent = next((r for r in parents if r.data.tags.get(f"{TAG}result_hash") == digest
                       and r.info.status == "FINISHED"), None)  # fmt: skip
        # Under SQLite's lock no other writer is logging, so an unfinished run was cut
        # short; on a server another writer may be, and its unfinished runs are left alone.
        alone = tracker.sqlite is not None
        for old in parents:  # a map logged with other results, or cut short: it and its cells go
            if old is not parent and (old.info.status == "FINISHED" or alone):
                for child in tracker.runs(exp_id, f"tags.`mlflow.parentRunId` = '{old.info.run_id}'"):
                    tracker.client.delete_run(child.info.run_id)
                tracker.client.delete_run(old.info.run_id)
                counts["replaced"] += 1
        ids = {}
        if parent is not None:  # its cells still in the store are kept; one deleted is logged again
            parent_id = parent.info.run_id
            for child in tracker.runs(exp_id, f"tags.`mlflow.parentRunId` = '{parent_id}'"):
                cell = child.data.tags.get(f"{TAG}cell")
                if child.info.status == "FINISHED" and cell in cells and cell not in ids:
                    ids[cell] = child.info.run_id
                elif child.info.status == "FINISHED" or alone:  # a second copy, or a cell cut short
                    tracker.client.delete_run(child.info.run_id)
            counts["kept"] = len(ids)
        else:
            parent_id = tracker.client.create_run(exp_id, start_time=now, run_name="readings map", tags={
                **tags, f"{TAG}role": "readings_map", f"{TAG}result_hash": digest,
                "mlflow.note.content": f"The readings map: {len(cells)} cells around the printed family-tree recipe, "
                                       "each trained over the same seeds with everything else as printed.",
            }).info.run_id  # fmt: skip
        for name, (_, row) in zip(cells, rows.iterrows()):
            if name in ids:
                continue
            axes = {k: v for k, v in row.items() if k in per_seed.columns and k not in ("seed", "cell")}
            child = tracker.client.create_run(exp_id, start_time=now, run_name=f"cell {name}", tags={
                **tags, "mlflow.parentRunId": parent_id, f"{TAG}role": "readings_map_cell", f"{TAG}cell": name,
            }).info.run_id  # fmt: skip
            values = {k: float(v) for k, v in row.items() if k not in axes and pd.notna(v)}
            tracker.client.log_batch(
                child, metrics=[Metric(k, v, now, 0) for k, v in values.items()],
                params=[Param(k, str(v)) for k, v in axes.items()],
            )  # fmt: skip
            with tempfile.TemporaryDirectory() as tmp:
                mine = per_seed[per_seed.cell == name]
                (Path(tmp) / f"seeds_{name}.csv").write_text(mine.to_csv(index=False))
                tracker.client.log_artifacts(child, tmp)
            tracker.client.set_terminated(child, "FINISHED")
            ids[name] = child
            counts["created"] += 1
        if parent is None:
            with tempfile.TemporaryDirectory() as tmp:
                for f in [table, seeds, *figures]:
                    (Path(tmp) / Path(f).name).write_bytes(Path(f).read_bytes())
                tracker.client.log_artifacts(parent_id, tmp)
            tracker.client.log_batch(parent_id, tags=[RunTag(f"{TAG}cells", str(len(ids)))])
            tracker.client.set_terminated(parent_id, "FINISHED")
    ids = {name: ids[name] for name in cells}  # in the table's order
    io.save_json(marker, {"store": store_name(tracker.uri), "experiment_id": exp_id, "parent_run_id": parent_id,
                          "run_ids": ids})  # fmt: skip
    return counts
