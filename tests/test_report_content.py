"""What the report says, from small hand-made tables: honest current cost, payback sensitivity,
one tie-break everywhere, the strategy x traffic matrix, grouped sources."""

from __future__ import annotations

import pandas as pd
import pytest
from servecost import report, scenarios, summary

WORKLOAD = {
    "model": "m",
    "quant": "q4_k_m",
    "queries_per_day": 5000,
    "prompt_tokens": 1500,
    "completion_tokens": 500,
    "target_utilisation": 0.8,
}


def strategy_row(strategy: str, multiplier: float = 1.0, **values) -> dict:
    row = {
        "strategy": strategy,
        "traffic_multiplier": multiplier,
        "named_multiplier": True,
        "provider": "hetzner",
        "instance_type": "cax21",
        "region": "fsn1",
        "software": "baseline",
        "instances": 1,
        "monthly_cost": 7.5,
        "running_cost_month": float("nan"),
        "one_off_cost": 0.0,
        "engineering_hours": 0.0,
        "queries_per_day": 5000.0 * multiplier,
        "capacity_queries_per_day": 345.6,
        "cost_per_query": 0.0,
        "cost_per_mtok": 0.0,
        "decode_tps": 8.0,
        "prefill_tps": 0.0,
        "concurrency": 1,
        "basis": "measured",
        "utilisation": 1.0,
        "feasible": True,
        "reason": "",
    }
    row.update(values)
    return row


def test_current_cost_is_over_the_queries_the_box_can_serve():
    # The classic box: 345.6 queries/day at 7.50/month, asked for 5,000/day. It serves 345.6, so
    # a query costs 7.5 / (345.6 x 730/24) = 0.00071347 and 1M tokens 0.00071347 / 2000 x 1e6.
    costs = pd.DataFrame(
        [strategy_row("as_is", utilisation=14.47, feasible=False, reason="utilisation 1447%")]
    )
    current = summary.current_state(costs, {"workload": WORKLOAD})
    assert current["served_queries_per_day"] == pytest.approx(345.6)
    assert current["cost_per_query"] == pytest.approx(7.5 / (345.6 * 730 / 24), abs=1e-6)
    assert current["cost_per_mtok"] == pytest.approx(0.3567, abs=1e-4)
    assert current["feasible"] is False


def test_current_cost_of_a_box_with_headroom_is_over_the_whole_load():
    costs = pd.DataFrame(
        [strategy_row("as_is", queries_per_day=100.0, capacity_queries_per_day=345.6)]
    )
    current = summary.current_state(costs, {"workload": WORKLOAD})
    assert current["served_queries_per_day"] == 100.0
    # 7.5 / (100 x 30.4167) = 0.0024658 per query; / 2000 tokens x 1e6 = 1.2329 per 1M.
    assert current["cost_per_mtok"] == pytest.approx(1.2329, abs=1e-4)


def payback_table() -> pd.DataFrame:
    # as_is cannot carry today's load, so scale_out (14 boxes, 90/month) is the baseline.
    # optimise: 7 boxes, 45/month, after 20 engineering hours.
    return pd.DataFrame(
        [
            strategy_row("as_is", monthly_cost=7.5, feasible=False),
            strategy_row("scale_out", instances=14, monthly_cost=90.0),
            strategy_row(
                "optimise",
                instances=7,
                monthly_cost=45.0,
                engineering_hours=20.0,
                software="optimised",
            ),
        ]
    )


def test_payback_sensitivity_to_the_engineering_rate():
    table = scenarios.payback_sensitivity(
        payback_table(), months=36, configured_rate=0.0, rates=[0.0, 50.0, 100.0]
    )
    months = table[table["strategy"] == "optimise"].set_index("engineering_rate")
    # rate 0: cheaper from the start. rate 50: 1000 + 45t <= 90t from t = 22.2, so month 23.
    # rate 100: 2000 / 45 = 44.4 months, beyond the 36-month horizon: never.
    assert months.loc[0.0, "payback_month"] == 0
    assert months.loc[50.0, "payback_month"] == 23
    assert pd.isna(months.loc[100.0, "payback_month"])
    assert set(table["baseline"]) == {"scale_out"}
    as_is = table[table["strategy"] == "as_is"]
    assert as_is["payback_month"].isna().all()  # infeasible never pays back


