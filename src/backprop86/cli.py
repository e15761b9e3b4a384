"""The ``backprop86`` command: write the paper's datasets and train experiments.

Every argument, path and size is checked before any training starts; an error
prints one line naming the problem and exits with status 2. Datasets and
experiments are named as in the config, in snake_case (``family_trees``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from .config import ConfigError

PROJECT_CONFIG = Path("config/config.yaml")  # the project's config, relative to its root


class UsageError(Exception):
    """A command-line argument that is not allowed."""


def version() -> str:
    try:
        return metadata.version("backprop86")
    except metadata.PackageNotFoundError:
        return "unknown"


# --- finding things ------------------------------------------------------------------------


def find_config(given: Path | None) -> Path:
    """``given``, or the project's config/config.yaml: in the current directory or
    one above it, else in the checkout this package runs from."""
    if given is not None:
        return given
    here = Path.cwd()
    candidates = [d / PROJECT_CONFIG for d in (here, *here.parents)]
    checkout = Path(__file__).resolve().parents[2]  # src/backprop86/cli.py in a checkout
    candidates.append(checkout / PROJECT_CONFIG)
    for path in candidates:
        if path.is_file():
            return path
    raise ConfigError(
        f"no config file given, and no {PROJECT_CONFIG} in {here}, any directory above it "
        f"or {checkout}; name one with --config FILE"
    )


def one_spelling(name: str, known, what: str) -> str:
    """``name`` if it is one of ``known``; else a one-line error with a hint."""
    if name in known:
        return name
    hint = ""
    if name.replace("-", "_") in known:
        hint = f"; names are spelled with _, as in the config: {name.replace('-', '_')!r}"
    raise UsageError(f"unknown {what} {name!r}{hint}; known: {', '.join(known)}")


def load_config(path: Path) -> dict:
    """The config at ``path``, read and checked exactly as the workflow reads and checks it."""
    from .config import load

    return load(path, check=check_report_names)


# --- checking paths before any work ---------------------------------------------------------


def _nearest_existing(path: Path) -> Path:
    for p in (path, *path.parents):
        if p.exists() or p.is_symlink():
            return p
    return Path(".")


def check_new_location(path: Path, option: str) -> None:
    """``path`` can be created: not a symbolic link (results are renamed into place,
    which a link would not follow), nothing but directories above it, and none of them a file."""
    if path.is_symlink():
        raise UsageError(f"{option} {path} is a symbolic link; name the directory itself, or a new one")
    above = _nearest_existing(path.parent if path.parent != path else path)
    if not above.is_dir():
        raise UsageError(f"{option} {path}: {above} is a file, not a directory")
    if not os.access(above, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: {above} is not writable")


def _make_parents(path: Path, option: str) -> list[Path]:
    """Create the missing directories above ``path``; return them, deepest first."""
    made = [p for p in path.parents if not p.exists()][::-1]
    try:
        for p in made:
            p.mkdir()
    except OSError as exc:
        _remove_dirs(made)
        raise UsageError(f"{option} {path}: cannot create {exc.filename}: {exc.strerror}") from None
    return made[::-1]


def _remove_dirs(dirs: list[Path]) -> None:
    for p in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
        try:
            p.rmdir()
        except OSError:
            pass


# --- data ----------------------------------------------------------------------------------


def dataset(task: str, config: dict | None = None):
    """The dataset of ``task`` as a table, made from the settings of the config's
    first experiment of that task (as the workflow does), else the schema's defaults."""
    from .config import resolve, setting_defaults
    from .tasks import task_module

    settings = {"task": task, **setting_defaults(task)}
    if config is not None:
        first = next((e for e, x in config["experiments"].items() if x["task"] == task), None)
        settings = resolve(config, first) if first is not None else settings
    return task_module(task).frame(settings)


def check_report_names(config: dict) -> None:
    """The names the report section uses (experiments, configurations, criteria), as
    :func:`backprop86.claims.report_settings` checks them, as a located config error."""
    from .claims import ReportConfigError, report_settings
    from .config import error_at

    try:
        report_settings(config)
    except ReportConfigError as error:
        raise error_at(str(error)) from None


def cmd_data(args: argparse.Namespace) -> None:
    from . import io
    from .tasks import TASKS

    task = one_spelling(args.dataset, list(TASKS), "dataset")
    out: Path = args.output
    if out.is_dir():
        raise UsageError(f"-o {out} is a directory; name the CSV file to write")
    check_new_location(out, "-o")
    config = None
    if TASKS[task].ITERATIVE:  # the net's size (units, steps: in the config) makes its cases
        config = load_config(find_config(args.config))
    frame = dataset(task, config)
    made = _make_parents(out, "-o")
    try:
        io.save_csv(out, frame)
    except OSError as exc:
        _remove_dirs(made)
        raise UsageError(f"-o {out}: cannot write: {exc.strerror}") from None
    print(f"{task}: {len(frame)} rows -> {out}")


