"""The decision engine: offers x workload x software x traffic -> costs, strategies, break-even, ROI.

costs.py holds the formulas; this module assembles them over the pipeline's tables.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from servecost import costs as cm
from servecost.catalog import KEY_COLUMNS

OWNED, CUSTOM, MANAGED = "owned", "custom", "managed_api"


# ---------------------------------------------------------------- offers


def user_offers(config: dict, fx: dict[str, float]) -> pd.DataFrame:
    """Custom and owned offers from config, priced per month in the report currency."""
    rows = []
    electricity = config.get("electricity", {})
    kwh_price = electricity.get("price_per_kwh", 0.0) * fx.get(electricity.get("currency"), 1.0)
    for provider, offers in (
        (CUSTOM, config.get("custom_offers", [])),
        (OWNED, config.get("owned_hardware", [])),
    ):
        for offer in offers:
            rate = fx[offer["currency"]]
            one_off = 0.0
            if provider == OWNED:
                power = cm.electricity_per_month(
                    offer["power_watts"], kwh_price, electricity.get("pue", 1.0)
                )
                one_off = offer["purchase_price"] * rate
                monthly = one_off / offer["lifetime_months"] + power
                running = power
            else:
                monthly = offer["price_month"] * rate
                running = monthly
            rows.append(
                {
                    "provider": provider,
                    "instance_type": offer["name"],
                    "region": "",
                    "billing": "owned" if provider == OWNED else "monthly",
                    "vcpus": offer.get("vcpus"),
                    "memory_gib": offer.get("memory_gib"),
                    "arch": offer.get("arch"),
                    "gpu_model": offer.get("gpu_model"),
                    "gpu_count": offer.get("gpu_count"),
                    "monthly_price": monthly,
                    "running_cost_month": running,
                    "one_off_cost": one_off,
                    "price_source": offer.get("source", "config/config.yaml"),
                }
            )
    return pd.DataFrame(rows)


def catalog_offers(catalog: pd.DataFrame, billing: list[str]) -> pd.DataFrame:
    offers = catalog[catalog["billing"].isin(billing)].copy()
    offers["monthly_price"] = offers["report_price_month"].astype(float)
    offers["running_cost_month"] = offers["monthly_price"]
    offers["one_off_cost"] = 0.0
    offers["price_source"] = offers["source_url"]
    return offers


def join_offers(priced: pd.DataFrame, throughput: pd.DataFrame) -> pd.DataFrame:
    """offers.parquet: every priced offer x the throughput rows of its instance type."""
    price_columns = [
        *KEY_COLUMNS,
        "monthly_price",
        "running_cost_month",
        "one_off_cost",
        "price_source",
    ]
    spec_columns = ["vcpus", "memory_gib", "arch", "gpu_model", "gpu_count"]
    keep = price_columns + [c for c in spec_columns if c in priced.columns]
    joined = priced[keep].merge(
        throughput.drop(columns=[c for c in spec_columns if c in throughput.columns]),
        on=["provider", "instance_type"],
        how="inner",
    )
    keys = [*KEY_COLUMNS, "model_id", "quant", "concurrency"]
    return joined.sort_values(keys, kind="mergesort").reset_index(drop=True)


# ---------------------------------------------------------------- costs


def cost_table(
    offers: pd.DataFrame, config: dict, managed_apis: pd.DataFrame | None, fx: dict[str, float]
) -> pd.DataFrame:
    """costs.parquet: every offer x software x traffic point (strategy 'candidate'), plus the
    named strategies' picks, plus the managed APIs."""
    workload = config["workload"]
    model_offers = offers[offers["model_id"] == workload["model"]]
    variants = cm.software_variants(workload, config.get("optimisations", {}))
    capacity = cm.offer_capacity(model_offers, variants, workload)
    traffic = cm.traffic_points(workload["traffic_multipliers"], workload["curve_points"])
    grid = cm.cost_grid(capacity, traffic, workload)
    if managed_apis is not None and config.get("managed_api", {}).get("enabled", True):
        grid = pd.concat(
            [grid, managed_api_rows(managed_apis, traffic, workload, fx)], ignore_index=True
        )
    strategies = cm.select_strategies(grid, current=config["current"])
    strategies = _refresh_fixed(strategies, workload)
    engineering_rate = config.get("engineering_rate", 0.0)
    table = pd.concat([grid.assign(strategy="candidate"), strategies], ignore_index=True)
    table["one_off_cost"] = table["one_off_cost"].fillna(0.0) + table["engineering_hours"].fillna(
        0.0
    ) * engineering_rate * (table["strategy"] != "candidate")
    order = ["strategy", "traffic_multiplier", *cm.OFFER_KEYS, "software"]
    table["strategy_order"] = table["strategy"].map(
        {s: i for i, s in enumerate(["candidate", *cm.STRATEGIES])}
    )
    table = table.sort_values(["strategy_order", *order[1:]], kind="mergesort")
    return table.drop(columns=["strategy_order"]).reset_index(drop=True)


