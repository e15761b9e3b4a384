# The claims table and the report: the workflow's last rule renders one
# self-contained HTML file from the tables and figures above.
from backprop86.tracking import experiment_name

ITERATIVE_TASKS_ = ("shift_register", "sequence_completion")
HAS_ITERATIVE = any(
    x["task"] in ITERATIVE_TASKS_ for x in config["experiments"].values()
)
REPORT_FIGURES = {n: f"results/figures/{n}.png" for n in FIGURE_RUNS}
REPORT_TARGETS = ["reports/backprop86.html"]


localrules:
    claims,
    report,


rule claims:
    input:
        [run_dir(e, c) for e, c in LAYERED],
    output:
        report(
            "results/tables/claims.csv",
            caption="../report/claims.rst",
            category="Claims",
        ),
    log:
        "logs/tables/claims.log",
    conda:
        "../envs/backprop86.yaml"
    params:
        config=config,
        pairs=LAYERED,
    script:
        "../scripts/claims.py"


rule report:
    input:
        claims=["results/tables/claims.csv"]
        + (["results/tables/claims_iterative.csv"] if HAS_ITERATIVE else []),
        figures=list(REPORT_FIGURES.values()),
        facts=[f"results/figures/{n}.json" for n in FIGURE_RUNS if n != "fig5"],
        logged="results/tracking/figures.json",
    output:
        "reports/backprop86.html",
    log:
        "logs/report.log",
    conda:
        "../envs/backprop86.yaml"
    params:
        config=config,
        settings=REPORT,
        names=list(REPORT_FIGURES),
        experiments=[experiment_name(e) for e in config["experiments"]],
    script:
        "../scripts/report.py"
