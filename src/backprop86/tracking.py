"""Log training results to MLflow, from the result files (never from memory).

One MLflow experiment per paper experiment (``backprop86-<experiment>``), one
parent run per configuration, one child run per seed. Logging is idempotent:
runs already FINISHED for the same settings (config hash) and seed are kept,
runs left RUNNING, FAILED or KILLED by an interrupted job are deleted and
logged again. The tracking URI is MLflow's own: ``MLFLOW_TRACKING_URI`` if set,
else the default local store, ``sqlite:///mlflow.db`` in the working directory.

A new SQLite store is created by migrations that race when several processes
open it at once, and SQLite allows one writer at a time; so for a SQLite store
every job opens the store, and then writes, under an exclusive file lock
beside the database.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from . import io
from .config import config_hash
from .experiments import Run, load_run

TAG = "backprop86."  # prefix of our tags
MAX_METRICS_PER_BATCH = 1000  # what a tracking server accepts in one log_batch call
# MLflow's own HTTP defaults (7 retries, backoff factor 2, 120 s timeout) keep a job
# retrying for minutes against a server that went away or answers only errors; these
# fail within about a minute instead. Set the variables to override them.
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
}


class TrackingError(RuntimeError):
    """The tracking store cannot be reached or used."""


def experiment_name(experiment: str) -> str:
    return f"backprop86-{experiment}"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, else None."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri[len("sqlite:///") :])


@contextlib.contextmanager
def store_lock(uri: str):
    """Exclusive lock for SQLite stores (a no-op for servers and other databases)."""
    path = sqlite_path(uri)
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


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


def seed_hash(run: Run, s: int, curve_every: int) -> str:
    """What one seed's MLflow run shows: its weights, its curve and how the curve is logged."""
    digest = hashlib.sha256(str(curve_every).encode())
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


def _runs_of(config_hash: str, configuration: str, role: str) -> str:
    """MLflow filter for the runs of one configuration's settings: its parent or its seeds."""
    return (
        f"tags.`{TAG}config_hash` = '{config_hash}' and tags.`{TAG}configuration` = '{configuration}' "
        f"and tags.`{TAG}role` = '{role}'"
    )


class Tracker:
    """An ``MlflowClient`` whose writes hold the store lock."""

    def __init__(self, uri: str | None = None):
        import mlflow
        from mlflow import MlflowClient

        self.uri = uri or mlflow.get_tracking_uri()
        # A local SQLite store takes a whole learning curve in one call, which is
        # much faster (MLflow updates each run's latest metrics once per call).
        self.batch_size = 10**9 if sqlite_path(self.uri) is not None else MAX_METRICS_PER_BATCH
        if urlparse(self.uri).scheme in ("http", "https"):
            for var, value in HTTP_DEFAULTS.items():
                os.environ.setdefault(var, value)
        check_server(self.uri)
        with store_lock(self.uri):  # the first open creates and migrates a new store
            self.client = MlflowClient(self.uri)
            try:
                self.client.search_experiments(max_results=1)
            except Exception as exc:
                raise TrackingError(f"cannot use the MLflow tracking store at {self.uri}: {exc}") from exc

    def write(self, method: str, *args, **kwargs):
        with _INTERRUPTS.deferred(), store_lock(self.uri):
            return getattr(self.client, method)(*args, **kwargs)

    def experiment_id(self, name: str) -> str:
        """Get or create an experiment; jobs running at once may race to create it."""
        from mlflow.exceptions import MlflowException

        with store_lock(self.uri):
            exp = self.client.get_experiment_by_name(name)
            if exp is None:
                try:
                    return self.client.create_experiment(name)
                except MlflowException:  # another job (on a server) created it first
                    exp = self.client.get_experiment_by_name(name)
                    if exp is None:
                        raise
            if exp.lifecycle_stage == "deleted":
                self.client.restore_experiment(exp.experiment_id)
            return exp.experiment_id

    def runs(self, experiment_id: str, filter_string: str):
        out, token = [], None
        while True:
            with store_lock(self.uri):
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


def _seed_metrics(run: Run, s: int, now: int, every: int = 1):
    from mlflow.entities import Metric

    r = run.result
    n = int(r.sweeps_run[s])
    steps = sorted({*range(0, n + 1, every), n})
    metrics = [Metric("error", float(r.error[s, k]), now, k) for k in steps]
    metrics.append(Metric("final_error", float(r.error[s, n]), now, n))
    for name, first in r.sweeps_to.items():
        metrics.append(Metric(f"learned_{name}", float(first[s] >= 0), now, 0))
        if first[s] >= 0:
            metrics.append(Metric(f"sweeps_to_{name}", float(first[s]), now, 0))
    if run.heldout is not None:
        held = run.heldout[run.heldout.seed == run.seeds[s]]
        metrics.append(Metric("heldout_correct", float(held.correct.sum()), now, 0))
        metrics.append(
            Metric("heldout_accuracy", float(held.correct.mean()) if len(held) else float("nan"), now, 0)
        )
    return metrics


def _summary_metrics(run: Run, now: int):
    from mlflow.entities import Metric

    summary = run.summary()
    out = [Metric("median_final_error", float(summary.final_error.median()), now, 0)]
    for name in run.result.sweeps_to:
        col = summary[f"sweeps_to_{name}"]
        out.append(Metric(f"share_learned_{name}", float(col.notna().mean()), now, 0))
        if col.notna().any():
            out.append(Metric(f"median_sweeps_to_{name}", float(col.median()), now, 0))
    if "heldout_correct" in summary:
        out.append(Metric("mean_heldout_correct", float(summary.heldout_correct.mean()), now, 0))
    return out


