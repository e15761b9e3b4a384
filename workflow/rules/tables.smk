rule tables:
    input:
        [run_dir(e, c) for e, c in all_configurations()],
    output:
        configurations="results/tables/configurations.csv",
        seeds="results/tables/seeds.csv",
    log:
        "logs/tables.log",
    conda:
        "../envs/backprop86.yaml"
    params:
        pairs=all_configurations(),
    script:
        "../scripts/tables.py"
