# Training: a configuration whose seeds fit in one job (seeds_per_job) trains
# straight into all_seeds; larger ones train in shards that are then combined.
# Every training job also records when it ran (results/timing/), which MLflow
# shows as the runs' times; it is kept apart from the results, whose bytes are
# the same on every run.


rule train_configuration:
    input:
        dataset_of,
    output:
        run=directory("results/runs/{experiment}/{configuration}/all_seeds"),
        timing="results/timing/{experiment}/{configuration}/all_seeds.json",
    log:
        "logs/train/{experiment}/{configuration}/all_seeds.log",
    benchmark:
        "logs/benchmarks/train/{experiment}/{configuration}/all_seeds.tsv"
    wildcard_constraints:
        experiment=ONE_SHARD,
    priority: training_priority
    conda:
        "../envs/backprop86.yaml"
    threads: 1
    resources:
        # validation checks that every job's arrays fit (backprop86.config.training_memory)
        mem_mb=JOB_MEM_MB["train_shard"],
        runtime=60,
    params:
        settings=settings_of,
        seeds=lambda w: [0, resolve(config, w.experiment, w.configuration)["seeds"] - 1],
    script:
        "../scripts/train.py"


rule train_shard:
    input:
        dataset_of,
    output:
        run=directory(
            "results/runs/{experiment}/{configuration}/shards/seeds{first}-{last}"
        ),
        timing="results/timing/{experiment}/{configuration}/seeds{first}-{last}.json",
    log:
        "logs/train/{experiment}/{configuration}/seeds{first}-{last}.log",
    benchmark:
        "logs/benchmarks/train/{experiment}/{configuration}/seeds{first}-{last}.tsv"
    priority: training_priority
    conda:
        "../envs/backprop86.yaml"
    threads: 1
    resources:
        # validation checks that every job's arrays fit (backprop86.config.training_memory)
        mem_mb=JOB_MEM_MB["train_shard"],
        runtime=60,
    params:
        settings=settings_of,
        seeds=lambda w: [int(w.first), int(w.last)],
    script:
        "../scripts/train.py"


# Combining and logging go first once ready, so logging keeps up with training.
rule combine_shards:
    input:
        shard_dirs,
    output:
        directory("results/runs/{experiment}/{configuration}/all_seeds"),
    log:
        "logs/combine/{experiment}/{configuration}.log",
    wildcard_constraints:
        experiment=MANY_SHARDS,
    priority: 20
    conda:
        "../envs/backprop86.yaml"
    resources:
        mem_mb=JOB_MEM_MB["combine_shards"],
    script:
        "../scripts/combine.py"
