"""Where the workflow keeps its results, relative to the project root: one place for each path."""


def run_dir(experiment: str, configuration: str) -> str:
    """A configuration's trained seeds, all of them (``experiments.Run`` on disk)."""
    return f"results/runs/{experiment}/{configuration}/all_seeds"


def dataset(task: str) -> str:
    """A task's dataset table (``frame(settings)`` of its module)."""
    return f"results/data/{task}.csv"


READINGS_MAP_TABLE = "results/tables/readings_map.csv"
