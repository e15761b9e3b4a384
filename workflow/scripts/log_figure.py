from backprop86.io import job_log, save_json

with job_log(snakemake.log[0]):
    from backprop86.tracking import experiment_name, log_figures

    figures = [snakemake.input.png, snakemake.input.facts]
    for (experiment, configuration), settings in zip(snakemake.params.pairs, snakemake.params.settings):
        log_figures(experiment, configuration, settings, figures)
        print(f"{snakemake.wildcards.figure} -> {experiment}/{configuration}")
    runs = [{"experiment": experiment_name(e), "configuration": c} for e, c in snakemake.params.pairs]
    save_json(snakemake.output[0], {"figure": snakemake.wildcards.figure, "runs": runs})
