"""The paper's claims, measured over every seed and judged by rules from the config.

Each claim becomes one row of ``results/tables/claims.csv`` with the columns

``id``        a stable identifier (``symmetry_sweeps_rounded``, ...);
``claim``     what the paper says, in our words;
``paper``     the paper's own number or statement;
``measured``  what we measured over all seeds (median and quartiles, or a rate
              with its 95% Wilson interval), with the configuration it came from;
``verdict``   one of :data:`VERDICTS`, decided by a rule, never by hand;
``rule``      the rule that decided the verdict, with its thresholds;
``claim_id``  the claim of the paper the row measures: several rows of one claim
              are its readings (where the paper is ambiguous, or its recipe fails);
``reading``   empty for the reading judged first (the paper's own recipe and the
              main reading of the config's ``report:`` section), else what this
              reading changes.

:func:`tally` groups rows by claim and counts claims, each by its first reading.

``claims_iterative.csv`` (Fig. 5, :func:`backprop86.iterative.claims_table`)
uses the same columns (a table without ``claim_id`` and ``reading`` has one
reading per claim), so the report shows both tables alike.

The measurements of the trained nets (the symmetry solution of Fig. 1, the
person code of Fig. 4) live here too; the figures draw them.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from .config import configurations, defaults_of, resolve, schema
from .experiments import Run
from .summarise import wilson_interval
from .tasks.family_trees import FamilyTrees

COLUMNS = ["id", "claim", "paper", "measured", "verdict", "rule"]
GROUPING = ["claim_id", "reading"]  # optional in a claims table: see :func:`with_grouping`
VERDICTS = ("reproduced", "partly", "not reproduced", "not measured")
SEED_RULES = ("median_sweeps", "lowest_final_error")
FEATURES = ("nationality", "generation", "branch")

# The schema's defaults of the config's ``report:`` section; the shipped config sets every key.
DEFAULTS = defaults_of(schema()["properties"]["report"])


class ReportConfigError(ValueError):
    """The config's ``report:`` section names something the config does not have."""


