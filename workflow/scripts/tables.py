from backprop86.io import job_log, save_csv

with job_log(snakemake.log[0]):
    from backprop86.experiments import load_run
    from backprop86.summarise import configurations_table, seeds_table

    runs = {tuple(p): load_run(d) for p, d in zip(snakemake.params.pairs, snakemake.input)}
    save_csv(snakemake.output.configurations, configurations_table(runs))
    save_csv(snakemake.output.seeds, seeds_table(runs))
