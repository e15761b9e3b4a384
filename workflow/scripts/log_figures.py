import json
from pathlib import Path

from backprop86.io import job_log, save_json

with job_log(snakemake.log[0]):
    from backprop86.tracking import experiment_name, log_figures

    files = {Path(f).stem: [f, str(Path(f).with_suffix(".svg"))] for f in snakemake.input.figures}
    for f in snakemake.input.facts:
        files[Path(f).stem].append(f)
    logged, ids = {}, {}
    for name, runs in snakemake.params.runs.items():
        logged[name], ids[name] = [], []
        for experiment, configuration, _ in runs:
            # the parent run the configuration's logging marker names (checked against the store)
            run_id = log_figures(f"results/tracking/{experiment}/{configuration}.json", files[name])
            print(f"{name} -> {experiment}/{configuration} ({run_id})")
            where = {"experiment": experiment_name(experiment), "configuration": configuration}
            logged[name].append(where)
            ids[name].append({**where, "run_id": run_id})
    for marker in snakemake.input.readings_map:  # logged with the map's tables by log_readings_map
        where = {"experiment": experiment_name("readings_map"), "configuration": "readings map"}
        ids["readings_map"] = [{**where, "run_id": json.loads(Path(marker).read_text())["parent_run_id"]}]
    save_json(snakemake.output.logged, logged)  # the same bytes for the same results
    save_json(snakemake.output.runs, ids)  # the ids this MLflow store gave the runs
