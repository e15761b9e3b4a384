from backprop86.io import job_log

with job_log(snakemake.log[0]):
    from backprop86.experiments import train_seeds

    settings = snakemake.params.settings
    train_seeds(settings, range(settings["seeds"])).write(snakemake.output[0])
