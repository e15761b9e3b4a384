from pathlib import Path

from backprop86.io import job_log, save_json

with job_log(snakemake.log[0]):
    from backprop86.tracking import experiment_name, log_figures

    files = {Path(f).stem: [f] for f in snakemake.input.figures}
    for f in snakemake.input.facts:
        files[Path(f).stem].append(f)
    logged = {}
    for name, runs in snakemake.params.runs.items():
        for experiment, configuration, settings in runs:
            log_figures(experiment, configuration, settings, files[name])
            print(f"{name} -> {experiment}/{configuration}")
        logged[name] = [{"experiment": experiment_name(e), "configuration": c} for e, c, _ in runs]
    save_json(snakemake.output[0], logged)
