"""The self-contained HTML report and its Markdown twin (summary.md), rendered with Jinja2.

Vega, Vega-Lite and vega-embed are inlined once (vl-convert's bundle); every chart spec is an
inline JSON block. No request leaves the page; every data string is autoescaped.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import jinja2
import pandas as pd

from servecost import costs, io, scaling_laws, throughput
from servecost.chart_names import CHARTS
from servecost.costs import STRATEGY_LABELS

TEMPLATES = Path(__file__).parent / "templates"


@functools.cache
def vega_bundle() -> str:
    import vl_convert

    # "</script" cannot occur inside an inline script; the bundle is checked for it.
    return vl_convert.javascript_bundle().replace("</script", "<\\/script")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["money"] = lambda v: "n/a" if v is None or pd.isna(v) else f"{v:,.2f}"
    env.filters["num"] = lambda v, d=1: "n/a" if v is None or pd.isna(v) else f"{v:,.{d}f}"
    env.filters["pct"] = lambda v: "n/a" if v is None or pd.isna(v) else f"{v:.0%}"
    env.filters["small"] = lambda v: "n/a" if v is None or pd.isna(v) else f"{v:.6f}"
    return env


def _flatten(value, prefix=""):
    if isinstance(value, dict):
        for key in sorted(value):
            yield from _flatten(value[key], f"{prefix}.{key}" if prefix else key)
    else:
        yield prefix, json.dumps(value, sort_keys=True)


def headline(summary: dict) -> list[str]:
    currency = summary["report_currency"]
    lines = []
    for rec in summary["recommendations"]:
        offer = f"{rec['provider']}/{rec['instance_type']}"
        lines.append(
            f"At {rec['traffic_multiplier']:g}x ({rec['queries_per_day']:,.0f} queries/day): "
            f"{rec['strategy_label']} — {rec['instances']} x {offer}"
            f"{' with optimised software' if rec['software'] == 'optimised' else ''}, "
            f"{rec['monthly_cost']:,.2f} {currency}/month, "
            f"{rec['cost_per_mtok']:,.4f} {currency} per 1M tokens."
        )
    return lines


def _pick(costs_table: pd.DataFrame, strategy: str, multiplier: float = 1.0) -> dict | None:
    rows = costs_table[
        (costs_table["strategy"] == strategy)
        & (costs_table["traffic_multiplier"] == multiplier)
        & costs_table["feasible"]
    ]
    if rows.empty:
        return None
    row = rows.iloc[0]
    return {
        "strategy_label": STRATEGY_LABELS[strategy],
        "offer": f"{row['provider']}/{row['instance_type']}",
        "instances": int(row["instances"]),
        "monthly_cost": float(row["monthly_cost"]),
        "cost_per_mtok": float(row["cost_per_mtok"]),
        "decode_tps": float(row["decode_tps"]),
        "concurrency": int(row["concurrency"]),
        "basis": row["basis"],
    }


def three_answers(summary: dict, costs_table: pd.DataFrame) -> dict:
    """The current box's ceiling, the upgrade break-even and cost per 1M tokens, each next to
    the best alternative at today's traffic."""
    current = summary["current"]
    upgrade = next(
        (
            b
            for b in summary["break_even"]
            if b["cheaper"] == "upgrade" and b["than"] == "scale_out"
        ),
        None,
    )
    best_today = summary["recommendations"][0] if summary["recommendations"] else None
    return {
        "current": current,
        "upgrade_break_even": upgrade,
        "best_today": best_today,
        "best_pick": _pick(costs_table, best_today["strategy"]) if best_today else None,
        "upgrade_pick": _pick(costs_table, "upgrade"),
        "scale_out_pick": _pick(costs_table, "scale_out"),
    }


def strategy_matrix(costs_table: pd.DataFrame, recommendations: list[dict]) -> dict:
    """Strategies (rows, STRATEGIES order) x named multipliers (columns); the cheapest feasible
    cell of each column (summary.json's recommendation) is flagged: the 'cheapest option per
    multiplier' table."""
    named = costs_table[
        (costs_table["strategy"] != "candidate") & costs_table["named_multiplier"]
    ].copy()
    multipliers = sorted(named["traffic_multiplier"].unique())
    cheapest = {rec["traffic_multiplier"]: rec["strategy"] for rec in recommendations}
    matrix = []
    for strategy in costs.STRATEGIES:
        rows = named[named["strategy"] == strategy].set_index("traffic_multiplier")
        if rows.empty:
            continue
        cells = []
        for multiplier in multipliers:
            if multiplier not in rows.index:
                cells.append(None)
                continue
            r = rows.loc[multiplier]
            cells.append(
                {
                    "offer": f"{r['provider']}/{r['instance_type']}",
                    "software": r["software"],
                    "instances": int(r["instances"]),
                    "monthly_cost": float(r["monthly_cost"]),
                    "cost_per_mtok": float(r["cost_per_mtok"]),
                    "feasible": bool(r["feasible"]),
                    "reason": r["reason"],
                    "cheapest": cheapest.get(multiplier) == strategy,
                }
            )
        matrix.append({"strategy": STRATEGY_LABELS[strategy], "cells": cells})
    return {"multipliers": [float(m) for m in multipliers], "rows": matrix}


