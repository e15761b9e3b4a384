"""Bad configs stop before any work, naming the file, line, column and key.

The table of bad values is generated from the schema: for every key of the
shipped config (and every property the schema allows beside them), NaN, inf,
a negative number, zero, a huge number, a wrong type, a string, null and an
unknown sibling key, wherever the schema says the value is not allowed. Each
goes through the package's loader in-process; a representative subset goes
through real ``snakemake -n``, which must stop before any job and write nothing,
with the same message the ``backprop86`` command gives for the same file.
"""

import copy
import math
import re
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, copy_project, snakemake

from backprop86.cli import load_config, main
from backprop86.config import ConfigError, load, load_workflow, schema, validate

BASE = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
SCHEMA = schema()
HUGE = 10**12


def _resolve(node):
    while isinstance(node, dict) and "$ref" in node:
        rest = {k: v for k, v in node.items() if k != "$ref"}
        node = {**SCHEMA["$defs"][node["$ref"].split("/")[-1]], **rest}
    return node


def _types(s) -> set:
    t = s.get("type", [])
    types = set([t] if isinstance(t, str) else t)
    if "enum" in s:
        types |= {type(v).__name__.replace("str", "string") for v in s["enum"]}
    return types


def _numeric(s) -> bool:
    return bool(_types(s) & {"integer", "number"})


def _allows(s, value) -> bool:
    """Whether the schema node's own type and bounds could allow ``value`` (never NaN or inf)."""
    types = _types(s)
    if value is None:
        return "null" in types
    if isinstance(value, str):
        return "string" in types and "enum" not in s
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not (types & {"integer", "number"}):
            return False
        lo = s.get("minimum", s.get("exclusiveMinimum", -math.inf))
        strict = "exclusiveMinimum" in s
        return value > lo if strict else value >= lo
    return False


def _mutations(s):
    """(label, value) pairs the schema node ``s`` does not allow."""
    out = [("nan", math.nan), ("inf", math.inf)]
    for label, value in (("negative", -1), ("zero", 0), ("string", "ten"), ("null", None)):
        if not _allows(s, value):
            out.append((label, value))
    out.append(("huge", HUGE))  # every count and budget has an upper bound
    out.append(("wrong type", {"a": 1} if "array" in _types(s) else [1]))
    if _types(s) == {"integer"}:  # a count written as a float, e.g. 6.0, would reach range() and shapes
        whole = max(2, int(s.get("minimum", s.get("exclusiveMinimum", 0))) + 1)
        out.append(("whole float", float(whole)))
    return out


def _cases():
    """(id, edit-path, value or SIBLING) for every key, deduplicated by schema location."""
    cases, seen = [], set()

    def key_cases(path, s, where):
        s = _resolve(s)
        if where not in seen:
            seen.add(where)
            for label, value in _mutations(s):
                cases.append((f"{'.'.join(map(str, path))}={label}", path, value))
        return s

    def walk(s, value, path, where):
        s = _resolve(s)
        if "properties" in s:
            for key, child in s["properties"].items():
                cs = key_cases(path + (key,), child, f"{where}/{key}")
                sub = value.get(key) if isinstance(value, dict) else None
                if isinstance(sub, (dict, list)):
                    walk(cs, sub, path + (key,), f"{where}/{key}")
            if f"{where}/+" not in seen:
                seen.add(f"{where}/+")
                cases.append((f"{'.'.join(map(str, path)) or 'top'}+unknown", path, "SIBLING"))
        elif isinstance(s.get("additionalProperties"), dict) and isinstance(value, dict):
            for key, sub in value.items():
                cs = key_cases(path + (key,), s["additionalProperties"], f"{where}/*")
                if isinstance(sub, (dict, list)):
                    walk(cs, sub, path + (key,), f"{where}/*")
        elif "items" in s and isinstance(value, list) and value:
            cs = key_cases(path + (0,), s["items"], f"{where}/0")
            if isinstance(value[0], (dict, list)):
                walk(cs, value[0], path + (0,), f"{where}/0")

    walk(SCHEMA, BASE, (), "")
    return cases


CASES = _cases()


def _apply(path, value):
    config = copy.deepcopy(BASE)
    node = config
    for k in path[:-1] if value != "SIBLING" else path:
        node = node.setdefault(k, {}) if isinstance(node, dict) else node[k]
    if value == "SIBLING":
        node["unknown_key"] = 1
    else:
        node[path[-1]] = value
    return config


def _where(path):
    return ".".join(map(str, path))


