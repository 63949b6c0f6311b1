"""Cost of serving a workload on an offer, at any traffic level, and the strategies among offers.

Formulas (quoted in the report's methodology):

    seconds/query   = prompt_tokens x (1 - prefix_saving) / prefill_tps + completion_tokens / decode_tps(b)
    raw capacity    = 86400 / seconds_per_query                       queries/day, one instance at 100%
    capacity        = raw capacity x target_utilisation               queries/day one instance may plan for
    load            = queries_per_day x multiplier x peak_to_average x (1 - cache_hit_rate)
    instances       = max(1, ceil(load / capacity))
    monthly cost    = instances x price_month (+ electricity and amortised purchase for owned boxes)
    utilisation     = load / (instances x raw capacity)
    cost/query      = monthly cost / (queries_per_day x multiplier x days_per_month)
    cost/1M tokens  = cost/query / (prompt_tokens + completion_tokens) x 1e6
    electricity     = watts / 1000 x 730 h x price_per_kwh x PUE          per month, owned boxes
    owned monthly   = purchase / lifetime_months + electricity
    managed API     = (prompt x input_price + completion x output_price) / 1e6 x queries/day x 730/24
    break-even      = first queries/day where A's cheapest option costs less than B's, found by
                      comparing both step functions just after every point where any option needs
                      one more instance (exact, not sampled)
    cumulative(t)   = one-off (engineering hours x rate, or purchase) + t x monthly cost
    payback month   = first t from which a strategy's cumulative cost stays <= the baseline's
                      (as_is when it can carry the load, else scale_out)

The traffic dimension is analytic (ceil of load over capacity), so the whole grid is array maths.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SECONDS_PER_DAY = 86_400.0
HOURS_PER_MONTH = 730.0
DAYS_PER_MONTH = HOURS_PER_MONTH / 24.0
# Loads that equal a capacity up to float noise need exactly that many instances, not one more.
CEIL_TOLERANCE = 1e-9

STRATEGIES = [
    "as_is",
    "optimise",
    "scale_out",
    "upgrade",
    "upgrade_and_optimise",
    "best_cpu",
    "best_gpu",
    "owned",
    "managed_api",
]
# Report order, and the tie-break when two strategies pick the same offer: the first listed is
# the closest to what runs today.
STRATEGY_RANK = {strategy: rank for rank, strategy in enumerate(STRATEGIES)}
STRATEGY_LABELS = {
    "as_is": "As is (current box, current software)",
    "optimise": "Optimise software on the current box",
    "scale_out": "Scale out the current box",
    "upgrade": "Upgrade hardware (same provider)",
    "upgrade_and_optimise": "Upgrade hardware + optimise",
    "best_cpu": "Best CPU offer (any provider)",
    "best_gpu": "Best GPU offer (any provider)",
    "owned": "Owned hardware",
    "managed_api": "Managed API (pay per token)",
}

# ---------------------------------------------------------------- the formulas


def seconds_per_query(prompt_tokens, completion_tokens, prefill_tps, decode_tps):
    return prompt_tokens / prefill_tps + completion_tokens / decode_tps


def raw_capacity_per_day(seconds):
    return SECONDS_PER_DAY / seconds


def load_per_day(queries_per_day, multiplier=1.0, peak_to_average=1.0, cache_hit_rate=0.0):
    return queries_per_day * multiplier * peak_to_average * (1.0 - cache_hit_rate)


def instances_needed(load, capacity):
    """max(1, ceil(load / capacity)): a service keeps one box up even when every query hits cache."""
    ratio = np.asarray(load, dtype=float) / np.asarray(capacity, dtype=float)
    return np.maximum(1, np.ceil(ratio - CEIL_TOLERANCE)).astype(int)


def electricity_per_month(watts, price_per_kwh, pue=1.0):
    return watts / 1000.0 * HOURS_PER_MONTH * price_per_kwh * pue


def cost_per_query(monthly_cost, queries_per_day):
    return monthly_cost / (queries_per_day * DAYS_PER_MONTH)


def cost_per_million_tokens(cost_query, tokens_per_query):
    return cost_query / tokens_per_query * 1e6


def managed_api_monthly(
    queries_per_day, prompt_tokens, completion_tokens, input_per_mtok, output_per_mtok
):
    per_query = (prompt_tokens * input_per_mtok + completion_tokens * output_per_mtok) / 1e6
    return per_query * queries_per_day * DAYS_PER_MONTH


# ---------------------------------------------------------------- software variants per offer


def software_variants(workload: dict, optimisations: dict) -> list[dict]:
    """`baseline` = today's software; `optimised` = the configured optimisations switched on."""
    quantisation = optimisations.get("quantisation", {})
    cache = optimisations.get("response_cache", {})
    prefix = optimisations.get("prefix_cache", {})
    batching = optimisations.get("batching", {})
    baseline = {
        "software": "baseline",
        "quant": workload["quant"],
        "max_concurrency": 1,
        "cache_hit_rate": 0.0,
        "prefix_saving": 0.0,
        "engineering_hours": 0.0,
    }
    optimised = dict(baseline, software="optimised")
    if quantisation.get("enabled") and quantisation.get("quant"):
        optimised["quant"] = quantisation["quant"]
        optimised["engineering_hours"] += quantisation.get("hours", 0)
    if cache.get("enabled"):
        optimised["cache_hit_rate"] = float(cache.get("hit_rate", 0))
        optimised["engineering_hours"] += cache.get("hours", 0)
    if prefix.get("enabled"):
        optimised["prefix_saving"] = float(prefix.get("prefill_saving", 0))
        optimised["engineering_hours"] += prefix.get("hours", 0)
    if batching.get("enabled"):
        optimised["max_concurrency"] = int(batching.get("max_concurrency", 1))
        optimised["engineering_hours"] += batching.get("hours", 0)
    return [baseline, optimised]


