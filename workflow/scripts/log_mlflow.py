from pathlib import Path

from backprop86.io import job_log

with job_log(snakemake.log[0]):
    from backprop86.tracking import log_configuration

    experiment, p = snakemake.wildcards.experiment, snakemake.params
    for configuration, part in p.parts.items():
        counts = log_configuration(part["run"], experiment, configuration, snakemake.input.dataset,
                                   part["timings"], Path(snakemake.output[0]) / f"{configuration}.json",
                                   curve_points=p.curve_points, paper_settings=p.paper_settings)  # fmt: skip
        print(f"{experiment}/{configuration}: {counts}", flush=True)
