"""The DAG end to end in a temp directory, as a user runs it; contents checked, not just presence."""

import json
import re

import pandas as pd
import pytest

from .conftest import make_workdir, run_dag

pytestmark = pytest.mark.e2e

CLASSIC = {
    "workload": {
        "model": "qwen2.5-3b",
        "quant": "q4_k_m",
        "queries_per_day": 5000,
        "prompt_tokens": 0,
        "completion_tokens": 2000,
        "peak_to_average": 1.0,
        "target_utilisation": 1.0,
        "latency_floor_tps": 5.0,
        "traffic_multipliers": [1, 2, 10, 100],
        "curve_points": 5,
    },
    "current": {"provider": "custom", "instance_type": "small-box", "billing": "monthly"},
    "custom_offers": [
        {
            "name": "small-box",
            "price_month": 7.5,
            "currency": "USD",
            "decode_tps": 8,
            "vcpus": 4,
            "memory_gib": 8,
            "source": "the classic back-of-envelope",
        },
        {"name": "big-box", "price_month": 15.0, "currency": "USD", "decode_tps": 14},
        {"name": "tuned-box", "price_month": 7.5, "currency": "USD", "decode_tps": 28},
    ],
}


@pytest.fixture(scope="module")
def classic(tmp_path_factory):
    workdir = make_workdir(tmp_path_factory.mktemp("classic"), **CLASSIC)
    run_dag(workdir)
    return workdir


def test_classic_numbers_through_the_pipeline(classic):
    summary = json.loads((classic / "results" / "summary.json").read_text())
    current = summary["current"]
    assert current["capacity_queries_per_day"] == pytest.approx(345.6)
    assert current["utilisation"] == pytest.approx(14.4676, abs=1e-3)  # ~1,450%
    assert current["feasible"] is False
    costs = pd.read_parquet(classic / "results" / "costs.parquet")
    candidates = costs[
        (costs["strategy"] == "candidate")
        & (costs["provider"] == "custom")
        & (costs["software"] == "baseline")
    ].set_index(["instance_type", "traffic_multiplier"])
    assert candidates.loc[("big-box", 1.0), "capacity_queries_per_day"] == pytest.approx(604.8)
    assert candidates.loc[("tuned-box", 1.0), "capacity_queries_per_day"] == pytest.approx(1209.6)
    # 5,000/day on 345.6-per-day boxes: ceil(14.47) = 15 boxes at 7.50.
    assert candidates.loc[("small-box", 1.0), "instances"] == 15
    assert candidates.loc[("small-box", 1.0), "monthly_cost"] == pytest.approx(112.5)
    # Every offer (catalog and custom) appears at every named multiplier.
    named = costs[(costs["strategy"] == "candidate") & costs["named_multiplier"]]
    per_offer = named.groupby(["provider", "instance_type", "region", "billing", "software"])
    assert set(per_offer["traffic_multiplier"].nunique()) == {4}


def test_outputs_exist_and_rerun_is_a_no_op(classic):
    results = classic / "results"
    for name in (
        "catalog.parquet",
        "throughput.parquet",
        "offers.parquet",
        "costs.parquet",
        "roi.parquet",
        "summary.json",
        "summary.md",
        "report.html",
    ):
        assert (results / name).stat().st_size > 0, name
    catalog = pd.read_parquet(results / "catalog.parquet")
    assert {"hetzner", "aws", "digitalocean", "azure", "lambda"} <= set(catalog["provider"])
    assert catalog["source_url"].notna().all() and catalog["fetched_at"].notna().all()
    throughput = pd.read_parquet(results / "throughput.parquet")
    assert set(throughput["basis"]) <= {"measured", "calibrated", "roofline"}
    dry = run_dag(classic, "-n")
    assert "Nothing to be done" in dry.stdout + dry.stderr


def test_changing_one_price_reruns_only_dependants(classic):
    prices = classic / "config" / "prices" / "lambda.csv"
    prices.write_text(prices.read_text().replace("0.75,", "0.80,", 1))
    dry = run_dag(classic, "-n")
    text = dry.stdout + dry.stderr
    # Only the changed provider's price job reruns, then everything downstream of the catalog.
    assert re.search(r"^snapshot_prices\s+1$", text, re.MULTILINE)
    assert "wildcards: provider=lambda" in text and "provider=hetzner" not in text
    for rule in ("catalog", "throughput", "costs", "report"):
        assert re.search(rf"^{rule}\s+1$", text, re.MULTILINE), rule


def test_bad_price_row_names_file_row_and_field(tmp_path):
    workdir = make_workdir(tmp_path)
    prices = workdir / "config" / "prices" / "hetzner.csv"
    lines = prices.read_text().splitlines()
    fields = lines[1].split(",")
    price_index = lines[0].split(",").index("price_hour")
    fields[price_index] = "-1"
    lines[1] = ",".join(fields)
    prices.write_text("\n".join(lines) + "\n")
    result = run_dag(workdir, check=False)
    assert result.returncode != 0
    log = (workdir / "results" / "logs" / "prices" / "hetzner.log").read_text()
    assert "hetzner.csv: row 1" in log and "'price_hour'" in log and ">= 0" in log
    assert not (workdir / "results" / "prices" / "hetzner.parquet").exists()
