# MLflow logging: one job per configuration, from the result files. Logging is
# done when the store holds the runs: before planning, markers whose runs the
# store no longer holds (deleted, another store, MLFLOW_TRACKING_URI changed)
# are dropped, so their configurations are logged again (only what is missing).
# Writers hold the mlflow_writer resource (1 in the default profile: SQLite
# takes one writer at a time) so that waiting writers do not fill job slots.
import os
import sys

from backprop86.tracking import TrackingError, curve_points, stale_markers

if workflow.is_main_process:
    try:
        for marker, why in stale_markers(tracking_markers()).items():
            print(
                f"MLflow: {marker} is stale ({why}); logging it again", file=sys.stderr
            )
            os.remove(marker)
    except TrackingError as error:
        print(f"MLflow: cannot check the logged runs: {error}", file=sys.stderr)


rule log_mlflow:
    input:
        run=lambda w: run_dir(w.experiment, w.configuration),
        dataset=dataset_of,
        timings=timings_of,
    output:
        "results/tracking/{experiment}/{configuration}.json",
    log:
        "logs/mlflow/{experiment}/{configuration}.log",
    benchmark:
        "logs/benchmarks/mlflow/{experiment}/{configuration}.tsv"
    priority: 10
    conda:
        "../envs/backprop86.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
        mlflow_writer=1,
    params:
        curve_points=curve_points(config),
        paper_settings=lambda w: resolve(config, w.experiment),
    script:
        "../scripts/log_mlflow.py"
