"""Damaged results are noticed, named and rebuilt; nothing intact is lost.

Every run directory carries a manifest (sizes and SHA-256 of its files, written
last). Readers verify it; the next ``snakemake`` moves a damaged directory to
``results/damaged/`` and reruns exactly the job that made it (and what reads
it), giving the bytes of an undamaged run and no second MLflow run.
"""

import json
import os
import re
import shutil
import signal

import numpy as np
import pytest
from conftest import TINY, copy_project, snakemake
from test_workflow import mlflow_runs, result_bytes, start_until_logging

from backprop86 import io
from backprop86.experiments import load_run

pytestmark = pytest.mark.slow

RUNS = "results/runs"


def jobs_run(log: str) -> list[tuple[str, str]]:
    """(rule, wildcards) of every job a Snakemake log says it ran."""
    jobs = []
    for block in re.split(r"\n(?=\[.*\]\n)", log):
        rule = re.search(r"^\s*(?:local)?rule (\w+):", block, re.M)
        if rule:
            wc = re.search(r"^\s*wildcards: (.*)$", block, re.M)
            jobs.append((rule[1], wc[1] if wc else ""))
    return jobs


def test_damage_is_set_aside_and_exactly_that_output_rebuilt(tiny_done, tmp_path):
    root = tmp_path / "damaged"
    shutil.copytree(tiny_done, root)
    before = mlflow_runs(root)
    undamaged = result_bytes(tiny_done)

    weights = root / RUNS / "symmetry/paper/all_seeds/weights.npz"  # a truncated archive
    weights.write_bytes(weights.read_bytes()[:100])
    shard = root / RUNS / "symmetry/hidden_3/shards/seeds4-5/summary.csv"  # an emptied table
    shard.write_bytes(b"")
    heldout = root / RUNS / "family_trees/paper/all_seeds/heldout.csv"  # a deleted file
    heldout.unlink()

    r = snakemake(root, "--cores", "2")
    assert r.returncode == 0, r.stderr[-3000:]
    for path in (weights, shard, heldout):
        assert f"damaged: {path.relative_to(root)}" in r.stderr, r.stderr[:3000]
    jobs = jobs_run(r.stderr)
    trained = [w for rule, w in jobs if rule == "train_shard"]
    combined = sorted(w for rule, w in jobs if rule == "combine_shards")
    assert trained == ["experiment=symmetry, configuration=hidden_3, first=4, last=5"], jobs
    assert combined == sorted(
        f"experiment={e}, configuration={c}" for e, c in [("symmetry", "paper"), ("symmetry", "hidden_3")]
    ), jobs  # fmt: skip
    whole = [
        w for rule, w in jobs if rule == "train_configuration"
    ]  # one job's worth of seeds: trained whole
    assert whole == ["experiment=family_trees, configuration=paper"], jobs

    after = result_bytes(root)
    damaged = {k for k in after if k.startswith("results/damaged/")}
    assert {k: v for k, v in after.items() if k not in damaged} == undamaged, "byte-identical to undamaged"
    kept = root / "results/damaged/runs/symmetry/paper/all_seeds"
    assert (kept / "curves.npz").read_bytes() == undamaged[f"{RUNS}/symmetry/paper/all_seeds/curves.npz"]
    runs = mlflow_runs(root)
    assert sorted(runs.run_uuid) == sorted(before.run_uuid), "no run logged twice, none lost"

    r = snakemake(root, "--cores", "2")
    assert r.returncode == 0 and "Nothing to be done" in r.stderr


