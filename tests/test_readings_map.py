"""The readings map: its cells are the configured grid, the printed cell is the
paper configuration, epsilon_scale scales every phase, the table is computed
from the cells' runs, and the workflow makes it."""

import copy
import json

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT, TINY, copy_project, snakemake

from backprop86.config import config_hash, load, resolve, setting_defaults, validate
from backprop86.experiments import train_seeds
from backprop86.readings_map import cell_settings, cells, map_table, printed_cell, seeds_table
from backprop86.tasks import build_task, held_out_masks

CONFIG = load(ROOT / "config" / "config.yaml")


def test_cells_are_the_configured_grid():
    grid = CONFIG["readings_map"]["grid"]
    got = cells(CONFIG)
    assert len(got) == np.prod([len(v) for v in grid.values()]) == 16
    assert len(set(got)) == len(got), "every cell has its own name"
    for axis, values in grid.items():
        assert sorted({c[axis] for c in got.values()}, key=str) == sorted(values, key=str), axis
    combos = {tuple(c[a] for a in grid) for c in got.values()}
    assert len(combos) == 16


def test_the_printed_cell_is_the_paper_configuration():
    name = printed_cell(CONFIG)
    assert name is not None
    cell = cells(CONFIG)[name]
    paper = resolve(CONFIG, "family_trees")
    assert (cell["init_range"], cell["epsilon_scale"], cell["weight_decay"], cell["margin_error"]) == (
        paper["init_range"],
        1,
        paper["weight_decay"],
        paper["margin_error"],
    )
    settings = cell_settings(CONFIG, cell)
    assert {**settings, "seeds": 0} == {**paper, "seeds": 0}
    assert config_hash(settings) == config_hash(paper)
    short = lambda s: {**s, "max_sweeps": 25}  # noqa: E731
    a, b = train_seeds(short(settings), range(3)), train_seeds(short(paper), range(3))
    for k in a.result.params:
        assert a.result.params[k].tobytes() == b.result.params[k].tobytes(), k
    assert a.result.error.tobytes() == b.result.error.tobytes()


def test_epsilon_scale_multiplies_every_phase():
    paper = resolve(CONFIG, "family_trees")
    cell = next(c for c in cells(CONFIG).values() if c["epsilon_scale"] == 3)
    schedule = cell_settings(CONFIG, cell)["schedule"]
    assert len(schedule) == len(paper["schedule"]) == 2
    for mine, printed in zip(schedule, paper["schedule"]):
        assert mine["epsilon"] == 3 * printed["epsilon"]
        assert (mine["start_sweep"], mine["alpha"]) == (printed["start_sweep"], printed["alpha"])


def small_map(seeds=3, sweeps=30):
    config = copy.deepcopy(CONFIG)
    config["readings_map"] = {
        "seeds": seeds,
        "max_sweeps": sweeps,
        "grid": {
            "init_range": [1.0],
            "epsilon_scale": [1, 40],
            "weight_decay": [0],
            "margin_error": ["from_target", "from_edge"],
        },
    }
    return validate(config)


def test_the_table_is_computed_from_the_cells_runs():
    config = small_map()
    grid = cells(config)
    runs = {name: train_seeds(cell_settings(config, c), range(3)) for name, c in grid.items()}
    table = map_table(config, runs)
    assert list(table.columns) == [
        "init_range",
        "epsilon_scale",
        "weight_decay",
        "margin_error",
        "seeds",
        "learned_by_30",
        "final_error_median",
        "heldout_mean",
        "heldout_at_least_3",
    ]
    assert len(table) == len(grid) == 4
    for row, run in zip(table.itertuples(), runs.values()):
        s = run.summary()
        assert row.seeds == 3
        assert row.learned_by_30 == s.sweeps_to_rounded.notna().mean()
        assert row.heldout_mean == s.heldout_correct.mean()
        if row.margin_error == "from_target":  # E from the target is what these cells trained on
            assert np.isclose(row.final_error_median, s.final_error.median(), rtol=1e-12)
        else:  # measured from the target, not from the margin's edge the cell trained on
            assert row.final_error_median > s.final_error.median()
    assert table.final_error_median.nunique() == 4, "every cell trains differently"
    seeds = seeds_table(config, runs)
    assert len(seeds) == 12 and list(seeds.cell.unique()) == list(grid)


