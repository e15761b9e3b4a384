from backprop86.io import job_log

with job_log(snakemake.log[0]):
    from backprop86.experiments import load_run
    from backprop86.figures import learning_curves, save

    runs = {tuple(p): load_run(d) for p, d in zip(snakemake.params.pairs, snakemake.input)}
    save(*learning_curves(runs, dict(snakemake.params.paper_sweeps)), snakemake.output.png)
