"""AWS Bulk API: the filter traps, streaming JSON and CSV giving the same catalog, bounded memory,
and the offer index -> region index -> offer file walk."""

from __future__ import annotations

import csv
import json
import tracemalloc
from pathlib import Path

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer
from servecost.errors import DataError, FetchError
from servecost.providers import aws, fetch_to_file, meta_path, normalise_file

FIXTURES = Path(__file__).parent / "fixtures" / "providers"
META = {"source_url": "https://pricing.example.test/offer", "fetched_at": "2026-12-04T10:00:00Z"}
REGION = "us-east-2"
OFFER_PATH = f"/offers/v1.0/aws/AmazonEC2/20230322145651/{REGION}/index.json"

# The m5.large product of the opencost excerpt (tests/fixtures/providers/aws_ec2_offer_excerpt.json)
BASE = json.loads((FIXTURES / "aws_ec2_offer_excerpt.json").read_text())["products"][
    "8D49XP354UEYTHGM"
]["attributes"]

# JSON attribute -> the CSV column of the same field (the Bulk API CSV header spelling)
CSV_NAMES = {
    "servicecode": "serviceCode",
    "location": "Location",
    "locationType": "Location Type",
    "instanceType": "Instance Type",
    "currentGeneration": "Current Generation",
    "instanceFamily": "Instance Family",
    "vcpu": "vCPU",
    "physicalProcessor": "Physical Processor",
    "clockSpeed": "Clock Speed",
    "memory": "Memory",
    "storage": "Storage",
    "networkPerformance": "Network Performance",
    "processorArchitecture": "Processor Architecture",
    "storageMedia": "Storage Media",
    "volumeType": "Volume Type",
    "tenancy": "Tenancy",
    "operatingSystem": "Operating System",
    "licenseModel": "License Model",
    "usagetype": "usageType",
    "operation": "operation",
    "availabilityzone": "AvailabilityZone",
    "capacitystatus": "CapacityStatus",
    "gpu": "GPU",
    "gpuMemory": "GPU Memory",
    "marketoption": "MarketOption",
    "preInstalledSw": "Pre Installed S/W",
    "regionCode": "Region Code",
    "servicename": "serviceName",
}
CSV_HEADER = [
    "SKU",
    "OfferTermCode",
    "RateCode",
    "TermType",
    "PriceDescription",
    "EffectiveDate",
    "StartingRange",
    "EndingRange",
    "Unit",
    "PricePerUnit",
    "Currency",
    "RelatedTo",
    "LeaseContractLength",
    "PurchaseOption",
    "OfferingClass",
    "Product Family",
    *CSV_NAMES.values(),
]


def product(sku, family="Compute Instance", **attrs):
    merged = {**BASE, **attrs}
    return {"sku": sku, "productFamily": family, "attributes": merged}


def ec2(instance_type, **attrs):
    prefix = "USE2-BoxUsage:"
    defaults = {"instanceType": instance_type, "usagetype": f"{prefix}{instance_type}"}
    return {**defaults, **attrs}


