# The claims table and the report: the workflow's last rule renders one
# self-contained HTML file from the tables and figures above, and, for
# Snakemake's own report (snakemake --report), each figure's caption and each
# table as a page of its own.
from backprop86.tracking import experiment_name

REPORT_TABLES = {
    "claims": "results/tables/claims.csv",
    **(
        {"claims_iterative": "results/tables/claims_iterative.csv"} if ITERATIVE else {}
    ),
    "configurations": "results/tables/configurations.csv",
}
TABLE_LABELS = {  # one label each, as the figures' (figures.smk)
    "claims": {"table": "claims.csv: every claim of Figs. 1-4, by reading"},
    "claims_iterative": {"table": "claims_iterative.csv: the claims of Fig. 5"},
    "configurations": {"table": "configurations.csv: one row per configuration"},
}
REPORT_TARGETS = ["reports/backprop86.html"]


localrules:
    claims,
    report,


rule claims:
    input:
        runs=[run_dir(e, c) for e, c in LAYERED],
        readings_map=MAP_TARGETS[:1],
    output:
        "results/tables/claims.csv",
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
        + (["results/tables/claims_iterative.csv"] if ITERATIVE else []),
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
