from backprop86.io import job_log

with job_log(snakemake.log[0]):
    import pandas as pd

    from backprop86.figures import readings_map_figure, save
    from backprop86.readings_map import cells, printed_cell

    name = printed_cell(snakemake.config)
    printed = cells(snakemake.config)[name] if name is not None else None
    p = snakemake.params
    fig, facts = readings_map_figure(pd.read_csv(snakemake.input[0]), printed, p.heldout_total, p.share)
    save(fig, facts, snakemake.output.png)