def offer_capacity(offers: pd.DataFrame, variants: list[dict], workload: dict) -> pd.DataFrame:
    """Per offer and software variant: the concurrency that serves most queries, and its capacity.

    `offers` is offers.parquet restricted to the workload's model: one row per offer x quant x
    concurrency with decode_tps, prefill_tps and feasibility.
    """
    frames = []
    baseline_quant = variants[0]["quant"]
    for variant in variants:
        allowed = offers["concurrency"] <= variant["max_concurrency"]
        rows = offers[(offers["quant"] == variant["quant"]) & allowed]
        if variant["quant"] != baseline_quant:
            # An offer known only at today's quantisation (a custom box with the user's own
            # tok/s) keeps that figure: the quantisation gain is unknown, the other
            # optimisations (cache, prefix cache, batching) still apply.
            known = pd.MultiIndex.from_frame(rows[OFFER_KEYS])
            today = offers[(offers["quant"] == baseline_quant) & allowed]
            unknown = ~pd.MultiIndex.from_frame(today[OFFER_KEYS]).isin(known)
            rows = pd.concat([rows, today[unknown]], ignore_index=True)
        rows = rows.copy()
        rows["software"] = variant["software"]
        rows["cache_hit_rate"] = variant["cache_hit_rate"]
        rows["prefix_saving"] = variant["prefix_saving"]
        rows["engineering_hours"] = variant["engineering_hours"]
        frames.append(rows)
    grid = pd.concat(frames, ignore_index=True)
    prompt = workload["prompt_tokens"] * (1.0 - grid["prefix_saving"])
    grid["seconds_per_query"] = seconds_per_query(
        prompt, workload["completion_tokens"], grid["prefill_tps"], grid["decode_tps"]
    )
    grid["raw_capacity_per_day"] = raw_capacity_per_day(grid["seconds_per_query"])
    grid["capacity_queries_per_day"] = grid["raw_capacity_per_day"] * workload["target_utilisation"]
    # Best concurrency per offer and variant: feasible first, then the most capacity.
    grid = grid.sort_values(
        [*OFFER_KEYS, "software", "feasible", "capacity_queries_per_day", "concurrency"],
        ascending=[True] * len(OFFER_KEYS) + [True, False, False, True],
        kind="mergesort",
    )
    best = grid.drop_duplicates([*OFFER_KEYS, "software"], keep="first")
    return best.sort_values([*OFFER_KEYS, "software"], kind="mergesort").reset_index(drop=True)


OFFER_KEYS = ["provider", "instance_type", "region", "billing"]


