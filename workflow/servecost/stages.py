"""One function per pipeline stage: read the stage's inputs, call the pure functions, write.

Snakemake scripts and the CLI call these; tests call them too. File names are the DAG's contract
(DESIGN.md), passed in by the caller.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from servecost import catalog as cat
from servecost import io, reference, scenarios, throughput
from servecost.errors import DataError

log = logging.getLogger("servecost")


def fx_table(config: dict) -> dict[str, float]:
    rates = {config["report_currency"]: 1.0}
    rates.update({code: float(v["rate"]) for code, v in config.get("fx", {}).items()})
    return rates


# ---------------------------------------------------------------- prices and catalog


def snapshot_prices(
    price_csv: str, provider: str, settings: dict, out: str, provenance_out: str, *, note: str = ""
) -> pd.DataFrame:
    """prices[provider] (snapshot): the committed CSV, validated, filtered to the chosen regions."""
    frame = cat.read_price_csv(price_csv)
    wrong = frame["provider"] != provider
    if wrong.any():
        raise DataError(
            f"{price_csv}: row {int(wrong.to_numpy().nonzero()[0][0]) + 1} field 'provider': "
            f"expected {provider!r}, got {frame['provider'][wrong].iloc[0]!r}"
        )
    frame = filter_regions(frame, settings.get("regions") or [])
    provenance = price_provenance(frame, provider, mode="snapshot", origin=price_csv, note=note)
    io.write_parquet(frame, out)
    io.write_json(provenance_out, provenance)
    log.info("%s: %d offers from %s", provider, len(frame), price_csv)
    return frame


def price_provenance(
    frame: pd.DataFrame, provider: str, *, mode: str, origin: str, note: str = ""
) -> dict:
    """Where one provider's prices came from: mode, file or URL, sources and dates (no secrets)."""
    dates = frame["fetched_at"].dropna().astype(str)
    as_of = frame["as_of"].dropna().astype(str) if "as_of" in frame else pd.Series([], dtype=str)
    return {
        "provider": provider,
        "mode": mode,
        "origin": origin,
        "note": note,
        "offers": int(len(frame)),
        "fetched_at_min": dates.min() if len(dates) else None,
        "fetched_at_max": dates.max() if len(dates) else None,
        "as_of_max": as_of[as_of != ""].max() if (as_of != "").any() else None,
        "source_urls": sorted(set(frame["source_url"].dropna().astype(str)))[:20],
        "source_count": int(frame["source_url"].nunique()),
    }


def fetch_live(provider: str, settings: dict, raw_dir: str) -> None:
    """fetch[provider]: the raw API body into raw_dir, or skipped.json when the token is unset."""
    from servecost import providers

    directory = Path(raw_dir)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        providers.fetch_to_file(
            provider,
            directory / f"{provider}.json",
            regions=settings.get("regions") or None,
            base_url=settings.get("base_url"),
            log=log.info,
        )
    except providers.MissingToken as exc:
        # The message already names the provider, the variable and the snapshot used instead.
        log.warning("%s", exc)
        io.write_json(directory / "skipped.json", {"provider": provider, "reason": str(exc)})


def live_prices(
    provider: str, raw_dir: str, snapshot_csv: str, settings: dict, out: str, provenance_out: str
) -> pd.DataFrame:
    """prices[provider] (live): normalise the fetched body, or fall back to the snapshot."""
    from servecost import providers

    directory = Path(raw_dir)
    skipped = directory / "skipped.json"
    if skipped.exists():
        reason = io.json_load(skipped)["reason"]
        return snapshot_prices(
            snapshot_csv,
            provider,
            settings,
            out,
            provenance_out,
            note=f"live fetch skipped: {reason}",
        )
    raw = directory / f"{provider}.json"
    frame = providers.normalise_file(provider, raw)
    frame = filter_regions(frame, settings.get("regions") or [])
    meta = providers.read_meta(raw) or {}
    provenance = price_provenance(frame, provider, mode="live", origin=meta.get("source_url", ""))
    io.write_parquet(frame, out)
    io.write_json(provenance_out, provenance)
    log.info("%s: %d live offers", provider, len(frame))
    return frame