def log_configuration(
    run_dir: Path,
    experiment: str,
    configuration: str,
    dataset: Path,
    marker: Path,
    curve_every: int = 1,
    uri: str | None = None,
) -> dict:
    """Log one configuration's seeds (``run_dir``, as written by training) to MLflow,
    the learning curve every ``curve_every`` sweeps (and at the last).

    Writes ``marker`` (what was logged, no run ids, so it is reproducible) last.
    Returns counts of runs created and kept.
    """
    from mlflow.entities import Param, RunTag

    run = load_run(run_dir)
    h = config_hash(run.settings)
    tracker = Tracker(uri)
    exp_id = tracker.experiment_id(experiment_name(experiment))
    tags = {
        f"{TAG}experiment": experiment,
        f"{TAG}configuration": configuration,
        f"{TAG}config_hash": h,
        f"{TAG}dataset_hash": file_hash(dataset),
        f"{TAG}git_commit": git_commit(),
    }
    params = flat_params(run.settings)
    counts = {"created": 0, "kept": 0, "replaced": 0}
    live = []  # runs this job opened and has not finished
    with terminate_on_signal():
        try:
            parents = tracker.runs(exp_id, _runs_of(h, configuration, "configuration"))
            finished = [p for p in parents if p.info.status == "FINISHED"]
            for p in parents:
                if p.info.status != "FINISHED" and (finished or p is not parents[0]):
                    tracker.write("delete_run", p.info.run_id)
            if finished:
                parent_id = finished[0].info.run_id
            elif parents:
                parent_id = parents[0].info.run_id  # an interrupted parent: reopen it
                tracker.write("update_run", parent_id, status="RUNNING")
            else:
                parent = tracker.write("create_run", exp_id, run_name=configuration,
                                       tags={**tags, f"{TAG}role": "configuration",
                                             f"{TAG}curve_every": str(curve_every)})  # fmt: skip
                parent_id = parent.info.run_id
                tracker.write("log_batch", parent_id, params=[Param(k, v) for k, v in params.items()])
            live.append(parent_id)

            # A seed's run is kept only if it logged these very results, the same way.
            logged_as = {seed: seed_hash(run, s, curve_every) for s, seed in enumerate(run.seeds.tolist())}
            children = {}
            for c in tracker.runs(exp_id, _runs_of(h, configuration, "seed")):
                seed = int(c.data.tags[f"{TAG}seed"])
                same = c.data.tags.get(f"{TAG}result_hash") == logged_as.get(seed)
                if c.info.status == "FINISHED" and same and seed not in children:
                    children[seed] = c
                else:
                    tracker.write("delete_run", c.info.run_id)
                    counts["replaced"] += 1
            now = int(time.time() * 1000)
            with tempfile.TemporaryDirectory() as tmp:
                for s, seed in enumerate(run.seeds.tolist()):
                    if seed in children:
                        counts["kept"] += 1
                        continue
                    child = tracker.write(
                        "create_run", exp_id, run_name=f"{configuration}-seed{seed}",
                        tags={**tags, f"{TAG}role": "seed", f"{TAG}seed": str(seed), "mlflow.parentRunId": parent_id,
                              f"{TAG}result_hash": logged_as[seed]},
                    )  # fmt: skip
                    cid = child.info.run_id
                    live.append(cid)
                    seed_params = [Param(k, v) for k, v in params.items()] + [Param("seed", str(seed))]
                    metrics = _seed_metrics(run, s, now, curve_every)
                    for k in range(
                        0, max(len(metrics), 1), tracker.batch_size
                    ):  # params ride with the first batch
                        tracker.write("log_batch", cid, metrics=metrics[k : k + tracker.batch_size],
                                      params=seed_params if k == 0 else [])  # fmt: skip
                    weights = Path(tmp) / f"weights_seed{seed}.npz"
                    io.save_npz(weights, {k: v[s] for k, v in run.result.params.items()})
                    tracker.write("log_artifact", cid, str(weights))
                    tracker.write("set_terminated", cid, "FINISHED")
                    live.remove(cid)
                    counts["created"] += 1
            tracker.write("log_batch", parent_id, metrics=_summary_metrics(run, now),
                          tags=[RunTag(f"{TAG}seeds", str(len(run.seeds)))])  # fmt: skip
            for name in ("summary.csv", "settings.json", "heldout.csv"):
                if (Path(run_dir) / name).is_file():
                    tracker.write("log_artifact", parent_id, str(Path(run_dir) / name))
            tracker.write("set_terminated", parent_id, "FINISHED")
            live.remove(parent_id)
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
    io.save_json(marker, {
        "experiment": experiment_name(experiment), "configuration": configuration,
        "config_hash": h, "seeds": [int(run.seeds[0]), int(run.seeds[-1])], "n_runs": len(run.seeds),
    })  # fmt: skip
    return counts


def log_figures(experiment: str, configuration: str, settings: dict, figures: list[Path]) -> str:
    """Attach figures to the parent run of a configuration; returns that run's id."""
    tracker = Tracker()
    exp_id = tracker.experiment_id(experiment_name(experiment))
    h = config_hash(settings)
    parents = tracker.runs(exp_id, _runs_of(h, configuration, "configuration"))
    if not parents:
        raise TrackingError(f"no MLflow run of {experiment}/{configuration} ({h}) to attach figures to")
    for fig in figures:
        tracker.write("log_artifact", parents[0].info.run_id, str(fig), "figures")
    return parents[0].info.run_id