def traffic_points(multipliers: list[float], curve_points: int) -> pd.DataFrame:
    """The named multipliers plus a log-spaced curve from 1x to the largest one."""
    top = max(max(multipliers), 1.0)
    curve = np.round(np.geomspace(1.0, top, curve_points), 6)
    values = np.unique(np.concatenate([curve, np.asarray(multipliers, dtype=float)]))
    named = np.isin(values, np.asarray(multipliers, dtype=float))
    return pd.DataFrame({"traffic_multiplier": values, "named_multiplier": named})


def best_concurrency(capacity, feasible) -> tuple[np.ndarray, np.ndarray]:
    """Along the last axis (concurrencies, ascending): the feasible one with the most capacity.

    offer_capacity's rule on arrays: most capacity, ties to the lowest concurrency. Returns the
    index and its capacity; capacity is 0 where no concurrency is feasible.
    """
    capacity = np.asarray(capacity, dtype=float)
    usable = np.where(np.asarray(feasible) & np.isfinite(capacity), capacity, 0.0)
    index = np.argmax(usable, axis=-1)
    return index, np.take_along_axis(usable, index[..., None], axis=-1)[..., 0]


def undominated_offers(capacity, monthly_price) -> np.ndarray:
    """Indices (ascending) of the offers that can be the cheapest at some load.

    An offer loses at every load to one that is cheaper with at least its capacity, or as cheap
    with at least its capacity and listed earlier (ties go to the earlier offer): in price order,
    then list order, only offers with more capacity than every offer before them survive.
    """
    capacity = np.asarray(capacity, dtype=float)
    price = np.asarray(monthly_price, dtype=float)
    candidates = np.flatnonzero(np.isfinite(capacity) & (capacity > 0) & np.isfinite(price))
    order = candidates[np.argsort(price[candidates], kind="stable")]
    ordered = capacity[order]
    most_before = np.maximum.accumulate(np.concatenate([[0.0], ordered[:-1]]))
    return np.sort(order[ordered > most_before])


def cheapest_offers(capacity, monthly_price, load) -> dict[str, np.ndarray]:
    """Per load: the offer whose instances x monthly price is lowest, on arrays.

    capacity: (..., offers) queries/day one instance may plan for (0 = cannot serve);
    monthly_price: broadcastable to capacity; load: (traffic,) queries/day. The traffic axis is
    analytic (instances = max(1, ceil(load / capacity))) over the undominated offers only, so the
    work per load is a few dozen offers, not the catalog. Ties go to the first offer. Returns
    offer index (-1 where no offer can serve), instances and monthly cost, each of shape
    (..., traffic).
    """
    capacity = np.asarray(capacity, dtype=float)
    price = np.broadcast_to(np.asarray(monthly_price, dtype=float), capacity.shape)
    load = np.asarray(load, dtype=float)
    shape = (*capacity.shape[:-1], len(load))
    rows_capacity = capacity.reshape(-1, capacity.shape[-1])
    rows_price = price.reshape(-1, capacity.shape[-1])
    offer = np.full((len(rows_capacity), len(load)), -1)
    instances = np.zeros((len(rows_capacity), len(load)), dtype=int)
    monthly = np.full((len(rows_capacity), len(load)), np.inf)
    # One pass per leading row (e.g. model x quant), each over whole arrays of offers and loads.
    for row, (row_capacity, row_price) in enumerate(zip(rows_capacity, rows_price, strict=True)):
        keep = undominated_offers(row_capacity, row_price)
        if not len(keep):
            continue
        needed = instances_needed(load[:, None], row_capacity[keep][None, :])
        cost = needed * row_price[keep][None, :]
        best = np.argmin(cost, axis=1)
        picked = np.arange(len(load))
        offer[row] = keep[best]
        instances[row] = needed[picked, best]
        monthly[row] = cost[picked, best]
    return {
        "offer": offer.reshape(shape),
        "instances": instances.reshape(shape),
        "monthly_cost": monthly.reshape(shape),
    }


