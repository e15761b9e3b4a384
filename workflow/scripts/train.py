from backprop86.io import job_log

with job_log(snakemake.log[0]):
    from backprop86.experiments import train_seeds

    seeds = range(int(snakemake.wildcards.first), int(snakemake.wildcards.last) + 1)
    train_seeds(snakemake.params.settings, seeds).write(snakemake.output[0])
