# The config, and the helpers that turn it into targets. The science lives in
# the backprop86 package; this only wires stages together.
import os
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

from backprop86 import io, paths
from backprop86.paths import run_dir
from backprop86.config import (
    JOB_MEM_MB,
    ConfigError,
    configurations,
    default,
    load_workflow,
    resolve,
)
from backprop86.cli import check_report_names
from backprop86.tasks import TASKS
from backprop86.tracking import TrackingError, stale_markers

DEFAULT_CONFIG = "config/config.yaml"

# The one loader the `backprop86` command uses too: config/config.yaml, then each
# --configfile merged over it as Snakemake merges them (mappings key by key,
# anything else replaced; --replace-workflow-config leaves config/config.yaml
# out), then --config KEY=VALUE; all validated before any job starts.
_given = workflow.config_settings
try:
    _loaded = load_workflow(
        DEFAULT_CONFIG,
        configfiles=_given.configfiles,
        overrides=_given.config,
        replace=_given.replace_workflow_config,
        check=check_report_names,
    )
except ConfigError as error:
    raise WorkflowError(str(error)) from None
config.clear()
config.update(_loaded)
if _given.configfiles and workflow.is_main_process:
    print(
        "config: "
        + " <- ".join(
            ([] if _given.replace_workflow_config else [DEFAULT_CONFIG])
            + [str(f) for f in _given.configfiles]
        )
        + " (each merged over the one before: mappings key by key, other values replaced)",
        file=sys.stderr,
    )

# The first experiment of each task: its settings make the task's dataset table.
FIRST_OF_TASK = {}
for e, x in config["experiments"].items():
    FIRST_OF_TASK.setdefault(x["task"], e)


wildcard_constraints:
    experiment="[a-z][a-z0-9_]*",
    configuration="[a-z][a-z0-9_]*",
    first=r"\d+",
    last=r"\d+",


localrules:
    all,
    dataset,
    combine_shards,
    tables,


def all_configurations():
    """Every (experiment, configuration) pair of the config, in config order."""
    return [(e, c) for e in config["experiments"] for c in configurations(config, e)]


def dataset_path(experiment):
    return paths.dataset(config["experiments"][experiment]["task"])


def dataset_of(wildcards):
    return dataset_path(wildcards.experiment)


def shard_ranges(experiment, configuration):
    """The seeds of each training job of a configuration, seeds 0..seeds-1
    seeds_per_job at a time, as (first, last)."""
    n = resolve(config, experiment, configuration)["seeds"]
    size = default(config, "seeds_per_job")
    return [(a, min(a + size, n) - 1) for a in range(0, n, size)]


def one_job(experiment):
    """Whether every configuration of an experiment trains in one job (straight into
    all_seeds); otherwise all of them train in shards that are then combined."""
    return all(
        len(shard_ranges(experiment, c)) == 1
        for c in configurations(config, experiment)
    )


def experiments_regex(one_shard):
    """The experiments whose configurations train in one job (or in several), as a wildcard constraint."""
    names = [e for e in config["experiments"] if one_job(e) == one_shard]
    return "|".join(names) if names else "(?!)"


ONE_SHARD = experiments_regex(True)
MANY_SHARDS = experiments_regex(False)


def shard_dirs(wildcards):
    base = f"results/runs/{wildcards.experiment}/{wildcards.configuration}/shards"
    ranges = shard_ranges(wildcards.experiment, wildcards.configuration)
    return [f"{base}/seeds{a}-{b}" for a, b in ranges]


def timings_of(experiment, configuration):
    """When the training jobs of a configuration ran."""
    base = f"results/timing/{experiment}/{configuration}"
    if one_job(experiment):
        return [f"{base}/all_seeds.json"]
    ranges = shard_ranges(experiment, configuration)
    return [f"{base}/seeds{a}-{b}.json" for a, b in ranges]


def logging_parts(experiment):
    """What the logging job of an experiment reads for each of its configurations:
    the run directory and the training jobs' records of when they ran."""
    return {
        c: {"run": run_dir(experiment, c), "timings": timings_of(experiment, c)}
        for c in configurations(config, experiment)
    }


def training_priority(wildcards):
    """Train first the experiments with the most seeds to log. An experiment is
    logged in one job once all its configurations are trained, and logging jobs
    run one at a time (one store writer) beside the rest of the training, so the
    longest logging should start first. Between 1 and 2: below the logging jobs
    (10), above the readings map's cells (0), which fill the cores last."""

    def seeds(e):
        return sum(resolve(config, e, c)["seeds"] for c in configurations(config, e))

    return 1 + seeds(wildcards.experiment) / sum(map(seeds, config["experiments"]))


def settings_of(wildcards):
    """A shard's settings; without the seed count, so adding seeds leaves trained shards alone."""
    settings = resolve(config, wildcards.experiment, wildcards.configuration)
    return {k: v for k, v in settings.items() if k != "seeds"}


