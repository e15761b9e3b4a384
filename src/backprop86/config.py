"""The one validated configuration: read, check, and resolve each configuration.

A configuration is an experiment's paper settings with a variant's overrides.
The workflow and the ``backprop86`` command read config files through the same
loader (:func:`read`, :func:`load`, :func:`load_workflow`), which accepts plain
YAML only: no duplicate keys, no templating, a mapping at the top. Errors name
the file, line and column, the key and what is allowed, and are raised before
any job or training starts.

Validation admits only what can run: every number is finite, and every count
and budget is bounded, either by the schema (with the reason in its
description) or by the memory a job declares (:data:`JOB_MEM_MB`), computed
from the settings by :func:`training_memory` and :func:`job_memory`.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import math
import re
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

PAPER = "paper"  # the configuration name of an experiment's published settings

# The memory (in MB) a workflow job that holds a configuration's arrays declares
# to the scheduler; workflow/rules/train.smk reads these, and validation checks
# that every job's arrays fit in them.
JOB_MEM_MB = {"train_shard": 2000, "combine_shards": 2000}
# Copies of the error curves a job holds at its peak: the curves (a shard's, or
# the shards' read back), the combined array (combine) or the serialised .npy
# member, and the compressed archive being written.
CURVE_COPIES = 3
# Arrays of every unit's value per seed and case a training block holds at its
# peak: the activities y (eqs. 1-2), dE/dx (eq. 5), dE/dy (eqs. 4, 7), the error
# of the outputs and NumPy's temporaries. Measured with tracemalloc on shift
# registers: 4.3 to 4.8 such arrays (tests/test_config.py checks the bound).
ACTIVITY_COPIES = 6
# What a training process holds before any array: Python, NumPy and pandas (110 MB
# measured), with room to spare.
PROCESS_MB = 200
# Training jobs (shards of every configuration, cells of the readings map) one
# config may make: the DAG grows with every job; at this many Snakemake takes
# about a minute just to plan the run, and minutes above it.
MAX_SHARDS = 10_000
# A name repeated like this is taken by Snakemake for a runaway ("periodic")
# wildcard: a substring repeated 20 or more times at the end of the value.
_PERIODIC = re.compile(r"((?P<value>.+)(?P=value){19,99})$")


class ConfigError(ValueError):
    """A configuration value, or a config file, that is not allowed.

    ``errors`` holds ``(path, message)`` pairs; ``path`` is the key path within
    the config (a tuple) or ``None`` for the file as a whole.
    """

    def __init__(self, message: str, path: tuple | None = None, errors: list | None = None):
        self.errors = errors if errors is not None else [(path, message)]
        super().__init__("\n".join(m for _, m in self.errors))


# libyaml's parser where PyYAML has it (it keeps line and column marks too)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def schema() -> dict:
    """The configuration's JSON schema: every key, its bounds, and the defaults (not to be
    changed); the tasks and the settings only some of them take come from the task registry."""
    from .tasks import TASKS, setting_schemas

    text = resources.files("backprop86").joinpath("config.schema.yaml").read_text()
    out = yaml.load(text, Loader=_Loader)
    out["$defs"]["experiment"]["properties"]["task"]["enum"] = list(TASKS)
    out["$defs"]["settings"]["properties"].update(setting_schemas())
    return out


# JSON Schema counts 6.0 as an integer; a count written so would reach range()
# and array shapes as a float, so the config's integers are ints (bools are not).
_TYPES = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda checker, value: isinstance(value, int) and not isinstance(value, bool)
)
_Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=_TYPES)


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    return _Validator(schema())


def _where(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _fail(path: tuple, text: str) -> ConfigError:
    return ConfigError(f"config error at {_where(path)}: {text}", tuple(path))


# --- reading files -------------------------------------------------------------------------


def _mark(path: Path | str, mark) -> str:
    return f"{path}:{mark.line + 1}:{mark.column + 1}"


def _walk(node, path: tuple, marks: dict, file, walked: set | None = None) -> None:
    """Record where every key and item starts; reject a key given twice in one
    mapping, and a mapping or list met twice (a YAML alias, ``*name``, of an anchor:
    it can refer to itself, or multiply a small file into a huge config)."""
    walked = set() if walked is None else walked
    if id(node) in walked:  # (an alias of a plain value is only a copy of it, and harmless)
        raise ConfigError(
            f"{_mark(file, marks.get(path, node.start_mark))}: config error at {_where(path)}: YAML aliases "
            "(*name) of a mapping or list are not accepted; write the value out",
            path,
        )
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        walked.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key in seen:
                where = path + (key,)
                raise ConfigError(
                    f"{_mark(file, key_node.start_mark)}: config error at {_where(where)}: duplicate key "
                    f"{key!r} (first given on line {seen[key] + 1}); a YAML reader would silently keep only "
                    "the last one",
                    where,
                )
            seen[key] = key_node.start_mark.line
            marks[path + (key,)] = key_node.start_mark
            _walk(value_node, path + (key,), marks, file, walked)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            marks[path + (i,)] = item.start_mark
            _walk(item, path + (i,), marks, file, walked)


def read(path: str | Path) -> tuple[dict, dict]:
    """One config file as plain YAML: its mapping and where each key starts.

    Rejects a missing or unreadable file, a YAML syntax error (with its line and
    column), an empty or comment-only file, a top level that is not a mapping, a
    key given twice in one mapping and YTE templating (``__use_yte__``).
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file not found: {path}")
    if not path.is_file():
        raise ConfigError(f"config file {path} is not a file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: config file cannot be read: {exc}") from None
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _mark(path, mark) if mark is not None else str(path)
        problem = " ".join(x for x in (exc.context, exc.problem) if x)
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if node is None:
        raise ConfigError(
            f"{path}:1:1: config file is empty (or holds only comments); it must be a mapping "
            "with the key 'experiments'"
        )
    if not isinstance(node, yaml.MappingNode):
        kind = "a list" if isinstance(node, yaml.SequenceNode) else f"the scalar {node.value!r}"
        raise ConfigError(
            f"{_mark(path, node.start_mark)}: config file holds {kind}; it must be a mapping "
            "with the key 'experiments'"
        )
    marks: dict = {}
    _walk(node, (), marks, path)
    if ("__use_yte__",) in marks:
        raise ConfigError(
            f"{_mark(path, marks[('__use_yte__',)])}: config error at __use_yte__: YTE templating is "
            "not accepted; the config is plain YAML, and no code runs when it is read",
            ("__use_yte__",),
        )
    loader = yaml.SafeLoader("")  # constructs the composed nodes
    try:
        config = loader.construct_document(node)
    except yaml.constructor.ConstructorError as exc:
        raise ConfigError(f"{_mark(path, exc.problem_mark)}: not valid YAML: {exc.problem}") from None
    finally:
        loader.dispose()
    return config, {k: (path, m) for k, m in marks.items()}


