# Figs. 1-5 and the learning curves, drawn from result files (never retraining),
# and attached to the MLflow parent runs of the configurations they show. Each
# figure is a PNG at the report's width, a full-resolution SVG and a facts JSON
# (the numbers its caption quotes).
from backprop86.claims import ReportConfigError, report_settings
from backprop86.config import held_out_count, resolve

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
# its figures go to their MLflow parent runs. FIGURE_CONFIG: the config sections
# each figure is drawn from, for the provenance line under it in the report.
FIGURE_RUNS = {}
FIGURE_CONFIG = {}
if SYM is not None:
    FIGURE_RUNS["fig1"] = [(SYM["experiment"], SYM["configuration"])]
    FIGURE_CONFIG["fig1"] = [
        config_section(SYM["experiment"], SYM["configuration"]),
        "report.symmetry",
    ]
if FT is not None:
    FIGURE_RUNS["fig2"] = [(FT["experiment"], FT["main"])]
    FIGURE_CONFIG["fig2"] = [f"experiments.{FT['experiment']}.task"]
    for name in ("fig3", "fig4"):
        FIGURE_RUNS[name] = [(FT["experiment"], FT["trained"])]
        FIGURE_CONFIG[name] = [
            config_section(FT["experiment"], FT["trained"]),
            "report.family_trees",
        ]
if LAYERED:
    FIGURE_RUNS["learning_curves"] = LAYERED
    FIGURE_CONFIG["learning_curves"] = [
        f"experiments.{e}" for e in dict.fromkeys(e for e, _ in LAYERED)
    ] + ["report.paper"]
SHIFT = [e for e, x in config["experiments"].items() if x["task"] == "shift_register"]
if SHIFT:
    FIGURE_RUNS["fig5"] = [(SHIFT[0], "paper")]
    FIGURE_CONFIG["fig5"] = [config_section(SHIFT[0], "paper")]
# The map's figure is drawn from its own table: its run is the map's parent (log_readings_map).
if MAP_CELLS:
    FIGURE_RUNS["readings_map"] = []
    FIGURE_CONFIG["readings_map"] = [
        "readings_map",
        f"experiments.{config['readings_map']['experiment']}.settings",
    ]
PAPER_SWEEPS = {}
PAPER_CONFIGURATION = {}
if SYM is not None:
    PAPER_SWEEPS[SYM["experiment"]] = REPORT["paper"]["symmetry_sweeps"]
    PAPER_CONFIGURATION[SYM["experiment"]] = "paper"
if FT is not None:
    PAPER_SWEEPS[FT["experiment"]] = REPORT["paper"]["family_trees_sweeps"]
    PAPER_CONFIGURATION[FT["experiment"]] = FT["main"]
# One label per entry of Snakemake's report: with a second label, a category of
# two entries shows them as an on/off toggle, which breaks the report's page.
FIGURE_LABELS = {
    "fig1": {"figure": "Fig. 1: the trained symmetry net"},
    "fig2": {"figure": "Fig. 2: the two family trees"},
    "fig3": {"figure": "Fig. 3: every unit's activity for one question"},
    "fig4": {"figure": "Fig. 4: the person code"},
    "learning_curves": {"figure": "learning curves: E per sweep, every configuration"},
    "fig5": {"figure": "Fig. 5: an iterative net and its layered equivalent"},
    "readings_map": {
        "figure": "the readings map: how far from the printed family-tree recipe learning begins"
    },
}


# The function that draws each figure, for its provenance line.
FIGURE_FUNCTIONS = {
    **{n: f"backprop86.figures.{n}" for n in ("fig1", "fig2", "fig3", "fig4")},
    "learning_curves": "backprop86.figures.learning_curves",
    "fig5": "backprop86.figures_iterative.fig5",
    "readings_map": "backprop86.figures.readings_map_figure",
}
FIGURE_INPUTS = {
    "fig1": lambda: run_dir(SYM["experiment"], SYM["configuration"]),
    "fig2": lambda: "results/data/family_trees.csv",
    "fig3": lambda: run_dir(FT["experiment"], FT["trained"]),
    "fig4": lambda: run_dir(FT["experiment"], FT["trained"]),
    "learning_curves": lambda: [run_dir(e, c) for e, c in LAYERED],
    "fig5": lambda: run_dir(FIRST_OF_TASK["shift_register"], "paper"),
}
PAPER_FIGURES = [name for name in FIGURE_RUNS if name in FIGURE_INPUTS]


# Drawing and logging figures is light: it runs where snakemake runs, never on a cluster node.
localrules:
    figures,
    readings_map,
    log_figures,


# The paper's figures in one job: one start of Python, matplotlib and seaborn
# (about 2 CPU-s) rather than one per figure. workflow/scripts/figures.py says
# which function draws each.
rule figures:
    input:
        **{name: FIGURE_INPUTS[name]() for name in PAPER_FIGURES},
    output:
        **{
            f"{name}_{kind}": path
            for name in PAPER_FIGURES
            for kind, path in figure_outputs(name, FIGURE_LABELS[name]).items()
        },
    log:
        "logs/figures/figures.log",
    conda:
        "../envs/backprop86.yaml"
    params:
        names=PAPER_FIGURES,
        symmetry=SYM,
        family_trees=FT,
        pairs=LAYERED,
        paper_sweeps=PAPER_SWEEPS,
        paper=PAPER_CONFIGURATION,
        shift_register=lambda w: (
            resolve(config, FIRST_OF_TASK["shift_register"])
            if "fig5" in PAPER_FIGURES
            else None
        ),
    script:
        "../scripts/figures.py"


# The readings map's figure, apart: the map's own target (its MLflow runs) needs
# it, not the training of every configuration.
rule readings_map:
    input:
        "results/tables/readings_map.csv",
    output:
        **figure_outputs("readings_map", FIGURE_LABELS["readings_map"]),
    log:
        "logs/figures/readings_map.log",
    conda:
        "../envs/backprop86.yaml"
    params:
        # every cell holds out the same questions: the grid varies none of those settings
        heldout_total=lambda w: held_out_count(
            cell_settings(config, next(iter(MAP_CELLS.values())))
        ),
        share=REPORT["verdicts"]["share"],
    script:
        "../scripts/readings_map.py"


# Writes which configurations each figure went to (results/tracking/figures.json,
# reproducible) and their MLflow parent run ids (reports/mlflow_runs.json: ids
# belong to the store, not to the results); the report's provenance lines read the ids.
rule log_figures:
    input:
        figures=[f"results/figures/{name}.png" for name in FIGURE_RUNS],
        facts=[f"results/figures/{name}.json" for name in FIGURE_RUNS],
        logged=sorted(
            {f"results/tracking/{e}" for runs in FIGURE_RUNS.values() for e, c in runs}
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
            name: [(e, c, resolve(config, e, c)) for e, c in runs]
            for name, runs in FIGURE_RUNS.items()
        },
    script:
        "../scripts/log_figures.py"
