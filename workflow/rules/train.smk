rule train_shard:
    input:
        dataset_of,
    output:
        directory(
            "results/runs/{experiment}/{configuration}/shards/seeds{first}-{last}"
        ),
    log:
        "logs/train/{experiment}/{configuration}/seeds{first}-{last}.log",
    conda:
        "../envs/backprop86.yaml"
    threads: 1
    resources:
        # validation checks that every shard's arrays fit (backprop86.config.job_memory)
        mem_mb=JOB_MEM_MB["train_shard"],
        runtime=60,
    params:
        settings=settings_of,
    script:
        "../scripts/train.py"


# Combining and logging go first once ready: logging to a SQLite store runs one
# job at a time, so starting it early keeps it off the end of the run.
rule combine_shards:
    input:
        shard_dirs,
    output:
        directory("results/runs/{experiment}/{configuration}/all_seeds"),
    log:
        "logs/combine/{experiment}/{configuration}.log",
    priority: 20
    conda:
        "../envs/backprop86.yaml"
    resources:
        mem_mb=JOB_MEM_MB["combine_shards"],
    script:
        "../scripts/combine.py"
