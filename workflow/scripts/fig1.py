from backprop86.io import job_log

with job_log(snakemake.log[0]):
    from backprop86.experiments import load_run
    from backprop86.figures import fig1, save

    p = snakemake.params
    save(*fig1(load_run(snakemake.input[0]), p.criterion, p.seed_rule), snakemake.output.png)
