# The figures, one generic rule made from the registry (backprop86.figures: a
# module per figure declares what it is drawn from and its caption), drawn from
# result files, never retraining. Each figure is a PNG at the report's width, a
# full-resolution SVG and a facts JSON (the numbers its caption quotes), and is
# attached to the MLflow parent runs of the configurations it shows.
from backprop86.claims import ReportConfigError, report_settings
from backprop86.figures import FIGURES, plans

try:
    REPORT = report_settings(config)
except ReportConfigError as error:
    raise WorkflowError(str(error)) from None

PLANS = plans(config, REPORT)


localrules:
    figure,
    log_figures,


rule figure:
    input:
        runs=lambda w: [run_dir(e, c) for e, c in PLANS[w.figure].runs],
        files=lambda w: PLANS[w.figure].files,
    output:
        png=report(
            "results/figures/{figure}.png",
            caption="../report/figure.rst",
            category="The paper's figures",
            # one label per entry: with a second, a category of two entries shows
            # them as an on/off toggle, which breaks the report's page
            labels=lambda w: {"figure": FIGURES[w.figure].LABEL},
        ),
        svg="results/figures/{figure}.svg",
        facts="results/figures/{figure}.json",
    log:
        "logs/figures/{figure}.log",
    wildcard_constraints:
        figure="|".join(PLANS) or "(?!)",
    conda:
        "../envs/backprop86.yaml"
    params:
        plan=lambda w: PLANS[w.figure],
    script:
        "../scripts/figure.py"


# Writes which configurations each figure went to (results/tracking/figures.json,
# reproducible) and their MLflow parent run ids (reports/mlflow_runs.json: ids
# belong to the store, not to the results); the report's provenance lines read the ids.
rule log_figures:
    input:
        figures=[f"results/figures/{name}.png" for name in PLANS],
        facts=[f"results/figures/{name}.json" for name in PLANS],
        logged=sorted(
            {f"results/tracking/{e}" for p in PLANS.values() for e, c in p.shown}
        ),
        readings_map=[MAP_MARKER] if MAP_CELLS else [],  # its parent run holds the heatmap
    output:
        logged="results/tracking/figures.json",
        runs="reports/mlflow_runs.json",
    log:
        "logs/mlflow/figures.log",
    conda:
        "../envs/backprop86.yaml"
    resources:
        mlflow_writer=1,
    params:
        runs={
            name: [(e, c, resolve(config, e, c)) for e, c in p.shown]
            for name, p in PLANS.items()
        },
    script:
        "../scripts/log_figures.py"