def filter_regions(frame: pd.DataFrame, regions: list[str]) -> pd.DataFrame:
    """Keep the chosen regions; offers published without a region apply everywhere."""
    if not regions:
        return frame
    keep = frame["region"].isin(regions) | (frame["region"] == "")
    return frame[keep].reset_index(drop=True)


def build_catalog(price_files: list[str], config: dict, out: str) -> pd.DataFrame:
    frames = [io.read_parquet(path) for path in price_files]
    combined = cat.combine(frames)
    fx = {code: {"rate": v["rate"], "date": v["date"]} for code, v in config.get("fx", {}).items()}
    converted = cat.to_report_currency(
        combined, report_currency=config["report_currency"], fx_rates=fx
    )
    io.write_parquet(converted, out)
    return converted


# ---------------------------------------------------------------- throughput


def load_reference(config: dict) -> dict[str, pd.DataFrame]:
    paths = config["reference"]
    tables = {
        name: reference.read_table(name, paths[name])
        for name in ("hardware", "offer_hardware", "models", "quantisations", "benchmarks")
    }
    local = paths.get("local_benchmarks")
    if local and Path(local).exists():
        extra = local_benchmarks(local, tables["offer_hardware"])
        tables["benchmarks"] = pd.concat([tables["benchmarks"], extra], ignore_index=True)
    models = tables["models"]
    derivable = models["head_dim"].isna() & models["hidden_size"].notna()
    models.loc[derivable, "head_dim"] = (
        models.loc[derivable, "hidden_size"] / models.loc[derivable, "attention_heads"]
    )
    tables["models"] = models
    reference.check_references(**tables)
    return tables


def local_benchmarks(path: str, offer_hardware: pd.DataFrame) -> pd.DataFrame:
    """Rows measured with `servecost bench`; provider/instance resolve to their hardware row."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    if "hardware_id" in raw and raw["hardware_id"].isna().any():
        mapped = raw.merge(
            offer_hardware[["provider", "instance_type", "hardware_id"]],
            on=["provider", "instance_type"],
            how="left",
            suffixes=("", "_map"),
        )
        raw["hardware_id"] = raw["hardware_id"].fillna(mapped["hardware_id_map"])
        unknown = raw["hardware_id"].isna()
        if unknown.any():
            row = int(unknown.to_numpy().nonzero()[0][0])
            raise DataError(
                f"{path}: row {row + 1}: no hardware_id and {raw['provider'].iloc[row]}/"
                f"{raw['instance_type'].iloc[row]} is not in config/offer_hardware.csv"
            )
    return reference.check_table("benchmarks", raw, path)


def throughput_models(config: dict, models: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The models and quantisations to tabulate: config's lists plus the workload's own."""
    settings = config.get("throughput", {})
    workload = config["workload"]
    model_ids = list(dict.fromkeys([workload["model"], *settings.get("models", [])]))
    opt_quant = config.get("optimisations", {}).get("quantisation", {}).get("quant")
    quant_ids = list(
        dict.fromkeys([workload["quant"], *filter(None, [opt_quant]), *settings.get("quants", [])])
    )
    known = set(models["model_id"])
    if workload["model"] not in known:
        raise DataError(
            f"workload.model {workload['model']!r} is not in config/models.csv "
            f"(known: {', '.join(sorted(known))})"
        )
    usable = models.dropna(subset=["params", "layers", "kv_heads", "head_dim"])
    if workload["model"] not in set(usable["model_id"]):
        raise DataError(
            f"config/models.csv: model {workload['model']!r} lacks architecture numbers"
        )
    skipped = [m for m in model_ids if m not in set(usable["model_id"])]
    for model_id in skipped:
        log.warning("throughput: skipping model %s: no parameter count/architecture", model_id)
    return [m for m in model_ids if m not in skipped], quant_ids


