"""The claims of Fig. 1 (the symmetry net) and the paper's remark on local minima;
their texts are ``templates/claims_symmetry.txt.j2``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..experiments import Run
from .registry import by_sweeps, claim, judged_by_share, number, quantile_of


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
                "seed": int(run.seeds[s]),
                "unit": j + 1,
                "sweeps": int(first[s]),
                "antisymmetry": float(-w @ w[::-1] / (w @ w)),
                "bias": float(run.result.params["b:h1"][s, j]),
                "output_bias": float(run.result.params["b:out"][s, 0]),
                "outward_increasing": bool(np.all(np.diff(pair) > 0)),
            }
            for k in range(1, len(pair)):
                row[f"ratio_{k}"] = float(pair[k] / pair[0])
                row[f"ratio_sorted_{k}"] = float(srt[k] / srt[0])
            if H == 2:
                v = W[s, :, 1 - j]
                row["opposite"] = float(-w @ v / np.sqrt((w @ w) * (v @ v)))
            rows.append(row)
    return pd.DataFrame(rows)


def symmetry_run(config: dict, settings: dict) -> list | None:
    """The run of Fig. 1 (``report.symmetry``)."""
    sym = settings["symmetry"]
    return None if sym is None else [(sym["experiment"], sym["configuration"])]


def solution(ctx) -> tuple[pd.DataFrame, int]:
    """The solved seeds' solution (:func:`symmetry_solution`) of Fig. 1's run, and their number."""
    sym = ctx.settings["symmetry"]
    run = ctx.runs[(sym["experiment"], sym["configuration"])]
    sol = ctx.once("symmetry_solution", lambda: symmetry_solution(run, sym["criterion"]))
    return sol, (sol.seed.nunique() if len(sol) else 0)


def seeds_where(sol: pd.DataFrame, ok) -> int:
    """Solved seeds whose every hidden unit's row of ``sol`` is ``ok`` (a boolean per row)."""
    return int(pd.Series(np.asarray(ok), index=sol.seed).groupby(level=0).all().sum()) if len(sol) else 0


@claim(
    "symmetry_sweeps",
    statement="the symmetry net (Fig. 1) learns in about {{ p.symmetry_sweeps|fmt(',') }} sweeps; learned = "
    "every output within {{ m.tol|fmt('g') }} of its target{{ ' (the main reading)' if m.main else '' }}",
    paper="{{ p.symmetry_sweeps|fmt(',') }} sweeps (one run)",
    where="Fig. 1 text",
    runs=symmetry_run,
    shared=["sweeps"],
    verdict=by_sweeps,
)
def symmetry_sweeps(ctx):
    """Sweeps to learn, under each criterion the run records (each a reading of "learned")."""
    sym, paper = ctx.settings["symmetry"], ctx.settings["paper"]["symmetry_sweeps"]
    run = ctx.runs[(sym["experiment"], sym["configuration"])]
    for crit, tol in run.settings["criteria"].items():
        first = run.result.sweeps_to[crit]
        yield {
            "key": crit,
            "main": crit == sym["criterion"],
            "criterion": crit,
            "tol": tol,
            "configuration": sym["configuration"],
            "budget": run.settings["max_sweeps"],
            "paper": paper,
            "sweeps": first,
            "learned": first[first >= 0],
            "quantile": quantile_of(paper, first),
        }


@claim(
    "symmetry_mirror",
    statement="in the solution, weights that mirror each other about the middle are equal in size and "
    "opposite in sign",
    paper="shown (Fig. 1)",
    where="Fig. 1",
    runs=symmetry_run,
    **judged_by_share(antisymmetry_at_least=number(0.9, low=-1)),
)
def symmetry_mirror(ctx):
    """Seeds whose every hidden unit's weights are mirror-antisymmetric: ``-cos(w, mirror w)``."""
    sol, n = solution(ctx)
    ok = sol.antisymmetry >= ctx.rule["antisymmetry_at_least"] if n else []
    yield {"n": n, "k": seeds_where(sol, ok), "antisymmetry": sol.get("antisymmetry", [])}