# sku -> (product, OnDemand $/h or None, reserved terms [(lease, dims)])
def offer_items():
    return {
        # kept
        "KEEPM5LARGE00001": (
            product("KEEPM5LARGE00001", **ec2("m5.large")),
            "0.0960000000",
            [
                ("1yr", [("Hrs", "0.0300000000"), ("Quantity", "263")]),
                ("3yr", [("Quantity", "1161")]),
            ],
        ),
        "KEEPG5XLARGE0001": (
            product(
                "KEEPG5XLARGE0001",
                **ec2(
                    "g5.xlarge",
                    vcpu="4",
                    memory="16 GiB",
                    gpu="1",
                    gpuMemory="24 GiB",
                    physicalProcessor="AMD EPYC 7R32",
                    instanceFamily="GPU instance",
                ),
            ),
            "1.0060000000",
            [],
        ),
        "KEEPG512XLARGE01": (
            product(
                "KEEPG512XLARGE01",
                **ec2(
                    "g5.12xlarge",
                    vcpu="48",
                    memory="192 GiB",
                    gpu="4",
                    gpuMemory="96 GiB",
                    physicalProcessor="AMD EPYC 7R32",
                ),
            ),
            "5.6720000000",
            [],
        ),
        "KEEPC7GLARGE0001": (
            product(
                "KEEPC7GLARGE0001",
                **ec2(
                    "c7g.large",
                    vcpu="2",
                    memory="4 GiB",
                    physicalProcessor="AWS Graviton3",
                ),
            ),
            "0.0725000000",
            [],
        ),
        # dropped
        "WINBYOLP38XLARGE": (
            product(
                "WINBYOLP38XLARGE",
                **ec2(
                    "p3.8xlarge",
                    operatingSystem="Windows",
                    licenseModel="Bring your own license",
                    operation="RunInstances:0800",
                ),
            ),
            "12.2400000000",
            [],
        ),
        "STORAGEGP3000001": (
            product("STORAGEGP3000001", family="Storage", usagetype="USE2-EBS:VolumeUsage.gp3"),
            None,
            [],
        ),
        "DEDICATEDM5LARGE": (
            product(
                "DEDICATEDM5LARGE",
                **ec2(
                    "m5.large",
                    tenancy="Dedicated",
                    usagetype="USE2-DedicatedUsage:m5.large",
                ),
            ),
            "0.1060000000",
            [],
        ),
        "HOSTM5LARGE00001": (
            product(
                "HOSTM5LARGE00001",
                **ec2(
                    "m5.large",
                    tenancy="Host",
                    usagetype="USE2-HostBoxUsage:m5.large",
                ),
            ),
            "0.0000000000",
            [],
        ),
        "ALLOCATEDM5LARGE": (
            product(
                "ALLOCATEDM5LARGE",
                **ec2(
                    "m5.large",
                    capacitystatus="AllocatedCapacityReservation",
                ),
            ),
            "0.0000000000",
            [],
        ),
        "UNUSEDM5LARGE001": (
            product(
                "UNUSEDM5LARGE001",
                **ec2(
                    "m5.large",
                    capacitystatus="UnusedCapacityReservation",
                    usagetype="USE2-UnusedBox:m5.large",
                ),
            ),
            "0.0960000000",
            [],
        ),
        "SQLWEBM5LARGE001": (
            product(
                "SQLWEBM5LARGE001",
                **ec2(
                    "m5.large",
                    preInstalledSw="SQL Web",
                    operation="RunInstances:0200",
                ),
            ),
            "0.1210000000",
            [],
        ),
        "RHELM5LARGE00001": (
            product(
                "RHELM5LARGE00001",
                **ec2(
                    "m5.large",
                    operatingSystem="RHEL",
                    operation="RunInstances:0010",
                ),
            ),
            "0.1560000000",
            [],
        ),
        "RESERVEDONLY0001": (
            product("RESERVEDONLY0001", **ec2("m5.xlarge")),
            None,
            [
                ("1yr", [("Hrs", "0.0400000000")]),
            ],
        ),
    }


def filler(count):
    """Windows products that are read and discarded (to grow the file)."""
    return {
        f"FILLER{i:010d}": (
            product(
                f"FILLER{i:010d}",
                **ec2(
                    f"x{i}.large",
                    operatingSystem="Windows",
                    licenseModel="No License required",
                ),
            ),
            "0.5000000000",
            [],
        )
        for i in range(count)
    }


def term(sku, code, dims, attributes):
    return {
        f"{sku}.{code}": {
            "offerTermCode": code,
            "sku": sku,
            "effectiveDate": "2023-03-01T00:00:00Z",
            "priceDimensions": {
                f"{sku}.{code}.{unit[:4].upper()}{n}": {
                    "rateCode": f"{sku}.{code}.{unit[:4].upper()}{n}",
                    "description": "Upfront Fee" if unit == "Quantity" else f"{price} per hour",
                    "beginRange": "0",
                    "endRange": "Inf",
                    "unit": unit,
                    "pricePerUnit": {"USD": price},
                    "appliesTo": [],
                }
                for n, (unit, price) in enumerate(dims)
            },
            "termAttributes": attributes,
        }
    }


