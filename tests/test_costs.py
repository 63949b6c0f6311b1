"""Hand-worked cost arithmetic: the classic back-of-envelope, ceil() edges, caches, break-even."""

import math

import numpy as np
import pandas as pd
import pytest
from servecost import costs as cm
from servecost import scenarios

# The classic: a 4-vCPU box at 8 tok/s for 7.50/month, 2,000 tokens per query, all decode.
TOKENS = 2000


def capacity(decode_tps, utilisation=1.0):
    seconds = cm.seconds_per_query(0, TOKENS, math.inf, decode_tps)
    return cm.raw_capacity_per_day(seconds) * utilisation


def test_classic_back_of_envelope():
    assert 8 * 86_400 == 691_200  # tokens/day
    assert capacity(8) == pytest.approx(345.6)
    assert capacity(14) == pytest.approx(604.8)
    assert capacity(28) == pytest.approx(1209.6)
    # 7.50/month at full use: 7.5 / (345.6 x 30.4167 days) per query; the classic rounds to
    # 345 queries x 30 days = 0.000725.
    per_query = cm.cost_per_query(7.5, capacity(8))
    assert per_query == pytest.approx(7.5 / (345.6 * 730 / 24))
    assert per_query == pytest.approx(0.000725, rel=0.02)
    # 5,000 queries/day on the first box: ~1,450% utilisation.
    assert 5000 / capacity(8) == pytest.approx(14.47, abs=0.01)


def test_instances_ceil_edges():
    assert cm.instances_needed(100.0, 50.0) == 2  # exactly at capacity: no extra box
    assert cm.instances_needed(100.0000001, 50.0) == 3  # just above: one more
    assert cm.instances_needed(0.0, 50.0) == 1  # a service keeps one box up
    assert list(cm.instances_needed(np.array([49.9, 50.0, 50.1]), 50.0)) == [1, 1, 2]


def test_cache_hit_rate_removes_load():
    assert cm.load_per_day(1000, 2, 1.5, 0.0) == 3000
    assert cm.load_per_day(1000, 2, 1.5, 1.0) == 0
    assert cm.load_per_day(1000, 1, 1.0, 0.25) == 750


def test_electricity_450w_at_030():
    assert cm.electricity_per_month(450, 0.30, 1.0) == pytest.approx(98.55)
    assert cm.electricity_per_month(450, 0.30, 1.5) == pytest.approx(147.825)


def test_unit_costs():
    per_query = cm.cost_per_query(730 / 24 * 100, 100)  # 100/day at 1.00 each
    assert per_query == pytest.approx(1.0)
    assert cm.cost_per_million_tokens(per_query, 2000) == pytest.approx(500.0)
    monthly = cm.managed_api_monthly(1000, 1500, 500, 0.2, 0.6)
    assert monthly == pytest.approx((1500 * 0.2 + 500 * 0.6) / 1e6 * 1000 * 730 / 24)


def _options(capacity_per_day, price, k=1.0):
    return pd.DataFrame(
        {
            "capacity_queries_per_day": [capacity_per_day],
            "monthly_price": [price],
            "k": [k],
            "fixed_instances": [0],
        }
    )


def test_break_even_exact_on_step_functions():
    # A: boxes of 100 q/day at 10; B: boxes of 350 q/day at 30.
    # A costs 10*ceil(q/100), B 30*ceil(q/350). Up to 300: A <= 30 = B; at 301..350 A = 40 > 30.
    result = cm.break_even(_options(350, 30), _options(100, 10), 1.0, 10_000)
    assert result["a_cheaper_at_low"] is False
    assert result["queries_per_day"] == pytest.approx(300.0)
    assert result["cost_a"] == 30 and result["cost_b"] == 40


def test_break_even_none_when_never_crossing():
    result = cm.break_even(_options(100, 5), _options(100, 10), 1.0, 10_000)
    assert result["a_cheaper_at_low"] is True
    assert result["queries_per_day"] is None


