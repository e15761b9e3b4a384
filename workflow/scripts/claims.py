from backprop86.io import job_log, save_csv

with job_log(snakemake.log[0]):
    import pandas as pd

    from backprop86.claims import claims_table
    from backprop86.experiments import load_run

    runs = {tuple(p): load_run(d) for p, d in zip(snakemake.params.pairs, snakemake.input.runs)}
    readings_map = pd.read_csv(snakemake.input.readings_map[0]) if snakemake.input.readings_map else None
    save_csv(snakemake.output[0], claims_table(snakemake.params.config, runs, readings_map))
