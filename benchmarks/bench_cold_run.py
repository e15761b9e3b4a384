"""How far the workflow's cold run is from the training it has to do.

In a fresh clone of this repository (its committed HEAD), times

- a cold ``snakemake --cores 2`` (no results, no MLflow store),
- a second ``snakemake --cores 2`` with nothing to do,
- the CPU time of training every configuration alone (``backprop86 train``
  for each, one after the other) and every cell of the readings map (one
  process per cell, as the workflow trains them),

and prints ``ratio = cold wall time / (training CPU seconds / 2 cores)``: 1.0 would
be perfect packing of the training on two cores with everything else free. It
also checks that MLflow holds every run and every learning curve, and counts
runs, metric points and the store's size. ``--repeat N`` alternates the two
measurements N times and reports medians (the machine may be shared: the load
average is printed with every measurement).

    .venv/bin/python benchmarks/bench_cold_run.py [--repeat 1] [--cores 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from backprop86.cli import load_config
from backprop86.config import configurations, resolve

ROOT = Path(__file__).resolve().parents[1]


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def clone(dest: Path) -> Path:
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(dest)], check=True)
    return dest


def env_for(repo: Path) -> dict:
    """The clone's own package first, no MLflow settings from the caller's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PYTHONPATH"] = str(repo / "src")
    return env


