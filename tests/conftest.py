"""Shared fixtures."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def built_results(tmp_path_factory) -> Path:
    """A tmp dir with a copy of config/ in which the whole DAG has run once (results/ inside)."""
    workdir = tmp_path_factory.mktemp("built")
    shutil.copytree(REPO / "config", workdir / "config")
    run_dag(workdir)
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


def run_dag(
    workdir: Path, *extra: str, check: bool = True, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run the DAG as a user would; return the finished process (stdout/stderr captured).

    `extra` are further snakemake arguments (targets, -n, --config ...); `env` replaces the
    subprocess environment (e.g. to hand it fake API tokens); a failure raises unless check=False.
    """
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
    result = subprocess.run(
        command,
        cwd=workdir,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        timeout=900,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return result