def tracking_markers():
    """Each configuration's logging marker, in its experiment's folder of markers."""
    return [f"results/tracking/{e}/{c}.json" for e, c in all_configurations()]


def tracking_dirs():
    """The logging jobs' outputs: one folder of markers per experiment."""
    return [f"results/tracking/{e}" for e in config["experiments"]]


def drop_stale_logging(outputs):
    """Before planning, drop each logging output whose runs the store no longer
    holds, so that its job logs them again. ``outputs`` maps each marker to the
    output it belongs to: the marker itself, or the folder of markers it is one of
    (a folder that lacks one of its markers is dropped too)."""
    drop = {}
    try:
        for marker, why in stale_markers(outputs).items():
            drop[str(marker)] = f"is stale ({why})"
    except TrackingError as error:
        print(f"MLflow: cannot check the logged runs: {error}", file=sys.stderr)
    for marker, output in outputs.items():
        if output != marker and os.path.isdir(output) and not os.path.isfile(marker):
            drop[marker] = "is missing"
    for marker, why in drop.items():
        print(f"MLflow: {marker} {why}; logging it again", file=sys.stderr)
        if outputs[marker] == marker:
            os.remove(marker)
        else:
            shutil.rmtree(outputs[marker], ignore_errors=True)


def locked_by_snakemake():
    """Paths a Snakemake process holds locked here (one still running, or killed
    without `snakemake --unlock`): its outputs may be half written."""
    held = set()
    for lock in Path(".snakemake/locks").glob("*.output.lock"):
        held.update(line.strip() for line in lock.read_text().splitlines())
    return held


def set_aside_damaged_runs():
    """Before Snakemake plans the run: every run directory this config asks for
    that is damaged (a file missing, truncated or changed since its manifest was
    written, or no manifest at all) moves to results/damaged/, so the job that
    made it, and only that job and what reads it, runs again (rule all asks for
    it: Snakemake does not remake a missing intermediate on its own). Nothing is
    deleted. Returns the directories set aside."""
    held, moved = locked_by_snakemake(), []
    for e, c in all_configurations():
        w = {"experiment": e, "configuration": c}
        dirs = [Path(d) for d in shard_dirs(SimpleNamespace(**w))] + [
            Path(run_dir(e, c))
        ]
        for directory in dirs:
            if not directory.exists():
                continue
            try:
                io.verify_manifest(directory, remedy="")
            except io.DamagedResult as damage:
                if str(directory.resolve()) in held:
                    print(f"damaged: {damage}; left in place: another snakemake holds it "
                          "(if none runs, `snakemake --unlock` first)", file=sys.stderr)  # fmt: skip
                    continue
                aside = io.set_aside(
                    directory,
                    Path("results/damaged") / directory.relative_to("results"),
                )
                print(f"damaged: {damage}; moved it to {aside}; the job that made it runs again",
                      file=sys.stderr)  # fmt: skip
                moved.append(str(directory))
    return moved


def set_aside_damaged_tables(tables):
    """Before Snakemake plans the run: each of the CSV files ``tables`` (the tables
    the workflow writes whole, in one atomic write) that is empty or cut
    short moves to results/damaged/, so the job that wrote it runs again (rule all
    asks for each of them). Nothing is deleted."""
    for table in map(Path, tables):
        if not table.is_file():
            continue
        try:
            io.check_table(table)
        except io.DamagedResult as damage:
            aside = io.set_aside(
                table, Path("results/damaged") / table.relative_to("results")
            )
            print(f"damaged: {damage}; moved it to {aside}; the job that wrote it runs again",
                  file=sys.stderr)  # fmt: skip


def repair_datasets():
    """Before Snakemake plans the run: each dataset CSV that is not the table its task
    defines (made from the settings alone) is set aside to results/damaged/ and
    written again in place, with its old time, so that nothing that read it reruns:
    training builds its cases from the settings, not from the CSV."""
    for task, experiment in FIRST_OF_TASK.items():
        path = Path(paths.dataset(task))
        if not path.is_file():
            continue
        want = io.csv_bytes(TASKS[task].frame(resolve(config, experiment)))
        if path.read_bytes() != want:
            times = path.stat()
            aside = io.set_aside(path, Path("results/damaged/data") / path.name)
            io.atomic_write_bytes(path, want)
            os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))
            print(f"damaged: {path} is not the dataset its task defines; moved it to {aside} and wrote "
                  "it again (nothing that read it reruns)", file=sys.stderr)  # fmt: skip


# A cluster job's own process leaves this to the main one.
DAMAGED_RUNS = set_aside_damaged_runs() if workflow.is_main_process else []
if workflow.is_main_process:
    repair_datasets()