def test_payback_sensitivity_with_a_configured_rate_already_in_the_one_off():
    # The table's one-off already holds 20 h x 50; asking for 50 again must not double it.
    table = payback_table()
    table.loc[table["strategy"] == "optimise", "one_off_cost"] = 1000.0
    result = scenarios.payback_sensitivity(table, 36, configured_rate=50.0, rates=[0.0, 50.0])
    months = result[result["strategy"] == "optimise"].set_index("engineering_rate")
    assert months.loc[0.0, "payback_month"] == 0
    assert months.loc[50.0, "payback_month"] == 23


def test_payback_sensitivity_in_summary_is_in_strategy_order_with_nulls():
    config = {"roi_months": 36, "engineering_rate": 0.0, "engineering_rate_sensitivity": [0, 50]}
    listed = summary.payback_sensitivity_list(payback_table(), config)
    assert [entry["strategy"] for entry in listed] == ["as_is", "optimise", "scale_out"]
    optimise = listed[1]
    assert optimise["engineering_hours"] == 20.0
    assert optimise["payback_months"] == [
        {"engineering_rate": 0.0, "month": 0},
        {"engineering_rate": 50.0, "month": 23},
    ]
    assert listed[0]["payback_months"][0]["month"] is None


def tied_costs() -> pd.DataFrame:
    # best_cpu and upgrade_and_optimise pick the same offer at the same price.
    return pd.DataFrame(
        [
            strategy_row("best_cpu", monthly_cost=26.98, instance_type="cx32", instances=4),
            strategy_row(
                "upgrade_and_optimise", monthly_cost=26.98, instance_type="cx32", instances=4
            ),
            strategy_row("scale_out", monthly_cost=89.77, instances=14),
            strategy_row("as_is", monthly_cost=6.41, feasible=False, reason="utilisation 1087%"),
        ]
    )


def test_a_tie_goes_to_the_strategy_closest_to_today():
    (pick,) = summary.recommendations(tied_costs())
    assert pick["strategy"] == "upgrade_and_optimise"
    assert pick["monthly_cost"] == 26.98
    assert [
        s for s in scenarios.cm.STRATEGIES if s in scenarios.MAP_STRATEGIES
    ] == scenarios.MAP_STRATEGIES


def test_strategy_matrix_flags_the_recommendation_and_keeps_strategy_order():
    costs = tied_costs()
    matrix = report.strategy_matrix(costs, summary.recommendations(costs))
    assert matrix["multipliers"] == [1.0]
    labels = [row["strategy"] for row in matrix["rows"]]
    assert labels == [
        "As is (current box, current software)",
        "Scale out the current box",
        "Upgrade hardware + optimise",
        "Best CPU offer (any provider)",
    ]
    flagged = [row["strategy"] for row in matrix["rows"] if row["cells"][0]["cheapest"]]
    assert flagged == ["Upgrade hardware + optimise"]
    as_is = matrix["rows"][0]["cells"][0]
    assert as_is["feasible"] is False and as_is["reason"] == "utilisation 1087%"


def test_source_documents_and_benchmark_origins_group_row_notes():
    notes = [
        "org/catalog@abc123:vms.csv (row InstanceType=t4g.medium): Price",
        "org/catalog@abc123:vms.csv (row InstanceType=c7g.large): Price",
        "https://docs.example.com/pricing/ (table row 'H100')",
    ]
    assert report.source_documents(notes) == [
        "https://docs.example.com/pricing/",
        "org/catalog@abc123:vms.csv",
    ]
    sources = pd.Series(
        [
            "SpareCores/sc-inspector-data@804d3c71ddae:data/aws/c6a.metal/llm/stdout",
            "SpareCores/sc-inspector-data@804d3c71ddae:data/aws/c7i.8xlarge/llm/stdout",
            "github.com/ggml-org/llama.cpp/discussions/4167 (M2 Ultra row)",
        ]
    )
    assert list(report.benchmark_origin(sources)) == [
        "SpareCores/sc-inspector-data@804d3c71ddae",
        "SpareCores/sc-inspector-data@804d3c71ddae",
        "github.com/ggml-org/llama.cpp/discussions/4167",
    ]