def user_profiles(config: dict, hardware: pd.DataFrame) -> pd.DataFrame:
    """Custom and owned offers that name a hardware row are modelled like catalog offers."""
    rows = []
    for provider, offers in (
        ("custom", config.get("custom_offers", [])),
        ("owned", config.get("owned_hardware", [])),
    ):
        for offer in offers:
            if "decode_tps" in offer or "hardware_id" not in offer:
                continue
            if offer["hardware_id"] not in set(hardware["hardware_id"]):
                raise DataError(
                    f"{provider} offer {offer['name']!r}: hardware_id {offer['hardware_id']!r} "
                    "is not in config/hardware.csv"
                )
            rows.append(
                {
                    "provider": provider,
                    "instance_type": offer["name"],
                    "vcpus": offer.get("vcpus"),
                    "memory_gib": offer.get("memory_gib"),
                    "arch": offer.get("arch", "x86_64"),
                    "gpu_model": offer.get("gpu_model"),
                    "gpu_count": offer.get("gpu_count"),
                    "gpu_memory_gib": None,
                    "hardware_id": offer["hardware_id"],
                    "hardware_basis": "user",
                }
            )
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows).merge(hardware, on="hardware_id", how="left", suffixes=("", "_hw"))
    return throughput.finish_profiles(frame)


def build_throughput(catalog_path: str, config: dict, out: str, calibration_out: str) -> None:
    tables = load_reference(config)
    catalog = io.read_parquet(catalog_path)
    calibration = throughput.calibrate(
        tables["benchmarks"], tables["hardware"], tables["models"], tables["quantisations"]
    )
    profiles = throughput.hardware_profiles(catalog, tables["offer_hardware"], tables["hardware"])
    unmapped = profiles["hardware_id"].isna()
    for row in profiles[unmapped].itertuples():
        log.warning(
            "throughput: %s/%s has no row in offer_hardware.csv; left out",
            row.provider,
            row.instance_type,
        )
    profiles = profiles[~unmapped]
    extra = user_profiles(config, tables["hardware"])
    if len(extra):
        profiles = pd.concat([profiles, extra], ignore_index=True)
    model_ids, quant_ids = throughput_models(config, tables["models"])
    workload = config["workload"]
    settings = config.get("throughput", {})
    table = throughput.throughput_table(
        profiles,
        tables["models"],
        tables["quantisations"],
        calibration["classes"],
        tables["benchmarks"],
        model_ids=model_ids,
        quant_ids=quant_ids,
        concurrencies=settings.get("concurrencies", [1, 2, 4, 8, 16, 32]),
        context_tokens=workload["prompt_tokens"] + workload["completion_tokens"],
        kv_cache_bytes=workload.get("kv_cache_bytes", 2),
        runtime_overhead_gib=settings.get("runtime_overhead_gib", 1.0),
        latency_floor_tps=workload.get("latency_floor_tps", 0.0),
    )
    measured = throughput.custom_throughput(
        [dict(o, provider="custom") for o in config.get("custom_offers", [])]
        + [dict(o, provider="owned") for o in config.get("owned_hardware", [])],
        workload["model"],
        workload["quant"],
        workload.get("latency_floor_tps", 0.0),
    )
    if len(measured):
        table = pd.concat([table, measured], ignore_index=True)
    io.write_parquet(table, out)
    classes = calibration["classes"].assign(kind="class")
    rows = calibration["rows"].assign(kind="row")
    io.write_parquet(pd.concat([classes, rows], ignore_index=True), calibration_out)


# ---------------------------------------------------------------- offers and costs


def build_offers(catalog_path: str, throughput_path: str, config: dict, out: str) -> None:
    catalog = io.read_parquet(catalog_path)
    table = io.read_parquet(throughput_path)
    priced = pd.concat(
        [
            scenarios.catalog_offers(catalog, config.get("billing", ["on_demand"])),
            scenarios.user_offers(config, fx_table(config)),
        ],
        ignore_index=True,
    )
    io.write_parquet(scenarios.join_offers(priced, table), out)


