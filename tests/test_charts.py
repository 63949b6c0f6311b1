"""Chart builders on small hand-made frames: encodings, scales, sort orders, inlined data."""

from __future__ import annotations

import json
from collections.abc import Callable

import altair as alt
import pandas as pd
import pytest
from servecost import charts
from servecost.costs import STRATEGIES, STRATEGY_LABELS

MAX_ROWS = 5000


# ---------------------------------------------------------------- helpers


def spec_of(chart) -> dict:
    spec = charts.to_spec(chart)
    json.dumps(spec)  # must be plain JSON
    return spec


def layers(spec: dict) -> list[dict]:
    """Every unit spec (leaf) of a layered / concatenated spec, in order."""
    found = []
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for child in spec.get(key, []):
            found.extend(layers(child))
    if "mark" in spec:
        found.append(spec)
    return found


def data_of(spec: dict, unit: dict | None = None) -> list[dict]:
    """The inlined rows a unit draws (its own data, else the top-level data)."""
    ref = (unit or {}).get("data") or spec["data"]
    return spec["datasets"][ref["name"]]


def mark_type(unit: dict) -> str:
    mark = unit["mark"]
    return mark if isinstance(mark, str) else mark["type"]


def unit_by_mark(spec: dict, mark: str) -> list[dict]:
    return [u for u in layers(spec) if mark_type(u) == mark]


def enc(unit: dict, channel: str) -> dict:
    return unit["encoding"][channel]


def assert_field(unit: dict, channel: str, field: str, kind: str) -> None:
    e = enc(unit, channel)
    assert (e["field"], e["type"]) == (field, kind), (channel, e)


def scale_type(unit: dict, channel: str) -> str | None:
    return enc(unit, channel).get("scale", {}).get("type")


def total_rows(spec: dict) -> int:
    return sum(len(rows) for rows in spec.get("datasets", {}).values())


# ---------------------------------------------------------------- frames


def curves_frame() -> pd.DataFrame:
    rows = []
    for strategy, base in (("upgrade", 40.0), ("as_is", 10.0), ("managed_api", 2.0)):
        for mult in (100.0, 1.0, 10.0, 2.0, 5.0):
            feasible = not (strategy == "as_is" and mult > 2)
            rows.append(
                {
                    "strategy": strategy,
                    "traffic_multiplier": mult,
                    "named_multiplier": mult in (1.0, 2.0, 10.0, 100.0),
                    "monthly_cost": base * mult,
                    "feasible": feasible,
                    "offer": f"p/{strategy}",
                    "instances": 1,
                }
            )
    return pd.DataFrame(rows)


# label, provider, kind, monthly_price, decode_tps, on the frontier?
OFFERS = [
    ("h/a", "hetzner", "cpu", 5.0, 10.0, True),  # cheapest
    ("h/b", "hetzner", "cpu", 8.0, 8.0, False),  # dearer and slower than h/a
    ("a/c", "aws", "cpu", 20.0, 30.0, True),
    ("a/d", "aws", "gpu", 40.0, 25.0, False),  # beaten by a/c
    ("l/e", "lambda", "gpu", 100.0, 200.0, True),  # fastest
]


def offers_frame() -> pd.DataFrame:
    frame = pd.DataFrame(
        [o[:5] for o in OFFERS],
        columns=["label", "provider", "kind", "monthly_price", "decode_tps"],
    )
    frame["basis"] = "calibrated"
    frame["concurrency"] = 8
    frame["current"] = frame["label"] == "h/b"
    # shuffle: the builder must sort
    return frame.iloc[[3, 0, 4, 2, 1]].reset_index(drop=True)


# ---------------------------------------------------------------- pareto_frontier


def test_pareto_frontier_flags_hand_made_set():
    frame = offers_frame()
    flags = charts.pareto_frontier(frame, "monthly_price", "decode_tps")
    assert list(flags.index) == list(frame.index)  # aligned with the input, not sorted
    expected = {o[0]: o[5] for o in OFFERS}
    assert dict(zip(frame["label"], flags.astype(bool), strict=True)) == expected


def test_pareto_frontier_ties():
    frame = pd.DataFrame({"x": [1.0, 1.0, 2.0, 3.0], "y": [5.0, 7.0, 7.0, 8.0]})
    flags = charts.pareto_frontier(frame, "x", "y")
    # same price: only the faster; same speed at a higher price: not on the frontier
    assert list(flags.astype(bool)) == [False, True, False, True]