def _refresh_fixed(strategies: pd.DataFrame, workload: dict) -> pd.DataFrame:
    as_is = strategies["strategy"] == "as_is"
    fixed = cm.finish_costs(strategies[as_is].copy(), workload)
    # As is: the load it cannot carry is still the honest finding, so the row says so.
    strategies = strategies.copy()
    strategies.loc[as_is, fixed.columns] = fixed
    return strategies


def managed_api_rows(
    apis: pd.DataFrame, traffic: pd.DataFrame, workload: dict, fx: dict[str, float]
) -> pd.DataFrame:
    """Pay-per-token APIs at each traffic point: no instances, no capacity limit."""
    apis = apis[apis["currency"].isin(fx)].copy()
    grid = apis.merge(traffic, how="cross")
    rate = grid["currency"].map(fx).astype(float)
    grid["queries_per_day"] = workload["queries_per_day"] * grid["traffic_multiplier"]
    grid["monthly_price"] = cm.managed_api_monthly(
        grid["queries_per_day"],
        workload["prompt_tokens"],
        workload["completion_tokens"],
        grid["input_per_mtok"].astype(float) * rate,
        grid["output_per_mtok"].astype(float) * rate,
    )
    tokens = workload["prompt_tokens"] + workload["completion_tokens"]
    out = pd.DataFrame(
        {
            "provider": MANAGED,
            "instance_type": grid["api_id"],
            "region": "",
            "billing": "per_token",
            "model_id": grid["model"],
            "quant": "",
            "software": "baseline",
            "kind": "api",
            "traffic_multiplier": grid["traffic_multiplier"],
            "named_multiplier": grid["named_multiplier"],
            "queries_per_day": grid["queries_per_day"],
            "load_per_day": grid["queries_per_day"],
            "instances": 0,
            "monthly_price": grid["monthly_price"],
            "monthly_cost": grid["monthly_price"],
            "running_cost_month": grid["monthly_price"],
            "one_off_cost": 0.0,
            "price_source": grid["source_url"],
            "basis": "published price",
            "feasible": True,
            "reason": "",
        }
    )
    out["cost_per_query"] = cm.cost_per_query(out["monthly_cost"], out["queries_per_day"])
    out["cost_per_mtok"] = cm.cost_per_million_tokens(out["cost_per_query"], tokens)
    return out


# ---------------------------------------------------------------- break-even


BREAK_EVEN_PAIRS = [
    ("upgrade", "scale_out"),
    ("optimise", "scale_out"),
    ("upgrade_and_optimise", "optimise"),
    ("best_gpu", "best_cpu"),
    ("best_cpu", "scale_out"),
    ("managed_api", "best_cpu"),
    ("managed_api", "best_gpu"),
]


def strategy_options(table: pd.DataFrame, strategy: str, workload: dict) -> pd.DataFrame:
    """The offers a strategy chooses among, as step-cost options (capacity, price, k)."""
    candidates = table[table["strategy"] == "candidate"]
    picked = table[table["strategy"] == strategy]
    if picked.empty:
        return pd.DataFrame()
    software = picked["software"].iloc[0]
    # The strategy's pool: every offer it picked at some traffic point.
    pool = candidates.merge(picked[cm.OFFER_KEYS].drop_duplicates(), on=cm.OFFER_KEYS)
    pool = pool[(pool["software"] == software)].drop_duplicates(cm.OFFER_KEYS)
    options = pd.DataFrame(
        {
            "capacity_queries_per_day": pool["capacity_queries_per_day"].astype(float),
            "monthly_price": pool["monthly_price"].astype(float),
            "k": workload.get("peak_to_average", 1.0) * (1 - pool["cache_hit_rate"].astype(float)),
            "fixed_instances": 0,
        }
    )
    if strategy == "managed_api":
        per_query = picked["monthly_cost"] / picked["queries_per_day"]
        options = pd.DataFrame({"per_query_month": [float(per_query.min())]})
    return options.dropna()


