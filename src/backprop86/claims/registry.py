"""The claim registry (:func:`claim`, :data:`CLAIMS`), the verdict rules, the claims
table, and the report settings that resolve each claim's rule: see
:mod:`backprop86.claims`."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import jinja2
import jsonschema
import numpy as np
import pandas as pd

from ..config import configurations, report_section, resolve, schema
from ..experiments import Run
from ..summarise import wilson_interval
from ..tasks.family_trees import FamilyTrees

__all__ = [
    "CLAIMS",
    "COLUMNS",
    "GROUPING",
    "VERDICTS",
    "SEED_RULES",
    "Claim",
    "Context",
    "ReportConfigError",
    "by_share",
    "by_sweeps",
    "claim",
    "claim_inputs",
    "claims_table",
    "environment",
    "exactly",
    "judged_by_share",
    "learned_seeds",
    "number",
    "pick_seed",
    "quantile_of",
    "rate_verdict",
    "report_settings",
    "rule_schemas",
    "settings_diff",
    "sweeps_verdict",
    "tally",
    "with_grouping",
]
COLUMNS = ["id", "claim", "paper", "measured", "verdict", "rule"]
GROUPING = ["claim_id", "reading"]  # optional in a claims table: see :func:`with_grouping`
VERDICTS = ("reproduced", "partly", "not reproduced", "not measured")
SHARED = ("share", "sweeps")  # the rules of ``report.verdicts`` claims share
SEED_RULES = ("median_sweeps", "lowest_final_error")
SECTIONS = {  # report section -> the task of its experiment, and its keys naming a configuration
    "symmetry": ("symmetry", ["configuration"]),
    "local_minima": ("symmetry", []),
    "family_trees": ("family_trees", ["main", "trained"]),
}


@dataclass(frozen=True)
class Claim:
    """A registered claim: see the module's docstring."""

    id: str
    measure: Callable
    statement: str
    paper: str
    where: str
    runs: Callable
    verdict: Callable
    rule: dict
    shared: tuple
    tables: tuple
    of: str | None
    check: Callable | None
    template: str


