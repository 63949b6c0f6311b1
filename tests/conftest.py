"""Shared fixtures: the repository root and a helper that runs the DAG as a user would."""

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def make_workdir(tmp: Path, **overrides) -> Path:
    """A working directory with a copy of config/ and the config keys overridden."""
    shutil.copytree(REPO / "config", tmp / "config")
    config_path = tmp / "config" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    for key, value in overrides.items():
        config[key] = value
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return tmp


def run_dag(workdir: Path, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
               "--directory", str(workdir), "--cores", "2", *extra]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return result