# ---------------------------------------------------------------- cost_vs_traffic


def test_cost_vs_traffic_encodings_and_data():
    spec = spec_of(charts.cost_vs_traffic(curves_frame(), "USD"))
    line, point = unit_by_mark(spec, "line")[0], unit_by_mark(spec, "point")[0]
    for unit in (line, point):
        assert_field(unit, "x", "traffic_multiplier", "quantitative")
        assert_field(unit, "y", "monthly_cost", "quantitative")
        assert scale_type(unit, "x") == "log" and scale_type(unit, "y") == "log"
        assert_field(unit, "color", "strategy_label", "nominal")
        assert enc(unit, "color")["sort"] == [STRATEGY_LABELS[s] for s in STRATEGIES]
    assert "USD" in enc(line, "y")["title"]
    assert line["mark"]["interpolate"] == "step-after"
    assert "named_multiplier" in json.dumps(point["transform"])
    rows = data_of(spec)
    assert len(rows) == 15 - 3  # as_is at 5x, 10x, 100x is infeasible and dropped
    assert all(r["feasible"] for r in rows)
    keys = [(r["strategy"], r["traffic_multiplier"]) for r in rows]
    assert keys == sorted(keys)
    assert {r["strategy_label"] for r in rows} == {
        STRATEGY_LABELS[s] for s in ("upgrade", "as_is", "managed_api")
    }


# ---------------------------------------------------------------- cost_vs_throughput


def test_cost_vs_throughput_frontier_sort_and_scales():
    spec = spec_of(charts.cost_vs_throughput(offers_frame(), "EUR"))
    rows = data_of(spec)
    assert len(rows) == len(OFFERS)
    assert [r["monthly_price"] for r in rows] == sorted(r["monthly_price"] for r in rows)
    assert {r["label"]: r["pareto"] for r in rows} == {o[0]: o[5] for o in OFFERS}
    for unit in layers(spec):
        assert_field(unit, "x", "monthly_price", "quantitative")
        assert_field(unit, "y", "decode_tps", "quantitative")
        assert scale_type(unit, "x") == "log" and scale_type(unit, "y") == "log"
    assert "EUR" in enc(layers(spec)[0], "x")["title"]
    (frontier,) = unit_by_mark(spec, "line")
    assert "pareto" in json.dumps(frontier["transform"])
    points, current = unit_by_mark(spec, "point")
    assert_field(points, "color", "provider", "nominal")
    assert_field(points, "shape", "kind", "nominal")
    assert points["mark"]["filled"] is True  # a circle mark would drop the shape channel
    assert enc(points, "color")["sort"] == ["aws", "hetzner", "lambda"]
    assert "current" in json.dumps(current["transform"])
    assert [r["label"] for r in rows if r["current"]] == ["h/b"]


def test_cost_vs_throughput_filter_params():
    spec = spec_of(charts.cost_vs_throughput(offers_frame(), "USD"))
    params = {p["name"]: p for p in spec.get("params", [])}
    for unit in layers(spec):
        params.update({p["name"]: p for p in unit.get("params", [])})
    assert {"kind_filter", "provider_filter"} <= set(params)
    kind, provider = params["kind_filter"], params["provider_filter"]
    assert kind["value"] is None and provider["value"] is None
    assert kind["bind"]["input"] == "select"
    assert kind["bind"]["options"] == [None, "cpu", "gpu"]
    assert kind["bind"]["labels"] == ["all", "cpu", "gpu"]
    assert provider["bind"]["options"] == [None, "aws", "hetzner", "lambda"]
    assert provider["bind"]["labels"] == ["all", "aws", "hetzner", "lambda"]
    points = unit_by_mark(spec, "point")[0]
    expr = json.dumps(points["transform"])
    assert "kind_filter" in expr and "provider_filter" in expr


def test_cost_vs_throughput_kind_shape_is_drawn():
    spec = spec_of(charts.cost_vs_throughput(offers_frame(), "USD"))
    (points,) = [u for u in layers(spec) if "shape" in u["encoding"]]
    assert mark_type(points) == "point"


# ---------------------------------------------------------------- cost_per_mtok_by_offer