def offer_json(items, *, terms_first=False) -> dict:
    products = {sku: p for sku, (p, _, _) in items.items()}
    on_demand, reserved = {}, {}
    for sku, (p, hourly, reservations) in items.items():
        if hourly is not None:
            unit = "Hrs" if p["productFamily"].startswith("Compute") else "GB-Mo"
            on_demand[sku] = term(sku, "JRTCKXETXF", [(unit, hourly)], {})
        for n, (lease, dims) in enumerate(reservations):
            reserved.setdefault(sku, {}).update(
                term(
                    sku,
                    f"RES{n}",
                    dims,
                    {
                        "LeaseContractLength": lease,
                        "PurchaseOption": "Partial Upfront",
                        "OfferingClass": "standard",
                    },
                )
            )
    head = {
        "formatVersion": "v1.0",
        "offerCode": "AmazonEC2",
        "version": "20230322145651",
        "publicationDate": "2023-03-22T14:56:51Z",
    }
    terms = {"OnDemand": on_demand, "Reserved": reserved}
    if terms_first:
        return {**head, "terms": terms, "products": products, "attributesList": {}}
    return {**head, "products": products, "terms": terms, "attributesList": {}}


def write_offer_csv(items, path: Path) -> None:
    document = offer_json(items)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(["FormatVersion", "v1.0"])
        writer.writerow(["Disclaimer", "This pricing list is for informational purposes only."])
        writer.writerow(["Publication Date", "2023-03-22T14:56:51Z"])
        writer.writerow(["Version", "20230322145651"])
        writer.writerow(["OfferCode", "AmazonEC2"])
        writer.writerow(CSV_HEADER)
        for term_type, by_sku in document["terms"].items():
            for sku, terms in by_sku.items():
                p = document["products"][sku]
                for _code, t in terms.items():
                    for rate, dim in t["priceDimensions"].items():
                        ta = t["termAttributes"]
                        base = [
                            sku,
                            t["offerTermCode"],
                            rate,
                            term_type,
                            dim["description"],
                            t["effectiveDate"],
                            dim.get("beginRange", ""),
                            dim.get("endRange", ""),
                            dim["unit"],
                            dim["pricePerUnit"]["USD"],
                            "USD",
                            "",
                            ta.get("LeaseContractLength", ""),
                            ta.get("PurchaseOption", ""),
                            ta.get("OfferingClass", ""),
                            p["productFamily"],
                        ]
                        attrs = p["attributes"]
                        writer.writerow(base + [attrs.get(k, "") for k in CSV_NAMES])


def write_json(document, path: Path) -> None:
    path.write_text(json.dumps(document, indent=4))


EXPECTED = {  # instance type -> (price_hour, vcpus, memory_gib, arch, gpu_count, gpu_memory_gib)
    "c7g.large": (0.0725, 2, 4, "arm64", None, None),
    "g5.12xlarge": (5.672, 48, 192, "x86_64", 4, 24.0),
    "g5.xlarge": (1.006, 4, 16, "x86_64", 1, 24.0),
    "m5.large": (0.096, 2, 8, "x86_64", None, None),
}


def check_expected(frame: pd.DataFrame) -> None:
    assert frame["instance_type"].tolist() == sorted(EXPECTED)
    for _, r in frame.iterrows():
        price, vcpus, memory, arch, gpus, gpu_mem = EXPECTED[r["instance_type"]]
        assert r["price_hour"] == price
        assert r["price_month"] == pytest.approx(price * 730)
        assert (r["vcpus"], r["memory_gib"], r["arch"]) == (vcpus, memory, arch)
        assert (None if pd.isna(r["gpu_count"]) else r["gpu_count"]) == gpus
        assert (None if pd.isna(r["gpu_memory_gib"]) else r["gpu_memory_gib"]) == gpu_mem
        assert r["region"] == REGION and r["billing"] == "on_demand" and r["currency"] == "USD"
    g5 = frame[frame["instance_type"] == "g5.xlarge"].iloc[0]
    assert g5["gpu_model"] == "A10G" and g5["cpu_model"] == "AMD EPYC 7R32"


def test_json_filters_every_trap(tmp_path):
    raw = tmp_path / "aws.json"
    write_json(offer_json(offer_items()), raw)
    check_expected(normalise_file("aws", raw, meta=META))