def _located(error: ConfigError, marks: dict) -> ConfigError:
    """``error`` with each message prefixed by the file, line and column of its key."""
    out = []
    files = [file for file, _ in marks.values()]
    for path, message in error.errors:
        where = f"{files[0]}:1:1" if files and path == () else None
        if path is not None:
            for n in range(len(path), 0, -1):
                if tuple(path[:n]) in marks:
                    file, mark = marks[tuple(path[:n])]
                    where = _mark(file, mark)
                    break
        out.append((path, f"{where}: {message}" if where else message))
    return ConfigError("", errors=out)


def error_at(text: str) -> ConfigError:
    """A ``config error at <key>: ...`` message as a :class:`ConfigError` for that key."""
    found = re.match(r"config error at ([\w.]+): ", text)
    path = tuple(int(p) if p.isdigit() else p for p in found[1].split(".")) if found else None
    return ConfigError(text, path)


def _checked(config: dict, marks: dict, check) -> dict:
    try:
        validate(config)
        if check is not None:
            check(config)
    except ConfigError as error:
        raise _located(error, marks) from None
    return config


def load(path: str | Path, check=None) -> dict:
    """Read and validate one config file (the ``backprop86`` command's config);
    ``check(config)`` may raise a further :class:`ConfigError`, located like the rest."""
    config, marks = read(path)
    return _checked(config, marks, check)


