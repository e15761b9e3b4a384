# The claims table and the report: the workflow's last rule renders one
# self-contained HTML file from the tables and figures above, and, for
# Snakemake's own report (snakemake --report), each figure's caption and each
# table as a page of its own.
from backprop86.claims import claim_inputs
from backprop86.tracking import experiment_name

# What the claims read: the runs and result tables the registered claims declare.
CLAIM_INPUTS = claim_inputs(config)
REPORT_TABLES = {
    "claims": "results/tables/claims.csv",
    "configurations": "results/tables/configurations.csv",
}
TABLE_LABELS = {  # one label each, as the figures' (figures.smk)
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
        figures=[f"results/figures/{n}.png" for n in PLANS],
        full=[f"results/figures/{n}.svg" for n in PLANS],
        facts=[f"results/figures/{n}.json" for n in PLANS],
        logged="reports/mlflow_runs.json",
        tables=list(REPORT_TABLES.values()),
    output:
        page=report(
            "reports/backprop86.html",
            caption="../report/page.rst",
            category="The report",
            labels={"file": "backprop86.html: claims, figures, provenance"},
        ),
        captions=[f"results/report/captions/{n}.html" for n in PLANS],
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
        names=list(PLANS),
        tables=list(REPORT_TABLES),
        provenance={
            name: {
                "rule": "figure",
                "script": "workflow/scripts/figure.py",
                "function": f"backprop86.figures.{name}.draw",
                "config": list(p.config),
            }
            for name, p in PLANS.items()
        },
        experiments=[experiment_name(e) for e in config["experiments"]]
        + ([experiment_name("readings_map")] if MAP_CELLS else []),
    script:
        "../scripts/report.py"
