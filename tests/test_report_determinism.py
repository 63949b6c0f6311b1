"""The same inputs give a byte-identical report; every data string in the report is escaped."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from servecost import report
from servecost.charts import CHART_NAMES
from servecost.config import validate_config

from .conftest import REPO, run_dag

EVIL = "<script>alert(1)</script>"
MAX_ROWS = 5000
SPEC_BLOCK = re.compile(r'<script type="application/json" id="spec-([a-z_]+)">(.*?)</script>', re.S)


def compared_files(results: Path) -> list[str]:
    names = ["report.html", "summary.md", "summary.json"]
    names += [f"charts/{name}.vl.json" for name in CHART_NAMES]
    return names


def context_for(workdir: Path) -> dict:
    """report.report_context from a built tmp dir's own inputs, as the report rule passes them."""
    results = workdir / "results"
    config = validate_config(yaml.safe_load((workdir / "config" / "config.yaml").read_text()))
    inputs = {
        "summary": results / "summary.json",
        "specs": [results / "charts" / f"{name}.vl.json" for name in CHART_NAMES],
        "catalog": results / "catalog.parquet",
        "calibration": results / "calibration.parquet",
        "costs": results / "costs.parquet",
        "break_even": results / "break_even.parquet",
        "provenance": sorted((results / "prices").glob("*.provenance.json")),
        "benchmarks": workdir / config["reference"]["benchmarks"],
    }
    return report.report_context(inputs, config)


def spec_blocks(page: str) -> dict[str, str]:
    return dict(SPEC_BLOCK.findall(page))


# ---------------------------------------------------------------- determinism


@pytest.mark.e2e
def test_second_run_is_byte_identical(built_results, tmp_path):
    """A second, independent run from the same config/ writes the same bytes."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    run_dag(tmp_path)
    different = [
        name
        for name in compared_files(built_results / "results")
        if (built_results / "results" / name).read_bytes()
        != (tmp_path / "results" / name).read_bytes()
    ]
    assert different == []


@pytest.mark.e2e
def test_report_is_self_contained_and_specs_round_trip(built_results):
    page = (built_results / "results" / "report.html").read_text(encoding="utf-8")
    blocks = spec_blocks(page)
    assert list(blocks) == CHART_NAMES
    for name, text in blocks.items():
        on_disk = json.loads((built_results / "results" / "charts" / f"{name}.vl.json").read_text())
        assert json.loads(text) == on_disk, name
        rows = sum(len(v) for v in on_disk.get("datasets", {}).values())
        assert 0 < rows <= MAX_ROWS, (name, rows)
        assert '"url"' not in text, name
    assert page.count('<div class="chart" id="chart-') == len(CHART_NAMES)
    assert page.count("vegaEmbed(") == 1  # the bundle is inlined once, the call once
    for pattern in (r"<script[^>]+src=", r"<link[^>]+href=", r"<img[^>]+src=\"?https?:",
                    r"@import", r"<iframe"):  # fmt: skip
        assert not re.search(pattern, page, re.I), pattern


# ---------------------------------------------------------------- escaping


@pytest.fixture(scope="module")
def context(built_results) -> dict:
    return context_for(built_results)


def with_provider(context: dict, name: str) -> dict:
    patched = json.loads(json.dumps(context["summary"]))
    patched["current"]["provider"] = name
    return {**context, "summary": patched}


@pytest.mark.e2e
def test_provider_name_is_escaped(context):
    page = report.render_html(with_provider(context, EVIL))
    assert EVIL not in page
    assert "alert(1)" in page  # it is shown ...
    assert html.escape(EVIL) in page  # ... escaped
    assert page.count("<script") == 2 + len(CHART_NAMES)  # the bundle, the loader, the specs


@pytest.mark.e2e
def test_headline_offer_name_is_escaped(context):
    summary = json.loads(json.dumps(context["summary"]))
    summary["recommendations"][0]["provider"] = EVIL
    page = report.render_html({**context, "summary": summary,
                               "headline": report.headline(summary)})  # fmt: skip
    assert EVIL not in page
    assert html.escape(EVIL) in page


@pytest.mark.e2e
@pytest.mark.parametrize("evil", [EVIL, "<!--<script>", "</SCRIPT><b>x</b>", "]]></script>"])
def test_chart_data_cannot_leave_its_script_block(context, evil):
    """Data strings inside an inline JSON spec cannot close it or open an HTML comment in it."""
    charts = []
    for chart in context["charts"]:
        spec = json.loads(chart["spec"])
        for rows in spec.get("datasets", {}).values():
            for row in rows:
                for key, value in row.items():
                    if isinstance(value, str):
                        row[key] = evil
        text = json.dumps(spec, sort_keys=True).replace("</", "<\\/")
        charts.append({**chart, "spec": text})
    page = report.render_html({**context, "charts": charts})
    blocks = spec_blocks(page)
    assert list(blocks) == CHART_NAMES  # every block closes where it should
    for name, text in blocks.items():
        lowered = text.lower()
        assert "<!--" not in lowered and "<script" not in lowered and "</script" not in lowered
        spec = json.loads(text)
        strings = [v for rows in spec.get("datasets", {}).values() for r in rows
                   for v in r.values() if isinstance(v, str)]  # fmt: skip
        assert strings and set(strings) == {evil}, name  # the data survives unchanged


def test_vega_bundle_cannot_close_or_comment_its_script():
    bundle = report.vega_bundle().lower()
    assert "</script" not in bundle
    assert "<!--" not in bundle
    assert "vegaembed" in bundle
