from backprop86.io import job_log

with job_log(snakemake.log[0]):
    from backprop86.experiments import load_run
    from backprop86.figures import learning_curves, save

    p = snakemake.params
    runs = {tuple(pair): load_run(d) for pair, d in zip(p.pairs, snakemake.input)}
    save(*learning_curves(runs, dict(p.paper_sweeps), dict(p.paper)), snakemake.output.png)