def test_break_even_linear_api_vs_step():
    # API: 0.01 per query-month; box: 350 q/day for 30 -> API cheaper until 0.01 q = 30 -> 3000?
    # Below 350 q/day the box costs 30 and the API 0.01 q < 30 everywhere in (0, 350]: so the
    # first interval where the API loses is where 0.01 q exceeds the box's step cost.
    api = pd.DataFrame({"per_query_month": [0.1]})
    result = scenarios._break_even_any(api, _options(350, 30), 1.0, 10_000)
    assert result["a_cheaper_at_low"] is True
    assert result["queries_per_day"] == pytest.approx(300.0)  # 0.1 x 300 = 30


def _grid(**overrides):
    workload = {
        "queries_per_day": 500,
        "prompt_tokens": 0,
        "completion_tokens": 2000,
        "peak_to_average": 1.0,
        "target_utilisation": 1.0,
    }
    workload.update(overrides)
    capacity_frame = pd.DataFrame(
        {
            "provider": ["custom"],
            "instance_type": ["my-box"],
            "region": [""],
            "billing": ["monthly"],
            "software": ["baseline"],
            "capacity_queries_per_day": [capacity(8) * workload["target_utilisation"]],
            "raw_capacity_per_day": [capacity(8)],
            "monthly_price": [7.5],
            "cache_hit_rate": [0.0],
            "feasible": [True],
            "reason": [""],
        }
    )
    traffic = cm.traffic_points([1, 2, 10], 3)
    return cm.cost_grid(capacity_frame, traffic, workload)


def test_cost_grid_instances_and_utilisation():
    grid = _grid().set_index("traffic_multiplier")
    # 500 q/day over 345.6 per box -> 2 boxes; 1000 -> 3; 5000 -> 15.
    assert grid.loc[1.0, "instances"] == 2
    assert grid.loc[2.0, "instances"] == 3
    assert grid.loc[10.0, "instances"] == 15
    assert grid.loc[1.0, "monthly_cost"] == pytest.approx(15.0)
    assert grid.loc[1.0, "utilisation"] == pytest.approx(500 / (2 * 345.6))
    assert bool(grid.loc[1.0, "feasible"])


def test_offer_known_only_at_todays_quant_keeps_its_figure_when_optimised():
    # A custom box measured at q4_k_m only, and a catalog box modelled at both quantisations.
    keys = {"region": "", "billing": "on_demand", "feasible": True, "prefill_tps": math.inf}
    offers = pd.DataFrame(
        [
            {"provider": "custom", "instance_type": "my-box", "quant": "q4_k_m",
             "concurrency": 1, "decode_tps": 8.0, **keys},
            {"provider": "hetzner", "instance_type": "cx32", "quant": "q4_k_m",
             "concurrency": 1, "decode_tps": 10.0, **keys},
            {"provider": "hetzner", "instance_type": "cx32", "quant": "q4_0",
             "concurrency": 1, "decode_tps": 12.0, **keys},
        ]
    )  # fmt: skip
    workload = {"quant": "q4_k_m", "prompt_tokens": 0, "completion_tokens": TOKENS,
                "target_utilisation": 1.0}  # fmt: skip
    optimisations = {
        "quantisation": {"enabled": True, "quant": "q4_0", "hours": 4},
        "response_cache": {"enabled": True, "hit_rate": 0.5, "hours": 8},
    }
    variants = cm.software_variants(workload, optimisations)
    best = cm.offer_capacity(offers, variants, workload).set_index(["instance_type", "software"])
    # The custom box is still a candidate when optimised: same 8 tok/s (345.6 queries/day), and
    # the cache halves its load downstream; the catalog box gets the faster q4_0.
    assert best.loc[("my-box", "optimised"), "quant"] == "q4_k_m"
    assert best.loc[("my-box", "optimised"), "capacity_queries_per_day"] == pytest.approx(345.6)
    assert best.loc[("my-box", "optimised"), "cache_hit_rate"] == 0.5
    assert best.loc[("cx32", "optimised"), "quant"] == "q4_0"
    assert best.loc[("cx32", "optimised"), "capacity_queries_per_day"] == pytest.approx(518.4)
    assert len(best) == 4