def merge(base: dict, update: dict) -> dict:
    """Snakemake's rule for config files: mappings merge key by key, anything else is replaced."""
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def load_workflow(
    default: str | Path,
    configfiles=(),
    overrides: dict | None = None,
    replace: bool = False,
    check=None,
) -> dict:
    """The workflow's config, merged as Snakemake merges it, every file read by :func:`read`.

    ``default`` (config/config.yaml), then each ``--configfile`` in order, then
    ``--config KEY=VALUE`` (``overrides``) merge over one another: mappings key by
    key, anything else replaced. ``replace`` (``--replace-workflow-config``)
    leaves ``default`` out. ``check`` as for :func:`load`.
    """
    config: dict = {}
    marks: dict = {}
    files = ([] if replace and configfiles else [default]) + [Path(f) for f in configfiles]
    for f in files:
        part, where = read(f)
        merge(config, part)
        marks.update(where)
    merge(config, overrides or {})
    return _checked(config, marks, check)


# --- validation ----------------------------------------------------------------------------


def _explain(err: jsonschema.ValidationError) -> ConfigError:
    path = tuple(err.absolute_path)
    allowed = err.schema.get("description") if isinstance(err.schema, dict) else None
    if err.validator == "additionalProperties":
        known = sorted(err.schema.get("properties", {}))
        extra = [k for k in err.instance if k not in known]
        error = _fail(path, f"{err.message}; allowed keys: {', '.join(known) or '(none)'}")
        error.errors = [(path + tuple(extra[:1]), m) for _, m in error.errors]  # located at the key
        return error
    if err.validator == "required":
        return _fail(path, f"{err.message}; keys: {', '.join(err.schema.get('properties', {}))}")
    if "propertyNames" in err.schema_path:  # the name itself is at fault: name it, shortened
        name = str(err.instance)
        shown = name if len(name) <= 40 else f"{name[:20]}...{name[-8:]}"
        if err.validator == "not":
            text = f"{name!r} is the name of the published settings; give the variant another name"
        else:
            rule = schema()["$defs"]["name"]["description"]
            text = f"{shown!r} ({len(name)} characters) is not an allowed name: {rule}"
        return ConfigError(f"config error at {_where(path + (shown,))}: {text}", path + (name,))
    parent = err.parent.schema if err.parent is not None else None
    if allowed is None and isinstance(parent, dict):
        allowed = parent.get("description")
    return _fail(path, err.message + (f" ({allowed})" if allowed else ""))


def _non_finite(node, path=()):
    """Every NaN or infinite number in the config, with its path."""
    if isinstance(node, float) and not math.isfinite(node):
        yield path, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _non_finite(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _non_finite(v, path + (i,))


def validate(config: dict) -> dict:
    """Check ``config`` against the schema, the tasks' facts and the jobs' memory; return it."""
    if not isinstance(config, dict):
        raise ConfigError("the config must be a mapping with the key 'experiments'")
    errors = [_fail(p, f"{v!r} is not a finite number") for p, v in _non_finite(config)]
    validator = _validator()
    reported = {p for e in errors for p, _ in e.errors}
    for e in sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path]):
        if tuple(e.absolute_path) not in reported:  # a NaN also fails its bounds: say it once
            errors.append(_explain(e))
    if errors:
        raise ConfigError("", errors=[pair for e in errors for pair in e.errors])
    for name in config["experiments"]:
        for cfg in configurations(config, name):
            _check_name(name, cfg)
            settings = resolve(config, name, cfg)
            _check_semantics(name, cfg, settings)
            _check_memory(config, name, cfg, settings)
    _check_report(config)
    if "readings_map" in config:
        _check_readings_map(config)
    _check_jobs(config)
    return config