def test_csv_and_json_streams_give_identical_catalogs(tmp_path):
    items = {**offer_items(), **filler(50)}
    as_json, as_csv = tmp_path / "aws.json", tmp_path / "aws.csv"
    write_json(offer_json(items), as_json)
    write_offer_csv(items, as_csv)
    from_json = normalise_file("aws", as_json, meta=META)
    from_csv = normalise_file("aws", as_csv, meta=META)
    pd.testing.assert_frame_equal(from_json, from_csv)
    check_expected(from_csv)
    # terms before products (not how AWS orders them, but legal JSON) -> same answer
    write_json(offer_json(items, terms_first=True), as_json)
    pd.testing.assert_frame_equal(normalise_file("aws", as_json, meta=META), from_json)


def test_reference_excerpts(tmp_path):
    # lyft c4.large: 1 OnDemand term beside 4 Reserved ones (Hrs + Quantity dimensions)
    frame = normalise_file("aws", FIXTURES / "aws_ec2_offer_excerpt_reserved_terms.json", meta=META)
    assert frame[["instance_type", "region", "price_hour"]].values.tolist() == [
        ["c4.large", "us-east-1", 0.1]  # region from the location name (no regionCode there)
    ]
    assert frame["memory_gib"].tolist() == [3.75]
    # opencost excerpt: Windows BYOL, Storage, and an m5.large with only a Reserved upfront fee
    with pytest.raises(DataError, match=r"aws \(https://pricing\.example\.test/offer\): no offers"):
        normalise_file("aws", FIXTURES / "aws_ec2_offer_excerpt.json", meta=META)


def test_json_stream_does_not_load_the_whole_file(tmp_path, monkeypatch):
    small, large = tmp_path / "small.json", tmp_path / "large.json"
    write_json(offer_json({**offer_items(), **filler(1200)}), small)
    write_json(offer_json({**offer_items(), **filler(4000)}), large)
    assert large.stat().st_size > 6 * 1024 * 1024

    def forbidden(*args, **kwargs):
        raise AssertionError("json.load(s) on the offer file")

    monkeypatch.setattr(aws.json, "load", forbidden)
    monkeypatch.setattr(aws.json, "loads", forbidden)
    peaks = []
    for path in (small, large):
        tracemalloc.start()
        check_expected(normalise_file("aws", path, meta=META))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    # 3x more products, yet the peak (a few read buffers) stays under the file size and does
    # not grow with it
    assert peaks[1] < large.stat().st_size
    assert peaks[1] < peaks[0] + 2 * 1024 * 1024


def test_truncated_offer_json_and_csv(tmp_path):
    raw = tmp_path / "aws.json"
    write_json(offer_json(offer_items()), raw)
    raw.write_text(raw.read_text()[:5000])
    with pytest.raises(DataError, match=r"aws .*truncated"):
        normalise_file("aws", raw, meta=META)
    as_csv = tmp_path / "aws.csv"
    write_offer_csv(offer_items(), as_csv)
    text = as_csv.read_text()
    as_csv.write_text(text[: text.rindex('","')])
    with pytest.raises(DataError, match=r"aws .*line \d+: .*truncated"):
        normalise_file("aws", as_csv, meta=META)


def test_duplicate_offer_names_both_skus(tmp_path):
    items = offer_items()
    twin = json.loads(json.dumps(items["KEEPM5LARGE00001"][0]))
    twin["sku"] = "TWINM5LARGE00001"
    items["TWINM5LARGE00001"] = (twin, "0.0970000000", [])
    raw = tmp_path / "aws.json"
    write_json(offer_json(items), raw)
    with pytest.raises(
        DataError,
        match=r"SKU TWINM5LARGE00001 .*duplicate offer m5\.large in "
        r"us-east-2 \(also SKU KEEPM5LARGE00001\)",
    ):
        normalise_file("aws", raw, meta=META)


def test_parse_quantity():
    assert aws.parse_quantity("8 GiB") == 8.0
    assert aws.parse_quantity("1") == 1.0
    assert aws.parse_quantity("1,952 GiB") == 1952.0
    assert aws.parse_quantity("NA") is None
    assert aws.parse_quantity("") is None


# -- fetch through the indexes ------------------------------------------------------------------
@pytest.fixture(scope="module")
def server():
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    yield srv
    srv.clear()
    if srv.is_running():
        srv.stop()


