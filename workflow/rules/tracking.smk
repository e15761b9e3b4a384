rule log_mlflow:
    input:
        run=lambda w: run_dir(w.experiment, w.configuration),
        dataset=dataset_of,
    output:
        "results/tracking/{experiment}/{configuration}.json",
    log:
        "logs/mlflow/{experiment}/{configuration}.log",
    priority: 10
    conda:
        "../envs/backprop86.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        curve_every=lambda w: curve_every(config, w.configuration),
    script:
        "../scripts/log_mlflow.py"