def cost_grid(capacity: pd.DataFrame, traffic: pd.DataFrame, workload: dict) -> pd.DataFrame:
    """Every offer x software variant x traffic point, with the instances it would need."""
    grid = capacity.merge(traffic, how="cross")
    grid["queries_per_day"] = workload["queries_per_day"] * grid["traffic_multiplier"]
    grid["load_per_day"] = load_per_day(
        workload["queries_per_day"],
        grid["traffic_multiplier"],
        workload.get("peak_to_average", 1.0),
        grid["cache_hit_rate"],
    )
    capacity = grid["capacity_queries_per_day"].astype(float)
    known = np.isfinite(capacity) & (capacity > 0)
    instances = pd.Series(pd.NA, index=grid.index, dtype="Int64")
    instances[known] = instances_needed(grid.loc[known, "load_per_day"], capacity[known])
    grid["instances"] = instances
    grid["reason"] = (
        grid["reason"]
        .fillna("")
        .astype(str)
        .where(known, "no throughput figure (hardware row lacks bandwidth)")
    )
    grid["feasible"] = grid["feasible"].fillna(False).astype(bool) & known
    return finish_costs(grid, workload)


def finish_costs(grid: pd.DataFrame, workload: dict) -> pd.DataFrame:
    """Monthly cost, utilisation and unit costs from instances and prices."""
    tokens = workload["prompt_tokens"] + workload["completion_tokens"]
    grid["monthly_cost"] = grid["instances"] * grid["monthly_price"]
    grid["utilisation"] = grid["load_per_day"] / (grid["instances"] * grid["raw_capacity_per_day"])
    grid["cost_per_query"] = cost_per_query(grid["monthly_cost"], grid["queries_per_day"])
    grid["cost_per_mtok"] = cost_per_million_tokens(grid["cost_per_query"], tokens)
    utilisation = grid["utilisation"].astype(float)
    over = utilisation > workload["target_utilisation"] + CEIL_TOLERANCE
    feasible = grid["feasible"].astype(bool) & ~over
    reason = grid["reason"].fillna("").astype(str)
    percent = (utilisation * 100).round(0).map(lambda v: f"{v:.0f}")
    reason = reason.where(
        ~over | (reason != ""),
        "utilisation " + percent + f"% > target {workload['target_utilisation']:.0%}",
    )
    grid["feasible"] = feasible
    grid["reason"] = reason.where(~feasible, "")
    return grid


# ---------------------------------------------------------------- strategies


def select_strategies(grid: pd.DataFrame, *, current: dict) -> pd.DataFrame:
    """Pick each named strategy's row at every traffic point from the candidate grid."""
    is_current = (grid["provider"] == current["provider"]) & (
        grid["instance_type"] == current["instance_type"]
    )
    if current.get("region"):
        is_current &= grid["region"] == current["region"]
    is_current &= grid["billing"] == current.get("billing", "on_demand")
    if not is_current.any():
        raise ValueError(
            f"current offer {current['provider']}/{current['instance_type']}/"
            f"{current.get('region', '')} is not in the catalog or custom offers"
        )
    current_rows = grid[is_current]
    current_capacity = current_rows.loc[
        current_rows["software"] == "baseline", "capacity_queries_per_day"
    ].iloc[0]
    same_provider = (grid["provider"] == current["provider"]) & ~is_current
    if "region" in current and current.get("region"):
        same_provider &= grid["region"] == current["region"]
    bigger = same_provider & (grid["capacity_queries_per_day"] > current_capacity)
    kind = grid["kind"].fillna("cpu")
    rentable = ~grid["provider"].isin(["owned"])

    picks = {
        "as_is": _fixed_instances(
            grid[is_current & (grid["software"] == "baseline")], current.get("instances", 1)
        ),
        "optimise": grid[is_current & (grid["software"] == "optimised")],
        "scale_out": grid[is_current & (grid["software"] == "baseline")],
        "upgrade": _cheapest(grid[bigger & (grid["software"] == "baseline")]),
        "upgrade_and_optimise": _cheapest(grid[bigger & (grid["software"] == "optimised")]),
        "best_cpu": _cheapest(grid[rentable & (kind == "cpu") & (grid["software"] == "optimised")]),
        "best_gpu": _cheapest(grid[rentable & (kind == "gpu") & (grid["software"] == "optimised")]),
        "owned": _cheapest(grid[(grid["provider"] == "owned") & (grid["software"] == "optimised")]),
        "managed_api": _cheapest(grid[grid["provider"] == "managed_api"]),
    }
    frames = []
    for strategy in STRATEGIES:
        rows = picks[strategy]
        if len(rows):
            frames.append(rows.assign(strategy=strategy))
    return pd.concat(frames, ignore_index=True)


