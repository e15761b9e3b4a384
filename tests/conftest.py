import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]

# A configuration small enough for tests: every stage of the workflow, seconds of training.
TINY = {
    "seeds_per_job": 4,
    "experiments": {
        "symmetry": {
            "task": "symmetry",
            "seeds": 6,
            "settings": {
                "hidden": 2,
                "init_range": 0.3,
                "schedule": [{"start_sweep": 1, "epsilon": 0.1, "alpha": 0.9}],
                "max_sweeps": 400,
                "stop_at": "within_0_2",
                "criteria": {"rounded": 0.5, "within_0_2": 0.2},
            },
            "variants": {"hidden_3": {"hidden": 3}},
        },
        "family_trees": {
            "task": "family_trees",
            "seeds": 3,
            "settings": {
                "init_range": 0.3,
                "schedule": [
                    {"start_sweep": 1, "epsilon": 0.005, "alpha": 0.5},
                    {"start_sweep": 21, "epsilon": 0.01, "alpha": 0.9},
                ],
                "weight_decay": 0.002,
                "margin": 0.2,
                "max_sweeps": 30,
                "criteria": {"rounded": 0.5, "within_0_2": 0.2},
            },
        },
    },
    "tracking": {"curve_every": {"paper": 1, "variants": 10}},
}


def copy_project(dest: Path, config: dict | None = None) -> Path:
    """The project's workflow and config in ``dest``, with ``config`` if given."""
    shutil.copytree(ROOT / "workflow", dest / "workflow")
    shutil.copytree(ROOT / "config", dest / "config")
    if config is not None:
        (dest / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return dest


@pytest.fixture
def project(tmp_path):
    """A copy of the project's workflow and config in a temporary directory."""
    return copy_project(tmp_path)


@pytest.fixture
def tiny_project(tmp_path):
    """The workflow with the tiny test configuration, in a temporary directory."""
    return copy_project(tmp_path / "tiny", TINY)


def snakemake(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the workflow in ``cwd``; MLflow's default store is then ``cwd/mlflow.db``."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    full_env.update(env or {})
    return subprocess.run([*SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True, env=full_env)


def assert_finite_differences(params: dict, grads: dict, error, h: float = 1e-6) -> None:
    """Every ``grads[key][s, ...]`` against central differences of ``error(params)``,
    which gives E per seed ``(S,)``; the message prints ours beside the reference."""
    for key, value in params.items():
        for index in np.ndindex(value.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[key][index] += h
            minus[key][index] -= h
            s = index[0]
            reference = (error(plus)[s] - error(minus)[s]) / (2 * h)
            ours = grads[key][index]
            assert abs(ours - reference) <= 1e-6 * max(1.0, abs(reference)), (
                f"dE/d{key}{list(index)}: ours {ours!r}, finite differences {reference!r}"
            )


@pytest.fixture(scope="session")
def tiny_done(tmp_path_factory):
    """The tiny workflow run once, cold, with parallel jobs on a fresh store (shared: do not change it)."""
    root = copy_project(tmp_path_factory.mktemp("wf"), TINY)
    r = snakemake(root, "--cores", "4")
    assert r.returncode == 0, r.stderr[-3000:]
    return root