def test_single_answer_held_out_questions():
    base = {"task": "family_trees", **setting_defaults("family_trees")}
    single = build_task({**base, "held_out_from": "single_answer"})
    every = build_task({**base, "held_out_from": "all"})
    rngs = lambda: [np.random.default_rng(s) for s in range(50)]  # noqa: E731
    masks = held_out_masks(104, single.held_out, rngs())
    assert ((~masks).sum(axis=1) == 4).all()
    assert (single.targets[~masks.any(axis=0)].sum(axis=1) >= 1).all()
    held = np.flatnonzero((~masks).any(axis=0))
    assert (single.targets[held].sum(axis=1) == 1).all(), "only questions with one answer are held out"
    assert (every.targets.sum(axis=1) == 2).sum() == 8
    plain = held_out_masks(104, every.held_out, rngs())
    drawn = [np.random.default_rng(s).choice(104, 4, replace=False) for s in range(50)]
    assert all(set(np.flatnonzero(~m)) == set(d) for m, d in zip(plain, drawn)), "all: the draw as before"


def test_workflow_makes_the_map(tmp_path):
    config = copy.deepcopy(TINY)
    config["readings_map"] = {
        "experiment": "family_trees",
        "seeds": 2,
        "max_sweeps": 20,
        "grid": {
            "init_range": [0.3, 1.0],
            "epsilon_scale": [1],
            "weight_decay": [0.002],
            "margin_error": ["from_target"],
        },
    }
    root = copy_project(tmp_path, config)
    r = snakemake(root, "--cores", "2", "results/tracking/readings_map.json")
    assert r.returncode == 0, r.stderr[-3000:]
    table = pd.read_csv(root / "results/tables/readings_map.csv")
    marker = json.loads((root / "results/tracking/readings_map.json").read_text())
    assert len(marker["run_ids"]) == 2 and (root / "results/figures/readings_map.png").is_file()
    assert not any((root / "results").rglob("runs/*/*/all_seeds")), "the map trains its own cells only"
    r = snakemake(root, "--cores", "2", "results/tracking/readings_map.json")
    assert r.returncode == 0 and "Nothing to be done" in r.stderr, r.stderr[-2000:]
    from mlflow import MlflowClient

    lost = marker["run_ids"][next(iter(marker["run_ids"]))]  # a cell's run deleted (e.g. in the UI)
    MlflowClient(f"sqlite:///{root / 'mlflow.db'}").delete_run(lost)
    r = snakemake(root, "--cores", "2", "results/tracking/readings_map.json")
    assert r.returncode == 0 and "results/tracking/readings_map.json is stale" in r.stderr, r.stderr[-3000:]
    ran = r.stderr.split("Job stats:", 1)[1].split("total", 1)[0]
    assert "log_readings_map" in ran and "train_map_cell" not in ran, ran  # logged again, not retrained
    relogged = json.loads((root / "results/tracking/readings_map.json").read_text())["run_ids"]
    assert lost not in relogged.values() and len(relogged) == 2
    r = snakemake(root, "--cores", "2")  # the whole run: the map's figure, claims row and report section
    assert r.returncode == 0, r.stderr[-3000:]
    page = (root / "reports/backprop86.html").read_text()
    assert 'id="readings_map"' in page and "The readings map." in page
    parent = json.loads((root / "results/tracking/readings_map.json").read_text())["parent_run_id"]
    logged = json.loads((root / "reports/mlflow_runs.json").read_text())["readings_map"]
    assert [r["run_id"] for r in logged] == [parent], "the heatmap's provenance names the map's MLflow run"
    assert f"parent run <code>{parent}</code>" in page and "<code>backprop86-readings_map</code>" in page
    claims = pd.read_csv(root / "results/tables/claims.csv").set_index("id")
    assert claims.loc["readings_map", "claim_id"] == "family_trees_learned"
    assert list(table.init_range) == [0.3, 1.0] and list(table.seeds) == [2, 2]
    saved = yaml.safe_load((root / "config/config.yaml").read_text())
    assert saved["readings_map"]["seeds"] == 2