def source_documents(sources: list[str]) -> list[str]:
    """The distinct documents behind per-row source notes ("doc (row ...)" -> "doc")."""
    return sorted({source.split(" (", 1)[0] for source in sources})


def benchmark_origin(sources: pd.Series) -> pd.Series:
    """A benchmark row's document: "repo@commit" for pinned repository files (one per repository,
    not per file), otherwise the first token (a URL)."""
    pinned = sources.str.extract(r"^([^\s:(]+@[0-9a-f]{7,40})", expand=False)
    return pinned.fillna(sources.str.split(r"[ (]", n=1, regex=True).str[0])


def report_context(inputs: dict, config: dict) -> dict:
    summary = io.json_load(inputs["summary"])
    specs = {Path(p).name.removesuffix(".vl.json"): io.json_load(p) for p in inputs["specs"]}
    charts = [
        {
            "name": name,
            "caption": caption,
            "spec": json.dumps(specs[name], sort_keys=True).replace("</", "<\\/"),
        }
        for name, caption in CHARTS.items()
        if name in specs
    ]
    costs_table = io.read_parquet(inputs["costs"])
    named = costs_table[(costs_table["strategy"] != "candidate") & costs_table["named_multiplier"]]
    strategy_rows = [
        {
            "strategy": STRATEGY_LABELS[r.strategy],
            "multiplier": r.traffic_multiplier,
            "offer": f"{r.provider}/{r.instance_type}" + (f" ({r.region})" if r.region else ""),
            "software": r.software,
            "instances": r.instances,
            "monthly_cost": r.monthly_cost,
            "cost_per_mtok": r.cost_per_mtok,
            "utilisation": r.utilisation,
            "feasible": bool(r.feasible),
            "reason": r.reason,
            "basis": r.basis,
        }
        for r in named.itertuples()
    ]
    calibration = io.read_parquet(inputs["calibration"])
    classes = calibration[calibration["kind"] == "class"].sort_values("hw_class")
    provenance = [io.json_load(p) for p in inputs["provenance"]]
    for entry in provenance:
        entry["documents"] = source_documents(entry["source_urls"])
    benchmarks = pd.read_csv(inputs["benchmarks"], dtype=str)
    benchmark_sources = (
        benchmarks.assign(origin=benchmark_origin(benchmarks["source"]))
        .groupby("origin")
        .size()
        .sort_values(ascending=False, kind="mergesort")
    )
    catalog = io.read_parquet(inputs["catalog"])
    fx_rows = sorted((code, v["rate"], v["date"], v["source"]) for code, v in config["fx"].items())
    return {
        "summary": summary,
        "currency": summary["report_currency"],
        "headline": headline(summary),
        "answers": three_answers(summary, costs_table),
        "charts": charts,
        "strategy_rows": strategy_rows,
        "engineering_rate": config.get("engineering_rate", 0.0),
        "roi_months": config.get("roi_months", 36),
        "matrix": strategy_matrix(costs_table, summary["recommendations"]),
        "break_even": summary["break_even"],
        "labels": STRATEGY_LABELS,
        "advice": summary["advice"],
        "assumptions": list(_flatten({k: v for k, v in config.items() if k != "fx"})),
        "fx_rows": fx_rows,
        "provenance": provenance,
        "calibration": classes.to_dict("records"),
        "benchmark_sources": list(benchmark_sources.items()),
        "offer_count": int(len(catalog)),
        "methodology": [
            ("Throughput", throughput.__doc__),
            ("Cost and capacity", costs.__doc__),
            ("Scaling laws", scaling_laws.__doc__),
        ],
        "vega_bundle": (
            Path(inputs["vega_bundle"]).read_text(encoding="utf-8")
            if inputs.get("vega_bundle")
            else vega_bundle()
        ),
    }


def render_html(context: dict) -> str:
    return _environment().get_template("report.html.j2").render(**context)


def render_markdown(context: dict) -> str:
    env = _environment()
    env.autoescape = False
    return env.get_template("summary.md.j2").render(**context)