def timed(cmd: list[str], cwd: Path, env: dict) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall seconds and CPU seconds (the process and all its children) of one command."""
    before = os.times()
    start = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return wall, cpu, r


def snakemake_run(repo: Path, cores: int) -> dict:
    env = env_for(repo)
    cmd = [sys.executable, "-m", "snakemake", "--cores", str(cores)]
    out = {"load_before": load()}
    wall, cpu, r = timed(cmd, repo, env)
    if r.returncode != 0:
        raise SystemExit(f"cold run failed:\n{r.stderr[-4000:]}")
    out.update(cold_wall_s=round(wall, 1), cold_cpu_s=round(cpu, 1), load_after=load())
    wall, _, r = timed(cmd, repo, env)
    if r.returncode != 0 or "Nothing to be done" not in r.stderr:
        raise SystemExit(f"no-op rerun did something:\n{r.stderr[-4000:]}")
    out["noop_wall_s"] = round(wall, 2)
    out.update(store_counts(repo))
    return out


def training_cpu(repo: Path, work: Path) -> dict:
    """CPU seconds of ``backprop86 train`` for every configuration, one at a time."""
    config = load_config(repo / "config/config.yaml")
    env = env_for(repo)
    per, start_load = {}, load()
    for experiment in config["experiments"]:
        for configuration in configurations(config, experiment):
            cmd = [
                sys.executable,
                "-m",
                "backprop86.cli",
                "train",
                experiment,
                "--configuration",
                configuration,
                "--config",
                str(repo / "config/config.yaml"),
                "--out",
                str(work / experiment / configuration),
            ]
            _, cpu, r = timed(cmd, repo, env)
            if r.returncode != 0:
                raise SystemExit(f"training {experiment}/{configuration} failed:\n{r.stderr[-3000:]}")
            per[f"{experiment}/{configuration}"] = round(cpu, 1)
    cells = {}
    if "readings_map" in config:  # the map's cells are training too, one process each as in the workflow
        names = subprocess.run(
            [sys.executable, "-c", MAP_CELLS, str(repo / "config/config.yaml")],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        for cell in names:
            cmd = [
                sys.executable,
                "-c",
                TRAIN_CELL,
                str(repo / "config/config.yaml"),
                cell,
                str(work / "readings_map" / cell),
            ]
            _, cpu, r = timed(cmd, repo, env)
            if r.returncode != 0:
                raise SystemExit(f"training map cell {cell} failed:\n{r.stderr[-3000:]}")
            cells[cell] = round(cpu, 1)
    configs_cpu, map_cells = round(sum(per.values()), 1), round(sum(cells.values()), 1)
    return {
        "train_cpu_s": round(configs_cpu + map_cells, 1),
        "configurations_cpu_s": configs_cpu,
        "map_cells_cpu_s": map_cells,
        "per_configuration": per,
        "per_cell": cells,
        "load_before": start_load,
        "load_after": load(),
    }


# What the workflow's train_map_cell jobs run, one cell per process.
MAP_CELLS = """
import sys
from backprop86.cli import load_config
from backprop86.readings_map import cells
print(" ".join(cells(load_config(sys.argv[1]))))
"""
TRAIN_CELL = """
import sys
from backprop86.cli import load_config
from backprop86.experiments import train_seeds
from backprop86.readings_map import cell_settings, cells
config = load_config(sys.argv[1])
settings = cell_settings(config, cells(config)[sys.argv[2]])
train_seeds(settings, range(settings["seeds"])).write(sys.argv[3])
"""


def store_counts(repo: Path) -> dict:
    """Runs and points in the clone's MLflow store, and a check that every seed has its curve."""
    config = load_config(repo / "config/config.yaml")
    pairs = [(e, c) for e in config["experiments"] for c in configurations(config, e)]
    expected_seeds = sum(resolve(config, e, c)["seeds"] for e, c in pairs)
    expected_parents = len(pairs)
    db = repo / "mlflow.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        role = dict(
            con.execute(
                "select value, count(*) from tags where key = 'backprop86.role' group by value"
            ).fetchall()
        )
        finished = con.execute(
            "select count(*) from runs r join tags t on t.run_uuid = r.run_uuid and t.key = 'backprop86.role' "
            "where r.status = 'FINISHED' and r.lifecycle_stage = 'active' "
            "and t.value in ('seed', 'configuration')"
        ).fetchone()[0]
        points = con.execute("select count(*) from metrics").fetchone()[0]
        curves = con.execute("select count(distinct run_uuid) from metrics where key = 'error'").fetchone()[0]
    size = sum(p.stat().st_size for p in repo.glob("mlflow.db*"))
    artifacts = sum(p.stat().st_size for p in (repo / "mlruns").rglob("*") if p.is_file())
    complete = (
        role.get("seed") == expected_seeds
        and role.get("configuration") == expected_parents
        and finished == expected_seeds + expected_parents
        and curves >= expected_seeds
    )
    if not complete:
        raise SystemExit(
            f"MLflow store incomplete: {role}, {finished} finished, {curves} curves; "
            f"expected {expected_seeds} seeds and {expected_parents} parents"
        )
    return {
        "runs": finished,
        "seed_runs": role["seed"],
        "metric_points": points,
        "db_mb": round(size / 2**20, 1),
        "artifacts_mb": round(artifacts / 2**20, 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=1, help="alternate the measurements N times (medians)")
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args()
    rounds = []
    with tempfile.TemporaryDirectory(prefix="bench_cold_") as tmp:
        for k in range(args.repeat):
            repo = clone(Path(tmp) / f"clone{k}")
            run = snakemake_run(repo, args.cores)
            train = training_cpu(repo, Path(tmp) / f"train{k}")
            ratio = run["cold_wall_s"] / (train["train_cpu_s"] / args.cores)
            without_map = run["cold_wall_s"] / (train["configurations_cpu_s"] / args.cores)
            rounds.append(
                {
                    "ratio": round(ratio, 2),
                    "ratio_configurations_only": round(without_map, 2),
                    **run,
                    "train": train,
                }
            )
            print(json.dumps(rounds[-1]), flush=True)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    result = {
        "commit": commit,
        "cores": args.cores,
        "ratio_median": statistics.median(r["ratio"] for r in rounds),
        "ratio_configurations_only_median": statistics.median(r["ratio_configurations_only"] for r in rounds),
        "cold_wall_s": [r["cold_wall_s"] for r in rounds],
        "noop_wall_s": [r["noop_wall_s"] for r in rounds],
        "train_cpu_s": [r["train"]["train_cpu_s"] for r in rounds],
        "runs": rounds[-1]["runs"],
        "metric_points": rounds[-1]["metric_points"],
        "db_mb": rounds[-1]["db_mb"],
        "rounds": rounds,
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"ratio = cold wall {statistics.median(result['cold_wall_s']):.1f} s / "
        f"(training {statistics.median(result['train_cpu_s']):.1f} CPU-s / {args.cores} cores) "
        f"= {result['ratio_median']:.2f}   (target <= 1.6; commit {commit}; load now {load()})\n"
        f"(training counts the readings map's cells; counting the configurations alone, as "
        f"before the map was part of the default run: {result['ratio_configurations_only_median']:.2f})"
    )


if __name__ == "__main__":
    main()
