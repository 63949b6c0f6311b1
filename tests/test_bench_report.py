"""The report benchmark's catalog generator (tests/perf/bench_report.py), so the harness cannot rot."""

from __future__ import annotations

import shutil

import pandas as pd

from tests.perf.bench_report import replicate_catalog

from .conftest import REPO


def test_replicated_catalog_grows_in_instance_types_all_mapped(tmp_path):
    shutil.copytree(REPO / "config", tmp_path / "config")
    before = {p.stem: len(pd.read_csv(p)) for p in (REPO / "config" / "prices").glob("*.csv")}
    replicate_catalog(tmp_path / "config", 3)
    hardware = pd.read_csv(tmp_path / "config" / "offer_hardware.csv", dtype=str)
    mapped = set(zip(hardware["provider"], hardware["instance_type"], strict=True))
    for path in (tmp_path / "config" / "prices").glob("*.csv"):
        rows = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert len(rows) == 3 * before[path.stem]
        assert rows["instance_type"].str.endswith("-s02").sum() == before[path.stem]
        keys = rows[["instance_type", "region", "billing"]].drop_duplicates()
        assert len(keys) == len(rows)  # no duplicate offer keys
        originals = set(pd.read_csv(REPO / "config" / "prices" / path.name)["instance_type"])
        for instance_type in set(rows["instance_type"]):
            base = instance_type.rsplit("-s0", 1)[0] if "-s0" in instance_type else instance_type
            if (path.stem, base) in mapped:
                assert (path.stem, instance_type) in mapped, instance_type
        assert originals <= set(rows["instance_type"])
