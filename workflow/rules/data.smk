rule dataset:
    output:
        "results/data/{task}.csv",
    log:
        "logs/data/{task}.log",
    wildcard_constraints:
        task="symmetry|family_trees",
    conda:
        "../envs/backprop86.yaml"
    script:
        "../scripts/dataset.py"
