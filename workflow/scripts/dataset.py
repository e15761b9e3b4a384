from backprop86.io import job_log, save_csv

with job_log(snakemake.log[0]):
    from backprop86.cli import DATASETS

    save_csv(snakemake.output[0], DATASETS[snakemake.wildcards.task.replace("_", "-")]())