def _fixed_instances(rows: pd.DataFrame, instances: int) -> pd.DataFrame:
    """The setup as it is: the instances you run today, however much traffic arrives."""
    rows = rows.copy()
    rows["feasible"] = rows["feasible"] | rows["reason"].str.startswith("utilisation")
    rows["reason"] = rows["reason"].where(~rows["reason"].str.startswith("utilisation"), "")
    rows["instances"] = instances
    return rows


def _cheapest(rows: pd.DataFrame) -> pd.DataFrame:
    """Per traffic point: the cheapest feasible row, ties broken by the offer key."""
    if rows.empty:
        return rows
    ordered = rows.sort_values(
        ["traffic_multiplier", "feasible", "monthly_cost", *OFFER_KEYS],
        ascending=[True, False, True, True, True, True, True],
        kind="mergesort",
    )
    return ordered.drop_duplicates(["traffic_multiplier"], keep="first")


def recompute_fixed(rows: pd.DataFrame, workload: dict) -> pd.DataFrame:
    """as_is keeps its instance count: recompute cost and utilisation at that count."""
    return finish_costs(rows, workload)


# ---------------------------------------------------------------- break-even on step functions


def step_cost(queries_per_day: np.ndarray, capacity: float, price: float, k: float) -> np.ndarray:
    """Monthly cost of serving q queries/day on an offer: max(1, ceil(q k / capacity)) x price."""
    return instances_needed(queries_per_day * k, capacity) * price


def breakpoints(capacity: float, k: float, q_low: float, q_high: float) -> np.ndarray:
    """Where ceil(q k / capacity) steps up: q = j x capacity / k, inside (q_low, q_high]."""
    step = capacity / k
    first = int(np.floor(q_low / step)) + 1
    last = int(np.floor(q_high / step))
    if last < first:
        return np.empty(0)
    return np.arange(first, last + 1, dtype=float) * step


def strategy_cost_curve(options: pd.DataFrame, q: np.ndarray) -> np.ndarray:
    """Cheapest over a strategy's options at each q; options: capacity, monthly_price, k, fixed."""
    best = np.full(q.shape, np.inf)
    for option in options.itertuples():
        cost = step_cost(q, option.capacity_queries_per_day, option.monthly_price, option.k)
        if getattr(option, "fixed_instances", 0):
            cost = np.where(
                q * option.k
                <= option.fixed_instances * option.capacity_queries_per_day * (1 + CEIL_TOLERANCE),
                option.fixed_instances * option.monthly_price,
                np.inf,
            )
        best = np.minimum(best, cost)
    return best


def break_even(
    options_a: pd.DataFrame, options_b: pd.DataFrame, q_low: float, q_high: float
) -> dict:
    """The queries/day at which A's cheapest option first becomes cheaper than B's (exact).

    Both costs are step functions that change only where some option needs one more instance,
    so comparing just after each step point finds the first crossing without sampling error.
    """
    points = [np.array([q_low])]
    for options in (options_a, options_b):
        for option in options.itertuples():
            points.append(breakpoints(option.capacity_queries_per_day, option.k, q_low, q_high))
    q = np.unique(np.concatenate(points))
    cost_a = strategy_cost_curve(options_a, q)
    cost_b = strategy_cost_curve(options_b, q)
    a_cheaper = cost_a < cost_b
    result = {"a_cheaper_at_low": bool(a_cheaper[0]), "queries_per_day": None}
    flips = np.nonzero(a_cheaper != a_cheaper[0])[0]
    if len(flips):
        # Costs are constant on (q[i-1], q[i]] and evaluated at q[i]: the order changes for every
        # volume above q[i-1], so that is the break-even.
        index = flips[0]
        result["queries_per_day"] = float(q[index - 1])
        result["cost_a"] = float(cost_a[index])
        result["cost_b"] = float(cost_b[index])
    return result
