from backprop86.io import job_log, save_csv

with job_log(snakemake.log[0]):
    from backprop86.experiments import load_run
    from backprop86.readings_map import map_table, seeds_table

    runs = {c: load_run(d) for c, d in zip(snakemake.params.cells, snakemake.input)}
    save_csv(snakemake.output.table, map_table(snakemake.config, runs))
    save_csv(snakemake.output.seeds, seeds_table(snakemake.config, runs))
