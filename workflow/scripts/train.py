import time

from backprop86.io import job_log, save_json

with job_log(snakemake.log[0]):
    from backprop86.experiments import train_seeds

    first, last = snakemake.params.seeds
    start = time.time()
    run = train_seeds(snakemake.params.settings, range(first, last + 1))
    end = time.time()
    run.write(snakemake.output.run)
    save_json(
        snakemake.output.timing,
        {"first_seed": first, "last_seed": last, "start_ms": int(start * 1000), "end_ms": int(end * 1000)},
    )