def break_even_table(table: pd.DataFrame, workload: dict) -> pd.DataFrame:
    q_low = 1.0
    q_high = workload["queries_per_day"] * max(workload["traffic_multipliers"]) * 10
    rows = []
    for a, b in BREAK_EVEN_PAIRS:
        options_a = strategy_options(table, a, workload)
        options_b = strategy_options(table, b, workload)
        if options_a.empty or options_b.empty:
            continue
        result = _break_even_any(options_a, options_b, q_low, q_high)
        rows.append({"strategy_a": a, "strategy_b": b, **result})
    return pd.DataFrame(rows)


def _break_even_any(options_a, options_b, q_low, q_high) -> dict:
    """Break-even where one side may be a linear per-token price (managed API)."""
    if "per_query_month" in options_a:
        linear = options_a["per_query_month"].iloc[0]
        q = _step_points(options_b, q_low, q_high)
        cost_b = cm.strategy_cost_curve(options_b, q)
        a_cheaper = linear * q < cost_b
        result = {"a_cheaper_at_low": bool(a_cheaper[0]), "queries_per_day": None}
        flips = np.nonzero(a_cheaper != a_cheaper[0])[0]
        if len(flips):
            index = flips[0]
            # Within (q[i-1], q[i]] B is flat and A grows linearly: solve A(q) = B exactly.
            crossing = cost_b[index] / linear if a_cheaper[0] else q[index - 1]
            result["queries_per_day"] = float(crossing)
        return result
    return cm.break_even(options_a, options_b, q_low, q_high)


def _step_points(options, q_low, q_high):
    points = [np.array([q_low])]
    for option in options.itertuples():
        points.append(cm.breakpoints(option.capacity_queries_per_day, option.k, q_low, q_high))
    return np.unique(np.concatenate(points))


# ---------------------------------------------------------------- ROI


def roi_timeline(table: pd.DataFrame, months: int) -> tuple[pd.DataFrame, dict]:
    """Cumulative cost month by month (0..months) per strategy at each named multiplier.

    cumulative(t) = one_off + t x running monthly cost. For owned hardware the purchase is the
    one-off and only electricity runs monthly; for software work the engineering hours are.
    The baseline is as_is where it can carry the load, else scale_out (the cost of changing nothing
    but the number of boxes).
    """
    picks = table[(table["strategy"] != "candidate") & table["named_multiplier"].fillna(False)]
    rows = []
    t = np.arange(months + 1)
    for pick in picks.itertuples():
        running = (
            pick.monthly_cost
            if pick.provider != OWNED
            else (pick.instances * pick.running_cost_month)
        )
        one_off = pick.one_off_cost * (pick.instances if pick.provider == OWNED else 1)
        for month, value in zip(t, one_off + t * running, strict=True):
            rows.append(
                {
                    "strategy": pick.strategy,
                    "traffic_multiplier": pick.traffic_multiplier,
                    "month": int(month),
                    "cumulative_cost": float(value),
                    "one_off_cost": float(one_off),
                    "monthly_cost": float(running),
                    "feasible": bool(pick.feasible),
                }
            )
    roi = pd.DataFrame(rows)
    payback = {}
    for multiplier, frame in roi.groupby("traffic_multiplier"):
        baseline = _roi_baseline(frame)
        base = frame[frame["strategy"] == baseline].set_index("month")["cumulative_cost"]
        for strategy, rows_s in frame.groupby("strategy"):
            if not bool(rows_s["feasible"].iloc[0]):
                payback[(strategy, multiplier)] = {"baseline": baseline, "payback_month": None}
                continue
            cum = rows_s.set_index("month")["cumulative_cost"]
            cheaper = (cum <= base + 1e-9).to_numpy()
            month = int(np.argmax(cheaper)) if cheaper.any() else None
            if month is not None and not cheaper[month:].all():
                month = None  # cheaper only at first, then more expensive: no lasting payback
            payback[(strategy, multiplier)] = {"baseline": baseline, "payback_month": month}
    roi["payback_month"] = [
        payback[(s, m)]["payback_month"]
        for s, m in zip(roi["strategy"], roi["traffic_multiplier"], strict=True)
    ]
    roi["payback_month"] = roi["payback_month"].astype("Int64")
    roi["baseline"] = [
        payback[(s, m)]["baseline"]
        for s, m in zip(roi["strategy"], roi["traffic_multiplier"], strict=True)
    ]
    return roi.sort_values(["traffic_multiplier", "strategy", "month"]).reset_index(
        drop=True
    ), payback


