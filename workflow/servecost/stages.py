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


def snapshot_prices(price_csv: str, provider: str, settings: dict, out: str) -> pd.DataFrame:
    """prices[provider] (snapshot): the committed CSV, validated, filtered to the chosen regions."""
    frame = cat.read_price_csv(price_csv)
    wrong = frame["provider"] != provider
    if wrong.any():
        raise DataError(
            f"{price_csv}: row {int(wrong.to_numpy().nonzero()[0][0]) + 1} field 'provider': "
            f"expected {provider!r}, got {frame['provider'][wrong].iloc[0]!r}"
        )
    frame = filter_regions(frame, settings.get("regions") or [])
    io.write_parquet(frame, out)
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
        extra = reference.read_table("benchmarks", local)
        tables["benchmarks"] = pd.concat([tables["benchmarks"], extra], ignore_index=True)
    models = tables["models"]
    derivable = models["head_dim"].isna() & models["hidden_size"].notna()
    models.loc[derivable, "head_dim"] = (
        models.loc[derivable, "hidden_size"] / models.loc[derivable, "attention_heads"]
    )
    tables["models"] = models
    reference.check_references(**tables)
    return tables


def throughput_models(config: dict, models: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The models and quantisations to tabulate: config's lists plus the workload's own."""
    settings = config.get("throughput", {})
    workload = config["workload"]
    model_ids = list(dict.fromkeys([workload["model"], *settings.get("models", [])]))
    opt_quant = config.get("optimisations", {}).get("quantisation", {}).get("quant")
    quant_ids = list(dict.fromkeys([workload["quant"], *filter(None, [opt_quant]),
                                    *settings.get("quants", [])]))  # fmt: skip
    known = set(models["model_id"])
    if workload["model"] not in known:
        raise DataError(
            f"workload.model {workload['model']!r} is not in config/models.csv "
            f"(known: {', '.join(sorted(known))})"
        )
    usable = models.dropna(subset=["params", "layers", "kv_heads", "head_dim"])
    if workload["model"] not in set(usable["model_id"]):
        raise DataError(f"config/models.csv: model {workload['model']!r} lacks architecture numbers")
    skipped = [m for m in model_ids if m not in set(usable["model_id"])]
    for model_id in skipped:
        log.warning("throughput: skipping model %s: no parameter count/architecture", model_id)
    return [m for m in model_ids if m not in skipped], quant_ids


def user_profiles(config: dict, hardware: pd.DataFrame) -> pd.DataFrame:
    """Custom and owned offers that name a hardware row are modelled like catalog offers."""
    rows = []
    for provider, offers in (("custom", config.get("custom_offers", [])),
                             ("owned", config.get("owned_hardware", []))):  # fmt: skip
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
        log.warning("throughput: %s/%s has no row in offer_hardware.csv; left out",
                    row.provider, row.instance_type)  # fmt: skip
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


def build_costs(offers_path: str, config: dict, costs_out: str, roi_out: str,
                break_even_out: str, models_out: str) -> None:  # fmt: skip
    offers = io.read_parquet(offers_path)
    apis = None
    api_path = config["reference"].get("managed_apis")
    if api_path and Path(api_path).exists():
        apis = reference.read_table("managed_apis", api_path)
    table = scenarios.cost_table(offers, config, apis, fx_table(config))
    roi, _ = scenarios.roi_timeline(table, config.get("roi_months", 36))
    io.write_parquet(table, costs_out)
    io.write_parquet(roi, roi_out)
    io.write_parquet(scenarios.break_even_table(table, config["workload"]), break_even_out)
    io.write_parquet(scenarios.best_cost_per_model(offers, config), models_out)
