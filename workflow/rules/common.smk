# Validation and the helpers that turn the config into targets. The science
# lives in the backprop86 package; this only wires stages together.
from backprop86.config import (
    ConfigError,
    configurations,
    curve_every,
    default,
    resolve,
    validate,
)

from backprop86.tasks import TASKS

try:
    validate(config)
except ConfigError as error:
    raise WorkflowError(str(error)) from None

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


def run_dir(experiment, configuration):
    return f"results/runs/{experiment}/{configuration}/all_seeds"


def dataset_of(wildcards):
    return f"results/data/{config['experiments'][wildcards.experiment]['task']}.csv"


def shard_dirs(wildcards):
    """The shards of seeds 0..seeds-1, seeds_per_job at a time."""
    n = config["experiments"][wildcards.experiment]["seeds"]
    size = default(config, "seeds_per_job")
    base = f"results/runs/{wildcards.experiment}/{wildcards.configuration}/shards"
    return [f"{base}/seeds{a}-{min(a + size, n) - 1}" for a in range(0, n, size)]


def settings_of(wildcards):
    """A shard's settings; without the seed count, so adding seeds leaves trained shards alone."""
    settings = resolve(config, wildcards.experiment, wildcards.configuration)
    return {k: v for k, v in settings.items() if k != "seeds"}


def tracking_markers():
    return [f"results/tracking/{e}/{c}.json" for e, c in all_configurations()]


def config_section(experiment, configuration):
    """Where a configuration's settings live in config/config.yaml."""
    if configuration == "paper":
        return f"experiments.{experiment}.settings"
    return f"experiments.{experiment}.variants.{configuration}"


def figure_outputs(name, labels):
    """A figure's PNG (in Snakemake's report), its full-resolution SVG and its facts."""
    return dict(
        png=report(
            f"results/figures/{name}.png",
            caption=f"../report/{name}.rst",
            category="The paper's figures",
            labels=labels,
        ),
        svg=f"results/figures/{name}.svg",
        facts=f"results/figures/{name}.json",
    )
