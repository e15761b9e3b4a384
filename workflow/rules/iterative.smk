# Fig. 5: the synchronous iterative nets. Their experiments train through the
# ordinary rules (data.smk, train.smk); here is the claims table (Fig. 5 is a
# figure of the registry, figures.smk), made only when the config has iterative experiments.
from backprop86.tasks import ITERATIVE_TASKS

ITERATIVE = [
    e for e, x in config["experiments"].items() if x["task"] in ITERATIVE_TASKS
]
ITERATIVE_TARGETS = ["results/tables/claims_iterative.csv"] if ITERATIVE else []


localrules:
    claims_iterative,


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
        verdicts=lambda w: REPORT["verdicts"]["iterative"],
    script:
        "../scripts/claims_iterative.py"
