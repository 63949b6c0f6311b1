"""Shared fixtures."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_pipeline(workdir: Path, *extra: str) -> None:
    """Run the Snakemake DAG in workdir (which holds a copy of config/)."""
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        "2",
        *extra,
    ]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"snakemake failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"


@pytest.fixture(scope="session")
def built_results(tmp_path_factory) -> Path:
    """A tmp dir with a copy of config/ in which the whole DAG has run once (results/ inside)."""
    workdir = tmp_path_factory.mktemp("built")
    shutil.copytree(REPO / "config", workdir / "config")
    run_pipeline(workdir)
    return workdir


def make_workdir(tmp: Path, **overrides) -> Path:
    """A working directory with a copy of config/ and top-level config keys overridden."""
    import yaml

    shutil.copytree(REPO / "config", tmp / "config")
    config_path = tmp / "config" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config.update(overrides)
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return tmp


def run_dag(workdir: Path, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the DAG as a user would; return the finished process (stdout/stderr captured)."""
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        "2",
        *extra,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return result
