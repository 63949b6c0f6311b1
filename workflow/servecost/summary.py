"""summary.json: the headline answers, one recommendation per traffic multiplier, rule-based advice.

Everything here is derived from costs/roi/break-even tables; numbers are rounded for stable text.
"""

from __future__ import annotations

import math

import pandas as pd

from servecost.costs import (
    STRATEGY_LABELS,
    STRATEGY_RANK,
    cost_per_million_tokens,
    cost_per_query,
)
from servecost.scenarios import payback_sensitivity

SCHEMA_VERSION = 1
ROUND = 6


def _num(value, digits: int = ROUND):
    if value is None or (isinstance(value, float) and not math.isfinite(value)) or pd.isna(value):
        return None
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return int(value)
    return round(float(value), digits)


def current_state(costs: pd.DataFrame, config: dict) -> dict:
    """The current offer at 1x traffic as it runs today.

    Cost per query and per 1M tokens are over the queries the box actually serves: an overloaded
    box serves only its capacity, so spreading its bill over the whole load would flatter it.
    """
    row = costs[(costs["strategy"] == "as_is") & (costs["traffic_multiplier"] == 1.0)].iloc[0]
    served = min(row["queries_per_day"], row["instances"] * row["capacity_queries_per_day"])
    per_query = cost_per_query(row["monthly_cost"], served) if served > 0 else float("nan")
    tokens = config["workload"]["prompt_tokens"] + config["workload"]["completion_tokens"]
    return {
        "provider": row["provider"],
        "instance_type": row["instance_type"],
        "region": row["region"],
        "model": config["workload"]["model"],
        "quant": config["workload"]["quant"],
        "instances": _num(int(row["instances"])),
        "decode_tps": _num(row["decode_tps"], 3),
        "prefill_tps": _num(row["prefill_tps"], 3),
        "basis": row["basis"],
        "capacity_queries_per_day": _num(row["capacity_queries_per_day"], 2),
        "queries_per_day": _num(row["queries_per_day"], 2),
        "utilisation": _num(row["utilisation"], 4),
        "feasible": bool(row["feasible"]),
        "served_queries_per_day": _num(served, 2),
        "monthly_cost": _num(row["monthly_cost"], 2),
        "cost_per_query": _num(per_query),
        "cost_per_mtok": _num(cost_per_million_tokens(per_query, tokens), 4),
    }


def recommendations(costs: pd.DataFrame) -> list[dict]:
    """Per named multiplier: the cheapest feasible strategy (self-hosted or API)."""
    picks = costs[
        (costs["strategy"] != "candidate") & costs["named_multiplier"] & costs["feasible"]
    ]
    out = []
    for multiplier, rows in picks.groupby("traffic_multiplier", sort=True):
        # A tie (the same offer picked by two strategies) goes to the strategy listed first in
        # STRATEGIES, the closest to what runs today; the decision map breaks ties the same way.
        rank = rows["strategy"].map(STRATEGY_RANK)
        best = rows.assign(rank=rank).sort_values(["monthly_cost", "rank"]).iloc[0]
        out.append(
            {
                "traffic_multiplier": _num(multiplier),
                "queries_per_day": _num(best["queries_per_day"], 2),
                "strategy": best["strategy"],
                "strategy_label": STRATEGY_LABELS[best["strategy"]],
                "provider": best["provider"],
                "instance_type": best["instance_type"],
                "region": best["region"],
                "software": best["software"],
                "instances": _num(int(best["instances"])),
                "monthly_cost": _num(best["monthly_cost"], 2),
                "cost_per_query": _num(best["cost_per_query"]),
                "cost_per_mtok": _num(best["cost_per_mtok"], 4),
            }
        )
    return out


def break_even_list(break_even: pd.DataFrame) -> list[dict]:
    out = []
    for row in break_even.itertuples():
        out.append(
            {
                "cheaper": row.strategy_a,
                "than": row.strategy_b,
                "queries_per_day": _num(row.queries_per_day, 2),
                "cheaper_below": bool(row.a_cheaper_at_low),
            }
        )
    return out


def payback_months(roi: pd.DataFrame) -> dict:
    today = roi[(roi["traffic_multiplier"] == 1.0) & (roi["month"] == 0)]
    return {
        row.strategy: (None if pd.isna(row.payback_month) else int(row.payback_month))
        for row in today.sort_values("strategy").itertuples()
    }


def payback_sensitivity_list(costs: pd.DataFrame, config: dict) -> list[dict]:
    """Payback months at each engineering rate of the config, strategies in STRATEGIES order."""
    table = payback_sensitivity(
        costs,
        config.get("roi_months", 36),
        config.get("engineering_rate", 0.0),
        config.get("engineering_rate_sensitivity", [0.0]),
    )
    table = table.assign(order=table["strategy"].map(STRATEGY_RANK))
    out = []
    for strategy, rows in table.sort_values(["order", "engineering_rate"]).groupby(
        "strategy", sort=False
    ):
        out.append(
            {
                "strategy": strategy,
                "baseline": rows["baseline"].iloc[0],
                "engineering_hours": _num(rows["engineering_hours"].iloc[0], 2),
                "payback_months": [
                    {
                        "engineering_rate": _num(r.engineering_rate, 2),
                        "month": None if pd.isna(r.payback_month) else int(r.payback_month),
                    }
                    for r in rows.itertuples()
                ],
            }
        )
    return out


