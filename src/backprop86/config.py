"""The one validated configuration: load, check, and resolve each configuration.

A configuration is an experiment's paper settings with a variant's overrides.
Errors name the key and what is allowed, and are raised before any training.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

PAPER = "paper"  # the configuration name of an experiment's published settings


class ConfigError(ValueError):
    """A configuration value that is not allowed."""


@functools.cache
def schema() -> dict:
    """The configuration's JSON schema: every key, its bounds, and the defaults (not to be changed)."""
    return yaml.safe_load(resources.files("backprop86").joinpath("config.schema.yaml").read_text())


def _where(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _explain(err: jsonschema.ValidationError) -> str:
    where = _where(err.absolute_path)
    allowed = err.schema.get("description") if isinstance(err.schema, dict) else None
    if err.validator == "additionalProperties":
        known = sorted(err.schema.get("properties", {}))
        return f"config error at {where}: {err.message}; allowed keys: {', '.join(known)}"
    msg = f"config error at {where}: {err.message}"
    parent = err.parent.schema if err.parent is not None else None
    if allowed is None and isinstance(parent, dict):
        allowed = parent.get("description")
    return msg + (f" ({allowed})" if allowed else "")


def validate(config: dict) -> dict:
    """Check ``config`` against the schema and the tasks' facts; return it."""
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError("\n".join(_explain(e) for e in errors))
    for name in config["experiments"]:
        for cfg in configurations(config, name):
            _check_semantics(name, cfg, resolve(config, name, cfg))
    return config


def task_settings() -> dict[str, tuple[str, ...]]:
    """For each task, the settings only it takes."""
    from .tasks import TASKS

    return {name: module.SETTINGS for name, module in TASKS.items()}


def _check_semantics(exp: str, cfg: str, s: dict) -> None:
    where = f"experiments.{exp}." + ("settings" if cfg == PAPER else f"variants.{cfg}")
    starts = [p["start_sweep"] for p in s["schedule"]]
    if starts[0] != 1 or starts != sorted(set(starts)):
        raise ConfigError(
            f"config error at {where}.schedule: start_sweep values {starts} must begin at 1 and increase"
        )
    if s["stop_at"] is not None and s["stop_at"] not in s["criteria"]:
        raise ConfigError(
            f"config error at {where}.stop_at: {s['stop_at']!r} is not a criterion; "
            f"allowed: null or one of {sorted(s['criteria'])}"
        )
    task, own = s["task"], task_settings()
    for other, keys in own.items():
        for key in keys:
            if other != task and key not in own[task] and key in s:
                takes = [t for t, k in own.items() if key in k]
                raise ConfigError(
                    f"config error at {where}.{key}: only the {' and '.join(takes)} task(s) take {key}"
                )
    for key in own[task]:
        if key not in s:
            raise ConfigError(f"config error at {where}.{key}: the {task} task needs {key} (no default)")
    if task == "sequence_completion" and s["units"] < 3:
        raise ConfigError(
            f"config error at {where}.units: {s['units']} is too few; the sequence net's first 3 units are its outputs"
        )
    if task == "family_trees":
        from .tasks.family_trees import FamilyTrees

        ft = FamilyTrees()
        for k, (person, rel) in enumerate(s["held_out"] or []):
            if (person, rel) not in ft.questions:
                raise ConfigError(
                    f"config error at {where}.held_out.{k}: [{person}, {rel}] is not one of the "
                    f"{len(ft.questions)} questions (a person of the trees and a relationship they have)"
                )
        if s["n_held_out"] >= len(ft.questions):
            raise ConfigError(f"config error at {where}.n_held_out: must be below {len(ft.questions)}")


def load(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    with path.open() as fh:
        try:
            config = yaml.safe_load(fh)
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"config file {path} must hold a mapping with the key 'experiments'")
    return validate(config)


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


def curve_every(config: dict, configuration: str) -> int:
    """How often (in sweeps) the learning curve of a configuration is logged to MLflow."""
    which = "paper" if configuration == PAPER else "variants"
    every = config.get("tracking", {}).get("curve_every", {})
    return every.get(
        which, schema()["properties"]["tracking"]["properties"]["curve_every"]["properties"][which]["default"]
    )


def config_hash(settings: dict) -> str:
    """A short, stable hash of resolved settings (the seed count left out)."""
    body = {k: v for k, v in settings.items() if k != "seeds"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