def _check_jobs(config: dict) -> None:
    """All the training jobs together stay within :data:`MAX_SHARDS`."""
    per_job = default(config, "seeds_per_job")
    shards = sum(
        -(-resolve(config, e, c)["seeds"] // per_job)
        for e in config["experiments"]
        for c in configurations(config, e)
    )
    cells = (
        math.prod(len(v) for v in config["readings_map"]["grid"].values()) if "readings_map" in config else 0
    )
    if shards + cells > MAX_SHARDS:
        where = ("readings_map", "grid") if cells > shards else ("experiments",)
        raise _fail(
            where,
            f"this config makes {shards + cells:,} training jobs ({shards:,} shards of its configurations, "
            f"{cells:,} cells of the readings map), more than the {MAX_SHARDS:,} Snakemake can plan in "
            "reasonable time; fewer variants, seeds or grid values, or a larger seeds_per_job",
        )


def _settings_path(exp: str, cfg: str) -> tuple:
    return ("experiments", exp) + (("settings",) if cfg == PAPER else ("variants", cfg))


def _check_name(exp: str, cfg: str) -> None:
    for path, name in ((("experiments", exp), exp), (_settings_path(exp, cfg), cfg)):
        if _PERIODIC.search(name):
            raise _fail(
                path,
                f"{name!r} ends in one piece repeated 20 or more times, which Snakemake takes for a "
                "runaway wildcard; choose a name that does not",
            )


def job_memory(n_seeds: int, max_sweeps: int) -> int:
    """Bytes a job holding the error curves of ``n_seeds`` seeds needs at its peak:
    :data:`CURVE_COPIES` copies of the ``(n_seeds, max_sweeps + 1)`` float64 array."""
    return CURVE_COPIES * n_seeds * (max_sweeps + 1) * 8


def _curves_text(n_seeds: int, max_sweeps: int) -> str:
    """What :func:`job_memory` counts, for a message."""
    return f"{CURVE_COPIES} copies of the error curves: {n_seeds} seeds x {max_sweeps + 1} sweeps x 8 bytes"


def block_memory(settings: dict, n_seeds: int) -> tuple[int, str]:
    """Bytes one block of training seeds (at most ``learning.SEEDS_PER_BLOCK`` of
    ``n_seeds``) holds at once, and how: :data:`ACTIVITY_COPIES` arrays of every
    unit's value for every case, per seed (the task's ``size``)."""
    from .learning import SEEDS_PER_BLOCK
    from .tasks import task_module

    cases, units = task_module(settings["task"]).size(settings)
    block = min(n_seeds, SEEDS_PER_BLOCK)
    how = f"{ACTIVITY_COPIES} arrays of {block} seeds x {cases:,} cases x {units:,} units x 8 bytes"
    return ACTIVITY_COPIES * block * cases * units * 8, how


def training_memory(settings: dict, n_seeds: int) -> tuple[int, str]:
    """Bytes a job training ``n_seeds`` seeds needs at its peak, and how: the error curves and one block's activities."""
    curves = job_memory(n_seeds, settings["max_sweeps"])
    block, how = block_memory(settings, n_seeds)
    return PROCESS_MB * 1_000_000 + curves + block, (
        f"{_curves_text(n_seeds, settings['max_sweeps'])}; {how}; and {PROCESS_MB} MB for the process itself"
    )


def _check_memory(config: dict, exp: str, cfg: str, s: dict) -> None:
    own = _node(config, _settings_path(exp, cfg))
    seeds_at = _settings_path(exp, cfg) + ("seeds",) if "seeds" in own else ("experiments", exp, "seeds")
    n = s["seeds"]
    per_job = min(default(config, "seeds_per_job"), n)
    shards = -(-n // per_job)
    if shards > MAX_SHARDS:
        raise _fail(
            seeds_at,
            f"{n} seeds in shards of {per_job} (seeds_per_job) make {shards} jobs per configuration, "
            f"more than the {MAX_SHARDS} Snakemake can plan in reasonable time; raise seeds_per_job "
            "or train fewer seeds",
        )

    def set_at(key: str) -> tuple:  # where this configuration's value of ``key`` is written
        return (_settings_path(exp, cfg) if key in own else _settings_path(exp, PAPER)) + (key,)

    train = training_memory(s, per_job)
    # when one block's activities, not the curves, fill the job, the net's size is the key to name
    net = next((k for k in ("units", "hidden") if k in s), None)
    too_big = net is not None and block_memory(s, per_job)[0] > job_memory(per_job, s["max_sweeps"])
    curves = job_memory(n, s["max_sweeps"]), _curves_text(n, s["max_sweeps"])
    for job, (need, how), path, fix in (
        (
            "train_shard",
            train,
            set_at(net) if too_big else set_at("max_sweeps"),
            "lower max_sweeps or seeds_per_job, or a smaller net",
        ),
        ("combine_shards", curves, seeds_at, "train fewer seeds or lower max_sweeps"),
    ):
        if need > JOB_MEM_MB[job] * 1_000_000:
            raise _fail(
                path,
                f"{exp}/{cfg} needs {need / 1e6:,.0f} MB in one {job} job ({how}), more than "
                f"the {JOB_MEM_MB[job]:,} MB (mem_mb) that job declares; {fix}",
            )


def _node(config: dict, path: tuple):
    for k in path:
        config = config[k]
    return config


def map_settings(config: dict) -> dict:
    """The config's ``readings_map:`` section with the schema's defaults filled in."""
    return {**defaults_of(schema()["properties"]["readings_map"]), **config["readings_map"]}


def _check_readings_map(config: dict) -> None:
    """The readings map varies a family-tree experiment, judges by one of its
    criteria, and each cell's job fits the memory it declares."""
    rm = map_settings(config)
    exp = config["experiments"].get(rm["experiment"])
    if exp is None or exp["task"] != "family_trees":
        raise _fail(
            ("readings_map", "experiment"),
            f"{rm['experiment']!r} is not a family_trees experiment; configured: {', '.join(config['experiments'])}",
        )
    criteria = resolve(config, rm["experiment"])["criteria"]
    if rm["criterion"] not in criteria:
        raise _fail(
            ("readings_map", "criterion"),
            f"{rm['criterion']!r} is not a criterion of {rm['experiment']}; allowed: {', '.join(criteria)}",
        )
    need, how = training_memory(
        {**resolve(config, rm["experiment"]), "max_sweeps": rm["max_sweeps"]}, rm["seeds"]
    )
    if need > JOB_MEM_MB["train_shard"] * 1_000_000:
        raise _fail(
            ("readings_map", "max_sweeps"),
            f"a cell needs {need / 1e6:,.0f} MB in its train_map_cell job ({how}), more than the "
            f"{JOB_MEM_MB['train_shard']:,} MB (mem_mb) it declares; lower seeds or max_sweeps",
        )


def task_settings() -> dict[str, tuple[str, ...]]:
    """For each task, the settings only it takes."""
    from .tasks import TASKS

    return {name: tuple(module.SETTINGS) for name, module in TASKS.items()}


def _check_semantics(exp: str, cfg: str, s: dict) -> None:
    from .tasks import SettingError, task_module

    path = _settings_path(exp, cfg)
    starts = [p["start_sweep"] for p in s["schedule"]]
    bad = next((k for k, a in enumerate(starts) if (a != 1 if k == 0 else a <= starts[k - 1])), None)
    if bad is not None:
        raise _fail(
            path + ("schedule", bad, "start_sweep"),
            f"start_sweep values {starts} must begin at 1 and increase",
        )
    if starts[-1] > s["max_sweeps"]:
        raise _fail(
            path + ("schedule", len(starts) - 1, "start_sweep"),
            f"{starts[-1]} is beyond max_sweeps ({s['max_sweeps']}): that phase would never start",
        )
    if s["stop_at"] is not None and s["stop_at"] not in s["criteria"]:
        raise _fail(
            path + ("stop_at",),
            f"{s['stop_at']!r} is not a criterion; allowed: null or one of {sorted(s['criteria'])}",
        )
    task, own = s["task"], task_settings()
    for other, keys in own.items():
        for key in keys:
            if other != task and key not in own[task] and key in s:
                takes = [t for t, k in own.items() if key in k]
                raise _fail(path + (key,), f"only the {' and '.join(takes)} task(s) take {key}")
    for key in own[task]:
        if key not in s:
            raise _fail(path + (key,), f"the {task} task needs {key} (no default)")
    check = getattr(task_module(task), "check", None)
    try:
        if check is not None:
            check(s)
    except SettingError as error:
        key = error.key if isinstance(error.key, tuple) else (error.key,)
        raise _fail(path + key, str(error)) from None


def held_out_count(settings: dict) -> int:
    """How many questions each seed of a family-tree configuration holds out."""
    return len(settings["held_out"]) if settings.get("held_out") is not None else settings["n_held_out"]


def report_section(config: dict) -> dict:
    """The config's ``report:`` section over the schema's defaults (two levels deep)."""
    out = defaults_of(schema()["properties"]["report"])
    for key, value in (config.get("report") or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {
                **out[key],
                **{k: ({**out[key].get(k, {}), **v} if isinstance(v, dict) else v) for k, v in value.items()},
            }
        else:
            out[key] = value
    return out


def _check_report(config: dict) -> None:
    """The report's numbers against each other and the experiments: bands ordered,
    held-out counts at most the questions held out. (Its names, and the claims' rules
    under ``report.claims``, are checked by :func:`backprop86.claims.report_settings`,
    which the workflow calls.)"""
    report = report_section(config)
    v = report["verdicts"]
    r_low, r_high = v["sweeps"]["reproduced_quantiles"]
    p_low, p_high = v["sweeps"]["partly_quantiles"]
    base = ("report", "verdicts", "sweeps")
    for key, (low, high) in (
        ("reproduced_quantiles", (r_low, r_high)),
        ("partly_quantiles", (p_low, p_high)),
    ):
        if low > high:
            raise _fail(base + (key,), f"[{low}, {high}] is reversed; a band is [low, high] with low <= high")
    if not p_low <= r_low <= r_high <= p_high:
        raise _fail(
            base + ("partly_quantiles",),
            f"[{p_low}, {p_high}] must contain reproduced_quantiles [{r_low}, {r_high}]: a claim "
            "that reproduces also partly reproduces",
        )
    if v["share"]["partly"] > v["share"]["reproduced"]:
        raise _fail(
            ("report", "verdicts", "share", "partly"),
            f"{v['share']['partly']} is above share.reproduced ({v['share']['reproduced']}); "
            "partly must be the lower bar",
        )
    ft = report.get("family_trees") or {}
    exp = ft.get("experiment") or next(
        (e for e, x in config["experiments"].items() if x["task"] == "family_trees"), None
    )
    if exp is None or config["experiments"].get(exp, {}).get("task") != "family_trees":
        return  # no family trees to report on (a wrong name is claims.report_settings' to name)
    known = configurations(config, exp)
    held = [held_out_count(resolve(config, exp, c)) for c in (ft["main"], ft["trained"]) if c in known]
    if not held:
        return
    total = min(held)
    for k, n in enumerate(report["paper"]["heldout_correct"]):
        if n > total:
            raise _fail(
                ("report", "paper", "heldout_correct", k),
                f"{n} right is more than the {total} questions {exp} holds out per seed",
            )


def configurations(config: dict, experiment: str) -> list[str]:
    """The configuration names of an experiment: ``paper`` then its variants."""
    return [PAPER, *config["experiments"][experiment].get("variants", {})]


def resolve(config: dict, experiment: str, configuration: str = PAPER) -> dict:
    """Every setting of one configuration, resolved (task and seeds included)."""
    if experiment not in config["experiments"]:
        raise ConfigError(
            f"unknown experiment {experiment!r}; configured: {', '.join(config['experiments'])}"
        )
    exp = config["experiments"][experiment]
    variants = exp.get("variants", {})
    if configuration != PAPER and configuration not in variants:
        raise ConfigError(
            f"unknown configuration {configuration!r} of {experiment}; "
            f"configured: {', '.join(configurations(config, experiment))}"
        )
    settings = copy.deepcopy(exp["settings"])
    if configuration != PAPER:
        settings.update(copy.deepcopy(variants[configuration]))
    return {"task": exp["task"], "seeds": exp["seeds"], **setting_defaults(exp["task"]), **settings}


def setting_defaults(task: str) -> dict:
    """The schema's defaults of the settings ``task`` takes."""
    properties = schema()["$defs"]["settings"]["properties"]
    own = task_settings()
    others = {k for keys in own.values() for k in keys} - set(own[task])
    return {k: v["default"] for k, v in properties.items() if "default" in v and k not in others}


def defaults_of(node: dict) -> dict:
    """The ``default`` values a schema object declares for its properties, nested."""
    out = {}
    for key, prop in node.get("properties", {}).items():
        if "default" in prop:
            out[key] = prop["default"]
        elif "properties" in prop:
            out[key] = defaults_of(prop)
    return out


def default(config: dict, key: str):
    """A top-level setting of ``config``, or the schema's default for it."""
    return config.get(key, schema()["properties"][key].get("default"))


def config_hash(settings: dict) -> str:
    """A short, stable hash of resolved settings (the seed count left out)."""
    body = {k: v for k, v in settings.items() if k != "seeds"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
