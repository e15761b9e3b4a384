from backprop86.io import job_log, save_csv

with job_log(snakemake.log[0]):
    from backprop86.claims import claims_table
    from backprop86.experiments import load_run

    runs = {tuple(p): load_run(d) for p, d in zip(snakemake.params.pairs, snakemake.input)}
    save_csv(snakemake.output[0], claims_table(snakemake.params.config, runs))