def test_claims_row_names_the_nearest_cell_that_learns():
    from backprop86.claims import claims_table

    grid = cells(CONFIG)
    rows = []
    for cell in grid.values():
        changed = sum(
            cell[a] != v
            for a, v in (
                ("init_range", 0.3),
                ("epsilon_scale", 1),
                ("weight_decay", 0.002),
                ("margin_error", "from_target"),
            )
        )
        share = 0.9 if changed >= 2 and cell["weight_decay"] == 0 and cell["init_range"] == 1.0 else 0.0
        rows.append(
            {
                **cell,
                "seeds": 20,
                "learned_by_1500": share,
                "final_error_median": 40.0 - 10 * share,
                "heldout_mean": 2 * share,
                "heldout_at_least_3": share / 2,
            }
        )
    table = pd.DataFrame(rows)
    row = claims_table(CONFIG, {}, {"readings_map": table}, ids=["readings_map"]).iloc[0]
    assert (
        row.verdict == "not reproduced"
        and "printed recipe: learned within 1,500 sweeps in 0/20" in row.measured
    )
    assert "changes 2 of the 4 settings (init_range 0.3 -> 1; weight_decay 0.002 -> 0)" in row.measured
    assert f"{int((table.learned_by_1500 >= 0.75).sum())} of 16 cells learn" in row.measured
    assert row.claim_id == "family_trees_learned" and row.reading


def test_heatmap_is_drawn_from_the_table():
    from backprop86.figures.readings_map import readings_map_figure

    grid = cells(CONFIG)
    rng = np.random.default_rng(3)
    table = pd.DataFrame(
        [
            {
                **c,
                "seeds": 20,
                "learned_by_1500": rng.uniform(),
                "final_error_median": 40.0,
                "heldout_mean": rng.uniform(0, 4),
                "heldout_at_least_3": 0.1,
            }
            for c in grid.values()
        ]
    )
    printed = grid[printed_cell(CONFIG)]
    share = {"reproduced": 0.75, "partly": 0.25}
    fig, facts = readings_map_figure(table, printed, 4, share)
    layout = facts["layout"]
    assert facts["learning_cells"] == int((table.learned_by_1500 >= 0.75).sum())
    assert any("of 4)" in ax.get_title(loc="left") for ax in fig.axes)
    # the held-out count and the share a cell must reach are the config's, not the figure's
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:  # every column's and row's label clear of its neighbours', and readable
        for ticks in (ax.get_xticklabels(), ax.get_yticklabels()):
            boxes = [t.get_window_extent(renderer) for t in ticks if t.get_text()]
            assert not any(a.overlaps(b) for k, a in enumerate(boxes) for b in boxes[k + 1 :]), (
                "labels overlap"
            )
            assert all(t.get_fontsize() * fig.dpi / 72 >= 10 for t in ticks if t.get_text())
    _, other = readings_map_figure(table, printed, 7, {**share, "reproduced": 0.5})
    assert (
        other["learning_cells"] == int((table.learned_by_1500 >= 0.5).sum()) and other["heldout_total"] == 7
    )
    assert len(layout["rows"]) * len(layout["cols"]) == 16
    shown = {k: np.array(v) for k, v in layout["values"].items()}
    assert sorted(shown["learned_by_1500"].ravel()) == sorted(table.learned_by_1500)
    assert sorted(shown["heldout_mean"].ravel()) == sorted(table.heldout_mean)
    i, j = layout["printed"]
    p = table[(table[list(printed)] == pd.Series(printed)).all(axis=1)].iloc[0]
    assert (
        shown["learned_by_1500"][i, j] == p.learned_by_1500 and facts["printed"]["share"] == p.learned_by_1500
    )
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert f"{p.learned_by_1500:.2f}" in texts and len(texts) == 32, (
        "every cell's value written in both panels"
    )


