# Figs. 1-4 and the learning curves, drawn from result files (never retraining),
# and attached to the MLflow parent runs of the configurations they show.
from backprop86.claims import ReportConfigError, report_settings
from backprop86.config import resolve

try:
    REPORT = report_settings(config)
except ReportConfigError as error:
    raise WorkflowError(str(error)) from None

SYM = REPORT["symmetry"]
FT = REPORT["family_trees"]
LAYERED = [
    (e, c)
    for e, c in all_configurations()
    if config["experiments"][e]["task"] in ("symmetry", "family_trees")
]
# The configurations each figure shows (only those the config has experiments for):
# its figures go to their MLflow parent runs.
FIGURE_RUNS = {}
if SYM is not None:
    FIGURE_RUNS["fig1"] = [(SYM["experiment"], SYM["configuration"])]
if FT is not None:
    FIGURE_RUNS["fig2"] = [(FT["experiment"], FT["main"])]
    FIGURE_RUNS["fig3"] = [(FT["experiment"], FT["trained"])]
    FIGURE_RUNS["fig4"] = [(FT["experiment"], FT["trained"])]
if LAYERED:
    FIGURE_RUNS["learning_curves"] = LAYERED
SHIFT = [e for e, x in config["experiments"].items() if x["task"] == "shift_register"]
if SHIFT:
    FIGURE_RUNS["fig5"] = [(SHIFT[0], "paper")]
PAPER_SWEEPS = {}
if SYM is not None:
    PAPER_SWEEPS[SYM["experiment"]] = REPORT["paper"]["symmetry_sweeps"]
if FT is not None:
    PAPER_SWEEPS[FT["experiment"]] = REPORT["paper"]["family_trees_sweeps"]


# Drawing and logging figures is light: it runs where snakemake runs, never on a cluster node.
localrules:
    fig1,
    fig2,
    fig3,
    fig4,
    learning_curves,
    log_figures,


rule fig1:
    input:
        lambda w: run_dir(SYM["experiment"], SYM["configuration"]),
    output:
        png=report(
            "results/figures/fig1.png",
            caption="../report/fig1.rst",
            category="Figures",
        ),
        facts="results/figures/fig1.json",
    log:
        "logs/figures/fig1.log",
    conda:
        "../envs/backprop86.yaml"
    params:
        criterion=lambda w: SYM["criterion"],
        seed_rule=lambda w: SYM["seed_rule"],
    script:
        "../scripts/fig1.py"


rule fig2:
    input:
        "results/data/family_trees.csv",
    output:
        png=report(
            "results/figures/fig2.png",
            caption="../report/fig2.rst",
            category="Figures",
        ),
        facts="results/figures/fig2.json",
    log:
        "logs/figures/fig2.log",
    conda:
        "../envs/backprop86.yaml"
    script:
        "../scripts/fig2.py"


rule fig3:
    input:
        lambda w: run_dir(FT["experiment"], FT["trained"]),
    output:
        png=report(
            "results/figures/fig3.png",
            caption="../report/fig3.rst",
            category="Figures",
        ),
        facts="results/figures/fig3.json",
    log:
        "logs/figures/fig3.log",
    conda:
        "../envs/backprop86.yaml"
    params:
        criterion=lambda w: FT["criterion"],
        seed_rule=lambda w: FT["seed_rule"],
        question=lambda w: FT["question"],
    script:
        "../scripts/fig3.py"


rule fig4:
    input:
        lambda w: run_dir(FT["experiment"], FT["trained"]),
    output:
        png=report(
            "results/figures/fig4.png",
            caption="../report/fig4.rst",
            category="Figures",
        ),
        facts="results/figures/fig4.json",
    log:
        "logs/figures/fig4.log",
    conda:
        "../envs/backprop86.yaml"
    params:
        criterion=lambda w: FT["criterion"],
        seed_rule=lambda w: FT["seed_rule"],
    script:
        "../scripts/fig4.py"


rule learning_curves:
    input:
        [run_dir(e, c) for e, c in LAYERED],
    output:
        png=report(
            "results/figures/learning_curves.png",
            caption="../report/learning_curves.rst",
            category="Figures",
        ),
        facts="results/figures/learning_curves.json",
    log:
        "logs/figures/learning_curves.log",
    conda:
        "../envs/backprop86.yaml"
    params:
        pairs=LAYERED,
        paper_sweeps=PAPER_SWEEPS,
    script:
        "../scripts/learning_curves.py"


rule log_figures:
    input:
        figures=[f"results/figures/{name}.png" for name in FIGURE_RUNS],
        facts=[f"results/figures/{name}.json" for name in FIGURE_RUNS if name != "fig5"],
        logged=sorted(
            {
                f"results/tracking/{e}/{c}.json"
                for runs in FIGURE_RUNS.values()
                for e, c in runs
            }
        ),
    output:
        "results/tracking/figures.json",
    log:
        "logs/mlflow/figures.log",
    conda:
        "../envs/backprop86.yaml"
    params:
        runs={
            name: [(e, c, resolve(config, e, c)) for e, c in runs]
            for name, runs in FIGURE_RUNS.items()
        },
    script:
        "../scripts/log_figures.py"
