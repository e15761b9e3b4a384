# Fig. 5: the synchronous iterative nets. Their experiments train through the
# ordinary training rules (train.smk); here are their datasets, the figure and
# the claims table, made only when the config has iterative experiments.
from backprop86.iterative import TASKS as ITERATIVE_TASKS

ITERATIVE = [
    e for e, x in config["experiments"].items() if x["task"] in ITERATIVE_TASKS
]
FIRST_OF_TASK = {}
for e in ITERATIVE:
    FIRST_OF_TASK.setdefault(config["experiments"][e]["task"], e)
# Fig. 5 needs a shift register; the claims table any iterative experiment.
ITERATIVE_TARGETS = (
    ["results/figures/fig5.png"] if "shift_register" in FIRST_OF_TASK else []
)
ITERATIVE_TARGETS += ["results/tables/claims_iterative.csv"] if ITERATIVE else []


localrules:
    iterative_dataset,
    fig5,
    claims_iterative,


rule iterative_dataset:
    output:
        "results/data/{task}.csv",
    log:
        "logs/data/{task}.log",
    wildcard_constraints:
        task="|".join(ITERATIVE_TASKS),
    conda:
        "../envs/backprop86.yaml"
    params:
        settings=lambda w: resolve(config, FIRST_OF_TASK[w.task]),
    script:
        "../scripts/iterative_dataset.py"


rule fig5:
    input:
        lambda w: run_dir(FIRST_OF_TASK["shift_register"], "paper"),
    output:
        "results/figures/fig5.png",
    log:
        "logs/figures/fig5.log",
    conda:
        "../envs/backprop86.yaml"
    params:
        settings=lambda w: resolve(config, FIRST_OF_TASK["shift_register"]),
    script:
        "../scripts/fig5.py"


rule claims_iterative:
    input:
        [run_dir(e, "paper") for e in ITERATIVE],
    output:
        "results/tables/claims_iterative.csv",
    log:
        "logs/tables/claims_iterative.log",
    conda:
        "../envs/backprop86.yaml"
    params:
        experiments=ITERATIVE,
    script:
        "../scripts/claims_iterative.py"
