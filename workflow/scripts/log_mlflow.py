from backprop86.io import job_log

with job_log(snakemake.log[0]):
    from backprop86.tracking import log_configuration

    w = snakemake.wildcards
    counts = log_configuration(snakemake.input.run, w.experiment, w.configuration, snakemake.input.dataset,
                               snakemake.output[0], curve_every=snakemake.params.curve_every)  # fmt: skip
    print(f"{w.experiment}/{w.configuration}: {counts}")
