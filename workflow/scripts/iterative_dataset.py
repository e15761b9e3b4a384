from backprop86.io import job_log, save_csv

with job_log(snakemake.log[0]):
    from backprop86.iterative import dataset_frame

    save_csv(snakemake.output[0], dataset_frame(snakemake.wildcards.task, snakemake.params.settings))