@dataclass(frozen=True)
class Context:
    """What a claim's function reads: the config, the report settings
    (:func:`report_settings`), the runs by (experiment, configuration), the result
    tables by name, and the claim's own rule."""

    config: dict
    settings: dict
    runs: dict
    tables: dict
    rule: dict
    memo: dict = field(default_factory=dict)  # shared by the claims of one table

    def once(self, key, compute: Callable):
        """``compute()``, computed once for all the claims of a table that ask for ``key``."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]


CLAIMS: dict[str, Claim] = {}


def claim(
    id, *, statement, paper, where, runs, verdict, rule=None, shared=(), tables=(), of=None, check=None
):
    """Register the decorated function as the claim ``id`` (see the module's docstring)."""

    def register(fn):
        if id in CLAIMS:
            raise ValueError(
                f"claim {id!r} is registered twice ({CLAIMS[id].measure.__module__}, {fn.__module__})"
            )
        if set(shared) - set(SHARED):
            raise ValueError(f"claim {id!r}: shared rules are {', '.join(SHARED)}, not {', '.join(shared)}")
        template = f"claims_{fn.__module__.rsplit('.', 1)[-1]}.txt.j2"
        rule_ = rule or {}
        CLAIMS[id] = Claim(
            id, fn, statement, paper, where, runs, verdict, rule_, shared, tables, of, check, template
        )
        return fn

    return register


def number(default: float, low: float = 0, high: float = 1, **schema) -> dict:
    """A rule's threshold as a JSON schema: a number in ``[low, high]`` with its default."""
    return {"type": "number", "minimum": low, "maximum": high, "default": default, **schema}


def rule_schemas() -> dict[str, dict]:
    """Each claim's rule as the JSON schema of ``report.claims.<id>``: its own keys with
    their defaults, and the shared rules it uses, which it may override."""
    return {
        c.id: {
            "description": f"the rule of claim {c.id} ({c.where})",
            "type": "object",
            "additionalProperties": False,
            "properties": {**c.rule, **{s: {"$ref": f"#/$defs/{s}_rule"} for s in c.shared}},
        }
        for c in CLAIMS.values()
    }


# --- verdict rules ----------------------------------------------------------------


def rate_verdict(successes: int, n: int, rule: dict) -> str:
    """``reproduced`` if the share of seeds is at least ``rule['reproduced']``,
    ``partly`` if at least ``rule['partly']``, else ``not reproduced``."""
    if n == 0:
        return "not measured"
    share = successes / n
    if share >= rule["reproduced"]:
        return "reproduced"
    return "partly" if share >= rule["partly"] else "not reproduced"


def quantile_of(value: float, sweeps: np.ndarray) -> float:
    """Share of seeds that learned in at most ``value`` sweeps (``sweeps`` -1: never)."""
    return float(np.mean((sweeps >= 0) & (sweeps <= value))) if len(sweeps) else math.nan


def sweeps_verdict(value: float, sweeps: np.ndarray, rule: dict) -> str:
    """Where the paper's sweep count falls in our distribution of sweeps to learn,
    counting seeds that never learned as slower than any: ``reproduced`` inside
    ``rule['reproduced_quantiles']``, ``partly`` inside ``rule['partly_quantiles']``."""
    if len(sweeps) == 0:
        return "not measured"
    q = quantile_of(value, sweeps)
    lo, hi = rule["reproduced_quantiles"]
    if lo <= q <= hi:
        return "reproduced"
    lo, hi = rule["partly_quantiles"]
    return "partly" if lo <= q <= hi else "not reproduced"


def by_share(m: dict, rule: dict) -> str:
    """The shared share rule on ``m['k']`` of ``m['n']`` seeds."""
    return rate_verdict(m["k"], m["n"], rule["share"])


def by_sweeps(m: dict, rule: dict) -> str:
    """The shared sweeps rule: the paper's ``m['paper']`` sweeps among our ``m['sweeps']``."""
    return sweeps_verdict(m["paper"], m["sweeps"], rule["sweeps"])


def judged_by_share(**rule) -> dict:
    """:func:`claim`'s arguments for a claim judged by the share of seeds that pass its
    own thresholds ``rule`` (name -> JSON schema)."""
    return {"rule": rule, "shared": ["share"], "verdict": by_share}


def exactly(holds: bool) -> str:
    """A claim that holds, or not, within its rule's tolerance."""
    return "reproduced" if holds else "not reproduced"


# --- the table ----------------------------------------------------------------------


def rate_text(k: int, n: int) -> str:
    lo, hi = wilson_interval(k, n)
    return f"{k}/{n} seeds ({k / n:.0%}, 95% CI {lo:.0%}-{hi:.0%})" if n else "no seeds"


def spread_text(x, fmt: str = ".2f") -> str:
    x = np.asarray(x, float)
    if not len(x):
        return "no seeds"
    q25, q50, q75 = np.quantile(x, [0.25, 0.5, 0.75])
    return f"median {q50:{fmt}} (quartiles {q25:{fmt}}-{q75:{fmt}}, n={len(x)})"


@functools.cache
def environment() -> jinja2.Environment:
    """Plain text (the report escapes the table where it renders it); a missing value fails."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("backprop86", "templates"), undefined=jinja2.StrictUndefined
    )
    env.filters.update(rate=rate_text, spread=spread_text, fmt=format)
    return env


def row(c: Claim, m: dict, ctx: Context) -> dict:
    """One row of the claims table: claim ``c``'s measurement ``m``, judged and written out."""
    env, values = environment(), {"m": m, "r": ctx.rule, "p": ctx.settings["paper"], "claim": c.id}
    values["t"] = texts = env.get_template(c.template).make_module(values)  # the statement may use its sets
    missing = [t for t in ("measured", "rule") if not hasattr(texts, t)]
    if missing:
        raise ValueError(f"claim {c.id}: templates/{c.template} sets no {' or '.join(missing)} for it")
    text = lambda t: " ".join(str(t).split())  # noqa: E731 (a template wraps its lines freely)
    return {
        "id": f"{c.id}_{m['key']}" if m.get("key") else c.id,
        "claim": text(env.from_string(c.statement).render(values)),
        "paper": text(env.from_string(c.paper).render(values)),
        "measured": text(texts.measured),
        "verdict": c.verdict(m, ctx.rule),
        "rule": text(texts.rule),
        "claim_id": m.get("claim_id", c.of or c.id),
        "reading": text(texts.reading) if not m.get("main", True) else "",
    }


def claims_table(config: dict, runs: dict, tables: dict | None = None, ids=None) -> pd.DataFrame:
    """Every registered claim (or those of ``ids``) the config has runs for, one row per
    reading. ``runs`` maps (experiment, configuration) to its run; ``tables`` result
    tables by name (a claim whose table is not given is left out, as one whose runs
    the config lacks)."""
    settings, tables, memo, rows = report_settings(config), tables or {}, {}, []
    for c in CLAIMS.values():
        if (
            (ids is None or c.id in ids)
            and c.runs(config, settings) is not None
            and set(c.tables) <= set(tables)
        ):
            ctx = Context(config, settings, runs, tables, settings["claims"][c.id], memo)
            rows += [row(c, m, ctx) for m in c.measure(ctx)]
    return pd.DataFrame(rows, columns=[*COLUMNS, *GROUPING])


def claim_inputs(config: dict) -> dict:
    """What the claims table reads for this config, in registry order: ``runs``, the
    (experiment, configuration) pairs the claims declare, and ``tables``, the result
    tables they read."""
    settings, runs, tables = report_settings(config), {}, {}
    for c in CLAIMS.values():
        wanted = c.runs(config, settings)
        if wanted is not None:
            runs.update(dict.fromkeys(map(tuple, wanted)))
            tables.update(dict.fromkeys(c.tables))
    return {"runs": list(runs), "tables": list(tables)}


def with_grouping(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the :data:`GROUPING` columns: a table without them has one
    reading per claim (``claim_id`` = ``id``, ``reading`` empty)."""
    table = table.copy()
    if "claim_id" not in table:
        table["claim_id"] = table["id"]
    if "reading" not in table:
        table["reading"] = ""
    table["claim_id"] = table["claim_id"].where(table["claim_id"].astype(str).str.len() > 0, table["id"])
    return table[[*COLUMNS, *GROUPING]]


def tally(table: pd.DataFrame) -> dict:
    """The claims of ``table`` grouped, in table order, and counted.

    ``claims``: one entry per claim (``claim_id``) with its first reading (the
    row whose ``reading`` is empty, else its first row) as ``main`` and the rest
    as ``readings``. ``counts``: verdict -> number of claims with that verdict
    on their first reading. ``readings``: verdict -> number of further readings.
    """
    table = with_grouping(table).fillna("")
    claims = []
    for claim_id, rows in table.groupby("claim_id", sort=False):
        records = rows.to_dict("records")
        first = next((r for r in records if not r["reading"]), records[0])
        claims.append(
            {"claim_id": claim_id, "main": first, "readings": [r for r in records if r is not first]}
        )
    counts: dict[str, int] = {}
    further: dict[str, int] = {}
    for c in claims:
        counts[c["main"]["verdict"]] = counts.get(c["main"]["verdict"], 0) + 1
        for r in c["readings"]:
            further[r["verdict"]] = further.get(r["verdict"], 0) + 1
    order = {v: k for k, v in enumerate(VERDICTS)}
    sort = lambda d: dict(sorted(d.items(), key=lambda kv: order.get(kv[0], len(order))))  # noqa: E731
    return {"claims": claims, "counts": sort(counts), "readings": sort(further)}


# --- the report settings, and the seeds a figure draws ------------------------------


class ReportConfigError(ValueError):
    """The config's ``report:`` section names something the config does not have."""


def report_settings(config: dict) -> dict:
    """The ``report:`` section with defaults filled in and every name checked: the
    experiments (found by task unless named), configurations and criteria. A section
    whose task the config has no experiment of (and does not name) is ``None``.
    ``claims`` maps every registered claim to its rule, the shared rules it uses
    (``report.verdicts``) with its own entry's overrides."""
    given = config.get("report") or {}
    out = report_section(config)
    for section in SECTIONS:
        out[section] = _section(config, out[section], section, section in given)
    if out["family_trees"] is not None:
        person, relation = out["family_trees"]["question"]
        try:
            FamilyTrees().question_index(person, relation)
        except KeyError as exc:
            raise ReportConfigError(f"config error at report.family_trees.question: {exc.args[0]}") from None
    out.setdefault("claims", {})
    unknown = sorted(set(out["claims"]) - set(CLAIMS))
    if unknown:
        raise ReportConfigError(
            f"config error at report.claims: no claim {unknown[0]!r}; claims: {', '.join(CLAIMS)}"
        )
    out["claims"] = {c.id: _rule(c, config, out) for c in CLAIMS.values()}
    return out


def _section(config: dict, sec: dict, section: str, given: bool) -> dict | None:
    """One section of the report with its experiment found and its names checked."""
    task, names = SECTIONS[section]
    where = f"report.{section}"
    exp = sec.setdefault(
        "experiment", next((e for e, x in config["experiments"].items() if x["task"] == task), None)
    )
    if exp is None and not given:
        return None  # nothing of this task configured: the report leaves it out
    if exp is None:
        raise ReportConfigError(f"config error at {where}: no experiment with task {task!r} to report on")
    if exp not in config["experiments"] or config["experiments"][exp]["task"] != task:
        raise ReportConfigError(
            f"config error at {where}.experiment: {exp!r} is not an experiment with task {task!r}; "
            f"configured: {', '.join(config['experiments'])}"
        )
    known = configurations(config, exp)
    if section == "local_minima":
        sec.setdefault("configurations", known)
    for key, value in [(k, sec[k]) for k in names] + [
        ("configurations", c) for c in sec.get("configurations", [])
    ]:
        if value not in known:
            raise ReportConfigError(
                f"config error at {where}.{key}: {value!r} is not a configuration of {exp}; "
                f"configured: {', '.join(known)}"
            )
    criteria = resolve(config, exp)["criteria"]
    if "criterion" in sec and sec["criterion"] not in criteria:
        raise ReportConfigError(
            f"config error at {where}.criterion: {sec['criterion']!r} is not a criterion of {exp}; "
            f"allowed: {', '.join(criteria)}"
        )
    if "seed_rule" in sec and sec["seed_rule"] not in SEED_RULES:
        raise ReportConfigError(
            f"config error at {where}.seed_rule: {sec['seed_rule']!r}; allowed: {', '.join(SEED_RULES)}"
        )
    return sec


def _rule(c: Claim, config: dict, report: dict) -> dict:
    """Claim ``c``'s rule: its entry in ``report.claims`` checked against the keys it declares
    (:func:`rule_schemas`), its defaults where unset, and the shared rules it uses with its
    own overrides, which must order as the shared ones do."""
    own, where = report["claims"].get(c.id, {}), f"config error at report.claims.{c.id}"
    checker = jsonschema.Draft202012Validator({**rule_schemas()[c.id], "$defs": schema()["$defs"]})
    for error in checker.iter_errors(own):
        known = ", ".join([*c.rule, *c.shared]) or "(none)"
        at = "".join(f".{p}" for p in error.absolute_path)
        raise ReportConfigError(f"{where}{at}: {error.message}; the keys claim {c.id} takes: {known}")
    rule = {k: own.get(k, spec.get("default")) for k, spec in c.rule.items()}
    for s in c.shared:
        rule[s] = {**report["verdicts"][s], **own.get(s, {})}
    if "share" in own and rule["share"]["partly"] > rule["share"]["reproduced"]:
        raise ReportConfigError(f"{where}.share.partly: {rule['share']['partly']} is above share.reproduced")
    if "sweeps" in own:
        (rl, rh), (pl, ph) = rule["sweeps"]["reproduced_quantiles"], rule["sweeps"]["partly_quantiles"]
        if not pl <= rl <= rh <= ph:
            raise ReportConfigError(f"{where}.sweeps: partly_quantiles must contain reproduced_quantiles")
    if c.check is not None:
        c.check(config, report, rule, where)
    return rule


def settings_diff(config: dict, experiment: str, configuration: str) -> str:
    """What a configuration changes from the paper's settings, e.g. ``init_range 1.0``."""
    base, mine = resolve(config, experiment), resolve(config, experiment, configuration)
    diff = [f"{k} {mine[k]}" for k in mine if mine[k] != base.get(k) and k != "schedule"]
    if mine["schedule"] != base["schedule"]:
        phases = (
            f"from sweep {p['start_sweep']}: epsilon {p['epsilon']}, alpha {p['alpha']}"
            for p in mine["schedule"]
        )
        diff.insert(0, "schedule " + "; ".join(phases))
    return ", ".join(diff) or "the published settings"


def learned_seeds(run: Run, criterion: str, within: int | None = None) -> np.ndarray:
    """Indices of the seeds that met ``criterion`` (within ``within`` sweeps if given)."""
    first = run.result.sweeps_to[criterion]
    ok = first >= 0
    if within is not None:
        ok &= first <= within
    return np.flatnonzero(ok)


def pick_seed(run: Run, criterion: str, rule: str) -> tuple[int, str]:
    """The index of the seed a figure draws, and why that one.

    ``median_sweeps``: of the seeds that met ``criterion``, the one whose sweeps
    to it are closest to their median (ties: the lowest seed).
    ``lowest_final_error``: the seed with the lowest final error.
    With no seed meeting the criterion, both fall back to the lowest final error.
    """
    if rule not in SEED_RULES:
        raise ValueError(f"unknown seed rule {rule!r}; allowed: {', '.join(SEED_RULES)}")
    first = run.result.sweeps_to[criterion]
    learned = np.flatnonzero(first >= 0)
    if rule == "median_sweeps" and len(learned):
        median = np.median(first[learned])
        s = int(learned[np.argmin(np.abs(first[learned] - median))])
        return s, (
            f"seed {run.seeds[s]}: of the {len(learned)} seeds that met '{criterion}', the one whose "
            f"{first[s]} sweeps are closest to their median ({median:g})"
        )
    final = run.summary().final_error.to_numpy()
    s = int(np.argmin(final))
    why = "no seed met '{c}'; " if not len(learned) else ""
    return s, (why.format(c=criterion) + f"seed {run.seeds[s]}: the lowest final error ({final[s]:.3g})")