def test_damage_seen_by_a_dry_run_and_a_deleted_run_are_rebuilt(tiny_done, tmp_path):
    """A dry run sets a damaged directory aside as a run does; the next run rebuilds
    it. A run directory deleted by hand is rebuilt too. Nothing else is retrained."""
    root = tmp_path / "dry"
    shutil.copytree(tiny_done, root)
    weights = root / RUNS / "symmetry/paper/all_seeds/weights.npz"
    weights.write_bytes(weights.read_bytes()[:100])
    shutil.rmtree(root / RUNS / "family_trees/paper/all_seeds")
    r = snakemake(root, "-n", "--cores", "2")
    assert r.returncode == 0 and f"damaged: {weights.relative_to(root)}" in r.stderr, r.stderr[-3000:]
    r = snakemake(root, "--cores", "2")
    assert r.returncode == 0, r.stderr[-3000:]
    made = {
        (rule, w)
        for rule, w in jobs_run(r.stderr)
        if rule in ("train_shard", "train_configuration", "combine_shards")
    }
    assert made == {("combine_shards", "experiment=symmetry, configuration=paper"),
                    ("train_configuration", "experiment=family_trees, configuration=paper")}, made  # fmt: skip
    after = result_bytes(root)
    assert {k: v for k, v in after.items() if not k.startswith("results/damaged/")} == result_bytes(tiny_done)


def test_an_emptied_or_cut_table_is_rewritten(tiny_done, tmp_path):
    """Tables are single files written whole: one emptied or cut mid-row is set aside
    and rewritten, and the report that read it is made again, without retraining. A
    damaged dataset is written again as its task defines it, and nothing reruns for it."""
    root = tmp_path / "tables"
    shutil.copytree(tiny_done, root)
    configurations = root / "results/tables/configurations.csv"
    configurations.write_bytes(b"")
    claims = root / "results/tables/claims.csv"
    claims.write_bytes(claims.read_bytes()[:-20])
    dataset = root / "results/data/symmetry.csv"  # its last row gone: still a well-formed CSV
    dataset.write_bytes(dataset.read_bytes()[: dataset.read_bytes()[:-1].rindex(b"\n") + 1])
    r = snakemake(root, "--cores", "2")
    assert r.returncode == 0, r.stderr[-3000:]
    for path in (configurations, claims):
        assert f"damaged: {path.relative_to(root)} is damaged" in r.stderr, r.stderr[:3000]
    assert "damaged: results/data/symmetry.csv is not the dataset its task defines" in r.stderr
    rules = {rule for rule, _ in jobs_run(r.stderr)}
    assert {"tables", "claims", "report"} <= rules and not rules & {"train_shard", "train_configuration"}, (
        rules
    )
    after = result_bytes(root)
    assert {k: v for k, v in after.items() if not k.startswith("results/damaged/")} == result_bytes(tiny_done)
    assert (root / "reports/backprop86.html").is_file()
    for bad in (b"", b"a,b\n1,", b"\n"):
        table = tmp_path / "t.csv"
        table.write_bytes(bad)
        with pytest.raises(io.DamagedResult, match="t.csv is damaged"):
            io.check_table(table)
    table.write_bytes(b"a,b\n1,2\n")
    io.check_table(table)


def test_reader_names_the_damaged_file_and_what_to_do(tiny_done, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_done / RUNS / "family_trees/paper/all_seeds", run)
    assert load_run(run).seeds.tolist() == [0, 1, 2]
    cases = {
        "weights.npz": lambda p: p.write_bytes(p.read_bytes()[:-10]),
        "summary.csv": lambda p: p.write_bytes(b""),
        "heldout.csv": lambda p: p.unlink(),
        "curves.npz": lambda p: p.write_bytes(bytes([p.read_bytes()[0] ^ 1]) + p.read_bytes()[1:]),
        "manifest.json": lambda p: p.unlink(),
    }
    for name, damage in cases.items():
        copy = tmp_path / f"damaged_{name}"
        shutil.copytree(run, copy)
        damage(copy / name)
        with pytest.raises(io.DamagedResult) as err:
            load_run(copy)
        assert str(copy / name) in str(err.value) and "run snakemake again" in str(err.value), str(err.value)