def serve_indexes(server, items, extra_regions=None):
    server.clear()
    server.expect_request("/offers/v1.0/aws/index.json").respond_with_json(
        {
            "formatVersion": "v1.0",
            "offers": {
                "AmazonEC2": {
                    "offerCode": "AmazonEC2",
                    "currentVersionUrl": "/offers/v1.0/aws/AmazonEC2/current/index.json",
                    "currentRegionIndexUrl": "/offers/v1.0/aws/AmazonEC2/current/region_index.json",
                }
            },
        }
    )
    server.expect_request("/offers/v1.0/aws/AmazonEC2/current/region_index.json").respond_with_json(
        {
            "regions": {
                REGION: {"regionCode": REGION, "currentVersionUrl": OFFER_PATH},
                **(extra_regions or {}),
            }
        }
    )
    document = offer_json(items)
    server.expect_request(OFFER_PATH).respond_with_data(
        json.dumps(document, indent=4), content_type="application/json"
    )
    return document


def test_fetch_json_and_csv_offer_files(server, tmp_path):
    items = offer_items()
    serve_indexes(server, items)
    csv_path = tmp_path / "offer.csv"
    write_offer_csv(items, csv_path)
    server.expect_request(OFFER_PATH.replace(".json", ".csv")).respond_with_data(
        csv_path.read_bytes(), content_type="text/csv"
    )
    base = f"http://127.0.0.1:{server.port}"
    raw_json = tmp_path / "raw" / "aws.json"
    meta = fetch_to_file("aws", raw_json, regions=[REGION], base_url=base, env={}, backoff=0.01)
    assert meta["source_url"] == base + OFFER_PATH and meta["format"] == "json"
    assert len(meta["urls"]) == 3
    raw_csv = tmp_path / "raw" / "aws.csv"
    fetch_to_file("aws", raw_csv, regions=[REGION], base_url=base, env={}, backoff=0.01)
    assert json.loads(meta_path(raw_csv).read_text())["source_url"].endswith("/index.csv")
    from_json = normalise_file("aws", raw_json)
    from_csv = normalise_file("aws", raw_csv)
    check_expected(from_json)
    pd.testing.assert_frame_equal(
        from_json.drop(columns=["source_url", "fetched_at"]),
        from_csv.drop(columns=["source_url", "fetched_at"]),
    )


def test_fetch_unknown_region_and_html_offer(server, tmp_path):
    serve_indexes(server, offer_items())
    base = f"http://127.0.0.1:{server.port}"
    with pytest.raises(FetchError, match="region 'mars-1' is not in the EC2 region index"):
        fetch_to_file("aws", tmp_path / "aws.json", regions=["mars-1"], base_url=base, env={})
    server.clear()
    server.expect_request("/offers/v1.0/aws/index.json").respond_with_json({"offers": {}})
    server.expect_request("/offers/v1.0/aws/AmazonEC2/current/region_index.json").respond_with_json(
        {"regions": {REGION: {"currentVersionUrl": OFFER_PATH}}}
    )
    server.expect_request(OFFER_PATH).respond_with_data("<html><body>Denied</body></html>")
    with pytest.raises(FetchError, match=r"aws: http://127.*index\.json: got an HTML page"):
        fetch_to_file("aws", tmp_path / "aws.json", regions=[REGION], base_url=base, env={})
    assert list(tmp_path.iterdir()) == []


def test_fetch_several_regions_writes_a_manifest(server, tmp_path):
    other = OFFER_PATH.replace(REGION, "eu-west-1")
    serve_indexes(server, offer_items(), {"eu-west-1": {"currentVersionUrl": other}})
    eu = {sku: (json.loads(json.dumps(p)), h, r) for sku, (p, h, r) in offer_items().items()}
    for p, _, _ in eu.values():
        p["attributes"]["regionCode"] = "eu-west-1"
    server.expect_request(other).respond_with_data(json.dumps(offer_json(eu)))
    raw = tmp_path / "aws.json"
    base = f"http://127.0.0.1:{server.port}"
    fetch_to_file("aws", raw, regions=[REGION, "eu-west-1"], base_url=base, env={})
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "aws.eu-west-1.json",
        "aws.json",
        "aws.meta.json",
        "aws.us-east-2.json",
    ]
    frame = normalise_file("aws", raw)
    assert sorted(set(frame["region"])) == ["eu-west-1", REGION]
    assert len(frame) == 2 * len(EXPECTED)