def test_the_table_is_large_and_covers_every_kind_of_value():
    assert len(CASES) >= 150, len(CASES)
    labels = {c[0].rsplit("=", 1)[-1] for c in CASES if "=" in c[0]}
    assert {"nan", "inf", "negative", "zero", "huge", "wrong type", "string", "null", "whole float"} <= labels
    keys = {_where(p) for _, p, _ in CASES}
    for key in (
        "seeds_per_job",
        "experiments.symmetry.seeds",
        "experiments.symmetry.settings.max_sweeps",
        "experiments.symmetry.settings.schedule.0.epsilon",
        "report.verdicts.sweeps.reproduced_quantiles.0",
        "report.paper.heldout_correct.0",
        "tracking.curve_points",
    ):
        assert key in keys, key


@pytest.mark.parametrize(("case", "path", "value"), CASES, ids=[c[0] for c in CASES])
def test_bad_value_is_rejected_naming_file_line_and_key(tmp_path, case, path, value):
    config = _apply(path, value)
    file = tmp_path / "config.yaml"
    file.write_text(yaml.safe_dump(config, sort_keys=False))
    with pytest.raises(ConfigError) as err:
        load_config(file)  # the package's loader with the report's name checks, as the workflow loads
    message = str(err.value)
    assert re.match(rf"{re.escape(str(file))}:\d+:\d+: config error at ", message), message
    if value == "SIBLING":
        assert f"config error at {_where(path) or '(top level)'}" in message and "unknown_key" in message
    else:
        assert f"config error at {_where(path)}" in message, message
    if case.endswith("=whole float"):  # refused as a float, not for some other reason
        assert "is not of type 'integer'" in message, message
    assert list(tmp_path.iterdir()) == [file], "nothing written"


# The file as a whole: (name, text, what the message must say).
ORIGINAL = (ROOT / "config" / "config.yaml").read_text()
DUPLICATE = ORIGINAL.replace(
    "    variants:\n      # Local",
    "    variants:\n      hidden_9: {hidden: 9}\n    variants:\n      # Local",
    1,
)
# Eight levels of ten aliases each: 10**8 values once expanded.
BOMB = "bomb:\n  l0: &l0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
    f"  l{k}: &l{k} [{', '.join([f'*l{k - 1}'] * 10)}]\n" for k in range(1, 9)
)
FILE_CASES = [
    ("empty", "", ":1:1: config file is empty"),
    ("comments only", "# nothing here\n", ":1:1: config file is empty"),
    ("scalar", "42\n", ":1:1: config file holds the scalar '42'"),
    ("list", "- symmetry\n- family_trees\n", ":1:1: config file holds a list"),
    ("syntax error", "experiments:\n  symmetry: [1,\n  family_trees: 2\n", ":4:1: not valid YAML"),
    ("tab indentation", "experiments:\n\tsymmetry: {}\n", ":2:1: not valid YAML"),
    ("two documents", "experiments: {}\n---\nexperiments: {}\n", ":2:1: not valid YAML"),
    (
        "duplicate variants",
        DUPLICATE,
        "config error at experiments.symmetry.variants: duplicate key 'variants'",
    ),
    (
        "duplicate top-level key",
        ORIGINAL + "seeds_per_job: 5\n",
        "config error at seeds_per_job: duplicate key",
    ),
    (
        "yte",
        "__use_yte__: true\n" + ORIGINAL,
        ":1:1: config error at __use_yte__: YTE templating is not accepted",
    ),
    ("yte in the middle", ORIGINAL + "__use_yte__: false\n", "config error at __use_yte__"),
    ("no experiments", "seeds_per_job: 3\n", "'experiments' is a required property"),
    ("unknown top-level key", ORIGINAL + "learning_rate: 0.1\n", "('learning_rate' was unexpected)"),
    ("not UTF-8", b"experiments: {\xff}\n", "cannot be read"),
    ("alias to itself", ORIGINAL + "loop: &t {inner: [*t]}\n", "YAML aliases (*name) of a mapping or list"),
    ("alias bomb", ORIGINAL + BOMB, "YAML aliases (*name) of a mapping or list"),
]


