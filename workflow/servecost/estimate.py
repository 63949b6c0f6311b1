"""`servecost estimate`: tokens/s, memory fit and basis for one offer, model and quantisation."""

from __future__ import annotations

import difflib
from pathlib import Path

import pandas as pd

from servecost import catalog as cat
from servecost import stages, throughput
from servecost.errors import ServecostError


def _close(value: str, known) -> str:
    matches = difflib.get_close_matches(value, sorted(set(known)), n=5, cutoff=0.4)
    return f" (close matches: {', '.join(matches)})" if matches else ""


def estimate(
    config: dict,
    provider: str,
    instance: str,
    model: str,
    quant: str,
    concurrency: int | None = None,
) -> dict:
    tables = stages.load_reference(config)
    prices = [cat.read_price_csv(p) for p in sorted(Path("config/prices").glob("*.csv"))]
    catalog = pd.concat(prices, ignore_index=True)
    offers = catalog[(catalog["provider"] == provider) & (catalog["instance_type"] == instance)]
    if offers.empty:
        known = catalog.loc[catalog["provider"] == provider, "instance_type"]
        if known.empty:
            raise ServecostError(
                f"unknown provider {provider!r}{_close(provider, catalog['provider'])}"
            )
        raise ServecostError(f"unknown offer {provider}/{instance}{_close(instance, known)}")
    if model not in set(tables["models"]["model_id"]):
        raise ServecostError(
            f"unknown model {model!r}{_close(model, tables['models']['model_id'])}"
        )
    if quant not in set(tables["quantisations"]["quant"]):
        raise ServecostError(
            f"unknown quant {quant!r}{_close(quant, tables['quantisations']['quant'])}"
        )
    calibration = throughput.calibrate(
        tables["benchmarks"], tables["hardware"], tables["models"], tables["quantisations"]
    )
    profiles = throughput.hardware_profiles(offers, tables["offer_hardware"], tables["hardware"])
    if profiles["hardware_id"].isna().any():
        raise ServecostError(f"{provider}/{instance} has no row in config/offer_hardware.csv")
    workload = config["workload"]
    levels = sorted(
        set(config.get("throughput", {}).get("concurrencies", [1, 2, 4, 8, 16, 32]))
        | {concurrency or 1}
    )
    table = throughput.throughput_table(
        profiles,
        tables["models"],
        tables["quantisations"],
        calibration["classes"],
        tables["benchmarks"],
        model_ids=[model],
        quant_ids=[quant],
        concurrencies=levels,
        context_tokens=workload["prompt_tokens"] + workload["completion_tokens"],
        kv_cache_bytes=workload.get("kv_cache_bytes", 2),
        runtime_overhead_gib=config.get("throughput", {}).get("runtime_overhead_gib", 1.0),
        latency_floor_tps=workload.get("latency_floor_tps", 0.0),
    )
    row = table[table["concurrency"] == (concurrency or 1)].iloc[0]
    return {
        "provider": provider,
        "instance_type": instance,
        "model": model,
        "quant": quant,
        "hardware_id": row["hardware_id"],
        "concurrency": int(row["concurrency"]),
        "decode_tps": round(float(row["decode_tps"]), 3),
        "decode_tps_per_stream": round(float(row["decode_tps_per_stream"]), 3),
        "prefill_tps": round(float(row["prefill_tps"]), 3),
        "basis": row["basis"],
        "fits_memory": bool(row["fits_memory"]),
        "memory_needed_gib": round(float(row["memory_needed_gib"]), 2),
        "memory_headroom_gib": round(float(row["memory_headroom_gib"]), 2),
        "max_concurrency": int(row["max_concurrency"]),
        "reason": row["reason"],
    }
