from backprop86.io import job_log, save_csv

with job_log(snakemake.log[0]):
    from backprop86.tasks import task_module

    save_csv(snakemake.output[0], task_module(snakemake.wildcards.task).frame(snakemake.params.settings))
