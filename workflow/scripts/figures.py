"""The paper's figures the config has experiments for, each drawn by one function
of backprop86.figures (Fig. 5: backprop86.figures_iterative) and saved as PNG,
SVG and facts JSON."""

from backprop86.io import job_log

with job_log(snakemake.log[0]):
    import functools

    from backprop86 import figures as F
    from backprop86.experiments import load_run as read_run
    from backprop86.figures_iterative import fig5

    inp, p = snakemake.input, snakemake.params
    sym, ft = p.symmetry, p.family_trees
    load_run = functools.cache(
        read_run
    )  # figures share runs (Figs. 3 and 4, the learning curves): read each once

    draw = {
        "fig1": lambda: F.fig1(load_run(inp.fig1), sym["criterion"], sym["seed_rule"]),
        "fig2": lambda: F.fig2(F.check_family_dataset(inp.fig2)),
        "fig3": lambda: F.fig3(load_run(inp.fig3), ft["criterion"], ft["seed_rule"], tuple(ft["question"])),
        "fig4": lambda: F.fig4(load_run(inp.fig4), ft["criterion"], ft["seed_rule"]),
        "learning_curves": lambda: F.learning_curves(
            {tuple(pair): load_run(d) for pair, d in zip(p.pairs, inp.learning_curves)},
            dict(p.paper_sweeps), dict(p.paper)),
        "fig5": lambda: fig5(p.shift_register, load_run(inp.fig5)),
    }  # fmt: skip
    for name in p.names:
        F.save(*draw[name](), snakemake.output[f"{name}_png"])
        print(f"drew {name}", flush=True)
