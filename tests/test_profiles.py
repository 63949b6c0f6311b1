"""The cluster profiles under workflow/profiles/ plan the same DAG (dry runs, no cluster needed).

Each test needs its executor plugin (`pip install -e ".[slurm]"`, `".[kubernetes]"`). They are
not in the `test` extra: Snakemake imports every installed executor plugin at start-up, which
costs each `snakemake` run, no-op reruns included, 0.6-0.7 s per plugin (docs/performance.md,
"Pipeline run time"). So a test looks for the plugin in $SERVECOST_CLUSTER_PYTHON (a separate environment,
as .ci/run makes one), then in this interpreter, and is skipped without it unless
SERVECOST_REQUIRE_CLUSTER=1 makes that a failure.

A dry run must not touch the cluster: fake sbatch/srun/scancel/kubectl on PATH record any call.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import REPO, make_workdir

PROFILES = REPO / "workflow" / "profiles"
# Commands that submit or change work. (The SLURM plugin probes `sinfo`, and then `scontrol show
# config`, whenever it is imported; without `sinfo` on PATH it skips that, as here.)
CLUSTER_COMMANDS = ("sbatch", "srun", "scancel", "kubectl")


def python_with(*modules: str) -> str:
    """An interpreter that can import all `modules`, or skip (fail if clusters are required)."""
    candidates = [os.environ.get("SERVECOST_CLUSTER_PYTHON"), sys.executable]
    check = "import " + ", ".join(modules)
    for python in filter(None, candidates):
        if subprocess.run([python, "-c", check], capture_output=True).returncode == 0:
            return python
    reason = f"{', '.join(modules)} not importable (pip install -e '.[slurm]' / '.[kubernetes]')"
    if os.environ.get("SERVECOST_REQUIRE_CLUSTER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def fake_cluster_bin(tmp_path: Path) -> tuple[Path, Path]:
    """A PATH directory whose scheduler commands only append their name to calls.log."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.log"
    for name in CLUSTER_COMMANDS:
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\necho "{name} $*" >> "{calls}"\nexit 1\n')
        script.chmod(0o755)
    return bin_dir, calls


def dry_run(python: str, workdir: Path, profile: str, *extra: str, tmp_path: Path) -> str:
    bin_dir, calls = fake_cluster_bin(tmp_path)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    env["KUBECONFIG"] = str(tmp_path / "no-kubeconfig")
    command = [
        python,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--profile",
        str(PROFILES / profile),
        "--dry-run",
        *extra,
    ]
    result = subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=300
    )
    text = result.stdout + result.stderr
    assert result.returncode == 0, text[-5000:]
    assert not calls.exists(), f"a dry run called the cluster: {calls.read_text()}"
    assert f"Using profile {PROFILES / profile}" in text
    return text


def job_counts(text: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run as {rule: count}."""
    table = text.split("Job stats:", 1)[1].split("\ntotal", 1)[0]
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}


def resources_of(text: str, rule: str) -> list[str]:
    blocks = re.findall(rf"^rule {rule}:\n(.*?)(?=^\[|\Z)", text, re.MULTILINE | re.DOTALL)
    return [re.search(r"resources: (.*)", block).group(1) for block in blocks]


def expected_jobs(workdir: Path, price_rules: tuple[str, ...]) -> dict[str, int]:
    config = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    providers = [p for p, s in config["providers"].items() if s.get("enabled", True)]
    stages = (
        "catalog",
        "throughput",
        "offers",
        "costs",
        "scaling_laws",
        "summary",
        "charts",
        "chart_pngs",
        "vega_bundle",
    )
    return {
        **dict.fromkeys(price_rules, len(providers)),
        **dict.fromkeys(stages, 1),
        "report": 1,
        "all": 1,
    }


def test_profiles_are_valid_yaml_with_an_executor():
    for name, executor in (("slurm", "slurm"), ("kubernetes", "kubernetes")):
        (path,) = (PROFILES / name).glob("config*.yaml")
        profile = yaml.safe_load(path.read_text())
        assert profile["executor"] == executor
        assert profile["jobs"] >= 5  # the five provider jobs can run at once
        assert {"mem_mb", "runtime"} <= set(profile["default-resources"])


def test_slurm_profile_plans_the_whole_dag(tmp_path):
    python = python_with("snakemake_executor_plugin_slurm")
    workdir = make_workdir(tmp_path / "work")
    text = dry_run(python, workdir, "slurm", tmp_path=tmp_path)
    assert job_counts(text) == expected_jobs(workdir, ("snapshot_prices",))
    (costs,) = resources_of(text, "costs")
    assert "mem_mb=3000" in costs and "runtime=15" in costs
    (catalog,) = resources_of(text, "catalog")
    assert "mem_mb=1000" in catalog and "runtime=10" in catalog


def test_slurm_profile_live_prices_are_one_job_per_provider(tmp_path):
    python = python_with("snakemake_executor_plugin_slurm")
    workdir = make_workdir(tmp_path / "work")
    text = dry_run(python, workdir, "slurm", "--config", "prices=live", tmp_path=tmp_path)
    assert job_counts(text) == expected_jobs(workdir, ("fetch_prices", "live_prices"))
    ingest = resources_of(text, "live_prices")
    assert len(ingest) == 5 and all("mem_mb=1500" in r and "runtime=30" in r for r in ingest)
    providers = set(re.findall(r"wildcards: provider=(\w+)", text))
    assert providers == {"aws", "azure", "digitalocean", "hetzner", "lambda"}


def test_kubernetes_profile_plans_the_whole_dag_in_storage(tmp_path):
    python = python_with("snakemake_executor_plugin_kubernetes", "snakemake_storage_plugin_fs")
    workdir = make_workdir(tmp_path / "work")
    # The profile's storage prefix, here a temp dir standing in for the mounted volume.
    prefix = tmp_path / "volume" / "servecost"
    make_workdir(prefix)
    text = dry_run(
        python,
        workdir,
        "kubernetes",
        "--default-storage-prefix",
        str(prefix),
        tmp_path=tmp_path,
    )
    assert job_counts(text) == expected_jobs(workdir, ("snapshot_prices",))
    assert f"{prefix}/results/report.html (send to storage)" in text
    assert f"{prefix}/results/prices/aws.parquet (send to storage)" in text
