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
        mem_mb=2000,
        runtime=60,
    params:
        settings=settings_of,
    script:
        "../scripts/train.py"


rule combine_shards:
    input:
        shard_dirs,
    output:
        directory("results/runs/{experiment}/{configuration}/all_seeds"),
    log:
        "logs/combine/{experiment}/{configuration}.log",
    conda:
        "../envs/backprop86.yaml"
    script:
        "../scripts/combine.py"