def build_costs(
    offers_path: str, config: dict, costs: str, roi: str, break_even: str, model_costs: str
) -> None:
    offers = io.read_parquet(offers_path)
    apis = None
    api_path = config["reference"].get("managed_apis")
    if api_path and Path(api_path).exists():
        apis = reference.read_table("managed_apis", api_path)
    table = scenarios.cost_table(offers, config, apis, fx_table(config))
    roi_table, _ = scenarios.roi_timeline(table, config.get("roi_months", 36))
    io.write_parquet(table, costs)
    io.write_parquet(roi_table, roi)
    io.write_parquet(scenarios.break_even_table(table, config["workload"]), break_even)
    io.write_parquet(scenarios.best_cost_per_model(offers, config), model_costs)


# ---------------------------------------------------------------- scaling laws, summary


def build_scaling_laws(
    constants_csv: str,
    model_costs_path: str,
    models_csv: str,
    law: str,
    curve_out: str,
    quality_out: str,
) -> None:
    from servecost import scaling_laws

    table = reference.read_table("scaling_laws", constants_csv)
    chinchilla = reference.scaling_law_constants(table, law)
    kaplan = reference.scaling_law_constants(table, "kaplan2020")
    io.write_parquet(scaling_laws.loss_curve(chinchilla, kaplan, law), curve_out)
    model_costs = io.read_parquet(model_costs_path)
    io.write_parquet(scaling_laws.quality_vs_cost(model_costs, chinchilla), quality_out)


def build_summary(inputs: dict, config: dict, out: str) -> dict:
    from servecost import summary

    tables = {name: io.read_parquet(path) for name, path in inputs.items()}
    result = summary.build_summary(
        tables["costs"],
        tables["roi"],
        tables["break_even"],
        tables["throughput"],
        tables["catalog"],
        config,
    )
    io.write_json(out, result)
    return result


# ---------------------------------------------------------------- charts and report


def chart_frames(tables: dict[str, pd.DataFrame], config: dict) -> dict:
    """Pre-aggregate the tables into the small frames each chart draws."""
    from servecost.charts import pareto_frontier  # noqa: F401  (documented entry point)

    costs = tables["costs"]
    workload = config["workload"]
    current = config["current"]
    strategies = costs[costs["strategy"] != "candidate"].copy()
    strategies["offer"] = strategies["provider"] + "/" + strategies["instance_type"]
    candidates = costs[(costs["strategy"] == "candidate") & (costs["traffic_multiplier"] == 1.0)]
    candidates = candidates[candidates["provider"] != scenarios.MANAGED].copy()
    candidates["label"] = candidates["provider"] + "/" + candidates["instance_type"]
    best_per_offer = (
        candidates[candidates["software"] == "optimised"]
        .sort_values(["label", "monthly_price", "region"])
        .drop_duplicates("label")
    )
    best_per_offer = best_per_offer[best_per_offer["decode_tps"].astype(float) > 0].copy()
    best_per_offer["current"] = (best_per_offer["provider"] == current["provider"]) & (
        best_per_offer["instance_type"] == current["instance_type"]
    )
    feasible = candidates[candidates["feasible"]]
    per_mtok = feasible.sort_values(["label", "cost_per_mtok"]).drop_duplicates("label")
    apis = costs[
        (costs["strategy"] == "candidate")
        & (costs["provider"] == scenarios.MANAGED)
        & (costs["traffic_multiplier"] == 1.0)
    ].copy()
    apis["label"] = "api/" + apis["instance_type"]
    per_mtok = pd.concat([per_mtok, apis], ignore_index=True)
    roi = tables["roi"]
    roi_today = roi[(roi["traffic_multiplier"] == 1.0) & roi["feasible"]]
    hit_rates = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    configured = config.get("optimisations", {}).get("response_cache", {}).get("hit_rate", 0.0)
    hit_rates = sorted(set(hit_rates) | {float(configured)})
    multipliers = sorted(set(costs["traffic_multiplier"].round(6)))
    multipliers = [m for m in multipliers if m in (1, 2, 5, 10, 20, 50, 100)] or multipliers[:8]
    multipliers = sorted(set(multipliers) | set(workload["traffic_multipliers"]))
    decision = scenarios.decision_map(costs, workload, hit_rates, multipliers)
    throughput = tables["throughput"]
    picks = strategies[strategies["traffic_multiplier"] == 1.0]
    shown = picks[picks["strategy"].isin(["as_is", "best_cpu", "best_gpu"])]
    batch = throughput.merge(
        shown[["provider", "instance_type", "quant"]].drop_duplicates(),
        left_on=["provider", "instance_type", "quant"],
        right_on=["provider", "instance_type", "quant"],
    )
    batch = batch[(batch["model_id"] == workload["model"]) & batch["fits_memory"]].copy()
    batch["label"] = batch["provider"] + "/" + batch["instance_type"] + " " + batch["quant"]
    calibration = tables["calibration"]
    return {
        "curves": strategies[
            [
                "strategy",
                "traffic_multiplier",
                "named_multiplier",
                "monthly_cost",
                "feasible",
                "offer",
                "instances",
            ]
        ],
        "offers": best_per_offer[
            [
                "label",
                "provider",
                "kind",
                "basis",
                "monthly_price",
                "decode_tps",
                "concurrency",
                "current",
            ]
        ],
        "per_mtok": per_mtok[["label", "provider", "kind", "instances", "basis", "cost_per_mtok"]],
        "roi": roi_today[["strategy", "month", "cumulative_cost", "payback_month"]],
        "decision": decision,
        "current_hit_rate": 0.0,
        "batch": batch[["label", "concurrency", "decode_tps", "decode_tps_per_stream"]],
        "scaling": tables["scaling_laws"],
        "quality": tables["quality_cost"],
        "calibration": calibration.loc[
            calibration["kind"] == "row",
            ["hw_class", "hardware_id", "model_id", "quant", "tok_s", "predicted_tps"],
        ],
    }


