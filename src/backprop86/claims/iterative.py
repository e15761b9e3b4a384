"""The claims of the paper's Fig. 5 section (iterative nets), measured on every trained
seed of every iterative experiment by :mod:`backprop86.claims_iterative`; their texts
are ``templates/claims_iterative.txt.j2``."""

from __future__ import annotations

from ..claims_iterative import equivalence_check, learning_summary, strictest
from ..tasks import ITERATIVE_TASKS
from .registry import claim, exactly, number

EXACT = number(
    1.0e-9,
    exclusiveMinimum=0,
    description="a relative difference of two derivatives that makes them the same numbers up to rounding",
)


def iterative_runs(config: dict, settings: dict) -> list | None:
    """The published settings of every iterative experiment."""
    runs = [(e, "paper") for e, x in config["experiments"].items() if x["task"] in ITERATIVE_TASKS]
    return runs or None


def checks(ctx) -> dict:
    """:func:`equivalence_check` of every iterative experiment's trained weights, the largest
    of each over them, and the experiments' names and seeds."""

    def compute():
        runs = {e: ctx.runs[(e, c)] for e, c in iterative_runs(ctx.config, ctx.settings)}
        each = [equivalence_check(run.settings, run.result.params) for run in runs.values()]
        worst = {k: max(c[k] for c in each) for k in each[0]}
        return {**worst, "seeds": {e: len(run.seeds) for e, run in runs.items()}}

    return ctx.once("equivalence_check", compute)


@claim(
    "iterative_forward_equivalence",
    statement="a synchronous iterative net run for T steps computes what the layered net with T layers and "
    "corresponding weights shared computes",
    paper="stated (Fig. 5)",
    where="Fig. 5",
    runs=iterative_runs,
    verdict=lambda m, r: exactly(m["forward"] == 0.0),
)
def iterative_forward_equivalence(ctx):
    """The largest difference between the synchronous iteration's states and the unrolled net's."""
    yield checks(ctx)


@claim(
    "iterative_gradient_sum_of_copies",
    statement="dE/dw of a shared weight is the sum of the layered net's dE/dw over its T copies, found by "
    "keeping every unit's history and running the backward pass through the steps",
    paper="stated (Fig. 5 text)",
    where="Fig. 5 text",
    runs=iterative_runs,
    rule={
        "exact": EXACT,
        "finite_differences": {
            **EXACT,
            "default": 1.0e-6,
            "description": "a relative difference from central finite differences (h = 1e-6) that makes them agree",
        },
    },
    verdict=lambda m, r: exactly(
        m["sum_of_copies"] < r["exact"] and m["finite_differences"] < r["finite_differences"]
    ),
)
def iterative_gradient_sum_of_copies(ctx):
    """The largest relative differences of the tied dE/dw from the summed copies' and from finite differences."""
    yield checks(ctx)


@claim(
    "iterative_average_weight_change",
    statement="each weight changes in proportion to dE/dw averaged over its T corresponding weights, so "
    "corresponding weights stay equal",
    paper="stated (Fig. 5 text)",
    where="Fig. 5 text",
    runs=iterative_runs,
    rule={"exact": EXACT},
    verdict=lambda m, r: exactly(m["average_change"] < r["exact"]),
)
def iterative_average_weight_change(ctx):
    """The largest difference between the first weight change and -epsilon times the average over copies."""
    yield checks(ctx)


@claim(
    "iterative_learns",
    statement="an iterative net can learn sequential structure: {{ m.task|replace('_', ' ') }}",
    paper="stated qualitatively; the PDP chapter's numbers are known to us only second-hand",
    where="Fig. 5 text",
    runs=iterative_runs,
    rule={"learned_share": number(0.5, description="share of seeds that must learn")},
    verdict=lambda m, r: exactly(m["share"] >= r["learned_share"]),
)
def iterative_learns(ctx):
    """Each iterative experiment's seeds that learn by its strictest criterion within the budget:
    a claim of its own per task."""
    for e, c in iterative_runs(ctx.config, ctx.settings):
        run = ctx.runs[(e, c)]
        criterion = strictest(run.settings)
        yield {
            "key": e,
            "claim_id": f"iterative_learns_{e}",
            "task": run.settings["task"],
            "tol": run.settings["criteria"][criterion],
            **learning_summary(run, criterion),
        }
