# The readings map: a grid of family-tree readings around the printed recipe,
# each cell trained over the same seeds, one table row and one MLflow run per cell.
from backprop86.readings_map import cell_settings, cells

MAP_CELLS = cells(config) if "readings_map" in config else {}
MAP_MARKER = "results/tracking/readings_map.json"
MAP_TARGETS = (
    [
        "results/tables/readings_map.csv",
        "results/tables/readings_map_seeds.csv",
        MAP_MARKER,
    ]
    if MAP_CELLS
    else []
)

# As for the configurations' markers: logged only while the store holds the runs.
if workflow.is_main_process and MAP_CELLS:
    drop_stale_logging({MAP_MARKER: MAP_MARKER})


localrules:
    readings_map_table,


rule train_map_cell:
    input:
        dataset_path(config["readings_map"]["experiment"]) if MAP_CELLS else [],
    output:
        directory("results/readings_map/{cell}"),
    log:
        "logs/readings_map/{cell}.log",
    wildcard_constraints:
        cell="|".join(MAP_CELLS) or "no_cells",
    conda:
        "../envs/backprop86.yaml"
    threads: 1
    resources:
        mem_mb=JOB_MEM_MB["train_shard"],  # what the config check holds a cell to
        runtime=60,
    params:
        settings=lambda w: cell_settings(config, MAP_CELLS[w.cell]),
    script:
        "../scripts/train_map_cell.py"


rule readings_map_table:
    input:
        expand("results/readings_map/{cell}", cell=MAP_CELLS),
    output:
        table="results/tables/readings_map.csv",
        seeds="results/tables/readings_map_seeds.csv",
    log:
        "logs/tables/readings_map.log",
    conda:
        "../envs/backprop86.yaml"
    params:
        cells=list(MAP_CELLS),
    script:
        "../scripts/readings_map_table.py"


rule log_readings_map:
    input:
        table="results/tables/readings_map.csv",
        seeds="results/tables/readings_map_seeds.csv",
        figures=["results/figures/readings_map.png", "results/figures/readings_map.svg"],
    output:
        MAP_MARKER,
    log:
        "logs/mlflow/readings_map.log",
    benchmark:
        "logs/benchmarks/mlflow/readings_map.tsv"
    conda:
        "../envs/backprop86.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
        mlflow_writer=1,
    script:
        "../scripts/log_readings_map.py"