def test_a_manifest_is_checked_for_what_it_can_vouch_for(tiny_done, tmp_path):
    """A manifest whose entries are not sizes and hashes, that lists nothing, names a
    file outside its directory, or leaves a file out, vouches for nothing: damaged."""
    run = tmp_path / "run"
    shutil.copytree(tiny_done / RUNS / "family_trees/paper/all_seeds", run)
    good = json.loads((run / "manifest.json").read_text())
    cases = {
        "an entry that is a number": ({"files": {**good["files"], "weights.npz": 5}}, None, "not a manifest"),
        "no files": ({"files": {}}, None, "not a manifest"),
        "a name outside": ({"files": {**good["files"], "../settings.json": good["files"]["settings.json"]}}, None,
                           "not a manifest"),
        "a file left out": ({"files": {k: v for k, v in good["files"].items() if k != "heldout.csv"}}, None,
                            "heldout.csv is not in"),
        "a file added": (good, "extra.csv", "extra.csv is not in"),
    }  # fmt: skip
    for name, (manifest, extra, message) in cases.items():
        copy = tmp_path / name.replace(" ", "_")
        shutil.copytree(run, copy)
        (copy / "manifest.json").write_text(json.dumps(manifest))
        if extra:
            (copy / extra).write_text("x\n")
        with pytest.raises(io.DamagedResult, match=message):
            load_run(copy)
    io.verify_manifest(run)  # the intact one, with Snakemake's hidden timestamp beside it, passes
    assert load_run(run).seeds.tolist() == [0, 1, 2]


def test_forced_reader_after_damage_rebuilds_first(tiny_done, tmp_path):
    """Forcing a reader (tables) on a damaged input rebuilds the input first, instead
    of failing with BadZipFile and removing the tables."""
    root = tmp_path / "forced"
    shutil.copytree(tiny_done, root)
    weights = root / RUNS / "symmetry/paper/all_seeds/weights.npz"
    weights.write_bytes(weights.read_bytes()[:100])
    r = snakemake(root, "--cores", "2", "--forcerun", "tables", "--until", "tables")
    assert r.returncode == 0, r.stderr[-3000:]
    assert {rule for rule, _ in jobs_run(r.stderr)} == {"combine_shards", "tables"}
    assert weights.read_bytes() == (tiny_done / RUNS / "symmetry/paper/all_seeds/weights.npz").read_bytes()
    assert (root / "results/tables/seeds.csv").read_bytes() == (
        tiny_done / "results/tables/seeds.csv"
    ).read_bytes()


def test_kill_9_then_unlock_then_every_run_logged_once(tmp_path):
    """kill -9 while runs are being logged: the next run is refused with Snakemake's
    lock message (naming --unlock); after `snakemake --unlock` it completes, and every
    seed has exactly one live MLflow run."""
    config = json.loads(json.dumps(TINY))
    config["experiments"] = {"symmetry": {**config["experiments"]["symmetry"], "seeds": 200, "variants": {}}}
    config["seeds_per_job"] = 200
    root = copy_project(tmp_path, config)
    proc = start_until_logging(root, 200)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(60)
    trained = (root / RUNS / "symmetry/paper/all_seeds/weights.npz").read_bytes()

    r = snakemake(root, "--cores", "2")
    assert r.returncode != 0 and "--unlock" in r.stdout + r.stderr
    r = snakemake(root, "--unlock")
    assert r.returncode == 0, r.stderr[-2000:]
    r = snakemake(root, "--cores", "2")
    assert r.returncode == 0, r.stderr[-3000:]
    runs = mlflow_runs(root)
    live = runs[runs.lifecycle_stage == "active"]
    assert (live.status == "FINISHED").all()
    assert (live.role == "configuration").sum() == 1
    assert sorted(live[live.role == "seed"].seed.astype(int)) == list(range(200)), "each seed exactly once"
    assert (root / RUNS / "symmetry/paper/all_seeds/weights.npz").read_bytes() == trained
    assert np.load(root / RUNS / "symmetry/paper/all_seeds/weights.npz")["seed"].tolist() == list(range(200))
