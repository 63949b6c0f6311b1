"""The performance benchmark (tests/perf/) on tiny inputs, so it cannot rot, and the equivalences
its figures rest on: streaming and naive ingest give identical catalogs, and the vectorised cost
grid equals the row-by-row reference."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from servecost import costs
from servecost.providers import aws, normalise_file

from tests.perf import bench_perf, grid, naive, offer_files

REPO = Path(__file__).resolve().parents[1]
ORIGIN = "aws (test)"


@pytest.fixture(scope="module")
def offer_paths(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("offers")
    size = 3_000_000  # 15 instance types, each with ~12 discarded products
    return {
        "csv": offer_files.write_csv(workdir / "offers.csv", size),
        "json": offer_files.write_json(workdir / "offers.json", size),
    }


def test_generated_files_keep_the_published_layout(offer_paths):
    lines = offer_paths["csv"].read_text().splitlines()
    assert [line.split(",")[0] for line in lines[:5]] == [
        '"FormatVersion"',
        '"Disclaimer"',
        '"Publication Date"',
        '"Version"',
        '"OfferCode"',
    ]
    header = lines[5].split('","')
    assert header[:4] == ['"SKU', "OfferTermCode", "RateCode", "TermType"]
    assert {"Pre Installed S/W", "Region Code", "usageType", "CapacityStatus"} <= set(header)
    document = json.loads(offer_paths["json"].read_text())
    assert list(document) == [
        "formatVersion",
        "disclaimer",
        "offerCode",
        "version",
        "publicationDate",
        "products",
        "terms",
        "attributesList",
    ]
    assert list(document["terms"]) == ["OnDemand", "Reserved"]
    # one kept product per instance type among many discarded ones
    assert len(document["products"]) > 10 * offer_files.type_count(3_000_000)


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_streaming_and_naive_ingest_give_identical_catalogs(offer_paths, fmt):
    path = offer_paths[fmt]
    streamed = getattr(aws, f"normalise_{fmt}")(path, origin=ORIGIN)
    loaded = getattr(naive, f"normalise_{fmt}")(path, origin=ORIGIN)
    assert streamed == loaded
    assert len(streamed) == offer_files.type_count(3_000_000) == 15
    # g5.xlarge is type 46 of the generator, beyond these 15; m5.2xlarge is type 2:
    # $0.0125 x (2 + 1) an hour, 8 vCPUs x 4 GiB, Intel, no GPU
    m5 = next(row for row in streamed if row["instance_type"] == "m5.2xlarge")
    assert m5 == {
        "instance_type": "m5.2xlarge",
        "region": "us-east-2",
        "billing": "on_demand",
        "vcpus": 8.0,
        "memory_gib": 32.0,
        "arch": "x86_64",
        "cpu_model": "Intel Xeon Platinum 8175",
        "gpu_model": None,
        "gpu_count": None,
        "gpu_memory_gib": None,
        "price_hour": 0.0375,
        "currency": "USD",
        "price_month": None,
    }


def test_csv_and_json_forms_give_the_same_catalog(offer_paths):
    from_csv = normalise_file("aws", offer_paths["csv"], meta={"source_url": "x"})
    from_json = normalise_file("aws", offer_paths["json"], meta={"source_url": "x"})
    pd.testing.assert_frame_equal(
        from_csv.drop(columns="fetched_at"), from_json.drop(columns="fetched_at")
    )
    m6i = from_csv[from_csv["instance_type"] == "m6i.large"]
    assert m6i["price_month"].tolist() == [pytest.approx(0.0125 * 6 * 730)]


def worked_inputs() -> grid.GridInputs:
    """Two offers, one model (1e9 params, 8 bits: W = 1e9 B, KV 2e7 B per sequence) and memory
    for one sequence only ((1e9 + 2e7) B = 0.9500 GiB, + 1 GiB runtime <= 1.95 GiB; two need
    1.9686 GiB).
    Compute is ample (prefill 5e8 tok/s), so a query takes 500 x step seconds:
      A: 100 GB/s x 0.5 -> step 1.02e9 / 5e10 = 0.0204 s, 10.200003 s/query,
         raw 86400 / 10.200003 = 8470.5857 q/day, plan 0.8 x that = 6776.4686, $100/month
      B:  50 GB/s x 0.5 -> step 0.0408 s, 20.400003 s/query, raw 4235.2935, plan 3388.2348, $60
    """
    return grid.GridInputs(
        bandwidth_bps=np.array([100e9, 50e9]),
        eta_bw=np.array([0.5, 0.5]),
        flops=np.array([1e18, 1e18]),
        usable_memory_gib=np.array([1.95, 1.95]),
        monthly_price=np.array([100.0, 60.0]),
        model_ids=["one-b"],
        params=np.array([1e9]),
        kv_bytes_per_sequence=np.array([2e7]),
        quants=["q8"],
        bits_per_weight=np.array([8.0]),
        multipliers=np.array([1.0, 2.0, 10.0]),
    )


def test_vectorised_grid_matches_a_worked_example():
    result = grid.vectorised_grid(worked_inputs())
    # loads 5000, 10000, 50000 queries/day:
    #   A: ceil(5000/6776.47)=1 -> $100; ceil(10000/6776.47)=2 -> $200; ceil(50000/6776.47)=8 -> $800
    #   B: ceil(5000/3388.23)=2 -> $120; ceil(10000/3388.23)=3 -> $180; ceil(50000/3388.23)=15 -> $900
    assert result["offer"].tolist() == [0, 1, 0]
    assert result["instances"].tolist() == [1, 3, 8]
    assert result["monthly_cost"].tolist() == [100.0, 180.0, 800.0]
    assert result["concurrency"].tolist() == [1.0, 1.0, 1.0]
    raw_a, raw_b = 86400 / 10.200003, 86400 / 20.400003
    assert result["utilisation"].tolist() == pytest.approx(
        [5000 / raw_a, 10000 / (3 * raw_b), 50000 / (8 * raw_a)]
    )
    # $100 a month for 5000 queries/day of 2000 tokens
    assert result["cost_per_mtok"].iloc[0] == pytest.approx(100 / (5000 * 730 / 24) / 2000 * 1e6)
    pd.testing.assert_frame_equal(result, grid.reference_grid(worked_inputs()), check_dtype=False)


def test_vectorised_grid_equals_row_by_row_reference_on_a_slice():
    inputs = grid.synthetic_inputs(offers=2_000).slice(150, 3, 3)
    vectorised = grid.vectorised_grid(inputs)
    reference = grid.reference_grid(inputs)
    assert len(vectorised) == 3 * 3 * 50
    pd.testing.assert_frame_equal(vectorised, reference, check_dtype=False, rtol=1e-12)
    # the slice is not trivial: several offers win somewhere, and instance counts grow with load
    assert vectorised["offer"].nunique() > 1
    assert vectorised["instances"].max() > vectorised["instances"].min()


def test_undominated_offers_keep_every_possible_winner():
    capacity = np.array([10.0, 10.0, 5.0, 20.0, 0.0, 30.0])
    price = np.array([50.0, 50.0, 40.0, 100.0, 1.0, 100.0])
    # 1 ties 0 but comes later: never picked. 3 has less capacity than 5 at the same price, yet
    # ties it at loads up to 20 and comes first: kept. 4 cannot serve.
    assert costs.undominated_offers(capacity, price).tolist() == [0, 2, 3, 5]
    picked = costs.cheapest_offers(capacity, price, np.array([4.0, 10.0, 25.0, 60.0]))
    # load 4: 2 ($40); 10: 0 ($50); 25: 0 (3 x 50 = 150) vs 5 ($100) -> 5; 60: 5 (2 x 100)
    assert picked["offer"].tolist() == [2, 0, 5, 5]
    assert picked["instances"].tolist() == [1, 1, 1, 2]
    assert picked["monthly_cost"].tolist() == [40.0, 50.0, 100.0, 200.0]


def test_benchmark_harness_runs_on_tiny_inputs(tmp_path):
    out = tmp_path / "results.json"
    command = [
        sys.executable,
        "-m",
        "tests.perf.bench_perf",
        "--size",
        "400K",
        "--repeat",
        "1",
        "--grid-offers",
        "300",
        "--workdir",
        str(tmp_path / "work"),
        "--json",
        str(out),
    ]
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(out.read_text())
    assert [entry["format"] for entry in report["ingest"]] == ["csv", "json"]
    for entry in report["ingest"]:
        assert entry["identical"] is True
        assert entry["stream"]["rows"] == entry["naive"]["rows"] == 4
        assert entry["stream"]["peak_rss_mib"] > 10
        assert entry["time_ratio"] > 0 and entry["rss_ratio"] > 0
    assert report["grid"]["slice_identical"] is True
    assert report["grid"]["full"]["rows"] == 12 * 6 * 50
    assert "naive/stream time" in proc.stdout and "row by row" in proc.stdout


def test_sizes_parse_and_print():
    assert bench_perf.parse_size("500M") == 500_000_000
    assert bench_perf.parse_size("2G") == bench_perf.parse_size("2GB") == 2_000_000_000
    assert bench_perf.label(1_500_000_000) == "1.5G"
