"""The decision engine and measured throughput through the DAG, with hand-worked numbers.

Two runs, each only as far as results/summary.json (charts and report are not needed here):
- `engine`: custom and owned offers whose step costs are worked out by hand -> break-even,
  owned-hardware cost with electricity, payback with a positive engineering rate;
- `measured`: a `servecost bench` row for the current offer beats the model.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from servecost import bench

from .conftest import make_workdir, run_dag

pytestmark = pytest.mark.e2e

# One query = 1,000 completion tokens, no prompt; 100 % target utilisation, so a box's capacity is
# 86,400 x tok/s / 1,000 queries/day: small 2 tok/s -> 172.8/day for 10; large 10 tok/s -> 864
# for 35; the owned box 20 tok/s -> 1,728.
ENGINE = {
    "workload": {
        "model": "qwen2.5-3b",
        "quant": "q4_k_m",
        "queries_per_day": 1000,
        "prompt_tokens": 0,
        "completion_tokens": 1000,
        "peak_to_average": 1.0,
        "target_utilisation": 1.0,
        "latency_floor_tps": 1.0,
        "traffic_multipliers": [1, 2, 10],
        "curve_points": 5,
    },
    "current": {"provider": "custom", "instance_type": "small", "billing": "monthly"},
    "custom_offers": [
        {"name": "small", "price_month": 10.0, "currency": "USD", "decode_tps": 2},
        {"name": "large", "price_month": 35.0, "currency": "USD", "decode_tps": 10},
    ],
    "owned_hardware": [
        {
            "name": "home-box",
            "currency": "USD",
            "purchase_price": 1200.0,
            "lifetime_months": 24,
            "power_watts": 450,
            "decode_tps": 20,
        }
    ],
    "electricity": {"price_per_kwh": 0.30, "currency": "USD", "pue": 1.0, "source": "test"},
    # Only the response cache (25 % hits, 2 h): the custom offers' measured rows are for the
    # workload's quantisation at one stream, so quantising or batching would leave them no rows.
    "optimisations": {
        "quantisation": {"enabled": False},
        "response_cache": {"enabled": True, "hit_rate": 0.25, "hours": 2},
        "prefix_cache": {"enabled": False},
        "batching": {"enabled": False},
    },
    "engineering_rate": 50.0,
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    workdir = make_workdir(tmp_path_factory.mktemp("engine"), **ENGINE)
    run_dag(workdir, "results/summary.json")
    return workdir


def test_break_even_is_solved_exactly_on_the_step_costs(engine):
    table = pd.read_parquet(engine / "results" / "break_even.parquet")
    pairs = table.set_index(["strategy_a", "strategy_b"])
    # upgrade = large, 35 x ceil(q / 864); scale out = small, 10 x ceil(q / 172.8):
    # q <= 518.4 (3 boxes) small costs <= 30 < 35; on (518.4, 691.2] it costs 40 > 35.
    upgrade = pairs.loc[("upgrade", "scale_out")]
    assert upgrade["queries_per_day"] == pytest.approx(518.4, rel=1e-12)
    assert not bool(upgrade["a_cheaper_at_low"])
    assert (upgrade["cost_a"], upgrade["cost_b"]) == (35.0, 40.0)
    # optimise = small with 25 % cache hits, 10 x ceil(0.75 q / 172.8), steps at 230.4 j:
    # equal to scale out up to 172.8, cheaper on (172.8, 230.4] (10 against 20).
    optimise = pairs.loc[("optimise", "scale_out")]
    assert optimise["queries_per_day"] == pytest.approx(172.8, rel=1e-12)
    assert not bool(optimise["a_cheaper_at_low"])
    assert (optimise["cost_a"], optimise["cost_b"]) == (10.0, 20.0)
    summary = json.loads((engine / "results" / "summary.json").read_text())
    assert {
        "cheaper": "upgrade",
        "than": "scale_out",
        "queries_per_day": 518.4,
        "cheaper_below": False,
    } in summary["break_even"]


def test_owned_box_costs_amortisation_plus_electricity(engine):
    costs = pd.read_parquet(engine / "results" / "costs.parquet")
    owned = costs[
        (costs["provider"] == "owned")
        & (costs["instance_type"] == "home-box")
        & (costs["strategy"] == "candidate")
        & (costs["software"] == "baseline")
    ].set_index("traffic_multiplier")
    # 450 W x 730 h x 0.30 / 1000 = 98.55 electricity; 1,200 / 24 months = 50.00 purchase.
    assert owned.loc[1.0, "running_cost_month"] == pytest.approx(98.55)
    assert owned.loc[1.0, "monthly_price"] == pytest.approx(50.0 + 98.55)
    assert owned.loc[1.0, "instances"] == 1 and owned.loc[1.0, "monthly_cost"] == pytest.approx(
        148.55
    )
    # 10x: 10,000 queries/day over 1,728 per box -> 6 boxes.
    assert owned.loc[10.0, "instances"] == 6
    assert owned.loc[10.0, "monthly_cost"] == pytest.approx(6 * 148.55)
    roi = pd.read_parquet(engine / "results" / "roi.parquet")
    timeline = roi[(roi["strategy"] == "owned") & (roi["traffic_multiplier"] == 1.0)]
    cumulative = timeline.set_index("month")["cumulative_cost"]
    # The owned strategy runs the optimised software: the purchase and the 2 h x 50 of work are
    # paid up front, and only electricity runs monthly.
    assert cumulative[0] == pytest.approx(1200.0 + 100.0)
    assert cumulative[12] == pytest.approx(1300.0 + 12 * 98.55)


def test_payback_through_the_pipeline(engine):
    summary = json.loads((engine / "results" / "summary.json").read_text())
    costs = pd.read_parquet(engine / "results" / "costs.parquet")
    picks = costs[(costs["strategy"] != "candidate") & (costs["traffic_multiplier"] == 1.0)]
    picks = picks.set_index("strategy")
    # 1,000/day: scale out needs ceil(1000 / 172.8) = 6 small boxes = 60; the cache leaves 750/day,
    # ceil(750 / 172.8) = 5 boxes = 50, after 2 h x 50 = 100 of work: 100 + 50 t <= 60 t from t = 10.
    assert picks.loc["scale_out", "monthly_cost"] == pytest.approx(60.0)
    assert picks.loc["optimise", "monthly_cost"] == pytest.approx(50.0)
    assert picks.loc["optimise", "one_off_cost"] == pytest.approx(100.0)
    assert summary["payback_months"]["optimise"] == 10
    # The large box needs 2 x 35 = 70 > 60 and the owned box 1,200 + 98.55 t > 60 t: never.
    assert picks.loc["upgrade", "monthly_cost"] == pytest.approx(70.0)
    assert summary["payback_months"]["upgrade"] is None
    assert summary["payback_months"]["owned"] is None
    assert summary["payback_months"]["scale_out"] == 0


# A `servecost bench` run against the current box (hetzner cax21), in the file's own format, with
# figures no published row or model gives: 12.34 tok/s decode, 45.6 tok/s prefill.
DECODE, PREFILL = 12.34, 45.6


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    workdir = make_workdir(tmp_path_factory.mktemp("measured"))
    meta = bench.RowMeta(
        provider="hetzner",
        instance_type="cax21",
        model_id="qwen2.5-3b",
        quant="q4_k_m",
        engine="llama.cpp server",
        date="2026-01-15",
        source=bench.default_source("http://127.0.0.1:8080/v1", "qwen2.5-3b"),
    )
    level = bench.LevelSummary(
        concurrency=1,
        requests=8,
        ok=8,
        errors=0,
        decode_tps_aggregate=DECODE,
        decode_tps_per_stream=DECODE,
        prefill_tps=PREFILL,
        ttft_ms_p50=33000.0,
        prompt_tokens=1500,
        completion_tokens=500,
    )
    bench.append_rows(workdir / "config" / "benchmarks_local.csv", bench.level_rows(level, meta))
    run_dag(workdir, "results/summary.json")
    return workdir


def test_local_measurement_beats_the_model(measured):
    local = pd.read_csv(measured / "config" / "benchmarks_local.csv", dtype=str)
    assert local["hardware_id"].isna().all()  # resolved through config/offer_hardware.csv
    table = pd.read_parquet(measured / "results" / "throughput.parquet")
    row = table[
        (table["provider"] == "hetzner")
        & (table["instance_type"] == "cax21")
        & (table["model_id"] == "qwen2.5-3b")
        & (table["quant"] == "q4_k_m")
        & (table["concurrency"] == 1)
    ]
    assert len(row) == 1
    assert row["basis"].iloc[0] == "measured"
    assert row["hardware_id"].iloc[0] == "hetzner-cax21"
    assert row["decode_tps"].iloc[0] == DECODE
    assert row["prefill_tps"].iloc[0] == PREFILL
    assert row["prefill_basis"].iloc[0] == "measured"
    current = json.loads((measured / "results" / "summary.json").read_text())["current"]
    assert (current["provider"], current["instance_type"]) == ("hetzner", "cax21")
    assert current["decode_tps"] == DECODE and current["basis"] == "measured"
    # 1,500 / 45.6 + 500 / 12.34 = 73.413 s a query -> 86,400 x 0.8 / 73.413 = 941.52 a day.
    seconds = 1500 / PREFILL + 500 / DECODE
    assert current["capacity_queries_per_day"] == pytest.approx(86_400 * 0.8 / seconds, abs=0.01)
    assert current["capacity_queries_per_day"] == pytest.approx(941.52, abs=0.01)
