"""The ``backprop86`` command: write the paper's datasets and train experiments."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import io
from .config import ConfigError, configurations, load, resolve
from .tasks import family_trees, symmetry

DEFAULT_CONFIG = Path("config/config.yaml")


DATASETS = {"symmetry": symmetry.frame, "family-trees": family_trees.frame}


def cmd_data(args: argparse.Namespace) -> None:
    io.save_csv(args.output, DATASETS[args.dataset]())


def cmd_train(args: argparse.Namespace) -> None:
    from .experiments import train_seeds

    config = load(args.config)
    settings = resolve(config, args.experiment, args.configuration)
    n_seeds = args.seeds if args.seeds is not None else settings["seeds"]
    if n_seeds < 1:
        raise ConfigError(f"--seeds must be at least 1, got {n_seeds}")
    seeds = range(args.first_seed, args.first_seed + n_seeds)
    label = f"{args.experiment}/{args.configuration} seeds {seeds.start}..{seeds.stop - 1}"
    run = train_seeds(settings, seeds, progress=label)
    run.write(args.out)
    summary = run.summary()
    learned = ", ".join(
        f"{c[len('sweeps_to_') :]}: {summary[c].notna().sum()}/{len(summary)} "
        f"(median {summary[c].median():.0f} sweeps)"
        if summary[c].notna().any()
        else f"{c[len('sweeps_to_') :]}: 0/{len(summary)}"
        for c in summary.columns
        if c.startswith("sweeps_to_")
    )
    print(
        f"{args.experiment}/{args.configuration}: seeds {seeds.start}..{seeds.stop - 1} -> {args.out}; met {learned}"
    )


def cmd_list(args: argparse.Namespace) -> None:
    config = load(args.config)
    for name, exp in config["experiments"].items():
        print(f"{name} ({exp['task']}, {exp['seeds']} seeds): {', '.join(configurations(config, name))}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="backprop86", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("data", help="write one of the paper's datasets as CSV")
    d.add_argument("dataset", choices=sorted(DATASETS))
    d.add_argument("-o", "--output", type=Path, required=True, help="CSV file to write")
    d.set_defaults(func=cmd_data)

    t = sub.add_parser("train", help="train seeds of a configured experiment")
    t.add_argument("experiment", help="an experiment named in the config")
    t.add_argument("--configuration", default="paper", help="'paper' or one of the experiment's variants")
    t.add_argument("--seeds", type=int, default=None, help="how many seeds (default: the config's)")
    t.add_argument("--first-seed", type=int, default=0, help="train seeds first..first+N-1")
    t.add_argument("--out", type=Path, required=True, help="directory for the results")
    t.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="config file (default: %(default)s)")
    t.set_defaults(func=cmd_train)

    ls = sub.add_parser("list", help="list the configured experiments and their configurations")
    ls.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    ls.set_defaults(func=cmd_list)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except (ConfigError, FileNotFoundError) as exc:
        print(f"backprop86: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
