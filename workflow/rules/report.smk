# The claims table and the report: the workflow's last rule renders one
# self-contained HTML file from the tables and figures above, and, for
# Snakemake's own report (snakemake --report), each figure's caption and each
# table as a page of its own.
from backprop86.claims import claim_inputs
from backprop86.tracking import experiment_name

# What the claims read: the runs and result tables the registered claims declare.
CLAIM_INPUTS = claim_inputs(config)
REPORT_FIGURES = {n: f"results/figures/{n}.png" for n in FIGURE_RUNS}
REPORT_TABLES = {
    "claims": "results/tables/claims.csv",
    "configurations": "results/tables/configurations.csv",
}
TABLE_LABELS = {  # one label each, as FIGURE_LABELS
    "claims": {"table": "claims.csv: every claim of Figs. 1-5, by reading"},
    "configurations": {"table": "configurations.csv: one row per configuration"},
}
REPORT_TARGETS = ["reports/backprop86.html"]


localrules:
    claims,
    report,


rule claims:
    input:
        runs=[run_dir(e, c) for e, c in CLAIM_INPUTS["runs"]],
        tables=[f"results/tables/{name}.csv" for name in CLAIM_INPUTS["tables"]],
    output:
        "results/tables/claims.csv",
    log:
        "logs/tables/claims.log",
    conda:
        "../envs/backprop86.yaml"
    params:
        config=config,
        pairs=CLAIM_INPUTS["runs"],
        tables=CLAIM_INPUTS["tables"],
    script:
        "../scripts/claims.py"


rule report:
    input:
        claims=["results/tables/claims.csv"],
        figures=list(REPORT_FIGURES.values()),
        full=[f"results/figures/{n}.svg" for n in FIGURE_RUNS],
        facts=[f"results/figures/{n}.json" for n in FIGURE_RUNS],
        logged="reports/mlflow_runs.json",
        tables=list(REPORT_TABLES.values()),
    output:
        page=report(
            "reports/backprop86.html",
            caption="../report/page.rst",
            category="The report",
            labels={"file": "backprop86.html: claims, figures, provenance"},
        ),
        captions=[f"results/report/captions/{n}.html" for n in FIGURE_RUNS],
        tables=[
            report(
                f"results/report/{name}.html",
                caption=f"../report/{name}.rst",
                category="The claims" if name.startswith("claims") else "The tables",
                labels=TABLE_LABELS[name],
            )
            for name in REPORT_TABLES
        ],
        summary="results/report/summary.html",
    log:
        "logs/report.log",
    conda:
        "../envs/backprop86.yaml"
    params:
        config=config,
        settings=REPORT,
        names=list(REPORT_FIGURES),
        tables=list(REPORT_TABLES),
        provenance={
            n: {
                "rule": "figures" if n in PAPER_FIGURES else n,
                "script": f"workflow/scripts/{'figures' if n in PAPER_FIGURES else n}.py",
                "function": FIGURE_FUNCTIONS[n],
                "config": FIGURE_CONFIG[n],
            }
            for n in FIGURE_RUNS
        },
        experiments=[experiment_name(e) for e in config["experiments"]]
        + ([experiment_name("readings_map")] if MAP_CELLS else []),
    script:
        "../scripts/report.py"