def chart_objects(frames: dict, config: dict) -> dict:
    from servecost import charts

    currency = config["report_currency"]
    floor = config["workload"].get("latency_floor_tps", 0.0)
    return {
        "cost_vs_traffic": charts.cost_vs_traffic(frames["curves"], currency),
        "cost_vs_throughput": charts.cost_vs_throughput(frames["offers"], currency),
        "cost_per_mtok_by_offer": charts.cost_per_mtok_by_offer(frames["per_mtok"], currency),
        "roi_timeline": charts.roi_timeline(frames["roi"], currency),
        "decision_map": charts.decision_map(frames["decision"], frames["current_hit_rate"]),
        "throughput_vs_batch": charts.throughput_vs_batch(frames["batch"], floor),
        "scaling_laws": charts.scaling_laws(frames["scaling"], frames["quality"], currency),
        "calibration": charts.calibration(frames["calibration"]),
    }


def build_charts(inputs: dict, config: dict, out_dir: str) -> None:
    """Every chart's Vega-Lite spec (the report embeds these; the PNGs are drawn by another job)."""
    tables = {name: io.read_parquet(path) for name, path in inputs.items()}
    for name, chart in chart_objects(chart_frames(tables, config), config).items():
        io.write_json(Path(out_dir) / f"{name}.vl.json", chart.to_dict())
        log.info("chart %s written", name)


def render_pngs(spec_paths: list[str], out_dir: str) -> None:
    """A PNG of each chart spec, for people who paste charts into documents."""
    import vl_convert

    for path in spec_paths:
        name = Path(path).name.removesuffix(".vl.json")
        png = vl_convert.vegalite_to_png(io.json_load(path), vl_version="6.4", scale=1.0)
        io.write_bytes(Path(out_dir) / f"{name}.png", png)
        log.info("png %s written", name)


def write_vega_bundle(out: str) -> None:
    """Vega, Vega-Lite and vega-embed as one script, built once per run beside the price jobs."""
    from servecost import report

    io.write_text(out, report.vega_bundle())


def build_report(inputs: dict, config: dict, html_out: str, markdown_out: str) -> None:
    from servecost import report

    context = report.report_context(inputs, config)
    io.write_text(html_out, report.render_html(context))
    io.write_text(markdown_out, report.render_markdown(context))
