"""Altair chart builders: one pure function per chart, from small pre-aggregated frames.

Each builder sorts its input on explicit keys and fixes its domains so the spec is deterministic.
The chart names and captions live in servecost.chart_names (no Altair needed to read them).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from servecost.chart_names import CHART_NAMES, CHARTS  # noqa: F401  (re-exported)
from servecost.costs import STRATEGIES, STRATEGY_LABELS

WIDTH, HEIGHT = 560, 320
STRATEGY_ORDER = [STRATEGY_LABELS[s] for s in STRATEGIES]
# Strategy labels are whole phrases; the default 160 px limit cuts them mid-word.
LEGEND = alt.Legend(labelLimit=280)


def _label(frame: pd.DataFrame) -> pd.Series:
    return frame["strategy"].map(STRATEGY_LABELS)


def cost_vs_traffic(curves: pd.DataFrame, currency: str) -> alt.Chart:
    """curves: strategy, traffic_multiplier, named_multiplier, monthly_cost, feasible, offer."""
    data = curves[curves["feasible"]].copy()
    data["strategy_label"] = _label(data)
    data = data.sort_values(["strategy", "traffic_multiplier"])
    base = alt.Chart(data).encode(
        x=alt.X("traffic_multiplier:Q", scale=alt.Scale(type="log"), title="Traffic (x today)"),
        y=alt.Y("monthly_cost:Q", scale=alt.Scale(type="log"), title=f"Monthly cost ({currency})"),
        color=alt.Color("strategy_label:N", sort=STRATEGY_ORDER, title="Strategy", legend=LEGEND),
        tooltip=[
            "strategy_label:N",
            "traffic_multiplier:Q",
            "offer:N",
            "instances:Q",
            alt.Tooltip("monthly_cost:Q", format=",.2f"),
        ],
    )
    lines = base.mark_line(interpolate="step-after")
    points = base.transform_filter(alt.datum.named_multiplier).mark_point(filled=True, size=50)
    return (lines + points).properties(width=WIDTH, height=HEIGHT)


def pareto_frontier(points: pd.DataFrame, x: str, y: str) -> pd.Series:
    """True for points no other point beats on both: cheaper (x lower) and faster (y higher)."""
    ordered = points.sort_values([x, y], ascending=[True, False])
    best = -float("inf")
    flags = {}
    for index, value in ordered[y].items():
        flags[index] = value > best
        best = max(best, value)
    return pd.Series(flags).reindex(points.index)


def _offer_filters(data: pd.DataFrame) -> tuple[list, list, list, str]:
    """Kind and provider drop-downs (Vega-Lite parameters) and the filter expression they drive."""
    kinds = sorted(data["kind"].unique())
    providers = sorted(data["provider"].unique())
    kind_param = alt.param(
        name="kind_filter",
        bind=alt.binding_select(options=[None, *kinds], labels=["all", *kinds], name="Kind "),
        value=None,
    )
    provider_param = alt.param(
        name="provider_filter",
        bind=alt.binding_select(
            options=[None, *providers], labels=["all", *providers], name="Provider "
        ),
        value=None,
    )
    keep = (
        "(kind_filter == null || datum.kind == kind_filter) && "
        "(provider_filter == null || datum.provider == provider_filter)"
    )
    return kinds, providers, [kind_param, provider_param], keep


def cost_vs_throughput(offers: pd.DataFrame, currency: str) -> alt.Chart:
    """offers: one row per offer with monthly_price, decode_tps, kind, provider, current, label."""
    data = offers.sort_values(["monthly_price", "label"]).copy()
    data["pareto"] = pareto_frontier(data, "monthly_price", "decode_tps")
    kinds, providers, params, keep = _offer_filters(data)
    base = alt.Chart(data).encode(
        x=alt.X(
            "monthly_price:Q", scale=alt.Scale(type="log"), title=f"Monthly price ({currency})"
        ),
        y=alt.Y("decode_tps:Q", scale=alt.Scale(type="log"), title="Decode tokens/s (best batch)"),
    )
    points = (
        base.mark_point(filled=True, size=60)
        .encode(
            color=alt.Color("provider:N", sort=providers),
            shape=alt.Shape("kind:N", sort=kinds),
            tooltip=[
                "label:N",
                "provider:N",
                "kind:N",
                "basis:N",
                alt.Tooltip("monthly_price:Q", format=",.2f"),
                alt.Tooltip("decode_tps:Q", format=",.1f"),
                "concurrency:Q",
            ],
        )
        .add_params(*params)
        .transform_filter(keep)
    )
    frontier = base.transform_filter(alt.datum.pareto).mark_line(color="#444", strokeDash=[4, 2])
    current = base.transform_filter(alt.datum.current).mark_point(
        size=300, color="black", strokeWidth=2
    )
    return (frontier + points + current).properties(width=WIDTH, height=HEIGHT)


def cost_per_mtok_by_offer(offers: pd.DataFrame, currency: str, top: int = 25) -> alt.Chart:
    """offers: label, provider, kind, cost_per_mtok (feasible offers at 1x).

    The cheapest `top` offers are drawn; the kind/provider filters re-rank in the browser, so the
    spec carries the cheapest `top` of each (provider, kind) and nothing a filter could not reach.
    """
    data = offers.sort_values(["cost_per_mtok", "label"])
    data = data.groupby(["provider", "kind"], sort=True).head(top).reset_index(drop=True)
    _, _, params, keep = _offer_filters(data)
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("cost_per_mtok:Q", title=f"Cost per 1M tokens ({currency})"),
            y=alt.Y("label:N", sort=alt.EncodingSortField("rank", order="ascending"), title=None),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(
                    domain=["cpu", "gpu", "api"], range=["#4c78a8", "#e45756", "#54a24b"]
                ),
            ),
            tooltip=[
                "label:N",
                "provider:N",
                "kind:N",
                "instances:Q",
                "basis:N",
                alt.Tooltip("cost_per_mtok:Q", format=",.4f"),
            ],
        )
        .add_params(*params)
        .transform_filter(keep)
        .transform_window(
            rank="row_number()", sort=[{"field": "cost_per_mtok"}, {"field": "label"}]
        )
        .transform_filter(alt.datum.rank <= top)
        .properties(width=WIDTH, height=max(120, 14 * min(top, len(data))))
    )


def roi_timeline(roi: pd.DataFrame, currency: str) -> alt.Chart:
    """roi: strategy, month, cumulative_cost, payback_month (one traffic level, feasible only)."""
    data = roi.sort_values(["strategy", "month"]).copy()
    data["strategy_label"] = _label(data)
    base = alt.Chart(data).encode(
        x=alt.X("month:Q", title="Month"),
        y=alt.Y("cumulative_cost:Q", title=f"Cumulative cost ({currency})"),
        color=alt.Color("strategy_label:N", sort=STRATEGY_ORDER, title="Strategy", legend=LEGEND),
        tooltip=["strategy_label:N", "month:Q", alt.Tooltip("cumulative_cost:Q", format=",.2f")],
    )
    lines = base.mark_line()
    paid_back = (data["month"] == data["payback_month"]) & (data["month"] > 0)
    if not paid_back.any():
        # An empty layer makes Vega warn about an infinite extent; there is nothing to mark.
        return lines.properties(width=WIDTH, height=HEIGHT)
    payback = base.transform_filter("datum.month == datum.payback_month && datum.month > 0")
    return (lines + payback.mark_point(size=120, filled=True)).properties(
        width=WIDTH, height=HEIGHT
    )


def decision_map(cells: pd.DataFrame, current_hit_rate: float) -> alt.Chart:
    """cells: traffic_multiplier, cache_hit_rate, strategy (cheapest), monthly_cost."""
    data = cells.sort_values(["traffic_multiplier", "cache_hit_rate"]).copy()
    data["strategy_label"] = _label(data)
    data["traffic"] = data["traffic_multiplier"].map(lambda v: f"{v:g}x")
    order = [f"{v:g}x" for v in sorted(data["traffic_multiplier"].unique())]
    data["hit_rate"] = data["cache_hit_rate"].map(lambda v: f"{v:.0%}")
    hit_order = [f"{v:.0%}" for v in sorted(data["cache_hit_rate"].unique(), reverse=True)]
    data["current"] = (data["traffic_multiplier"] == 1.0) & (
        (data["cache_hit_rate"] - current_hit_rate).abs() < 1e-9
    )
    base = alt.Chart(data).encode(
        x=alt.X("traffic:O", sort=order, title="Traffic (x today)"),
        y=alt.Y("hit_rate:O", sort=hit_order, title="Cache hit rate"),
    )
    cells_layer = base.mark_rect().encode(
        color=alt.Color("strategy_label:N", sort=STRATEGY_ORDER, title="Cheapest", legend=LEGEND),
        tooltip=[
            "traffic:O",
            "hit_rate:O",
            "strategy_label:N",
            alt.Tooltip("monthly_cost:Q", format=",.2f"),
        ],
    )
    marker = base.transform_filter(alt.datum.current).mark_point(
        size=200, color="black", shape="circle"
    )
    return (cells_layer + marker).properties(width=WIDTH, height=HEIGHT)


def throughput_vs_batch(rows: pd.DataFrame, latency_floor: float) -> alt.Chart:
    """rows: label, concurrency, decode_tps, decode_tps_per_stream (a few offers, long form)."""
    data = rows.melt(
        id_vars=["label", "concurrency"],
        value_vars=["decode_tps", "decode_tps_per_stream"],
        var_name="measure",
        value_name="tokens_per_second",
    ).sort_values(["label", "measure", "concurrency"])
    data["measure"] = data["measure"].map(
        {"decode_tps": "aggregate", "decode_tps_per_stream": "per stream"}
    )
    lines = (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("concurrency:Q", scale=alt.Scale(type="log", base=2), title="Batch size"),
            y=alt.Y("tokens_per_second:Q", scale=alt.Scale(type="log"), title="Decode tokens/s"),
            color=alt.Color("label:N", title="Offer"),
            strokeDash=alt.StrokeDash("measure:N", title="Measure"),
            tooltip=[
                "label:N",
                "measure:N",
                "concurrency:Q",
                alt.Tooltip("tokens_per_second:Q", format=",.1f"),
            ],
        )
    )
    floor = (
        alt.Chart(pd.DataFrame({"floor": [latency_floor]}))
        .mark_rule(strokeDash=[6, 3], color="gray")
        .encode(y="floor:Q")
    )
    return (lines + floor).properties(width=WIDTH, height=HEIGHT)


def scaling_laws(curve: pd.DataFrame, quality: pd.DataFrame, currency: str) -> alt.HConcatChart:
    curve = curve[["params", "chinchilla_loss"]]
    quality = quality[["model_id", "params", "predicted_loss", "cost_per_mtok", "instance_type"]]
    loss = (
        alt.Chart(curve.sort_values("params"))
        .mark_line()
        .encode(
            x=alt.X("params:Q", scale=alt.Scale(type="log"), title="Parameters"),
            y=alt.Y(
                "chinchilla_loss:Q", scale=alt.Scale(zero=False), title="Predicted loss (nats)"
            ),
            tooltip=[
                alt.Tooltip("params:Q", format=".3s"),
                alt.Tooltip("chinchilla_loss:Q", format=".3f"),
            ],
        )
    )
    models = (
        alt.Chart(quality.sort_values("params"))
        .mark_point(filled=True)
        .encode(x="params:Q", y="predicted_loss:Q", tooltip=["model_id:N"])
    )
    cost = (
        alt.Chart(quality.sort_values("params"))
        .mark_line(point=True)
        .encode(
            x=alt.X("params:Q", scale=alt.Scale(type="log"), title="Parameters"),
            y=alt.Y("cost_per_mtok:Q", title=f"Best cost per 1M tokens ({currency})"),
            tooltip=[
                "model_id:N",
                "instance_type:N",
                alt.Tooltip("cost_per_mtok:Q", format=",.4f"),
            ],
        )
    )
    return alt.hconcat(
        (loss + models).properties(width=WIDTH // 2, height=HEIGHT),
        cost.properties(width=WIDTH // 2, height=HEIGHT),
    )


def calibration(rows: pd.DataFrame) -> alt.Chart:
    """rows: hw_class, tok_s (measured), predicted_tps (modelled), model_id, hardware_id."""
    data = rows.sort_values(["hw_class", "hardware_id", "model_id"])
    top = float(max(data["tok_s"].max(), data["predicted_tps"].max()))
    scale = alt.Scale(type="log", domain=[1, top * 1.2])
    points = (
        alt.Chart(data)
        .mark_circle(size=30, opacity=0.7)
        .encode(
            x=alt.X("tok_s:Q", scale=scale, title="Measured decode tokens/s"),
            y=alt.Y("predicted_tps:Q", scale=scale, title="Modelled decode tokens/s"),
            color=alt.Color("hw_class:N", title="Hardware class"),
            tooltip=[
                "hardware_id:N",
                "model_id:N",
                "quant:N",
                alt.Tooltip("tok_s:Q", format=".1f"),
                alt.Tooltip("predicted_tps:Q", format=".1f"),
            ],
        )
    )
    diagonal = (
        alt.Chart(pd.DataFrame({"v": [1.0, top * 1.2]}))
        .mark_line(color="gray", strokeDash=[4, 2])
        .encode(x="v:Q", y="v:Q")
    )
    return (diagonal + points).properties(width=WIDTH, height=HEIGHT)


def to_spec(chart) -> dict:
    """The Vega-Lite dict with data inlined, deterministic across runs."""
    return chart.to_dict()
