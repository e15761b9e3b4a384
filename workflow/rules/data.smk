# Every task's dataset as a table, from the settings of the first experiment of the task.
rule dataset:
    output:
        "results/data/{task}.csv",
    log:
        "logs/data/{task}.log",
    wildcard_constraints:
        task="|".join(TASKS),
    # First of all (each takes a second): training waits for them, and the order
    # training_priority sets applies only to jobs that are ready.
    priority: 50
    conda:
        "../envs/backprop86.yaml"
    params:
        settings=lambda w: resolve(config, FIRST_OF_TASK[w.task]),
    script:
        "../scripts/dataset.py"