# --- train ---------------------------------------------------------------------------------


def available_memory() -> int:
    """Bytes of memory available to a new process (MemAvailable, else all physical memory)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def cmd_train(args: argparse.Namespace) -> None:
    from .config import resolve, training_memory

    name = args.experiment
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; name a new directory for the results")
    if out.is_dir() and any(out.iterdir()):
        raise UsageError(
            f"--out {out} exists and is not empty; name a new directory (nothing is overwritten)"
        )
    check_new_location(out, "--out")
    config = load_config(find_config(args.config))
    if name not in config["experiments"]:
        one_spelling(name, list(config["experiments"]), "experiment")
    settings = resolve(config, name, args.configuration)
    n_seeds = args.seeds if args.seeds is not None else settings["seeds"]
    first = args.first_seed
    if first + n_seeds > 2**63:
        raise UsageError(f"--first-seed {first} --seeds {n_seeds}: seeds must stay below 2**63")
    (need, how), have = training_memory(settings, n_seeds), available_memory()
    if need > have:
        raise UsageError(
            f"{n_seeds} seeds of {name}/{args.configuration} need {need / 1e9:,.1f} GB ({how}), "
            f"more than the {have / 1e9:,.1f} GB of memory available; train fewer seeds at a time "
            "(--first-seed, --seeds)"
        )
    seeds = range(first, first + n_seeds)
    label = f"{name}/{args.configuration} seeds {seeds.start}..{seeds.stop - 1}"
    made = _make_parents(out, "--out")
    try:  # the results are written here, then renamed to --out whole
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp", dir=out.parent))
    except OSError as exc:
        _remove_dirs(made)
        raise UsageError(f"--out {out}: cannot write in {out.parent}: {exc.strerror}") from None
    print(f"training {label}, up to {settings['max_sweeps']} sweeps each -> {out}", flush=True)
    try:
        from .experiments import train_seeds

        run = train_seeds(settings, seeds, progress=label)
        run.write(tmp)
        if out.is_dir():
            out.rmdir()  # empty, checked above
        os.replace(tmp, out)  # the whole run appears at once, or not at all
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_dirs(made)
        raise
    summary = run.summary()
    learned = ", ".join(
        f"{c[len('sweeps_to_') :]}: {summary[c].notna().sum()}/{len(summary)} "
        f"(median {summary[c].median():.0f} sweeps)"
        if summary[c].notna().any()
        else f"{c[len('sweeps_to_') :]}: 0/{len(summary)}"
        for c in summary.columns
        if c.startswith("sweeps_to_")
    )
    print(f"{label} -> {out}; met {learned}")


def cmd_list(args: argparse.Namespace) -> None:
    from .config import configurations

    path = find_config(args.config)
    config = load_config(path)
    print(f"{path}:")
    for name, exp in config["experiments"].items():
        print(f"{name} ({exp['task']}, {exp['seeds']} seeds): {', '.join(configurations(config, name))}")


# --- arguments -----------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not the usage block
        raise UsageError(f"{message} (see {self.prog} --help)")


def _count(text: str, least: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of {what}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"{value} is below {least}")
    return value


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="backprop86", description=__doc__.split("\n\n")[0])
    p.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    config_help = f"config file (default: {PROJECT_CONFIG} of the project, found from the current directory)"

    d = sub.add_parser("data", help="write one of the paper's datasets as CSV")
    d.add_argument("dataset", help="a task, as the config names it (a module of backprop86.tasks)")
    d.add_argument("-o", "--output", type=Path, required=True, help="CSV file to write")
    d.add_argument("--config", type=Path, default=None, help=config_help + "; sizes the iterative nets")
    d.set_defaults(func=cmd_data)

    t = sub.add_parser("train", help="train seeds of a configured experiment")
    t.add_argument("experiment", help="an experiment named in the config")
    t.add_argument("--configuration", default="paper", help="'paper' or one of the experiment's variants")
    t.add_argument(
        "--seeds",
        type=lambda s: _count(s, 1, "seeds"),
        default=None,
        help="how many seeds (default: the config's)",
    )
    t.add_argument(
        "--first-seed",
        type=lambda s: _count(s, 0, "seeds"),
        default=0,
        help="train seeds first..first+N-1 (default: 0)",
    )
    t.add_argument("--out", type=Path, required=True, help="a new directory for the results")
    t.add_argument("--config", type=Path, default=None, help=config_help)
    t.set_defaults(func=cmd_train)

    ls = sub.add_parser("list", help="list the configured experiments and their configurations")
    ls.add_argument("--config", type=Path, default=None, help=config_help)
    ls.set_defaults(func=cmd_list)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        args.func(args)
    except (UsageError, ConfigError, OSError) as exc:
        text = str(exc).splitlines() or [type(exc).__name__]
        more = f" (and {len(text) - 1} more)" if len(text) > 1 else ""
        print(f"backprop86: error: {text[0]}{more}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("backprop86: interrupted; nothing was written", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