def advice(costs: pd.DataFrame, throughput: pd.DataFrame, config: dict) -> list[dict]:
    """The classic rules of thumb, each fired only by the numbers that justify it."""
    workload = config["workload"]
    current = config["current"]
    out = []
    now = costs[(costs["strategy"] == "as_is") & (costs["traffic_multiplier"] == 1.0)].iloc[0]
    mine = throughput[
        (throughput["provider"] == current["provider"])
        & (throughput["instance_type"] == current["instance_type"])
        & (throughput["model_id"] == workload["model"])
    ]
    floor = workload.get("latency_floor_tps", 0.0)
    cpu_best_stream = throughput[
        (throughput["kind"] == "cpu")
        & (throughput["model_id"] == workload["model"])
        & (throughput["concurrency"] == 1)
        & throughput["fits_memory"]
    ]["decode_tps_per_stream"].max()
    if pd.notna(cpu_best_stream) and cpu_best_stream < floor:
        out.append(
            {
                "rule": "latency-critical -> GPU",
                "message": f"No CPU offer reaches the {floor:g} tok/s per-stream floor "
                f"(best {cpu_best_stream:.1f} tok/s): only GPUs meet the latency target.",
            }
        )
    in_use = mine[mine["quant"] == workload["quant"]]
    single = in_use[in_use["concurrency"] == 1]
    best_batch = in_use[in_use["feasible"]]
    if len(single) and len(best_batch):
        gain = best_batch["decode_tps"].max() / single["decode_tps"].iloc[0]
        if now["utilisation"] > workload["target_utilisation"] and gain >= 1.2:
            out.append(
                {
                    "rule": "throughput-bound -> tune batch size before adding cores",
                    "message": f"Batching to {int(best_batch.loc[best_batch['decode_tps'].idxmax(), 'concurrency'])} "
                    f"streams raises decode from {single['decode_tps'].iloc[0]:.1f} to "
                    f"{best_batch['decode_tps'].max():.1f} tok/s (x{gain:.2f}) on the box you have, "
                    f"which runs at {now['utilisation']:.0%} against a "
                    f"{workload['target_utilisation']:.0%} target.",
                }
            )
    if len(single) and not bool(single["fits_memory"].iloc[0]):
        smaller = mine[(mine["concurrency"] == 1) & mine["fits_memory"]].sort_values(
            "weight_bytes", ascending=False
        )
        if len(smaller):
            out.append(
                {
                    "rule": "model does not fit -> quantise before buying RAM",
                    "message": f"{workload['quant']} needs {single['memory_needed_gib'].iloc[0]:.1f} GiB of "
                    f"{single['usable_memory_gib'].iloc[0]:.1f} GiB; {smaller['quant'].iloc[0]} fits.",
                }
            )
    peak_qps = workload["queries_per_day"] * workload.get("peak_to_average", 1.0) / 86_400
    concurrent = peak_qps * float(now["seconds_per_query"])
    if concurrent >= 10:
        out.append(
            {
                "rule": "10+ concurrent users -> multiple instances",
                "message": f"At peak about {concurrent:.0f} requests are in flight at once "
                f"({peak_qps:.3f} queries/s x {now['seconds_per_query']:.0f} s each): "
                "plan for several instances behind a load balancer.",
            }
        )
    if now["utilisation"] > 0.8:
        out.append(
            {
                "rule": "always above 80-90% -> upgrade",
                "message": f"The current box would run at {now['utilisation']:.0%} of its capacity "
                f"({now['capacity_queries_per_day']:.0f} queries/day at "
                f"{workload['target_utilisation']:.0%} target) for {workload['queries_per_day']:g} "
                "queries/day: it needs more or bigger hardware, or lighter software.",
            }
        )
    return out


def build_summary(
    costs: pd.DataFrame,
    roi: pd.DataFrame,
    break_even: pd.DataFrame,
    throughput: pd.DataFrame,
    catalog: pd.DataFrame,
    config: dict,
) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "as_of": str(catalog["fetched_at"].max()),
        "report_currency": config["report_currency"],
        "workload": {k: config["workload"][k] for k in sorted(config["workload"])},
        "current": current_state(costs, config),
        "recommendations": recommendations(costs),
        "break_even": break_even_list(break_even),
        "payback_months": payback_months(roi),
        "payback_sensitivity": payback_sensitivity_list(costs, config),
        "advice": advice(costs, throughput, config),
    }