@pytest.mark.parametrize(("name", "text", "message"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_bad_file_is_rejected_with_its_line(tmp_path, name, text, message):
    file = tmp_path / "config.yaml"
    file.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ConfigError) as err:
        load(file)
    assert str(err.value).startswith(str(file)) and message in str(err.value), str(err.value)
    assert list(tmp_path.iterdir()) == [file]


def test_duplicate_key_names_both_lines(tmp_path):
    file = tmp_path / "config.yaml"
    file.write_text(DUPLICATE)
    line = DUPLICATE.splitlines().index("    variants:") + 1
    with pytest.raises(ConfigError, match=rf"config.yaml:{line + 2}:5: .*first given on line {line}\)"):
        load(file)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is not a file"):
        load(tmp_path)


def test_configfiles_merge_key_by_key(tmp_path):
    """--configfile merges over config/config.yaml as Snakemake merges: mappings key
    by key, anything else replaced; the location of an error is the file that set it."""
    other = tmp_path / "other.yaml"
    other.write_text("experiments:\n  symmetry:\n    seeds: 3\n    settings:\n      max_sweeps: 50\n")
    merged = load_workflow(ROOT / "config" / "config.yaml", [other])
    assert list(merged["experiments"]) == list(BASE["experiments"])
    sym = merged["experiments"]["symmetry"]
    assert sym["seeds"] == 3 and sym["settings"]["max_sweeps"] == 50
    assert sym["settings"]["init_range"] == BASE["experiments"]["symmetry"]["settings"]["init_range"]
    other.write_text("experiments:\n  symmetry:\n    seeds: .nan\n")
    with pytest.raises(
        ConfigError, match=rf"^{re.escape(str(other))}:3:5: config error at experiments.symmetry.seeds"
    ):
        load_workflow(ROOT / "config" / "config.yaml", [other])


# --- the workflow ----------------------------------------------------------------------------

SNAKEMAKE_CASES = {
    "nan epsilon": (("experiments", "symmetry", "settings", "schedule", 0, "epsilon"), math.nan),
    "inf init_range": (("experiments", "symmetry", "settings", "init_range"), math.inf),
    "huge max_sweeps": (("experiments", "symmetry", "settings", "max_sweeps"), HUGE),
    "huge seeds": (("experiments", "symmetry", "seeds"), 10**9),
    "reversed band": (("report", "verdicts", "sweeps", "reproduced_quantiles"), [0.75, 0.25]),
    "held out right > held out": (("report", "paper", "heldout_correct"), [5, 9]),
    "300-character name": (("experiments", "symmetry", "variants", "v" * 300), {}),
    "unknown key": (("experiments", "symmetry", "settings", "learning_rate"), 0.1),
}
SNAKEMAKE_FILES = {
    "duplicate variants": DUPLICATE,
    "empty": "",
    "scalar": "42\n",
    "yte": "__use_yte__: true\n" + ORIGINAL,
    "syntax error": ORIGINAL + "  bad: [\n",
}


def _text(config: dict) -> str:
    return yaml.safe_dump(config, sort_keys=False)  # NaN and inf as YAML's .nan and .inf


@pytest.mark.slow
@pytest.mark.parametrize("name", [*SNAKEMAKE_CASES, *SNAKEMAKE_FILES])
def test_snakemake_stops_before_any_job_with_the_cli_message(tmp_path, name, capsys):
    root = copy_project(tmp_path / "p")
    if name in SNAKEMAKE_CASES:
        path, value = SNAKEMAKE_CASES[name]
        text = _text(_apply(path, value))
    else:
        text = SNAKEMAKE_FILES[name]
    config = root / "config" / "config.yaml"
    config.write_text(text)
    r = snakemake(root, "-n", "--cores", "1")
    out = r.stdout + r.stderr  # a dry run reports errors on stdout
    assert r.returncode != 0
    assert main(["list", "--config", str(config)]) == 2
    cli = capsys.readouterr().err.strip().removeprefix("backprop86: error: ")
    cli = re.sub(r" \(and \d+ more\)$", "", cli).replace(str(config), "config/config.yaml")
    assert cli in out, (cli, out[-2000:])  # the one loader: the same message
    assert re.search(r"config/config.yaml:\d+:\d+: ", cli), cli
    assert "Building DAG" not in out, "stopped before planning any job"
    assert sorted(p.name for p in root.iterdir() if p.name != ".snakemake") == ["config", "workflow"]


@pytest.mark.slow
def test_snakemake_configfile_merges_and_replace_replaces(tmp_path):
    root = copy_project(tmp_path / "p")
    small = copy.deepcopy(BASE["experiments"]["symmetry"])
    small.update(seeds=3, variants={})
    (root / "other.yaml").write_text(yaml.safe_dump({"experiments": {"symmetry": {"seeds": 3}}}))
    r = snakemake(root, "-n", "--cores", "1", "--configfile", "other.yaml")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "each merged over the one before" in r.stdout + r.stderr
    assert "experiment=symmetry, configuration=paper" in r.stdout
    assert "experiment=family_trees" in r.stdout, "merged: the other experiments stay"

    # one seed a job: the shards show the 3 seeds the file set
    (root / "only.yaml").write_text(yaml.safe_dump({"seeds_per_job": 1, "experiments": {"symmetry": small}}))
    r = snakemake(root, "-n", "--cores", "1", "--configfile", "only.yaml", "--replace-workflow-config")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "experiment=symmetry, configuration=paper, first=2, last=2" in r.stdout
    assert "first=3, last=3" not in r.stdout
    assert "experiment=family_trees" not in r.stdout, "replaced: config/config.yaml left out"
    assert not (root / "results").exists() and not (root / "mlflow.db").exists()


def test_workflow_reads_its_config_through_the_package_loader():
    """No configfile: directive (Snakemake's own loader runs YTE and keeps the last of
    duplicate keys); common.smk loads through backprop86.config.load_workflow."""
    snakefile = (ROOT / "workflow" / "Snakefile").read_text()
    assert not re.search(r"^configfile:", snakefile, re.M)
    common = (ROOT / "workflow" / "rules" / "common.smk").read_text()
    assert "load_workflow(" in common and "from backprop86.config import" in common
    assert Path(ROOT / "workflow" / "schemas" / "config.schema.yaml").resolve() == (
        ROOT / "src" / "backprop86" / "config.schema.yaml"
    )


def test_all_training_jobs_together_are_bounded():
    """The DAG grows with every job: shards and map cells together stay within
    what Snakemake plans in reasonable time, named before any planning."""
    from backprop86.config import MAX_SHARDS

    config = yaml.safe_load(ORIGINAL)
    config["readings_map"]["grid"]["init_range"] = [0.01 * k for k in range(1, 101)]
    config["readings_map"]["grid"]["epsilon_scale"] = [0.1 * k for k in range(1, 101)]
    with pytest.raises(
        ConfigError, match=rf"readings_map.grid: this config makes 40,0\d\d training jobs .* {MAX_SHARDS:,}"
    ):
        validate(config)
    config = yaml.safe_load(ORIGINAL)
    config["experiments"]["symmetry"]["variants"] = {f"v{k}": {"hidden": 2} for k in range(1200)}
    config["seeds_per_job"] = 10
    with pytest.raises(
        ConfigError, match=r"config error at experiments: this config makes [\d,]+ training jobs"
    ):
        validate(config)


def test_memory_counts_a_blocks_activities_not_only_the_curves():
    """A shift register of 16 units trains on 65,536 patterns: its error curves are
    small, but one block of seeds' activities is not; refused, naming both."""
    config = yaml.safe_load(ORIGINAL)
    config["experiments"]["shift_register"]["settings"].update(units=16, steps=64)
    with pytest.raises(
        ConfigError,
        match=r"at experiments.shift_register.settings.units: .* error curves: .*; "
        r"6 arrays of \d+ seeds x 65,536 cases x 1,040 units",
    ):
        validate(config)
    config["experiments"]["shift_register"]["settings"].update(units=8, steps=8)
    validate(config)


@pytest.mark.parametrize(("units", "steps", "seeds"), [(8, 10, 128), (9, 6, 64), (6, 20, 200)])
def test_a_training_block_stays_within_the_memory_the_check_counts(units, steps, seeds):
    """What NumPy allocates while a block of shift-register seeds trains (traced)
    stays within the check's count of that block's activities and curves."""
    import tracemalloc

    from backprop86.config import block_memory, job_memory, setting_defaults
    from backprop86.experiments import train_seeds

    settings = {
        **setting_defaults("shift_register"),
        "task": "shift_register",
        "units": units,
        "steps": steps,
        "init_range": 0.3,
        "schedule": [{"start_sweep": 1, "epsilon": 0.1, "alpha": 0.9}],
        "max_sweeps": 3,
        "stop_at": None,
        "criteria": {"rounded": 0.5},
        "weight_decay": 0.0,
        "margin": 0.0,
        "margin_error": "from_target",
    }
    tracemalloc.start()
    try:
        train_seeds(settings, range(seeds))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    counted = block_memory(settings, seeds)[0] + job_memory(seeds, settings["max_sweeps"])
    assert 0.5 * counted < peak <= counted, (peak, counted)  # the count bounds the peak, and not loosely