@claim(
    "symmetry_ratio",
    statement="the weights on each side of the midpoint are in the ratio {{ p.symmetry_ratios|join(':') }} "
    "(the text gives no order)",
    paper="{{ p.symmetry_ratios|join(':') }}",
    where="Fig. 1 text",
    runs=symmetry_run,
    **judged_by_share(
        tolerance=number(0.25, exclusiveMinimum=0, description="a relative tolerance, above 0 and at most 1")
    ),
)
def symmetry_ratio(ctx):
    """Seeds whose every hidden unit's mirror-pair magnitudes are within the tolerance of
    the paper's ratios: sorted (judged), and in the outward order (observed)."""
    sol, n = solution(ctx)
    ratios = ctx.settings["paper"]["symmetry_ratios"]
    target = np.array(ratios[1:], float) / ratios[0]

    def close(prefix: str):
        cols = [f"{prefix}{i}" for i in range(1, len(ratios))]
        return seeds_where(
            sol, np.all(np.abs(sol[cols].to_numpy() / target - 1) <= ctx.rule["tolerance"], axis=1)
        )

    yield {
        "n": n,
        "k": close("ratio_sorted_") if n else 0,
        "k_outward": close("ratio_") if n else 0,
        "outward": seeds_where(sol, sol.outward_increasing) if n else 0,
        "median": [sol[f"ratio_sorted_{i}"].median() for i in range(1, len(ratios))] if n else [],
    }


@claim(
    "symmetry_opposite_units",
    statement="the two hidden units have identical patterns of weights but with opposite signs",
    paper="stated (Fig. 1)",
    where="Fig. 1 text",
    runs=symmetry_run,
    **judged_by_share(opposite_at_least=number(0.9, low=-1)),
)
def symmetry_opposite_units(ctx):
    """Seeds whose two hidden units' input weights are opposite: ``-cos(w1, w2)``."""
    sol, n = solution(ctx)
    if not n or "opposite" not in sol:
        yield {"n": n, "k": 0, "opposite": None}
        return
    ok = sol.opposite >= ctx.rule["opposite_at_least"]
    yield {"n": n, "k": seeds_where(sol, ok), "opposite": sol.groupby("seed").opposite.first()}


@claim(
    "symmetry_biases",
    statement="hidden biases are negative and the output bias positive",
    paper="shown (Fig. 1)",
    where="Fig. 1",
    runs=symmetry_run,
    **judged_by_share(),
)
def symmetry_biases(ctx):
    """Seeds whose hidden biases are all negative and output bias positive."""
    sol, n = solution(ctx)
    ok = (sol.bias < 0) & (sol.output_bias > 0) if n else []
    yield {
        "n": n,
        "k": seeds_where(sol, ok),
        "bias": sol.get("bias", []),
        "output_bias": sol.groupby("seed").output_bias.first() if n else [],
    }


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


def local_minima_runs(config: dict, settings: dict) -> list | None:
    """The symmetry configurations whose failures are compared (``report.local_minima``)."""
    lm = settings["local_minima"]
    if lm is None or settings["symmetry"] is None:
        return None
    return [(lm["experiment"], c) for c in lm["configurations"]]


@claim(
    "local_minima",
    statement="gradient descent rarely stops in a local minimum, and only in nets with just enough "
    "connections (here 2 hidden units)",
    paper="stated, no numbers",
    where="text, on local minima",
    runs=local_minima_runs,
    rule={"rare_failure_share": number(0.05)},
    verdict=lambda m, r: local_minima_verdict(
        {n["hidden"]: (n["failed"], n["n"]) for n in m["nets"]}, r["rare_failure_share"]
    ),
)
def local_minima(ctx):
    """Seeds of each net (2, 3, 4 hidden units) that never met the criterion within the budget."""
    lm, nets = ctx.settings["local_minima"], []
    for c in lm["configurations"]:
        run = ctx.runs[(lm["experiment"], c)]
        failed = run.result.sweeps_to[lm["criterion"]] < 0
        nets.append(
            {
                "configuration": c,
                "hidden": run.settings["hidden"],
                "failed": int(failed.sum()),
                "n": len(failed),
                "budget": run.settings["max_sweeps"],
                "final": run.summary().final_error.to_numpy()[failed],
            }
        )
    yield {"nets": nets}
