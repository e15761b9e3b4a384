from backprop86.io import atomic_write_bytes, job_log

with job_log(snakemake.log[0]):
    from backprop86.report import render
    from backprop86.tracking import git_commit

    p = snakemake.params
    html = render(snakemake.input.claims, dict(zip(p.names, snakemake.input.figures)), p.config, p.settings,
                  git_commit(), p.experiments)  # fmt: skip
    atomic_write_bytes(snakemake.output[0], html.encode())
