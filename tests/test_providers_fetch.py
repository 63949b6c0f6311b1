"""Live fetch over HTTP against a local server on 127.0.0.1: retries, timeouts, broken bodies,
pagination, missing tokens, token redaction, and the CLI doors."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from servecost import stages
from servecost.cli import main
from servecost.errors import FetchError
from servecost.providers import MissingToken, fetch_to_file, meta_path, normalise_file
from werkzeug import Response

FIXTURES = Path(__file__).parent / "fixtures" / "providers"
TOKEN = "sekret-123"
ENV = {"HCLOUD_TOKEN": TOKEN, "DIGITALOCEAN_TOKEN": TOKEN, "LAMBDA_API_KEY": TOKEN}
FAST = {"timeout": 2.0, "backoff": 0.01, "env": ENV}


def body(name: str):
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(scope="module")
def server():
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    yield srv
    srv.clear()
    if srv.is_running():
        srv.stop()


@pytest.fixture
def api(server):
    server.clear()
    yield server
    server.clear()


def base(server) -> str:
    return f"http://127.0.0.1:{server.port}"


def files_in(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def assert_no_token(*texts):
    for text in texts:
        assert TOKEN not in text


# -- pagination ---------------------------------------------------------------------------------
def test_hetzner_three_page_chain_is_merged_and_normalised(api, tmp_path):
    for n in (1, 2, 3):
        api.expect_request(
            "/v1/server_types", query_string={"page": str(n), "per_page": "50"}
        ).respond_with_json(body(f"hetzner_server_types_page{n}.json"))
    raw = tmp_path / "hetzner.json"
    lines = []
    meta = fetch_to_file("hetzner", raw, base_url=base(api), log=lines.append, **FAST)
    merged = json.loads(raw.read_text())
    assert [t["name"] for t in merged["server_types"]] == [
        "cx21",
        "cpx11",
        "cx11",
        "cx11",
        "cx11-locations-test",
    ]
    assert merged["meta"]["pagination"]["next_page"] is None
    assert len(meta["urls"]) == 3 and meta["statuses"] == [200, 200, 200]
    assert meta["source_url"].startswith(base(api) + "/v1/server_types?page=1")
    sidecar = json.loads(meta_path(raw).read_text())
    assert sidecar["sha256"] == meta["sha256"] and sidecar["fetched_at"].endswith("Z")
    # every request carried the bearer token; nothing written or logged carries it
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r, _ in api.log)
    assert_no_token(raw.read_text(), meta_path(raw).read_text(), *lines)

    frame = normalise_file("hetzner", raw)
    assert set(frame["instance_type"]) == {"cx21", "cpx11", "cx11-locations-test"}
    assert frame["source_url"].unique().tolist() == [meta["source_url"]]
    assert frame["fetched_at"].unique().tolist() == [meta["fetched_at"]]


def test_pagination_loop_is_a_fetch_error(api, tmp_path):
    page = body("digitalocean_sizes_openapi_example.json")
    page["links"]["pages"]["next"] = "https://api.digitalocean.com/v2/sizes?page=1&per_page=200"
    api.expect_request("/v2/sizes").respond_with_json(page)
    raw = tmp_path / "do.json"
    with pytest.raises(FetchError, match=r"digitalocean: .*pagination loop"):
        fetch_to_file("digitalocean", raw, base_url=base(api), **FAST)
    assert files_in(tmp_path) == []


def test_pagination_page_cap(api, tmp_path):
    def endless(request):
        n = int(request.args.get("page", "1"))
        page = body("digitalocean_sizes_openapi_example.json")
        page["links"]["pages"]["next"] = f"https://api.digitalocean.com/v2/sizes?page={n + 1}"
        return Response(json.dumps(page), content_type="application/json")

    api.expect_request("/v2/sizes").respond_with_handler(endless)
    with pytest.raises(FetchError, match="did not end after 3 pages"):
        fetch_to_file("digitalocean", tmp_path / "do.json", base_url=base(api), max_pages=3, **FAST)
    assert files_in(tmp_path) == []


def test_azure_follows_next_page_link_to_the_end(api, tmp_path):
    first = body("azure_retail_prices_shared_meter_ev3.json")
    second = body("azure_retail_prices_d8v4_reservation_total.json")
    first["NextPageLink"] = "https://prices.azure.com:443/api/retail/prices?$skip=100"
    api.expect_request("/api/retail/prices", query_string={"$skip": "100"}).respond_with_json(
        second
    )
    api.expect_request("/api/retail/prices").respond_with_json(first)
    raw = tmp_path / "azure.json"
    meta = fetch_to_file("azure", raw, regions=["eastus", "westeurope"], base_url=base(api), **FAST)
    merged = json.loads(raw.read_text())
    assert merged["Count"] == 11 and merged["NextPageLink"] is None
    first_request = api.log[0][0]
    assert "armRegionName eq 'westeurope'" in first_request.args["$filter"]
    assert "priceType eq 'Consumption'" in first_request.args["$filter"]
    assert len(meta["urls"]) == 2
    frame = normalise_file("azure", raw)
    assert len(frame) == 9  # 8 shared-meter SKUs + D8 v4 on demand; 2 reservations dropped


# -- retries and timeouts -------------------------------------------------------------------------
def test_500_then_success_is_retried(api, tmp_path):
    api.expect_oneshot_request("/api/v1/instance-types").respond_with_data("boom", status=500)
    api.expect_request("/api/v1/instance-types").respond_with_json(
        body("lambda_instance_types_openapi_example.json")
    )
    meta = fetch_to_file("lambda", tmp_path / "lambda.json", base_url=base(api), **FAST)
    assert meta["http_status"] == 200
    assert len(api.log) == 2


def test_429_honours_retry_after(api, tmp_path):
    api.expect_oneshot_request("/api/v1/instance-types").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "1"}
    )
    api.expect_request("/api/v1/instance-types").respond_with_json(
        body("lambda_instance_types_openapi_example.json")
    )
    started = time.monotonic()
    fetch_to_file("lambda", tmp_path / "lambda.json", base_url=base(api), **FAST)
    assert time.monotonic() - started >= 0.9
    assert len(api.log) == 2


def test_persistent_5xx_gives_up_with_a_short_message(api, tmp_path):
    api.expect_request("/api/v1/instance-types").respond_with_data("down", status=503)
    with pytest.raises(FetchError) as info:
        fetch_to_file("lambda", tmp_path / "l.json", base_url=base(api), retries=2, **FAST)
    message = str(info.value)
    assert message.startswith("lambda: http://127.0.0.1:")
    assert "/api/v1/instance-types" in message and "503" in message
    assert len(api.log) == 3  # 1 + 2 retries
    assert files_in(tmp_path) == []


def test_hang_past_the_timeout(api, tmp_path):
    def hang(request):
        time.sleep(1.5)
        return Response("{}", content_type="application/json")

    api.expect_request("/api/v1/instance-types").respond_with_handler(hang)
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"lambda: .*timed out"):
        fetch_to_file(
            "lambda",
            tmp_path / "l.json",
            base_url=base(api),
            env=ENV,
            timeout=0.5,
            retries=0,
        )
    assert time.monotonic() - started < 1.4
    assert files_in(tmp_path) == []


def test_connection_refused_is_a_fetch_error(tmp_path):
    with pytest.raises(FetchError, match="cannot connect|gave up"):
        fetch_to_file(
            "azure",
            tmp_path / "a.json",
            base_url="http://127.0.0.1:9",
            retries=1,
            **{k: v for k, v in FAST.items() if k != "env"},
        )
    assert files_in(tmp_path) == []


# -- broken bodies -------------------------------------------------------------------------------
def test_truncated_json_is_a_fetch_error(api, tmp_path):
    text = (FIXTURES / "lambda_instance_types_openapi_example.json").read_text()
    api.expect_request("/api/v1/instance-types").respond_with_data(
        text[: len(text) // 2], content_type="application/json"
    )
    with pytest.raises(
        FetchError,
        match=r"lambda: http://127\.0\.0\.1:\d+/api/v1/instance-types"
        r": truncated or invalid JSON",
    ):
        fetch_to_file("lambda", tmp_path / "l.json", base_url=base(api), **FAST)
    assert files_in(tmp_path) == []


def test_html_error_page_with_status_200(api, tmp_path):
    api.expect_request("/v2/sizes").respond_with_data(
        "<!DOCTYPE html><html><body>Maintenance</body></html>", content_type="text/html"
    )
    with pytest.raises(FetchError, match=r"digitalocean: .*/v2/sizes.*HTML page instead of JSON"):
        fetch_to_file("digitalocean", tmp_path / "do.json", base_url=base(api), **FAST)
    assert files_in(tmp_path) == []


# -- tokens -------------------------------------------------------------------------------------
def test_missing_token_raises_before_any_request(api, tmp_path):
    with pytest.raises(MissingToken) as info:
        fetch_to_file("hetzner", tmp_path / "h.json", base_url=base(api), env={})
    assert info.value.env_var == "HCLOUD_TOKEN"
    assert "HCLOUD_TOKEN is not set" in str(info.value)
    assert isinstance(info.value, FetchError)
    assert api.log == [] and files_in(tmp_path) == []


def test_missing_token_in_the_pipeline_is_one_warning_naming_the_provider_once(
    api, tmp_path, monkeypatch, caplog
):
    monkeypatch.delenv("HCLOUD_TOKEN", raising=False)
    raw_dir = tmp_path / "raw" / "hetzner"
    with caplog.at_level(logging.INFO, logger="servecost"):
        stages.fetch_live("hetzner", {"regions": ["fsn1"], "base_url": base(api)}, str(raw_dir))
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [
        "hetzner: HCLOUD_TOKEN is not set, so live prices were not fetched "
        "(the snapshot config/prices/hetzner.csv is used)"
    ]
    assert files_in(raw_dir) == ["skipped.json"] and api.log == []


def test_token_echoed_in_an_error_is_redacted(api, tmp_path):
    def echo(request):
        return Response(f"bad token {request.headers['Authorization']}", status=401)

    api.expect_request("/v1/server_types").respond_with_handler(echo)
    with pytest.raises(FetchError) as info:
        fetch_to_file("hetzner", tmp_path / "h.json", base_url=base(api), **FAST)
    assert "401" in str(info.value) and "***" in str(info.value)
    assert_no_token(str(info.value))


def test_cli_missing_token_is_one_line_and_no_file(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DIGITALOCEAN_TOKEN", raising=False)
    out = tmp_path / "raw" / "do.json"
    status = main(["fetch", "--provider", "digitalocean", "-o", str(out)])
    err = capsys.readouterr().err
    assert status != 0
    assert err.count("\n") == 1 and "DIGITALOCEAN_TOKEN is not set" in err
    assert "Traceback" not in err
    assert not out.exists() and not meta_path(out).exists()


def test_cli_fetch_failure_is_short_and_leaves_nothing(api, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LAMBDA_API_KEY", TOKEN)
    api.expect_request("/api/v1/instance-types").respond_with_data("<html>oops</html>")
    out = tmp_path / "l.json"
    status = main(
        ["fetch", "--provider", "lambda", "--base-url", base(api), "--retries", "0", "-o", str(out)]
    )
    err = capsys.readouterr().err
    assert status == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("servecost fetch: lambda: http://127.0.0.1:") and "HTML" in last
    assert "Traceback" not in err
    assert_no_token(err)
    assert files_in(tmp_path) == []


def test_cli_in_process_fetch_normalise(api, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DIGITALOCEAN_TOKEN", TOKEN)
    api.expect_request("/v2/sizes").respond_with_json(body("digitalocean_sizes.json"))
    raw, out = tmp_path / "do.json", tmp_path / "do.parquet"
    args = ["--provider", "digitalocean"]
    assert main(["fetch", *args, "--base-url", base(api), "--region", "nyc1", "-o", str(raw)]) == 0
    assert main(["normalise", *args, str(raw), "-o", str(out)]) == 0
    import pandas as pd

    frame = pd.read_parquet(out)
    assert sorted(frame["instance_type"]) == [
        "gpu-h100x8-640gb",
        "gpu-mi300x8-1536gb",
        "s-1vcpu-512mb-10gb",
    ]
    assert set(frame["region"]) == {"nyc1"}
    err = capsys.readouterr().err
    assert_no_token(err, raw.read_text(), meta_path(raw).read_text())


def test_cli_subprocess_fetch_then_normalise(api, tmp_path):
    api.expect_request("/api/v1/instance-types").respond_with_json(
        body("lambda_instance_types_openapi_example.json")
    )
    env = {**os.environ, "LAMBDA_API_KEY": TOKEN}
    raw, out = tmp_path / "lambda.json", tmp_path / "lambda.csv"
    script = (
        "import sys; from servecost.cli import main; "
        "sys.exit(main(['fetch', '--provider', 'lambda', '--base-url', sys.argv[1], "
        "'-o', sys.argv[2]]) or main(['normalise', '--provider', 'lambda', sys.argv[2], "
        "'-o', sys.argv[3]]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, base(api), str(raw), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert_no_token(
        result.stdout, result.stderr, raw.read_text(), meta_path(raw).read_text(), out.read_text()
    )
    assert "gpu_1x_a100,,on_demand" in out.read_text()
    assert api.log[0][0].headers["Authorization"] == f"Bearer {TOKEN}"