def payback_sensitivity(
    table: pd.DataFrame, months: int, configured_rate: float, rates: list[float]
) -> pd.DataFrame:
    """Payback month of each strategy at today's traffic if engineering hours cost `rate` each.

    Only the one-off engineering cost changes with the rate (hours x rate); the payback itself is
    roi_timeline's, so the two can never disagree.
    """
    today = table[
        (table["strategy"] != "candidate")
        & table["named_multiplier"].fillna(False)
        & (table["traffic_multiplier"] == 1.0)
    ]
    hours = today["engineering_hours"].fillna(0.0)
    rows = []
    for rate in rates:
        priced = today.assign(one_off_cost=today["one_off_cost"] + hours * (rate - configured_rate))
        _, payback = roi_timeline(priced, months)
        for strategy, engineering_hours in zip(today["strategy"], hours, strict=True):
            result = payback[(strategy, 1.0)]
            rows.append(
                {
                    "engineering_rate": float(rate),
                    "strategy": strategy,
                    "engineering_hours": float(engineering_hours),
                    "baseline": result["baseline"],
                    "payback_month": result["payback_month"],
                }
            )
    return pd.DataFrame(rows)


def _roi_baseline(frame: pd.DataFrame) -> str:
    as_is = frame[(frame["strategy"] == "as_is") & (frame["month"] == 0)]
    if len(as_is) and bool(as_is["feasible"].iloc[0]):
        return "as_is"
    return "scale_out"


# ---------------------------------------------------------------- per-model cost (quality chart)


def best_cost_per_model(offers: pd.DataFrame, config: dict) -> pd.DataFrame:
    """For each model tabulated: the cheapest feasible offer's cost per 1M tokens at 1x traffic."""
    workload = config["workload"]
    rows = []
    for model_id, model_offers in offers.groupby("model_id", sort=True):
        for quant in sorted(model_offers["quant"].unique()):
            if quant != workload["quant"]:
                continue
            variants = cm.software_variants(dict(workload, quant=quant), {})[:1]
            capacity = cm.offer_capacity(model_offers, variants, workload)
            traffic = cm.traffic_points([1.0], 2).query("named_multiplier")
            grid = cm.cost_grid(capacity, traffic, workload)
            grid = grid[grid["feasible"] & grid["provider"].ne(MANAGED) & grid["params"].notna()]
            if grid.empty:
                continue
            best = grid.sort_values(["cost_per_mtok", *cm.OFFER_KEYS]).iloc[0]
            rows.append(
                {
                    "model_id": model_id,
                    "quant": quant,
                    "params": float(best["params"]),
                    "provider": best["provider"],
                    "instance_type": best["instance_type"],
                    "cost_per_mtok": float(best["cost_per_mtok"]),
                    "instances": int(best["instances"]),
                    "basis": best["basis"],
                }
            )
    return pd.DataFrame(rows)


def finite_or_none(value):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value


# ---------------------------------------------------------------- decision map


# In costs.STRATEGIES order, which also breaks ties (as in the headline's recommendations).
MAP_STRATEGIES = [
    "optimise",
    "scale_out",
    "upgrade_and_optimise",
    "best_cpu",
    "best_gpu",
    "managed_api",
]


def decision_map(
    table: pd.DataFrame, workload: dict, hit_rates: list[float], multipliers: list[float]
) -> pd.DataFrame:
    """Cheapest strategy at each (traffic multiplier, cache hit rate): strategies that cache
    (optimised software) see their load scaled by (1 - h); the others do not."""
    rows = []
    for strategy in MAP_STRATEGIES:
        options = strategy_options(table, strategy, workload)
        if options.empty:
            continue
        picked = table[table["strategy"] == strategy]
        caches = picked["software"].iloc[0] == "optimised"
        for h in hit_rates:
            q = np.array([workload["queries_per_day"] * m for m in multipliers], dtype=float)
            if "per_query_month" in options:
                cost = options["per_query_month"].iloc[0] * q
            else:
                scaled = options.copy()
                scaled["k"] = workload.get("peak_to_average", 1.0) * ((1 - h) if caches else 1.0)
                cost = cm.strategy_cost_curve(scaled, q)
            for m, c in zip(multipliers, cost, strict=True):
                rows.append(
                    {
                        "strategy": strategy,
                        "traffic_multiplier": m,
                        "cache_hit_rate": h,
                        "monthly_cost": float(c),
                    }
                )
    frame = pd.DataFrame(rows)
    frame = frame[np.isfinite(frame["monthly_cost"])]
    frame["order"] = frame["strategy"].map({s: i for i, s in enumerate(MAP_STRATEGIES)})
    best = frame.sort_values(["traffic_multiplier", "cache_hit_rate", "monthly_cost", "order"])
    best = best.drop_duplicates(["traffic_multiplier", "cache_hit_rate"]).drop(columns="order")
    return best.reset_index(drop=True)
