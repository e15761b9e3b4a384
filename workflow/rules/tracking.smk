# MLflow logging: one job per experiment (one MLflow start-up), from the result
# files, writing one marker per configuration into the experiment's folder of
# markers. Logging is done when the store holds the runs: before planning, a
# folder with a marker whose runs the store no longer holds (deleted, another
# store, MLFLOW_TRACKING_URI changed), or without a configuration's marker, is
# dropped, and the experiment is logged again (only what is missing).
# Writers hold the mlflow_writer resource (1 in the default profile: SQLite
# takes one writer at a time) so that waiting writers do not fill job slots.
import os

from backprop86.tracking import curve_points

if workflow.is_main_process:
    drop_stale_logging({m: os.path.dirname(m) for m in tracking_markers()})


rule log_mlflow:
    input:
        runs=lambda w: [p["run"] for p in logging_parts(w.experiment).values()],
        dataset=dataset_of,
        timings=lambda w: [
            t for p in logging_parts(w.experiment).values() for t in p["timings"]
        ],
    output:
        directory("results/tracking/{experiment}"),
    log:
        "logs/mlflow/{experiment}.log",
    benchmark:
        "logs/benchmarks/mlflow/{experiment}.tsv"
    priority: 10
    conda:
        "../envs/backprop86.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
        mlflow_writer=1,
    params:
        parts=lambda w: logging_parts(w.experiment),
        curve_points=curve_points(config),
        paper_settings=lambda w: resolve(config, w.experiment),
    script:
        "../scripts/log_mlflow.py"
