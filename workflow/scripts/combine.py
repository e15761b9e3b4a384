from backprop86.io import job_log

with job_log(snakemake.log[0]):
    from backprop86.experiments import combine, load_run

    combine([load_run(d) for d in snakemake.input]).write(snakemake.output[0])