def report_settings(config: dict) -> dict:
    """The ``report:`` section with defaults filled in and every name checked:
    the experiments (found by task unless named), configurations and criteria."""
    given = config.get("report") or {}
    out = {
        k: {**v, **given.get(k, {})} if isinstance(v, dict) else given.get(k, v) for k, v in DEFAULTS.items()
    }
    out["verdicts"] = {**DEFAULTS["verdicts"], **given.get("verdicts", {})}
    for k in ("sweeps", "share", "iterative"):
        out["verdicts"][k] = {**DEFAULTS["verdicts"][k], **given.get("verdicts", {}).get(k, {})}
    by_task = {}
    for name, exp in config["experiments"].items():
        by_task.setdefault(exp["task"], name)
    for section, task in (
        ("symmetry", "symmetry"),
        ("local_minima", "symmetry"),
        ("family_trees", "family_trees"),
    ):
        sec = out[section]
        where = f"report.{section}"
        exp = sec.setdefault("experiment", by_task.get(task))
        if exp is None and section not in given:
            out[section] = None  # nothing of this task configured: the report leaves it out
            continue
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
        names = {
            "symmetry": ["configuration"], "local_minima": [], "family_trees": ["main", "trained"],
        }[section]  # fmt: skip
        for key in names:
            if sec[key] not in known:
                raise ReportConfigError(
                    f"config error at {where}.{key}: {sec[key]!r} is not a configuration of {exp}; "
                    f"configured: {', '.join(known)}"
                )
        for c in sec.get("configurations", []):
            if c not in known:
                raise ReportConfigError(
                    f"config error at {where}.configurations: {c!r} is not a configuration of {exp}; "
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
    if out["family_trees"] is not None:
        person, relation = out["family_trees"]["question"]
        try:
            FamilyTrees().question_index(person, relation)
        except KeyError as exc:
            raise ReportConfigError(f"config error at report.family_trees.question: {exc.args[0]}") from None
    return out


# --- choosing the seed a figure shows ------------------------------------------


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


# --- the symmetry solution (Fig. 1) --------------------------------------------


def symmetry_solution(run: Run, criterion: str) -> pd.DataFrame:
    """One row per (seed that met ``criterion``, hidden unit): how close its input
    weights come to the paper's solution (Fig. 1).

    ``antisymmetry`` is ``-cos(w, mirror(w))``: 1 when weights that mirror each
    other about the middle are equal in size and opposite in sign. ``ratio_k`` is
    the mean magnitude of the k-th mirror pair going outward over the innermost
    pair's (for the outward reading of 1:2:4: 2 and 4); ``ratio_sorted_k`` the
    same with the pairs sorted by magnitude (the reading judged: the text gives
    no order). ``bias`` is the hidden unit's bias,
    ``output_bias`` the output unit's; ``opposite`` (two hidden units only) is
    ``-cos`` between the two units' input weights (1: the same pattern, opposite signs).
    """
    W = run.result.params["w:in->h1"]  # (S, n_in, H)
    n_in, H = W.shape[1:]
    first = run.result.sweeps_to[criterion]
    rows = []
    for s in np.flatnonzero(first >= 0):
        for j in range(H):
            w = W[s, :, j]
            pair = np.array(
                [(abs(w[n_in // 2 - 1 - k]) + abs(w[n_in - n_in // 2 + k])) / 2 for k in range(n_in // 2)]
            )
            srt = np.sort(pair)
            row = {
                "seed": int(run.seeds[s]), "unit": j + 1, "sweeps": int(first[s]),
                "antisymmetry": float(-w @ w[::-1] / (w @ w)),
                "bias": float(run.result.params["b:h1"][s, j]),
                "output_bias": float(run.result.params["b:out"][s, 0]),
                "outward_increasing": bool(np.all(np.diff(pair) > 0)),
            }  # fmt: skip
            for k in range(1, len(pair)):
                row[f"ratio_{k}"] = float(pair[k] / pair[0])
                row[f"ratio_sorted_{k}"] = float(srt[k] / srt[0])
            if H == 2:
                v = W[s, :, 1 - j]
                row["opposite"] = float(-w @ v / np.sqrt((w @ w) * (v @ v)))
            rows.append(row)
    return pd.DataFrame(rows)


# --- the person code (Fig. 4) -----------------------------------------------------


def person_features(ft: FamilyTrees | None = None) -> pd.DataFrame:
    """Nationality, generation and branch of each of the 24 people, derived from the trees.

    Nationality: English +1, Italian -1. Generation: 0 for the oldest, one more
    per parent-child step; who married in takes their spouse's. Branch: +1 for
    the first founding couple (in the dataset's order) and its descendants, -1
    for the second, 0 for a descendant of both; who married in takes their spouse's.
    """
    ft = ft or FamilyTrees()
    gen: dict[str, int] = {}

    def generation(n: str) -> int:
        if n not in gen:
            if n in ft.parents:
                gen[n] = generation(ft.parents[n][0]) + 1
            elif ft.spouses(n) and ft.spouses(n)[0] in ft.parents:
                gen[n] = generation(ft.spouses(n)[0])
            else:
                gen[n] = 0
        return gen[n]

    def founders(n: str) -> frozenset[str]:
        """The founding couples (by their first member) ``n`` descends from."""
        if n in ft.parents:
            return founders(ft.parents[n][0]) | founders(ft.parents[n][1])
        sp = ft.spouses(n)
        if sp and sp[0] in ft.parents:
            return founders(sp[0])
        return frozenset([min([n, *sp], key=ft.names.index)])

    rows = []
    for p in ft.people:
        roots = founders(p.name)
        couples = [n for n in ft.names if n in {f for q in ft.people if q.nationality == p.nationality
                                                 for f in founders(q.name)}]  # fmt: skip
        branch = 0.0 if len(roots) > 1 else (1.0 if next(iter(roots)) == couples[0] else -1.0)
        rows.append({"person": p.name, "nationality": 1.0 if p.nationality == "English" else -1.0,
                     "generation": float(generation(p.name)), "branch": branch})  # fmt: skip
    return pd.DataFrame(rows)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b / den) if den > 0 else 0.0


def encoding_strengths(run: Run, seeds: np.ndarray | None = None) -> pd.DataFrame:
    """For each seed (index into ``run``; default all), the person-code units that
    best encode nationality, generation and branch (Fig. 4).

    Every unit's 24 weights from the person inputs are correlated with each
    feature of :func:`person_features`; hidden units have no fixed order, so
    features are matched to distinct units by the assignment with the largest
    total |r|. Rows: seed, feature, unit (1-based), abs_r. Plus, per seed, the
    feature ``isomorphism``: over the units not matched to nationality, the mean
    correlation of each English person's weight with their Italian counterpart's.
    """
    feats = person_features()
    F = feats[list(FEATURES)].to_numpy()  # (24, 3)
    W = run.result.params["w:person1->person_code"]  # (S, 24, n_code)
    n_code = W.shape[2]
    rows = []
    for s in range(len(run.seeds)) if seeds is None else seeds:
        r = np.array([[abs(_corr(W[s, :, u], F[:, f])) for u in range(n_code)] for f in range(F.shape[1])])
        best = max(
            itertools.permutations(range(n_code), F.shape[1]),
            key=lambda p: sum(r[f, u] for f, u in enumerate(p)),
        )
        for f, u in enumerate(best):
            rows.append({"seed": int(run.seeds[s]), "feature": FEATURES[f], "unit": u + 1, "abs_r": r[f, u]})
        half = W.shape[1] // 2
        others = [u for u in range(n_code) if u != best[0]]
        iso = np.mean([_corr(W[s, :half, u], W[s, half:, u]) for u in others])
        rows.append({"seed": int(run.seeds[s]), "feature": "isomorphism", "unit": 0, "abs_r": float(iso)})
    return pd.DataFrame(rows, columns=["seed", "feature", "unit", "abs_r"])


def learned_seeds(run: Run, criterion: str, within: int | None = None) -> np.ndarray:
    """Indices of the seeds that met ``criterion`` (within ``within`` sweeps if given)."""
    first = run.result.sweeps_to[criterion]
    ok = first >= 0
    if within is not None:
        ok &= first <= within
    return np.flatnonzero(ok)


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


def local_minima_verdict(failures: dict[int, tuple[int, int]], rare: float) -> str:
    """``failures`` maps hidden units to (failed, seeds). The paper: failures are
    rare, met only in the net with just enough units. ``reproduced`` if every
    larger net fails in at most ``rare`` of its seeds and no more often than the
    smallest; ``partly`` if only one of the two holds."""
    if len(failures) < 2 or any(n == 0 for _, n in failures.values()):
        return "not measured"
    smallest = min(failures)
    share = {h: f / n for h, (f, n) in failures.items()}
    larger = [h for h in share if h != smallest]
    rare_ok = all(share[h] <= rare for h in larger)
    fewer_ok = all(share[h] <= share[smallest] for h in larger)
    if rare_ok and fewer_ok:
        return "reproduced"
    return "partly" if rare_ok or fewer_ok else "not reproduced"


# --- the table ----------------------------------------------------------------


def rate_text(k: int, n: int) -> str:
    lo, hi = wilson_interval(k, n)
    return f"{k}/{n} seeds ({k / n:.0%}, 95% CI {lo:.0%}-{hi:.0%})" if n else "no seeds"


def spread_text(x, fmt: str = ".2f") -> str:
    x = np.asarray(x, float)
    if not len(x):
        return "no seeds"
    q25, q50, q75 = np.quantile(x, [0.25, 0.5, 0.75])
    return f"median {q50:{fmt}} (quartiles {q25:{fmt}}-{q75:{fmt}}, n={len(x)})"


def final_error_text(run: Run) -> str:
    """The seeds' final E measured from the target (eq. 3, as every configuration
    is compared); where they trained on E from the margin's edge, that E beside it, named."""
    text = "from the target " + spread_text(run.final_error_from_target())
    if run.trained_on() == "from_edge":
        text += f"; the E it trains on, from the margin's edge, {spread_text(run.summary().final_error)}"
    return text


def settings_diff(config: dict, experiment: str, configuration: str) -> str:
    """What a configuration changes from the paper's settings, e.g. ``init_range 1.0``."""
    base, mine = resolve(config, experiment), resolve(config, experiment, configuration)
    diff = [f"{k} {mine[k]}" for k in mine if mine[k] != base.get(k) and k != "schedule"]
    if mine["schedule"] != base["schedule"]:
        diff.insert(
            0,
            "schedule "
            + "; ".join(
                f"from sweep {p['start_sweep']}: epsilon {p['epsilon']}, alpha {p['alpha']}"
                for p in mine["schedule"]
            ),
        )
    return ", ".join(diff) or "the published settings"


def claims_table(
    config: dict, runs: dict[tuple[str, str], Run], readings_map: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Every claim of Figs. 1-4 and the local-minima remark, one row each (see the
    module docstring for the columns). ``runs`` maps (experiment, configuration) to
    its run; the report settings (:func:`report_settings`) say which to use;
    ``readings_map`` is ``readings_map.csv``, where the config has a map."""
    rs = report_settings(config)
    v = rs["verdicts"]
    share_rule = f"reproduced if at least {v['share']['reproduced']:.0%} of seeds, partly if at least {v['share']['partly']:.0%}"
    rows = []
    if rs["symmetry"] is not None:
        rows += _symmetry_claims(rs, runs, share_rule)
    if rs["family_trees"] is not None:
        rows += _family_tree_claims(config, rs, runs, share_rule)
    if readings_map is not None:
        rows.append(readings_map_claim(config, readings_map, v, share_rule))
    return pd.DataFrame(rows, columns=[*COLUMNS, *GROUPING])


def readings_map_claim(config: dict, table: pd.DataFrame, v: dict, share_rule: str) -> dict:
    """The readings map's row under the family-tree learning claim: whether the
    printed cell learns, and the nearest cell that does, with what it changes."""
    from .readings_map import AXES, cells, map_settings, printed_cell

    rm = map_settings(config)
    budget = rm["max_sweeps"]
    learned = f"learned_by_{budget}"
    grid, printed = cells(config), printed_cell(config)
    axes = [a for a in AXES if a in table]
    table = table.assign(cell=list(grid))
    base = grid[printed] if printed is not None else None

    def changes(row) -> list[str]:
        return [f"{a} {base[a]:g} -> {row[a]:g}" if not isinstance(row[a], str) else f"{a} {base[a]} -> {row[a]}"
                for a in axes if base is not None and row[a] != base[a]]  # fmt: skip

    table["changes"] = [changes(r) for _, r in table.iterrows()]
    learns = table[table[learned] >= v["share"]["reproduced"]]
    at = v["heldout_at_least"]
    if base is None:
        head, k, n = "the grid has no cell with the printed values", 0, 0
    else:
        p = table[table.cell == printed].iloc[0]
        n = int(p.seeds)
        k = int(round(p[learned] * n))
        head = (f"printed recipe: learned within {budget:,} sweeps in {rate_text(k, n)}, median E from the target "
                f"{p.final_error_median:.3g}")  # fmt: skip
    if len(learns):
        near = learns.assign(distance=learns.changes.map(len)).sort_values(
            ["distance", learned, "heldout_mean"], ascending=[True, False, False], kind="stable").iloc[0]  # fmt: skip
        what = "; ".join(near.changes) or "nothing"
        tail = (f"nearest cell that learns (at least {v['share']['reproduced']:.0%} of seeds) changes {len(near.changes)} "
                f"of the {len(axes)} settings ({what}): learned in {near[learned]:.0%} of {int(near.seeds)} seeds, "
                f"held-out mean {near.heldout_mean:.2f}, at least {at} right in {near[f'heldout_at_least_{at}']:.0%}; "
                f"{len(learns)} of {len(table)} cells learn")  # fmt: skip
    else:
        best = table.sort_values([learned, "heldout_mean"], ascending=False, kind="stable").iloc[0]
        tail = (f"none of the {len(table)} cells learns in at least {v['share']['reproduced']:.0%} of seeds; the best "
                f"changes {len(best.changes)} ({'; '.join(best.changes) or 'nothing'}): learned in {best[learned]:.0%} "
                f"of {int(best.seeds)} seeds, held-out mean {best.heldout_mean:.2f}")  # fmt: skip
    return _row(
        "readings_map",
        f"the net learns all training questions in {budget:,} sweeps: the readings map, {len(table)} cells around the printed recipe",
        f"learned in {budget:,} sweeps (two runs)",
        f"{head}; {tail}",
        rate_verdict(k, n, v["share"]),
        f"judged on the printed cell ({share_rule}); a cell learns with at least {v['share']['reproduced']:.0%} of its seeds; "
        "nearest = fewest settings changed, then the largest share learned",
        claim_id="family_trees_learned",
        reading=f"the readings map: {', '.join(axes)} varied",
    )


def _row(*values, claim_id: str | None = None, reading: str = "") -> dict:
    row = dict(zip(COLUMNS, values))
    return {**row, "claim_id": claim_id or row["id"], "reading": reading}


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


def _symmetry_claims(rs: dict, runs: dict, share_rule: str) -> list[dict]:
    """Fig. 1 (sweeps to learn, the solution) and the local-minima remark."""
    paper, v = rs["paper"], rs["verdicts"]
    rows = []

    def add(*values, **grouping):
        rows.append(_row(*values, **grouping))

    # Symmetry: sweeps to learn, under each reading of "learned".
    sym = rs["symmetry"]
    run = runs[(sym["experiment"], sym["configuration"])]
    budget = run.settings["max_sweeps"]
    lo_q, hi_q = v["sweeps"]["reproduced_quantiles"]
    plo, phi = v["sweeps"]["partly_quantiles"]
    for crit, tol in run.settings["criteria"].items():
        first = run.result.sweeps_to[crit]
        ok = first[first >= 0]
        add(
            f"symmetry_sweeps_{crit}",
            f"the symmetry net (Fig. 1) learns in about {paper['symmetry_sweeps']:,} sweeps; learned = every output within {tol:g} of its target"
            + (" (the main reading)" if crit == sym["criterion"] else ""),
            f"{paper['symmetry_sweeps']:,} sweeps (one run)",
            f"{sym['configuration']}: learned within {budget:,} sweeps in {rate_text(len(ok), len(first))}; sweeps {spread_text(ok, '.0f')}; "
            f"{paper['symmetry_sweeps']:,} sweeps is at the {quantile_of(paper['symmetry_sweeps'], first):.0%} point of all seeds (never learned = slowest)",
            sweeps_verdict(paper["symmetry_sweeps"], first, v["sweeps"]),
            f"reproduced if the paper's count lies between the {lo_q:.0%} and {hi_q:.0%} points of sweeps to learn over all seeds, partly if between {plo:.0%} and {phi:.0%}",
            claim_id="symmetry_sweeps",
            reading=""
            if crit == sym["criterion"]
            else f"learned = every output within {tol:g} of its target ({crit})",
        )

    # Symmetry: the solution.
    sol = symmetry_solution(run, sym["criterion"])
    n_sol = sol.seed.nunique() if len(sol) else 0
    per_seed = sol.groupby("seed") if len(sol) else None
    anti = v["mirror_antisymmetry"]
    k = int(per_seed.antisymmetry.min().ge(anti).sum()) if n_sol else 0
    add("symmetry_mirror", "in the solution, weights that mirror each other about the middle are equal in size and opposite in sign",
        "shown (Fig. 1)", f"over the {n_sol} solved seeds: antisymmetry -cos(w, mirror w) per hidden unit {spread_text(sol.get('antisymmetry', []))}; "
        f"both units at least {anti:g} in {rate_text(k, n_sol)}", rate_verdict(k, n_sol, v["share"]),
        f"a seed counts if every hidden unit's antisymmetry is at least {anti:g}; {share_rule}")  # fmt: skip
    ratios = paper["symmetry_ratios"]
    tol = v["ratio_tolerance"]
    target = np.array(ratios[1:], float) / ratios[0]
    paper_ratio = ":".join(map(str, ratios))

    def seeds_close(prefix: str) -> int:
        """Solved seeds whose every hidden unit has ratios ``prefix``1.. within ``tol`` of the paper's."""
        cols = [f"{prefix}{i}" for i in range(1, len(ratios))]
        close = np.all(np.abs(sol[cols].to_numpy() / target - 1) <= tol, axis=1)
        return int(pd.Series(close, index=sol.seed).groupby(level=0).all().sum())

    k_out = seeds_close("ratio_") if n_sol else 0
    k_any = seeds_close("ratio_sorted_") if n_sol else 0
    if n_sol:
        outward = int(sol.groupby("seed").outward_increasing.all().sum())
        med = ":".join(["1"] + [f"{sol[f'ratio_sorted_{i}'].median():.2g}" for i in range(1, len(ratios))])
        meas = (f"pair magnitudes, sorted: median ratio {med}, within {tol:.0%} of {paper_ratio} in {rate_text(k_any, n_sol)}; "
                f"observed, not judged: magnitudes growing outward in {outward}/{n_sol} seeds, and in the outward "
                f"order within {tol:.0%} of {paper_ratio} in {k_out}/{n_sol}")  # fmt: skip
    else:
        meas = "no solved seeds"
    add("symmetry_ratio", f"the weights on each side of the midpoint are in the ratio {paper_ratio} (the text gives no order)",
        paper_ratio, meas, rate_verdict(k_any, n_sol, v["share"]),
        f"a seed counts if each hidden unit's pair magnitudes, in whatever order, are within {tol:.0%} of {paper_ratio}; {share_rule}")  # fmt: skip
    opp = v["opposite_units"]
    if n_sol and "opposite" in sol:
        k = int(per_seed.opposite.min().ge(opp).sum())
        meas = (f"over the {n_sol} solved seeds: -cos between the two hidden units' input weights "
                f"{spread_text(per_seed.opposite.first())}; at least {opp:g} in {rate_text(k, n_sol)}")  # fmt: skip
    else:
        k, meas = 0, "no solved seeds with two hidden units"
    add("symmetry_opposite_units", "the two hidden units have identical patterns of weights but with opposite signs",
        "stated (Fig. 1)", meas, rate_verdict(k, n_sol, v["share"]),
        f"a seed counts if -cos(w1, w2) of the hidden units' input weights is at least {opp:g}; {share_rule}")  # fmt: skip
    if n_sol:
        k = int(per_seed.apply(lambda g: bool((g.bias < 0).all() and (g.output_bias > 0).all())).sum())
        meas = (f"hidden biases {spread_text(sol.bias)}; output bias {spread_text(per_seed.output_bias.first())}; "
                f"all hidden negative and output positive in {rate_text(k, n_sol)}")  # fmt: skip
    else:
        k, meas = 0, "no solved seeds"
    add(
        "symmetry_biases",
        "hidden biases are negative and the output bias positive",
        "shown (Fig. 1)",
        meas,
        rate_verdict(k, n_sol, v["share"]),
        f"a seed counts if both hold; {share_rule}",
    )

    # Local minima: failures with 2, 3, 4 hidden units.
    lm = rs["local_minima"]
    failures, parts = {}, []
    for c in lm["configurations"]:
        r = runs[(lm["experiment"], c)]
        first = r.result.sweeps_to[lm["criterion"]]
        failed = first < 0
        h = r.settings["hidden"]
        failures[h] = (int(failed.sum()), len(first))
        final = r.summary().final_error.to_numpy()[failed]
        parts.append(f"{h} hidden ({c}): {rate_text(int(failed.sum()), len(first))} had not learned within {r.settings['max_sweeps']:,} sweeps"
                     + (f", their final E {spread_text(final)}" if failed.any() else ""))  # fmt: skip
    add("local_minima", "gradient descent rarely stops in a local minimum, and only in nets with just enough connections (here 2 hidden units)",
        "stated, no numbers", "; ".join(parts), local_minima_verdict(failures, v["rare_failure_share"]),
        f"reproduced if every larger net fails in at most {v['rare_failure_share']:.0%} of seeds and less often than the smallest; "
        "partly if one of the two holds; failed = never met the criterion within the budget")  # fmt: skip

    return rows


def _family_tree_claims(config: dict, rs: dict, runs: dict, share_rule: str) -> list[dict]:
    """Figs. 2-4: learning, held-out questions under every reading, the person code."""
    paper, v = rs["paper"], rs["verdicts"]
    rows = []

    def add(*values, **grouping):
        rows.append(_row(*values, **grouping))

    # Family trees: learning the 100 training questions, and the held-out questions,
    # under the paper's recipe and each alternative reading.
    ft = rs["family_trees"]
    exp = ft["experiment"]
    limit = paper["family_trees_sweeps"]
    at_least = v["heldout_at_least"]
    for c in configurations(config, exp):
        r = runs[(exp, c)]
        role = (
            "the published recipe (main reading)"
            if c == ft["main"]
            else f"reading {c}: {settings_diff(config, exp, c)}"
        )
        if c == ft["trained"]:
            role += "; the net of Figs. 3-4"
        reading = "" if c == ft["main"] else f"{c}: {settings_diff(config, exp, c)}"
        if reading and c == ft["trained"]:
            reading += " (the net of Figs. 3 and 4)"
        first = r.result.sweeps_to[ft["criterion"]]
        k_in = len(learned_seeds(r, ft["criterion"], limit))
        k_all = len(learned_seeds(r, ft["criterion"]))
        budget = r.settings["max_sweeps"]
        tail = (
            f"; within its {budget:,}-sweep budget in {rate_text(k_all, len(first))}, sweeps {spread_text(first[first >= 0], '.0f')}"
            if budget > limit
            else ""
        )
        add(f"family_trees_learned_{c}",
            f"the net learns all training questions in {limit:,} sweeps (every output on the right side of 0.5), with {role}",
            f"learned in {limit:,} sweeps (two runs)",
            f"{c}: learned within {limit:,} sweeps in {rate_text(k_in, len(first))}; final E {final_error_text(r)}{tail}",
            rate_verdict(k_in, len(first), v["share"]), share_rule, claim_id="family_trees_learned", reading=reading)  # fmt: skip
        s = r.summary()
        total = int(s.heldout_total.max()) if len(s) else 0
        dist = ", ".join(
            f"{int((s.heldout_correct == j).sum())} with {j}/{total}" for j in range(total, -1, -1)
        )
        k = int((s.heldout_correct >= at_least).sum())
        add(f"family_trees_heldout_{c}",
            f"the trained net answers the held-out questions: {' and '.join(f'{j}/{total}' for j in paper['heldout_correct'])} in the paper's two runs, with {role}",
            " and ".join(f"{j}/{total}" for j in paper["heldout_correct"]),
            f"{c}: of {len(s)} seeds, {dist}; at least {at_least}/{total} in {rate_text(k, len(s))}",
            rate_verdict(k, len(s), v["share"]), f"a seed counts with at least {at_least}/{total} right; {share_rule}",
            claim_id="family_trees_heldout", reading=reading)  # fmt: skip
        k = int((s.heldout_correct == total).sum()) if total else 0
        add(f"family_trees_generalizes_{c}",
            f"the net generalizes correctly to the {total} triples on which it was not trained, with {role}",
            f"{paper['heldout_correct'][0]}/{total} (the first run)",
            f"{c}: all {total} held-out questions right in {rate_text(k, len(s))}",
            rate_verdict(k, len(s), v["share"]), f"a seed counts with all {total} right; {share_rule}",
            claim_id="family_trees_generalizes", reading=reading)  # fmt: skip

    # Family trees: what the person-code units encode (Fig. 4), judged on the published
    # recipe first, then on the net Figs. 3 and 4 draw.
    thr = v["encoding_correlation"]
    for c in dict.fromkeys([ft["main"], ft["trained"]]):
        r = runs[(exp, c)]
        idx = learned_seeds(r, ft["criterion"])
        which = (
            f"{c}, the {len(idx)} seeds that learned"
            if len(idx)
            else f"{c}, all {len(r.seeds)} seeds (none learned)"
        )
        enc = encoding_strengths(r, idx if len(idx) else None)
        reading = "" if c == ft["main"] else f"{c}: {settings_diff(config, exp, c)}"
        if reading and c == ft["trained"]:
            reading += " (the net of Figs. 3 and 4)"
        for feature, what in (("nationality", "English from Italian (the paper's unit 1)"),
                              ("generation", "the generation (unit 2)"), ("branch", "the branch of the family (unit 6)"),
                              ("isomorphism", "the same code for an English person and their Italian counterpart in the units "
                                              "that do not encode nationality: the net uses the isomorphism")):  # fmt: skip
            x = enc[enc.feature == feature].abs_r.to_numpy()
            k = int((x >= thr).sum())
            measure = (
                "best-matched unit's |r| with the feature"
                if feature != "isomorphism"
                else "mean r, English vs Italian weights"
            )
            add(f"person_code_{feature}" + ("" if c == ft["main"] else f"_{c}"), f"a person-code unit encodes {what}", "shown (Fig. 4)",
                f"{which}: {measure} {spread_text(x)}; at least {thr:g} in {rate_text(k, len(x))}",
                rate_verdict(k, len(x), v["share"]),
                f"a seed counts if the value is at least {thr:g} (units matched to features by the best total |r|); {share_rule}",
                claim_id=f"person_code_{feature}", reading=reading)  # fmt: skip
    return rows
