import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path):
    """A copy of the project's workflow and config in a temporary directory."""
    for name in ("workflow", "config"):
        shutil.copytree(ROOT / name, tmp_path / name, symlinks=False)
    return tmp_path
