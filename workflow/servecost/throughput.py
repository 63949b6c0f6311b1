"""Decode and prefill throughput: a bandwidth/compute roofline, calibrated on measured benchmarks.

Every formula of the throughput model lives here (the report's methodology quotes them):

    W            = params x bits_per_weight / 8                       (weight bytes)
    KV(ctx)      = 2 x layers x kv_heads x head_dim x kv_bytes x ctx  (KV cache bytes per sequence)
    step(b)      = max((W + b x KV) / (eta_bw x BW), 2 x P x b / F)   (seconds per decode step)
    decode(b)    = b / step(b)      aggregate tokens/s
    per_stream   = 1 / step(b)
    prefill      = F / (2 x P)      tokens/s, F = effective FLOP/s (calibrated)
    memory(b)    = W + b x KV + runtime overhead  <= RAM (CPU) or VRAM x GPU count (GPU)
    usable b     = the largest b that fits in memory and keeps per_stream >= the latency floor
    basis        = measured (a benchmark row for this hardware, model, quant) > calibrated > roofline

eta_bw is fitted per hardware class from measured single-stream decode rows, as a straight line in
log10(weight GB) (small models reach a lower fraction of the bound); F is eta_fl x peak FLOP/s on
GPUs and a measured per-thread prefill rate x threads on CPUs (CPUs publish no usable peak).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

GB = 1e9
GIB = 2.0**30
ETA_FLOOR, ETA_CEILING = 0.02, 1.0

# ---------------------------------------------------------------- formulas (scalar or vectorised)


def weight_bytes(params, bits_per_weight):
    return params * bits_per_weight / 8.0


def kv_bytes_per_token(layers, kv_heads, head_dim, kv_cache_bytes=2.0):
    """K and V for every layer and KV head: 2 x layers x kv_heads x head_dim x bytes."""
    return 2.0 * layers * kv_heads * head_dim * kv_cache_bytes


def decode_step_seconds(weights, kv_per_sequence, batch, bandwidth_bps, eta_bw, params, flops):
    """One decode step for `batch` sequences: the slower of streaming memory and doing the math."""
    memory_time = (weights + batch * kv_per_sequence) / (eta_bw * bandwidth_bps)
    compute_time = 2.0 * params * batch / flops
    return np.maximum(memory_time, compute_time)


def prefill_tokens_per_second(flops, params):
    return flops / (2.0 * params)


def memory_needed_gib(weights, kv_per_sequence, batch, runtime_overhead_gib):
    """Weights, one KV cache per concurrent sequence, and the runtime beside them."""
    return (weights + batch * kv_per_sequence) / GIB + runtime_overhead_gib


def cpu_threads(vcpus, arch):
    """llama.cpp runs best with one thread per physical core: x86 vCPUs are SMT siblings."""
    vcpus = np.asarray(vcpus, dtype=float)
    is_arm = np.asarray(arch == "arm64") if not np.isscalar(arch) else arch == "arm64"
    return np.where(is_arm, vcpus, np.maximum(1.0, np.floor(vcpus / 2.0)))


# ---------------------------------------------------------------- calibration


def _benchmark_basis(
    benchmarks: pd.DataFrame, hardware: pd.DataFrame, models: pd.DataFrame, quants: pd.DataFrame
) -> pd.DataFrame:
    """Join benchmark rows with the hardware, model and quantisation they ran on."""
    frame = benchmarks.merge(
        hardware[["hardware_id", "kind", "hw_class", "mem_bandwidth_gbps", "peak_fp16_tflops"]],
        on="hardware_id",
        how="inner",
    )
    frame = frame.merge(models[["model_id", "params"]], on="model_id", how="inner")
    frame = frame.merge(quants[["quant", "bits_per_weight"]], on="quant", how="inner")
    frame["weight_bytes"] = frame["model_size_bytes"].fillna(
        weight_bytes(frame["params"], frame["bits_per_weight"])
    )
    return frame


def calibrate(
    benchmarks: pd.DataFrame, hardware: pd.DataFrame, models: pd.DataFrame, quants: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """Fit eta_bw(weight size) and the compute rate per hardware class from measured rows.

    Returns {"classes": one row per class with the fit, "rows": the benchmark rows with their
    roofline, fitted prediction and error (for the calibration chart)}.
    """
    frame = _benchmark_basis(benchmarks, hardware, models, quants)
    decode = frame[(frame["test"] == "decode") & (frame["concurrency"] == 1)].copy()
    decode["roofline_tps"] = decode["mem_bandwidth_gbps"] * GB / decode["weight_bytes"]
    decode["eta_bw"] = decode["tok_s"] / decode["roofline_tps"]
    prefill = frame[frame["test"] == "prefill"].copy()
    prefill["flop_rate"] = prefill["tok_s"] * 2.0 * prefill["params"]
    gpu_prefill = prefill["kind"] == "gpu"
    prefill.loc[gpu_prefill, "eta_fl"] = prefill.loc[gpu_prefill, "flop_rate"] / (
        prefill.loc[gpu_prefill, "peak_fp16_tflops"] * 1e12
    )
    cpu_prefill = ~gpu_prefill & prefill["threads"].notna()
    prefill.loc[cpu_prefill, "flops_per_thread"] = (
        prefill.loc[cpu_prefill, "flop_rate"] / prefill.loc[cpu_prefill, "threads"]
    )

    classes = []
    for hw_class, rows in decode.groupby("hw_class", sort=True):
        slope, intercept = fit_eta_line(rows["weight_bytes"] / GB, rows["eta_bw"])
        class_prefill = prefill[prefill["hw_class"] == hw_class]
        classes.append(
            {
                "hw_class": hw_class,
                "eta_intercept": intercept,
                "eta_slope": slope,
                "eta_min": float(rows["eta_bw"].min()),
                "eta_max": float(rows["eta_bw"].max()),
                "eta_median": float(rows["eta_bw"].median()),
                "eta_fl": _median_or_nan(class_prefill.get("eta_fl")),
                "flops_per_thread": _median_or_nan(class_prefill.get("flops_per_thread")),
                "n_rows": len(rows),
            }
        )
    fit = pd.DataFrame(classes)
    decode = decode.merge(fit, on="hw_class", how="left")
    decode["eta_fitted"] = eta_from_fit(decode, decode["weight_bytes"])
    decode["predicted_tps"] = decode["roofline_tps"] * decode["eta_fitted"]
    decode["ape"] = (decode["predicted_tps"] - decode["tok_s"]).abs() / decode["tok_s"]
    errors = decode.groupby("hw_class")["ape"].agg(median_ape="median", worst_ape="max")
    fit = fit.merge(errors, left_on="hw_class", right_index=True, how="left")
    columns = [
        "hardware_id",
        "hw_class",
        "model_id",
        "quant",
        "weight_bytes",
        "tok_s",
        "roofline_tps",
        "eta_bw",
        "eta_fitted",
        "predicted_tps",
        "ape",
        "source",
    ]
    rows = decode[columns].sort_values(["hw_class", "hardware_id", "model_id", "quant"])
    return {"classes": fit.reset_index(drop=True), "rows": rows.reset_index(drop=True)}


def _median_or_nan(values) -> float:
    if values is None:
        return math.nan
    values = pd.to_numeric(values, errors="coerce").dropna()
    return float(values.median()) if len(values) else math.nan


def fit_eta_line(weight_gb: pd.Series, eta: pd.Series) -> tuple[float, float]:
    """Least squares eta = intercept + slope x log10(weight GB); flat when sizes do not vary."""
    x = np.log10(np.asarray(weight_gb, dtype=float))
    y = np.asarray(eta, dtype=float)
    if len(np.unique(np.round(x, 3))) < 2:
        return 0.0, float(np.median(y))
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(intercept)


def eta_from_fit(fit_rows: pd.DataFrame, weights) -> pd.Series:
    """Evaluate the class line at these weight sizes, clipped to what the class was seen to reach."""
    x = np.log10(np.asarray(weights, dtype=float) / GB)
    eta = fit_rows["eta_intercept"].to_numpy(float) + fit_rows["eta_slope"].to_numpy(float) * x
    low = np.maximum(fit_rows["eta_min"].to_numpy(float), ETA_FLOOR)
    high = np.minimum(fit_rows["eta_max"].to_numpy(float), ETA_CEILING)
    return pd.Series(np.clip(eta, low, high), index=fit_rows.index)


# ---------------------------------------------------------------- hardware profiles of offers


def hardware_profiles(
    catalog: pd.DataFrame, offer_hardware: pd.DataFrame, hardware: pd.DataFrame
) -> pd.DataFrame:
    """One row per (provider, instance_type): bandwidth, memory and threads the model needs."""
    specs = catalog.drop_duplicates(["provider", "instance_type"])[
        [
            "provider",
            "instance_type",
            "vcpus",
            "memory_gib",
            "arch",
            "gpu_model",
            "gpu_count",
            "gpu_memory_gib",
        ]
    ]
    profiles = specs.merge(offer_hardware, on=["provider", "instance_type"], how="left")
    profiles = profiles.rename(columns={"basis": "hardware_basis"})
    profiles = profiles.merge(hardware, on="hardware_id", how="left", suffixes=("", "_hw"))
    return finish_profiles(profiles)


def finish_profiles(profiles: pd.DataFrame) -> pd.DataFrame:
    """Total bandwidth, compute and memory of each profile (GPU offers: x gpu_count)."""
    profiles = profiles.copy()
    is_gpu = profiles["kind"].eq("gpu").fillna(False).astype(bool)
    gpu_count = profiles["gpu_count"].astype("Float64").fillna(1).clip(lower=1)
    profiles["bandwidth_gbps"] = profiles["mem_bandwidth_gbps"] * gpu_count.where(is_gpu, 1)
    gpu_memory = profiles["gpu_memory_gib"].astype("Float64").fillna(profiles["memory_gib_hw"])
    profiles["usable_memory_gib"] = (gpu_memory * gpu_count).where(is_gpu, profiles["memory_gib"])
    profiles["threads"] = pd.Series(
        cpu_threads(profiles["vcpus"].astype(float).fillna(1), profiles["arch"].fillna("x86_64")),
        index=profiles.index,
    ).where(~is_gpu)
    profiles["peak_flops"] = profiles["peak_fp16_tflops"].astype("Float64") * 1e12 * gpu_count
    return profiles


# ---------------------------------------------------------------- the throughput table


def throughput_table(
    profiles: pd.DataFrame,
    models: pd.DataFrame,
    quants: pd.DataFrame,
    calibration: pd.DataFrame,
    benchmarks: pd.DataFrame,
    *,
    model_ids: list[str],
    quant_ids: list[str],
    concurrencies: list[int],
    context_tokens: int,
    kv_cache_bytes: float,
    runtime_overhead_gib: float,
    latency_floor_tps: float,
) -> pd.DataFrame:
    """Decode/prefill tok/s, memory fit and basis for profile x model x quant x concurrency."""
    chosen_models = models[models["model_id"].isin(model_ids)]
    chosen_quants = quants[quants["quant"].isin(quant_ids)]
    grid = (
        profiles.merge(chosen_models, how="cross")
        .merge(chosen_quants[["quant", "bits_per_weight"]], how="cross")
        .merge(pd.DataFrame({"concurrency": concurrencies}), how="cross")
    )
    grid = grid.merge(calibration, on="hw_class", how="left")
    grid["weight_bytes"] = weight_bytes(grid["params"], grid["bits_per_weight"]).astype(float)
    grid["kv_bytes_per_sequence"] = (
        kv_bytes_per_token(grid["layers"], grid["kv_heads"], grid["head_dim"], kv_cache_bytes)
        * context_tokens
    ).astype(float)
    calibrated = grid["eta_intercept"].notna()
    grid["eta_bw"] = eta_from_fit(grid, grid["weight_bytes"]).where(calibrated, 1.0)
    grid["effective_flops"] = _effective_flops(grid)
    grid["basis"] = np.where(calibrated, "calibrated", "roofline")
    grid = _anchor_on_measurements(grid, benchmarks)

    step = decode_step_seconds(
        grid["weight_bytes"],
        grid["kv_bytes_per_sequence"],
        grid["concurrency"].astype(float),
        grid["bandwidth_gbps"].astype(float) * GB,
        grid["eta_bw"].astype(float),
        grid["params"].astype(float),
        grid["effective_flops"].astype(float),
    )
    grid["decode_tps_per_stream"] = 1.0 / step
    grid["decode_tps"] = grid["concurrency"] / step
    measured = grid["measured_decode_tps"].notna()
    grid.loc[measured, "decode_tps"] = grid.loc[measured, "measured_decode_tps"]
    grid.loc[measured, "decode_tps_per_stream"] = (
        grid.loc[measured, "measured_decode_tps"] / grid.loc[measured, "concurrency"]
    )
    grid["prefill_tps"] = prefill_tokens_per_second(grid["effective_flops"], grid["params"])
    has_prefill = grid["measured_prefill_tps"].notna()
    grid.loc[has_prefill, "prefill_tps"] = grid.loc[has_prefill, "measured_prefill_tps"]
    grid["prefill_basis"] = np.where(has_prefill, "measured", grid["basis"])
    grid.loc[measured, "basis"] = "measured"

    grid["memory_needed_gib"] = memory_needed_gib(
        grid["weight_bytes"],
        grid["kv_bytes_per_sequence"],
        grid["concurrency"],
        runtime_overhead_gib,
    )
    grid["memory_headroom_gib"] = grid["usable_memory_gib"] - grid["memory_needed_gib"]
    grid["fits_memory"] = (grid["memory_headroom_gib"] >= 0).fillna(False).astype(bool)
    grid["meets_latency"] = (grid["decode_tps_per_stream"] >= latency_floor_tps).astype(bool)
    grid["feasible"] = grid["fits_memory"] & grid["meets_latency"] & grid["decode_tps"].gt(0)
    grid["reason"] = infeasibility_reason(grid, latency_floor_tps)
    grid["max_concurrency"] = _max_feasible_concurrency(grid)
    columns = [
        "provider",
        "instance_type",
        "hardware_id",
        "hardware_basis",
        "kind",
        "hw_class",
        "model_id",
        "quant",
        "concurrency",
        "params",
        "weight_bytes",
        "kv_bytes_per_sequence",
        "bandwidth_gbps",
        "eta_bw",
        "effective_flops",
        "decode_tps",
        "decode_tps_per_stream",
        "prefill_tps",
        "basis",
        "prefill_basis",
        "usable_memory_gib",
        "memory_needed_gib",
        "memory_headroom_gib",
        "fits_memory",
        "meets_latency",
        "feasible",
        "reason",
        "max_concurrency",
    ]
    keys = ["provider", "instance_type", "model_id", "quant", "concurrency"]
    return grid[columns].sort_values(keys, kind="mergesort").reset_index(drop=True)


def _effective_flops(grid: pd.DataFrame) -> pd.Series:
    """GPU: eta_fl x peak; CPU: measured per-thread prefill FLOP rate x threads."""
    is_gpu = grid["kind"].eq("gpu").fillna(False).astype(bool)
    gpu = grid["peak_flops"].astype(float) * grid["eta_fl"].astype(float).fillna(1.0)
    cpu = grid["flops_per_thread"].astype(float) * grid["threads"].astype(float)
    flops = pd.Series(np.where(is_gpu, gpu, cpu), index=grid.index)
    # No compute figure at all: the memory bound alone decides (compute time 0 -> inf FLOP/s).
    return flops.fillna(np.inf)


def _anchor_on_measurements(grid: pd.DataFrame, benchmarks: pd.DataFrame) -> pd.DataFrame:
    """A measured row beats the model: decode/prefill at the measured key, and eta from it."""
    keys = ["hardware_id", "model_id", "quant"]
    decode = benchmarks[benchmarks["test"] == "decode"]
    prefill = benchmarks[(benchmarks["test"] == "prefill") & (benchmarks["concurrency"] == 1)]
    exact = decode.groupby([*keys, "concurrency"])["tok_s"].median().rename("measured_decode_tps")
    grid = grid.merge(exact, left_on=[*keys, "concurrency"], right_index=True, how="left")
    single = decode[decode["concurrency"] == 1].groupby(keys)["tok_s"].median()
    grid = grid.merge(
        single.rename("measured_single_tps"), left_on=keys, right_index=True, how="left"
    )
    grid = grid.merge(
        prefill.groupby(keys)["tok_s"].median().rename("measured_prefill_tps"),
        left_on=keys,
        right_index=True,
        how="left",
    )
    # The single-stream measurement pins eta for this very hardware/model/quant.
    for column in ("measured_decode_tps", "measured_single_tps", "measured_prefill_tps"):
        grid[column] = pd.to_numeric(grid[column], errors="coerce").astype(float)
    anchored = grid["measured_single_tps"].notna()
    if anchored.any():
        roofline = grid["bandwidth_gbps"].astype(float) * GB / grid["weight_bytes"]
        grid.loc[anchored, "eta_bw"] = (
            grid.loc[anchored, "measured_single_tps"] / roofline[anchored]
        )
        grid.loc[anchored, "basis"] = "calibrated"
    return grid


def infeasibility_reason(grid: pd.DataFrame, latency_floor_tps: float) -> pd.Series:
    reasons = pd.Series("", index=grid.index, dtype="string")
    no_memory = ~grid["fits_memory"]
    reasons[no_memory] = (
        "needs "
        + grid.loc[no_memory, "memory_needed_gib"].round(1).astype(str)
        + " GiB, has "
        + grid.loc[no_memory, "usable_memory_gib"].astype(float).round(1).astype(str)
        + " GiB"
    )
    slow = grid["fits_memory"] & ~grid["meets_latency"]
    reasons[slow] = (
        "per-stream "
        + grid.loc[slow, "decode_tps_per_stream"].round(2).astype(str)
        + f" tok/s < floor {latency_floor_tps:g}"
    )
    return reasons


def _max_feasible_concurrency(grid: pd.DataFrame) -> pd.Series:
    keys = ["provider", "instance_type", "model_id", "quant"]
    feasible_b = grid["concurrency"].where(grid["feasible"], 0)
    return feasible_b.groupby([grid[k] for k in keys]).transform("max").astype(int)


def custom_throughput(
    offers: list[dict], model_id: str, quant: str, latency_floor_tps: float
) -> pd.DataFrame:
    """User-measured offers: served at exactly their decode_tps (and prefill_tps if given)."""
    rows = []
    for offer in offers:
        if "decode_tps" not in offer:
            continue
        rows.append(
            {
                "provider": offer["provider"],
                "instance_type": offer["name"],
                "hardware_id": offer.get("hardware_id", ""),
                "hardware_basis": "user",
                "kind": "gpu" if offer.get("gpu_count") else "cpu",
                "hw_class": "custom",
                "model_id": model_id,
                "quant": quant,
                "concurrency": 1,
                "decode_tps": float(offer["decode_tps"]),
                "decode_tps_per_stream": float(offer["decode_tps"]),
                "prefill_tps": float(offer.get("prefill_tps", math.inf)),
                "basis": "measured",
                "prefill_basis": "measured" if "prefill_tps" in offer else "not counted",
                "fits_memory": True,
                "meets_latency": float(offer["decode_tps"]) >= latency_floor_tps,
                "feasible": float(offer["decode_tps"]) >= latency_floor_tps,
                "reason": ""
                if float(offer["decode_tps"]) >= latency_floor_tps
                else f"per-stream {offer['decode_tps']} tok/s < floor {latency_floor_tps:g}",
                "max_concurrency": 1,
            }
        )
    return pd.DataFrame(rows)
