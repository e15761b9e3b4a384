from backprop86.io import job_log

with job_log(snakemake.log[0]):
    from backprop86.experiments import load_run
    from backprop86.figures_iterative import save_fig5

    save_fig5(snakemake.output.png, snakemake.params.settings, load_run(snakemake.input[0]))
