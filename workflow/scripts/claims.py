from backprop86.io import job_log, save_csv

with job_log(snakemake.log[0]):
    import pandas as pd

    from backprop86.claims import claims_table
    from backprop86.experiments import load_run

    p, i = snakemake.params, snakemake.input
    runs = {tuple(pair): load_run(d) for pair, d in zip(p.pairs, i.runs)}
    tables = {name: pd.read_csv(path) for name, path in zip(p.tables, i.tables)}
    save_csv(snakemake.output[0], claims_table(p.config, runs, tables))