def test_each_cell_logs_one_mlflow_run_with_its_row_and_seeds(tmp_path):
    from mlflow import MlflowClient

    from backprop86.io import save_csv
    from backprop86.tracking import log_readings_map

    config = small_map(seeds=2, sweeps=10)
    grid = cells(config)
    runs = {name: train_seeds(cell_settings(config, c), range(2)) for name, c in grid.items()}
    table, seeds = map_table(config, runs), seeds_table(config, runs)
    save_csv(tmp_path / "readings_map.csv", table)
    save_csv(tmp_path / "readings_map_seeds.csv", seeds)
    (tmp_path / "readings_map.png").write_bytes(b"png")
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    files = [
        tmp_path / "readings_map.csv",
        tmp_path / "readings_map_seeds.csv",
        [tmp_path / "readings_map.png"],
    ]
    counts = log_readings_map(*files, tmp_path / "marker.json", uri=uri)
    assert counts == {"created": 4, "kept": 0, "replaced": 0}
    marker = json.loads((tmp_path / "marker.json").read_text())
    client = MlflowClient(uri)
    assert sorted(marker["run_ids"]) == sorted(grid)
    for (name, run_id), (_, row) in zip(marker["run_ids"].items(), table.iterrows()):
        r = client.get_run(run_id)
        assert r.data.tags["mlflow.parentRunId"] == marker["parent_run_id"] and r.info.status == "FINISHED"
        assert r.data.params["epsilon_scale"] == str(grid[name]["epsilon_scale"])
        assert r.data.metrics["learned_by_10"] == row.learned_by_10
        assert r.data.metrics["heldout_mean"] == pytest.approx(row.heldout_mean)
        assert [a.path for a in client.list_artifacts(run_id)] == [f"seeds_{name}.csv"]
    parent = {a.path for a in client.list_artifacts(marker["parent_run_id"])}
    assert parent == {"readings_map.csv", "readings_map_seeds.csv", "readings_map.png"}
    assert log_readings_map(*files, tmp_path / "marker.json", uri=uri)["kept"] == 4, "a rerun adds nothing"
    table.loc[0, "heldout_mean"] += 1
    save_csv(tmp_path / "readings_map.csv", table)
    assert log_readings_map(*files, tmp_path / "marker.json", uri=uri) == {
        "created": 4,
        "kept": 0,
        "replaced": 1,
    }
    live = client.search_runs([marker["experiment_id"]], "tags.`backprop86.role` = 'readings_map'")
    assert len(live) == 1, "the old map's parent was replaced, not kept beside the new one"
    cells_live = client.search_runs([marker["experiment_id"]], "tags.`backprop86.role` = 'readings_map_cell'")
    assert len(cells_live) == 4, "and its cells with it"
    marker = json.loads((tmp_path / "marker.json").read_text())
    lost = marker["run_ids"][next(iter(grid))]
    client.delete_run(lost)  # a cell deleted in the UI: it alone is logged again, under the same parent
    assert log_readings_map(*files, tmp_path / "marker.json", uri=uri) == {
        "created": 1,
        "kept": 3,
        "replaced": 0,
    }
    again = json.loads((tmp_path / "marker.json").read_text())
    assert again["parent_run_id"] == marker["parent_run_id"] and sorted(again["run_ids"]) == sorted(grid)
    assert again["run_ids"][next(iter(grid))] != lost
    assert (
        client.get_run(again["run_ids"][next(iter(grid))]).data.tags["mlflow.parentRunId"]
        == marker["parent_run_id"]
    )
    # a logger cut short leaves an unfinished map (RUNNING): it goes, the finished one stays
    cut = client.create_run(marker["experiment_id"], tags={"backprop86.role": "readings_map"}).info.run_id
    client.create_run(
        marker["experiment_id"], tags={"backprop86.role": "readings_map_cell", "mlflow.parentRunId": cut}
    )
    assert log_readings_map(*files, tmp_path / "marker.json", uri=uri) == {
        "created": 0,
        "kept": 4,
        "replaced": 1,
    }
    live = client.search_runs([marker["experiment_id"]], "")
    assert sorted(r.info.status for r in live) == ["FINISHED"] * 5
