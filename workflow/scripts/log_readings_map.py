from backprop86.io import job_log

with job_log(snakemake.log[0]):
    from backprop86.tracking import log_readings_map

    i = snakemake.input
    print(log_readings_map(i.table, i.seeds, i.figures, snakemake.output[0]))
