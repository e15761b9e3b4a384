from backprop86.io import job_log, save_csv

with job_log(snakemake.log[0]):
    from backprop86.claims_iterative import claims_table
    from backprop86.experiments import load_run

    runs = {e: load_run(d) for e, d in zip(snakemake.params.experiments, snakemake.input)}
    save_csv(snakemake.output[0], claims_table(runs, snakemake.params.verdicts))
