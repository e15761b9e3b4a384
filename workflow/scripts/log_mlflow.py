from backprop86.io import job_log

with job_log(snakemake.log[0]):
    from backprop86.tracking import log_configuration

    w, p = snakemake.wildcards, snakemake.params
    counts = log_configuration(snakemake.input.run, w.experiment, w.configuration, snakemake.input.dataset,
                               snakemake.input.timings, snakemake.output[0], curve_points=p.curve_points,
                               paper_settings=p.paper_settings)  # fmt: skip
    print(f"{w.experiment}/{w.configuration}: {counts}")
