"""`snakemake --config prices=live` end to end against recorded provider bodies on 127.0.0.1.

One DAG run: four providers are served by a local HTTP server (with prices edited so they can
be told apart from the snapshot), Hetzner's token is left unset so it falls back to its snapshot.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from pytest_httpserver import HTTPServer

from .conftest import make_workdir, run_dag

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).parent / "fixtures" / "providers"
FAKE_TOKEN = "fake-tok-Zq8v3WmN1x"
TOKEN_VARS = ("HCLOUD_TOKEN", "DIGITALOCEAN_TOKEN", "LAMBDA_API_KEY")
AWS_OFFER = "/offers/v1.0/aws/AmazonEC2/20260101000000/us-east-1/index.json"


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


def served_bodies() -> dict[str, object]:
    """Recorded bodies with a few prices changed to values the snapshot does not have."""
    lambda_body = fixture("lambda_instance_types_openapi_example.json")
    lambda_body["data"]["gpu_1x_a100"]["instance_type"]["price_cents_per_hour"] = "123"
    sizes = fixture("digitalocean_sizes_openapi_example.json")
    sizes["links"] = {}  # the recorded page points at page 2 of 64; serve it as the only page
    sizes["sizes"][0]["price_monthly"] = 6.78
    offer = fixture("aws_ec2_offer_excerpt_reserved_terms.json")
    (on_demand,) = offer["terms"]["OnDemand"]["4C7N4APU9GEUZ6H6"].values()
    (dimension,) = on_demand["priceDimensions"].values()
    dimension["pricePerUnit"]["USD"] = "0.1234000000"
    return {
        "/api/v1/instance-types": lambda_body,
        "/v2/sizes": sizes,
        "/api/retail/prices": fixture("azure_retail_prices_shared_meter_ev3.json"),
        "/offers/v1.0/aws/index.json": {
            "formatVersion": "v1.0",
            "offers": {
                "AmazonEC2": {
                    "offerCode": "AmazonEC2",
                    "currentRegionIndexUrl": "/offers/v1.0/aws/AmazonEC2/current/region_index.json",
                }
            },
        },
        "/offers/v1.0/aws/AmazonEC2/current/region_index.json": {
            "regions": {"us-east-1": {"regionCode": "us-east-1", "currentVersionUrl": AWS_OFFER}}
        },
        AWS_OFFER: offer,
    }


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        for path, body in served_bodies().items():
            server.expect_request(path).respond_with_json(copy.deepcopy(body))
        base_url = f"http://127.0.0.1:{server.port}"
        regions = {
            "hetzner": ["fsn1", "nbg1", "hel1"],
            "aws": ["us-east-1"],
            "digitalocean": [],
            "azure": ["eastus"],
            "lambda": [],
        }
        providers = {
            name: {"enabled": True, "regions": chosen, "base_url": base_url}
            for name, chosen in regions.items()
        }
        workdir = make_workdir(tmp_path_factory.mktemp("live"), prices="live", providers=providers)
        env = {k: v for k, v in os.environ.items() if k not in TOKEN_VARS}
        env.update(DIGITALOCEAN_TOKEN=FAKE_TOKEN, LAMBDA_API_KEY=FAKE_TOKEN)
        process = run_dag(workdir, env=env)
        requests = [
            (request.path, request.headers.get("Authorization")) for request, _ in server.log
        ]
    finally:
        server.clear()
        if server.is_running():
            server.stop()
    return {"workdir": workdir, "process": process, "requests": requests}


def test_live_catalog_has_the_snapshot_schema(live, built_results):
    live_file = live["workdir"] / "results" / "catalog.parquet"
    snapshot_file = built_results / "results" / "catalog.parquet"
    live_schema = pq.read_schema(live_file)
    snapshot_schema = pq.read_schema(snapshot_file)
    assert live_schema.names == snapshot_schema.names
    assert [str(t) for t in live_schema.types] == [str(t) for t in snapshot_schema.types]
    live_frame, snapshot_frame = pd.read_parquet(live_file), pd.read_parquet(snapshot_file)
    assert live_frame.dtypes.to_dict() == snapshot_frame.dtypes.to_dict()
    assert set(live_frame["provider"]) == {"aws", "azure", "digitalocean", "hetzner", "lambda"}


def test_live_rows_are_the_served_prices(live):
    catalog = pd.read_parquet(live["workdir"] / "results" / "catalog.parquet")
    offers = catalog.set_index(["provider", "instance_type", "region"])
    # Lambda publishes cents per hour only: 123 cents -> 1.23/h -> x 730 = 897.90/month, and
    # 110 cents -> 803.00 exactly (1.10 x 730 is 803.0000000000001 before rounding).
    served_lambda = catalog[catalog["provider"] == "lambda"].set_index("instance_type")
    assert sorted(served_lambda.index) == ["gpu_1x_a100", "gpu_4x_a6000"]  # not the snapshot's 7
    assert served_lambda.loc["gpu_1x_a100", "price_hour"] == pytest.approx(1.23, abs=1e-12)
    assert served_lambda.loc["gpu_1x_a100", "price_month"] == 897.9
    assert served_lambda.loc["gpu_4x_a6000", "price_month"] == 803.0
    # DigitalOcean publishes a monthly price beside the hourly one: both kept as served.
    assert offers.loc[("digitalocean", "s-1vcpu-1gb", "nyc1"), "price_month"] == 6.78
    # AWS: the OnDemand term of the offer file, 0.1234/h x 730 = 90.082.
    c4 = offers.loc[("aws", "c4.large", "us-east-1")]
    assert (c4["price_hour"], c4["price_month"]) == (0.1234, 90.082)
    assert offers.loc[("azure", "Standard_E16s_v3", "eastus"), "price_hour"] == 1.008
    served_urls = set(catalog.loc[catalog["provider"] != "hetzner", "source_url"])
    assert all(url.startswith("http://127.0.0.1:") for url in served_urls)
    # The tokens were really sent to the providers that need them, and only there.
    auth = {path: header for path, header in live["requests"]}
    assert auth["/api/v1/instance-types"] == f"Bearer {FAKE_TOKEN}"
    assert auth["/v2/sizes"] == f"Bearer {FAKE_TOKEN}"
    assert auth["/api/retail/prices"] is None


def test_provider_without_token_falls_back_to_its_snapshot(live, built_results):
    workdir = live["workdir"]
    # No request went to Hetzner's API.
    assert not [path for path, _ in live["requests"] if path.startswith("/v1/")]
    log = (workdir / "results" / "logs" / "fetch" / "hetzner.log").read_text().splitlines()
    assert log == [
        "WARNING servecost: hetzner: HCLOUD_TOKEN is not set, so live prices were not fetched "
        "(the snapshot config/prices/hetzner.csv is used)"
    ]
    assert "Traceback" not in live["process"].stderr
    provenance = json.loads((workdir / "results/prices/hetzner.provenance.json").read_text())
    assert provenance["mode"] == "snapshot"
    assert provenance["origin"] == "config/prices/hetzner.csv"
    assert "HCLOUD_TOKEN is not set" in provenance["note"]
    for provider in ("aws", "azure", "digitalocean", "lambda"):
        other = json.loads((workdir / f"results/prices/{provider}.provenance.json").read_text())
        assert other["mode"] == "live", provider
    # The fallback rows are exactly the snapshot path's Hetzner rows.
    live_hetzner = pd.read_parquet(workdir / "results" / "catalog.parquet").query(
        "provider == 'hetzner'"
    )
    snapshot_hetzner = pd.read_parquet(built_results / "results" / "catalog.parquet").query(
        "provider == 'hetzner'"
    )
    pd.testing.assert_frame_equal(
        live_hetzner.reset_index(drop=True), snapshot_hetzner.reset_index(drop=True)
    )
    # The report's provenance table says so too.
    report = (workdir / "results" / "report.html").read_text(encoding="utf-8")
    row = report[report.index("<td>hetzner</td>") :].split("</tr>", 1)[0]
    assert "<td>snapshot</td>" in row and "HCLOUD_TOKEN is not set" in row


def test_fake_token_is_written_nowhere(live):
    workdir = live["workdir"]
    files = [
        path
        for root in (workdir / "results", workdir / ".snakemake" / "log")
        for path in root.rglob("*")
        if path.is_file()
    ]
    assert any(path.name == "report.html" for path in files)
    assert any(path.parent.name == "log" for path in files)
    leaked = [str(path) for path in files if FAKE_TOKEN.encode() in path.read_bytes()]
    assert leaked == []
    assert FAKE_TOKEN not in live["process"].stdout + live["process"].stderr
