import json
from pathlib import Path

from backprop86.io import atomic_write_bytes, job_log

with job_log(snakemake.log[0]):
    from backprop86.report import build
    from backprop86.tracking import git_commit

    p, i, o = snakemake.params, snakemake.input, snakemake.output
    logged = json.loads(Path(i.logged).read_text())  # each figure's MLflow parent runs, with their ids
    provenance = {name: {**p.provenance[name], "runs": logged.get(name, [])} for name in p.names}
    tables = dict(zip(p.tables, i.tables))
    out = build(
        i.claims,
        dict(zip(p.names, i.figures)),
        p.config,
        p.settings,
        git_commit(),
        p.experiments,
        provenance,
        tables,
    )
    atomic_write_bytes(o.page, out.page.encode())
    for name, path in zip(p.names, o.captions):
        atomic_write_bytes(path, (out.captions[name] + "\n").encode())
    for name, path in zip(p.tables, o.tables):
        atomic_write_bytes(path, out.tables[name].encode())
    atomic_write_bytes(o.summary, (out.summary + "\n").encode())
