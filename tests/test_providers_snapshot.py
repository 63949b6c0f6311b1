"""`servecost snapshot`: rewriting config/prices/<provider>.csv from a live fetch."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from servecost.catalog import CATALOG_COLUMNS, read_price_csv
from servecost.cli import main
from servecost.errors import DataError
from servecost.providers import SNAPSHOT_COLUMNS, meta_path, normalise_file, write_snapshot

FIXTURES = Path(__file__).parent / "fixtures" / "providers"
REPO_PRICES = Path(__file__).parents[1] / "config" / "prices"
LIVE_URL = "https://api.hetzner.cloud/v1/server_types?page=1&per_page=50"


def write_raw(tmp_path: Path, provider: str, fixture: str, payload=None) -> Path:
    raw = tmp_path / "raw" / f"{provider}.json"
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps(payload) if payload else (FIXTURES / fixture).read_text())
    meta = {"source_url": LIVE_URL, "fetched_at": "2026-12-04T10:00:00Z", "regions": None}
    meta_path(raw).write_text(json.dumps(meta))
    return raw


def old_row(instance_type, region, price_hour, price_month, **extra):
    base = dict.fromkeys(SNAPSHOT_COLUMNS, "")
    base.update(
        provider="hetzner",
        instance_type=instance_type,
        region=region,
        billing="on_demand",
        vcpus="2",
        memory_gib="2",
        arch="x86_64",
        price_hour=price_hour,
        price_month=price_month,
        currency="EUR",
        vat_rate="0.2",
        source_url="https://www.hetzner.com/cloud/ (curated)",
        fetched_at="2025-08-19",
        as_of="2025-08-19",
    )
    base.update(extra)
    return base


def read_rows(path: Path) -> dict[tuple, dict]:
    with path.open(newline="") as handle:
        return {(r["instance_type"], r["region"]): r for r in csv.DictReader(handle)}


@pytest.fixture
def config(tmp_path):
    prices = tmp_path / "config" / "prices"
    prices.mkdir(parents=True)
    with (prices / "hetzner.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=SNAPSHOT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerow(old_row("cpx11", "fsn1", "0.0063", "3.85"))  # unchanged
        writer.writerow(old_row("cpx11", "nbg1", "0.0059", "3.60"))  # re-priced live
        writer.writerow(old_row("cx22", "fsn1", "0.0052", "3.29", vcpus="2", memory_gib="4"))
    return tmp_path / "config"


def test_snapshot_rewrites_with_minimal_diff(tmp_path, config, capsys):
    raw = write_raw(
        tmp_path,
        "hetzner",
        "hetzner_server_type_cpx11_live_capture.json",
        {
            "server_types": [
                json.loads((FIXTURES / "hetzner_server_type_cpx11_live_capture.json").read_text())[
                    "server"
                ]["server_type"]
            ]
        },
    )
    args = ["snapshot", "--provider", "hetzner", "--from", str(raw), "--config-dir", str(config)]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "4 added, 1 changed, 1 removed, 1 unchanged" in err
    path = config / "prices" / "hetzner.csv"
    text = path.read_text()
    assert text.splitlines()[0] == ",".join(SNAPSHOT_COLUMNS)
    rows = read_rows(path)
    assert ("cx22", "fsn1") not in rows
    kept = rows[("cpx11", "fsn1")]  # same offer: old provenance stays, so git diff is quiet
    assert kept["source_url"] == "https://www.hetzner.com/cloud/ (curated)"
    assert kept["fetched_at"] == "2025-08-19" and kept["as_of"] == "2025-08-19"
    changed = rows[("cpx11", "nbg1")]
    assert (changed["price_hour"], changed["price_month"]) == ("0.0063", "3.85")
    assert changed["source_url"] == LIVE_URL and changed["fetched_at"] == "2026-12-04"
    assert changed["as_of"] == "" and changed["vat_rate"] == "0.2" and changed["vcpus"] == "2"
    keys = [(r["instance_type"], r["region"]) for r in rows.values()]
    assert keys == sorted(keys)
    # deterministic: a second run changes nothing, and the file reads back as a valid snapshot
    assert main(args) == 0
    assert path.read_text() == text
    assert "0 added, 0 changed, 0 removed, 6 unchanged" in capsys.readouterr().err
    assert len(read_price_csv(path)) == 6


def test_hourly_only_provider_leaves_price_month_blank(tmp_path):
    raw = write_raw(tmp_path, "lambda", "lambda_instance_types_openapi_example.json")
    result = write_snapshot(normalise_file("lambda", raw), "lambda", config_dir=tmp_path / "cfg")
    assert result["added"] == 2
    rows = read_rows(Path(result["path"]))
    assert rows[("gpu_1x_a100", "")]["price_hour"] == "0.8"
    assert rows[("gpu_1x_a100", "")]["price_month"] == ""  # readers fill hourly x 730
    # 0.80 x 730 and 1.10 x 730, the second without its binary noise (803.0000000000001)
    assert read_price_csv(result["path"])["price_month"].tolist() == [584.0, 803.0]


def test_snapshot_from_normalised_parquet(tmp_path, capsys):
    raw = write_raw(tmp_path, "digitalocean", "digitalocean_sizes.json")
    parquet = tmp_path / "do.parquet"
    assert main(["normalise", "--provider", "digitalocean", str(raw), "-o", str(parquet)]) == 0
    cfg = tmp_path / "cfg"
    args = ["snapshot", "--provider", "digitalocean", "--from", str(parquet)]
    assert main([*args, "--config-dir", str(cfg)]) == 0
    rows = read_rows(cfg / "prices" / "digitalocean.csv")
    assert rows[("gpu-h100x8-640gb", "nyc1")]["memory_gib"] == "1920"
    assert rows[("s-1vcpu-512mb-10gb", "ams3")]["price_month"] == "4"


def test_snapshot_refuses_another_providers_rows(tmp_path):
    raw = write_raw(tmp_path, "lambda", "lambda_instance_types_openapi_example.json")
    with pytest.raises(DataError, match="another provider"):
        write_snapshot(normalise_file("lambda", raw), "hetzner", config_dir=tmp_path)


def test_committed_snapshots_use_the_snapshot_column_order():
    assert [*CATALOG_COLUMNS, "as_of"] == SNAPSHOT_COLUMNS
    files = sorted(REPO_PRICES.glob("*.csv"))
    assert files, "config/prices/*.csv missing"
    for path in files:
        assert path.read_text().splitlines()[0] == ",".join(SNAPSHOT_COLUMNS), path.name


def test_rows_of_a_billing_the_api_cannot_produce_are_kept(tmp_path):
    prices = tmp_path / "cfg" / "prices"
    prices.mkdir(parents=True)
    spot = old_row(
        "gpu_1x_a100",
        "us-east-1",
        "0.4",
        "",
        provider="lambda",
        billing="spot",
        currency="USD",
        vat_rate="",
    )
    with (prices / "lambda.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=SNAPSHOT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerow(spot)
    raw = write_raw(tmp_path, "lambda", "lambda_instance_types_openapi_example.json")
    result = write_snapshot(normalise_file("lambda", raw), "lambda", config_dir=tmp_path / "cfg")
    assert (result["added"], result["removed"], result["kept"]) == (2, 0, 1)
    frame = read_price_csv(result["path"])
    assert frame["billing"].tolist() == ["on_demand", "spot", "on_demand"]
    assert frame.loc[1, "source_url"] == spot["source_url"]
