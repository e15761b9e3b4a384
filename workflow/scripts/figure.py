"""One figure of the registry (backprop86.figures), drawn from its plan's runs and files."""

from backprop86.io import job_log

with job_log(snakemake.log[0]):
    from backprop86.experiments import load_run
    from backprop86.figures import FIGURES
    from backprop86.figures.style import save

    plan = snakemake.params.plan
    runs = {pair: load_run(d) for pair, d in zip(plan.runs, snakemake.input.runs)}
    fig, facts = FIGURES[snakemake.wildcards.figure].draw(plan, runs, list(snakemake.input.files))
    save(fig, facts, snakemake.output.png)
