"""Normalisation traps for Hetzner, DigitalOcean, Azure and Lambda, with hand-checked numbers."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest
from servecost.catalog import CATALOG_COLUMNS, coerce_catalog
from servecost.errors import DataError
from servecost.providers import normalise_file

FIXTURES = Path(__file__).parent / "fixtures" / "providers"
META = {"source_url": "https://api.example.test/list", "fetched_at": "2026-12-04T10:00:00Z"}


def body(name: str):
    return json.loads((FIXTURES / name).read_text())


def run(tmp_path, provider, payload, meta=None, name="raw.json") -> pd.DataFrame:
    raw = tmp_path / name
    raw.write_text(json.dumps(payload))
    return normalise_file(provider, raw, meta=dict(META, **(meta or {})))


def row(frame, **where):
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        mask &= frame[column] == value
    assert mask.sum() == 1, f"expected one row for {where}, got {mask.sum()}"
    return frame[mask].iloc[0]


# -- Hetzner ------------------------------------------------------------------------------------
def hetzner_cpx11():
    return body("hetzner_server_type_cpx11_live_capture.json")["server"]["server_type"]


def test_hetzner_net_price_vat_and_monthly_cap(tmp_path):
    frame = run(tmp_path, "hetzner", {"server_types": [hetzner_cpx11()]})
    fsn1 = row(frame, instance_type="cpx11", region="fsn1")
    assert fsn1["price_hour"] == 0.0063  # net "0.0063000000"
    assert fsn1["price_month"] == 3.85  # the published cap, not 0.0063 x 730 = 4.599
    assert fsn1["vat_rate"] == 0.2  # 0.00756 / 0.0063 - 1
    assert fsn1["currency"] == "EUR" and fsn1["billing"] == "on_demand"
    assert fsn1["vcpus"] == 2 and fsn1["memory_gib"] == 2 and fsn1["arch"] == "x86_64"
    assert row(frame, region="sin")["price_hour"] == 0.0119
    assert sorted(frame["region"]) == ["ash", "fsn1", "hel1", "hil", "nbg1", "sin"]
    assert list(frame.columns) == [*CATALOG_COLUMNS, "as_of"]
    assert frame["source_url"].unique().tolist() == [META["source_url"]]
    assert frame["fetched_at"].unique().tolist() == [META["fetched_at"]]
    assert (frame["as_of"] == "").all()


def test_hetzner_vat_differs_by_price(tmp_path):
    frame = run(tmp_path, "hetzner", body("hetzner_server_types.json"))
    assert row(frame, instance_type="cx21", region="nbg1")["vat_rate"] == 0.19  # 0.00952/0.008


def test_hetzner_skips_deprecated_types_and_locations(tmp_path):
    pages = [body(f"hetzner_server_types_page{n}.json")["server_types"] for n in (1, 2, 3)]
    frame = run(tmp_path, "hetzner", {"server_types": sum(pages, [])})
    assert "cx11" not in set(frame["instance_type"])  # deprecated: true
    # the variant is not deprecated itself, but its fsn1 location is
    variant = frame[frame["instance_type"] == "cx11-locations-test"]
    assert variant["region"].tolist() == ["nbg1"]

    deprecation_only = hetzner_cpx11()
    deprecation_only["deprecation"] = {"announced": "2026-01-01T00:00:00Z"}
    with pytest.raises(DataError, match="no offers"):
        run(tmp_path, "hetzner", {"server_types": [deprecation_only]})

    unavailable = hetzner_cpx11()
    unavailable["locations"] = [{"name": "fsn1", "deprecation": None, "available": False}]
    frame = run(tmp_path, "hetzner", {"server_types": [unavailable]})
    assert "fsn1" not in set(frame["region"]) and len(frame) == 5


def test_hetzner_region_filter_from_the_sidecar(tmp_path):
    frame = run(
        tmp_path, "hetzner", {"server_types": [hetzner_cpx11()]}, meta={"regions": ["fsn1", "nbg1"]}
    )
    assert sorted(frame["region"]) == ["fsn1", "nbg1"]


def test_hetzner_bad_price_names_provider_type_and_field(tmp_path):
    broken = hetzner_cpx11()
    broken["prices"][1]["price_hourly"]["net"] = "n/a"
    with pytest.raises(
        DataError,
        match=r"hetzner \(https://api\.example\.test/list\): server "
        r"type cpx11 location fsn1 field 'price_hourly.net'",
    ):
        run(tmp_path, "hetzner", {"server_types": [broken]})
    negative = hetzner_cpx11()
    negative["prices"][1]["price_hourly"]["net"] = "-0.0063"
    with pytest.raises(DataError, match=r"hetzner .*cpx11/fsn1.*'price_hour': must be >= 0"):
        run(tmp_path, "hetzner", {"server_types": [negative]})


def test_hetzner_duplicate_key_is_an_error(tmp_path):
    with pytest.raises(DataError, match=r"hetzner .*cpx11.*duplicate offer key"):
        run(tmp_path, "hetzner", {"server_types": [hetzner_cpx11(), hetzner_cpx11()]})


# -- DigitalOcean --------------------------------------------------------------------------------
def test_digitalocean_memory_prices_and_gpus(tmp_path):
    frame = run(tmp_path, "digitalocean", body("digitalocean_sizes.json"))
    basic = row(frame, instance_type="s-1vcpu-512mb-10gb", region="fra1")
    assert basic["memory_gib"] == 0.5  # 512 MB
    assert basic["price_hour"] == 0.00595 and basic["price_month"] == 4.0  # both as published
    h100 = row(frame, instance_type="gpu-h100x8-640gb")
    assert h100["gpu_model"] == "H100" and h100["gpu_count"] == 8
    assert h100["gpu_memory_gib"] == 80.0  # 640 GiB over 8 GPUs
    assert h100["memory_gib"] == 1920.0  # 1966080 MB
    assert h100["price_month"] == 17796.48 and h100["region"] == "nyc1"
    assert row(frame, instance_type="gpu-mi300x8-1536gb")["gpu_memory_gib"] == 192.0
    assert len(frame) == 8 + 1 + 1  # one row per listed region


def test_digitalocean_float_artefact_and_2048_mb(tmp_path):
    payload = body("digitalocean_sizes_openapi_example.json")
    payload["sizes"][0]["memory"] = 2048
    frame = run(tmp_path, "digitalocean", payload)
    first = frame.iloc[0]
    assert first["memory_gib"] == 2.0
    assert first["price_hour"] == 0.00744  # published as 0.00743999984115362
    assert first["price_month"] == 5.0  # ratio to hourly is not 730
    assert len(frame) == 13


def test_digitalocean_unavailable_or_regionless_sizes_are_excluded(tmp_path):
    payload = body("digitalocean_sizes.json")
    payload["sizes"][1]["available"] = False
    payload["sizes"][2]["regions"] = []
    frame = run(tmp_path, "digitalocean", payload)
    assert set(frame["instance_type"]) == {"s-1vcpu-512mb-10gb"}


def test_digitalocean_missing_price_names_the_size(tmp_path):
    payload = body("digitalocean_sizes.json")
    del payload["sizes"][1]["price_hourly"]
    with pytest.raises(
        DataError, match=r"digitalocean .*size gpu-h100x8-640gb field 'price_hourly'"
    ):
        run(tmp_path, "digitalocean", payload)


# -- Azure ---------------------------------------------------------------------------------------
def test_azure_reservation_rows_are_dropped(tmp_path):
    frame = run(tmp_path, "azure", body("azure_retail_prices_d8v4_reservation_total.json"))
    only = row(frame, instance_type="Standard_D8_v4")
    assert only["billing"] == "on_demand" and only["region"] == "westeurope"
    assert only["price_hour"] == 0.46  # never 2377 (1-year total) or 4594 (3-year total)
    assert only["price_month"] == pytest.approx(0.46 * 730)
    assert len(frame) == 1


def test_azure_shared_meter_one_row_per_arm_sku(tmp_path):
    payload = body("azure_retail_prices_shared_meter_ev3.json")
    payload["Items"].append(copy.deepcopy(payload["Items"][0]))  # a repeated row is de-duplicated
    frame = run(tmp_path, "azure", payload)
    assert len(frame) == 8
    assert row(frame, instance_type="Standard_E16-4s_v3")["price_hour"] == 1.008
    assert row(frame, instance_type="Standard_E32s_v3")["price_hour"] == 2.016


def test_azure_windows_spot_devtest_low_priority(tmp_path):
    item = body("azure_retail_prices_item_windows_spot_devtest.json")
    linux_spot = dict(
        item,
        productName="Virtual Machines D Series",
        type="Consumption",
        armRegionName="SouthIndia",
    )
    windows_spot = dict(item, type="Consumption")  # productName says Windows
    devtest = dict(linux_spot, type="DevTestConsumption")
    low = dict(linux_spot, skuName="D14 Low Priority", meterName="D14 Low Priority")
    cloud = dict(linux_spot, productName="Cloud Services D Series")
    ondemand = dict(linux_spot, skuName="D14", meterName="D14", retailPrice=1.0)
    frame = run(
        tmp_path,
        "azure",
        {"Items": [item, linux_spot, windows_spot, devtest, low, cloud, ondemand]},
    )
    assert sorted(frame["billing"]) == ["on_demand", "spot"]
    spot = row(frame, billing="spot")
    assert spot["price_hour"] == 0.236555 and spot["region"] == "southindia"  # lowercased
    assert spot["instance_type"] == "Standard_D14"
    assert row(frame, billing="on_demand")["price_hour"] == 1.0


def test_azure_arm_sizes_and_missing_fields(tmp_path):
    payload = body("azure_retail_prices_shared_meter_ev3.json")
    payload["Items"][0]["armSkuName"] = "Standard_D4ps_v5"
    frame = run(tmp_path, "azure", payload)
    assert row(frame, instance_type="Standard_D4ps_v5")["arch"] == "arm64"
    assert row(frame, instance_type="Standard_E16s_v3")["arch"] == "x86_64"
    payload["Items"][1]["retailPrice"] = None
    with pytest.raises(DataError, match=r"azure .*item 2 \(skuId DZH318Z0BQ4R/029D.*'retailPrice'"):
        run(tmp_path, "azure", payload)


# -- Lambda -------------------------------------------------------------------------------------
def test_lambda_cents_to_dollars(tmp_path):
    frame = run(tmp_path, "lambda", body("lambda_instance_types_openapi_example.json"))
    a100 = row(frame, instance_type="gpu_1x_a100")
    assert a100["price_hour"] == 0.80  # "80" cents
    assert a100["price_month"] == 584.0  # 0.80 x 730
    assert a100["currency"] == "USD" and a100["region"] == ""
    assert a100["gpu_count"] == 1 and a100["gpu_memory_gib"] == 24.0
    assert a100["vcpus"] == 24 and a100["memory_gib"] == 800
    a6000 = row(frame, instance_type="gpu_4x_a6000")
    assert a6000["price_hour"] == 1.10 and a6000["gpu_count"] == 4


def test_hourly_only_month_has_no_float_noise(tmp_path):
    # 1.10 x 730 is 803.0000000000001 in binary floating point; the catalog says 803.0.
    assert 1.10 * 730 != 803.0
    frame = run(tmp_path, "lambda", body("lambda_instance_types_openapi_example.json"))
    assert row(frame, instance_type="gpu_4x_a6000")["price_month"] == 803.0
    assert coerce_catalog(
        pd.DataFrame(
            {
                "provider": ["lambda"] * 3,
                "instance_type": ["a", "b", "c"],
                "region": [""] * 3,
                "billing": ["on_demand"] * 3,
                "price_hour": ["0.00744", "0.0119", "0.00595"],
                "price_month": ["", "", "4.35"],
                "currency": ["USD"] * 3,
                "source_url": ["s"] * 3,
                "fetched_at": ["2026-01-01"] * 3,
            }
        ).replace("", None),
        origin="test",
    )["price_month"].tolist() == [5.4312, 8.687, 4.35]  # the published 4.35 is kept as is


def test_lambda_type_without_capacity_is_still_an_offer(tmp_path):
    payload = body("lambda_instance_types_openapi_example.json")
    payload["data"]["gpu_1x_a100"]["regions_with_capacity_available"] = []
    payload["data"]["gpu_1x_a100"]["instance_type"]["price_cents_per_hour"] = 129  # integer form
    frame = run(tmp_path, "lambda", payload)
    assert row(frame, instance_type="gpu_1x_a100")["price_hour"] == 1.29
    assert len(frame) == 2


def test_lambda_bad_price_names_the_type_and_field(tmp_path):
    payload = body("lambda_instance_types_openapi_example.json")
    payload["data"]["gpu_4x_a6000"]["instance_type"]["price_cents_per_hour"] = "NaN"
    with pytest.raises(DataError, match=r"lambda .*gpu_4x_a6000 field 'price_cents_per_hour'"):
        run(tmp_path, "lambda", payload)
    payload["data"]["gpu_4x_a6000"]["instance_type"]["price_cents_per_hour"] = None
    with pytest.raises(DataError, match=r"gpu_4x_a6000 field 'price_cents_per_hour': is required"):
        run(tmp_path, "lambda", payload)


def test_normalise_without_sidecar_uses_the_file(tmp_path):
    raw = tmp_path / "lambda.json"
    raw.write_text((FIXTURES / "lambda_instance_types_openapi_example.json").read_text())
    frame = normalise_file("lambda", raw)
    assert frame["source_url"].unique().tolist() == [str(raw)]
    assert frame["fetched_at"].iloc[0].endswith("Z")


def test_normalise_truncated_raw_is_a_data_error(tmp_path):
    raw = tmp_path / "hetzner.json"
    raw.write_text((FIXTURES / "hetzner_server_types.json").read_text()[:300])
    with pytest.raises(DataError, match=r"hetzner: .*truncated or invalid JSON"):
        normalise_file("hetzner", raw, meta=META)