def per_mtok_frame(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "label": [f"offer-{i:05d}" for i in range(n)][::-1],
            "provider": ["hetzner", "aws"] * (n // 2) + ["hetzner"] * (n % 2),
            "kind": ["cpu", "gpu", "api"] * (n // 3) + ["cpu"] * (n % 3),
            "instances": 1,
            "basis": "roofline",
            "cost_per_mtok": [float((i * 7919) % n) for i in range(n)],
        }
    )


def test_cost_per_mtok_keeps_top_n_per_provider_and_kind():
    frame = per_mtok_frame(40)
    spec = spec_of(charts.cost_per_mtok_by_offer(frame, "USD", top=3))
    rows = data_of(spec)
    # 2 providers x 3 kinds, each with >= 3 offers: the 3 cheapest of each group are embedded.
    assert len(rows) == 18
    for (provider, kind), group in frame.groupby(["provider", "kind"]):
        kept = sorted(
            r["cost_per_mtok"] for r in rows if (r["provider"], r["kind"]) == (provider, kind)
        )
        assert kept == sorted(group["cost_per_mtok"])[:3]
    costs = [r["cost_per_mtok"] for r in rows]
    assert costs == sorted(costs)  # ties by label, deterministic
    assert_field(spec, "x", "cost_per_mtok", "quantitative")
    assert_field(spec, "y", "label", "nominal")
    assert enc(spec, "y")["sort"] == {"field": "rank", "order": "ascending"}
    assert_field(spec, "color", "kind", "nominal")
    assert enc(spec, "color")["scale"]["domain"] == ["cpu", "gpu", "api"]
    assert mark_type(spec) == "bar"
    assert spec["height"] == max(120, 14 * 3)


def test_cost_per_mtok_filters_then_ranks_in_the_browser():
    spec = spec_of(charts.cost_per_mtok_by_offer(per_mtok_frame(40), "USD", top=3))
    names = [p["name"] for p in spec["params"]]
    assert names == ["kind_filter", "provider_filter"]
    transforms = spec["transform"]
    # Filter first, rank the survivors by cost (label breaks ties), keep the top 3.
    assert "kind_filter" in transforms[0]["filter"] and "provider_filter" in transforms[0]["filter"]
    window = transforms[1]
    assert [(w["op"], w["as"]) for w in window["window"]] == [("row_number", "rank")]
    assert window["sort"] == [{"field": "cost_per_mtok"}, {"field": "label"}]
    assert transforms[2] == {"filter": "(datum.rank <= 3)"}


def test_cost_per_mtok_ties_by_label():
    tied = pd.DataFrame(
        {
            "label": ["b", "a", "c"],
            "provider": "hetzner",
            "kind": "cpu",
            "instances": 1,
            "basis": "measured",
            "cost_per_mtok": [1.0, 1.0, 0.5],
        }
    )
    spec = spec_of(charts.cost_per_mtok_by_offer(tied, "USD", top=2))
    assert [r["label"] for r in data_of(spec)] == ["c", "a"]


# ---------------------------------------------------------------- roi_timeline


def test_roi_timeline():
    rows = []
    for strategy, upfront, monthly, payback in (
        ("optimise", 100.0, 5.0, 3.0),
        ("as_is", 0.0, 50.0, None),
    ):
        for month in range(12, -1, -1):
            rows.append(
                {
                    "strategy": strategy,
                    "month": month,
                    "cumulative_cost": upfront + monthly * month,
                    "payback_month": payback,
                }
            )
    spec = spec_of(charts.roi_timeline(pd.DataFrame(rows), "USD"))
    data = data_of(spec)
    assert len(data) == 26
    keys = [(r["strategy"], r["month"]) for r in data]
    assert keys == sorted(keys)
    (line,) = unit_by_mark(spec, "line")
    assert_field(line, "x", "month", "quantitative")
    assert_field(line, "y", "cumulative_cost", "quantitative")
    assert_field(line, "color", "strategy_label", "nominal")
    (payback,) = unit_by_mark(spec, "point")
    assert "payback_month" in json.dumps(payback["transform"])


def test_roi_timeline_without_payback_draws_no_empty_layer():
    rows = [
        {"strategy": "as_is", "month": m, "cumulative_cost": 10.0 * m, "payback_month": None}
        for m in range(4)
    ]
    frame = pd.DataFrame(rows).astype({"payback_month": "Int64"})
    spec = spec_of(charts.roi_timeline(frame, "USD"))
    # An empty payback layer makes Vega warn "Infinite extent for field month".
    assert "layer" not in spec and mark_type(spec) == "line"
    assert len(data_of(spec)) == 4


# ---------------------------------------------------------------- decision_map


def test_decision_map_orders_and_current_cell():
    cells = pd.DataFrame(
        [
            {
                "traffic_multiplier": m,
                "cache_hit_rate": h,
                "strategy": "as_is" if m < 10 else "best_gpu",
                "monthly_cost": m * (1 - h),
            }
            for m in (100.0, 10.0, 2.0, 1.0)
            for h in (0.5, 0.0, 0.2)
        ]
    )
    spec = spec_of(charts.decision_map(cells, current_hit_rate=0.2))
    rows = data_of(spec)
    assert len(rows) == 12
    (rect,) = unit_by_mark(spec, "rect")
    assert_field(rect, "x", "traffic", "ordinal")
    assert_field(rect, "y", "hit_rate", "ordinal")
    assert_field(rect, "color", "strategy_label", "nominal")
    assert enc(rect, "x")["sort"] == ["1x", "2x", "10x", "100x"]  # numeric, not lexical
    assert enc(rect, "y")["sort"] == ["50%", "20%", "0%"]  # highest hit rate on top
    current = [(r["traffic"], r["hit_rate"]) for r in rows if r["current"]]
    assert current == [("1x", "20%")]
    keys = [(r["traffic_multiplier"], r["cache_hit_rate"]) for r in rows]
    assert keys == sorted(keys)


# ---------------------------------------------------------------- throughput_vs_batch


def batch_frame() -> pd.DataFrame:
    rows = []
    for label, peak in (("lambda/a10 q4_0", 400.0), ("hetzner/cax21 q4_k_m", 12.0)):
        for c in (8, 1, 4, 2):
            aggregate = peak * c / (c + 1)
            rows.append(
                {
                    "label": label,
                    "concurrency": c,
                    "decode_tps": aggregate,
                    "decode_tps_per_stream": aggregate / c,
                }
            )
    return pd.DataFrame(rows)


def test_throughput_vs_batch_long_form_and_latency_floor():
    spec = spec_of(charts.throughput_vs_batch(batch_frame(), latency_floor=5.0))
    (lines,) = unit_by_mark(spec, "line")
    data = data_of(spec, lines)
    assert len(data) == 2 * len(batch_frame())
    assert {r["measure"] for r in data} == {"aggregate", "per stream"}
    keys = [(r["label"], r["measure"], r["concurrency"]) for r in data]
    assert keys == sorted(keys)
    assert_field(lines, "x", "concurrency", "quantitative")
    assert enc(lines, "x")["scale"] == {"type": "log", "base": 2}
    assert_field(lines, "y", "tokens_per_second", "quantitative")
    assert scale_type(lines, "y") == "log"
    assert_field(lines, "strokeDash", "measure", "nominal")
    assert_field(lines, "color", "label", "nominal")
    # the latency floor: one dashed horizontal rule at the configured tokens/s, same y scale
    (rule,) = unit_by_mark(spec, "rule")
    assert data_of(spec, rule) == [{"floor": 5.0}]
    assert_field(rule, "y", "floor", "quantitative")
    assert "x" not in rule["encoding"]
    assert rule["mark"].get("strokeDash")
    assert spec.get("resolve", {}).get("scale", {}).get("y", "shared") == "shared"
    assert sum(r["tokens_per_second"] < 5.0 for r in data if r["measure"] == "per stream") > 0


# ---------------------------------------------------------------- scaling_laws


def test_scaling_laws_two_panels():
    curve = pd.DataFrame(
        {"params": [1e10, 1e8, 1e9], "chinchilla_loss": [2.0, 3.0, 2.5], "extra": 1}
    )
    quality = pd.DataFrame(
        {
            "model_id": ["m7", "m1"],
            "params": [7e9, 1e9],
            "predicted_loss": [2.1, 2.5],
            "cost_per_mtok": [0.5, 0.1],
            "instance_type": ["big", "small"],
            "unused": 0,
        }
    )
    spec = spec_of(charts.scaling_laws(curve, quality, "USD"))
    assert len(spec["hconcat"]) == 2
    units = layers(spec)
    loss = next(u for u in units if enc(u, "y")["field"] == "chinchilla_loss")
    assert scale_type(loss, "x") == "log"
    assert enc(loss, "y")["scale"] == {"zero": False}
    assert [r["params"] for r in data_of(spec, loss)] == [1e8, 1e9, 1e10]
    assert "extra" not in data_of(spec, loss)[0]  # only the drawn columns are inlined
    cost = next(u for u in units if enc(u, "y")["field"] == "cost_per_mtok")
    assert scale_type(cost, "x") == "log"
    assert "USD" in enc(cost, "y")["title"]
    assert [r["model_id"] for r in data_of(spec, cost)] == ["m1", "m7"]
    assert "unused" not in data_of(spec, cost)[0]


# ---------------------------------------------------------------- calibration


def test_calibration_shared_log_scale_and_diagonal():
    rows = pd.DataFrame(
        {
            "hw_class": ["gpu", "cpu", "cpu"],
            "hardware_id": ["a10", "b", "a"],
            "model_id": ["m", "m", "m"],
            "quant": "q4_0",
            "tok_s": [100.0, 10.0, 20.0],
            "predicted_tps": [90.0, 12.0, 18.0],
        }
    )
    spec = spec_of(charts.calibration(rows))
    (points,) = unit_by_mark(spec, "circle")
    assert [(r["hw_class"], r["hardware_id"]) for r in data_of(spec, points)] == [
        ("cpu", "a"),
        ("cpu", "b"),
        ("gpu", "a10"),
    ]
    assert_field(points, "x", "tok_s", "quantitative")
    assert_field(points, "y", "predicted_tps", "quantitative")
    for channel in ("x", "y"):
        assert enc(points, channel)["scale"] == {"type": "log", "domain": [1, 120.0]}
    (diagonal,) = unit_by_mark(spec, "line")
    assert data_of(spec, diagonal) == [{"v": 1.0}, {"v": 120.0}]


# ---------------------------------------------------------------- all charts


def builders() -> dict[str, Callable[[], alt.TopLevelMixin]]:
    curve = pd.DataFrame({"params": [1e8, 1e9], "chinchilla_loss": [3.0, 2.5]})
    quality = pd.DataFrame(
        {
            "model_id": ["m"],
            "params": [1e9],
            "predicted_loss": [2.5],
            "cost_per_mtok": [0.1],
            "instance_type": ["x"],
        }
    )
    cells = pd.DataFrame(
        {
            "traffic_multiplier": [1.0, 2.0],
            "cache_hit_rate": [0.0, 0.0],
            "strategy": ["as_is", "upgrade"],
            "monthly_cost": [1.0, 2.0],
        }
    )
    roi = pd.DataFrame(
        {
            "strategy": ["as_is"] * 2,
            "month": [0, 1],
            "cumulative_cost": [0.0, 5.0],
            "payback_month": [None, None],
        }
    )
    calib = pd.DataFrame(
        {
            "hw_class": ["cpu"],
            "hardware_id": ["a"],
            "model_id": ["m"],
            "quant": ["q4_0"],
            "tok_s": [10.0],
            "predicted_tps": [11.0],
        }
    )
    return {
        "cost_vs_traffic": lambda: charts.cost_vs_traffic(curves_frame(), "USD"),
        "cost_vs_throughput": lambda: charts.cost_vs_throughput(offers_frame(), "USD"),
        "cost_per_mtok_by_offer": lambda: charts.cost_per_mtok_by_offer(
            per_mtok_frame(6000), "USD"
        ),
        "roi_timeline": lambda: charts.roi_timeline(roi, "USD"),
        "decision_map": lambda: charts.decision_map(cells, 0.0),
        "throughput_vs_batch": lambda: charts.throughput_vs_batch(batch_frame(), 5.0),
        "scaling_laws": lambda: charts.scaling_laws(curve, quality, "USD"),
        "calibration": lambda: charts.calibration(calib),
    }


def test_every_named_chart_has_a_builder_and_stays_small():
    built = builders()
    assert list(built) == charts.CHART_NAMES == list(charts.CHARTS)
    for name, build in built.items():
        spec = spec_of(build())
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v6"), name
        assert "url" not in json.dumps({k: v for k, v in spec.items() if k != "$schema"}), name
        assert 0 < total_rows(spec) <= MAX_ROWS, name
        assert charts.CHARTS[name].strip(), name


@pytest.mark.parametrize("name", charts.CHART_NAMES)
def test_specs_are_deterministic(name):
    build = builders()[name]
    first = json.dumps(spec_of(build()), sort_keys=True)
    second = json.dumps(spec_of(build()), sort_keys=True)
    assert first == second
