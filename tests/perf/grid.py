"""The full cost grid (offers x models x quantisations x concurrencies x traffic points), on arrays
and row by row, from the library's formulas (throughput.py, costs.py).

The grid's result is, per model, quantisation and traffic point, the cheapest offer and
concurrency, its instances and monthly cost: the answer a "which box?" question needs, and small
(12 x 6 x 50 rows) where every cell (1.44 billion at full size) would need 11 GB per float column.

The vectorised path computes throughput once per offer x model x quantisation x concurrency, keeps
each offer's feasible concurrency with the most capacity (cost = instances x price only falls as
capacity rises, so that concurrency is the cheapest at every traffic point; ties to the lowest
concurrency, as costs.offer_capacity does), and resolves the traffic axis analytically with
instances = max(1, ceil(load / capacity)). The reference visits every cell of the full grid in
plain Python and keeps the cheapest by the same tie rules, so agreement checks that reduction too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from servecost import costs, throughput

CONFIG = Path(__file__).resolve().parents[2] / "config"
CONCURRENCIES = np.array([1, 2, 4, 8, 16, 32, 64, 128], dtype=float)
WORKLOAD = {
    "queries_per_day": 5_000.0,
    "prompt_tokens": 1_500.0,
    "completion_tokens": 500.0,
    "peak_to_average": 1.0,
    "cache_hit_rate": 0.0,
    "target_utilisation": 0.8,
    "latency_floor_tps": 5.0,
    "context_tokens": 2_000,
    "kv_cache_bytes": 2.0,
    "runtime_overhead_gib": 1.0,
}
# Effective prefill FLOP/s per CPU thread where an offer has no GPU (about what the calibration
# fits on llama.cpp rows); GPUs use a fraction of their datasheet peak.
CPU_FLOPS_PER_THREAD = 40e9
GPU_ETA_FLOPS = 0.4


@dataclass
class GridInputs:
    """Offers, models and quantisations as arrays (one entry per offer / model / quant)."""

    bandwidth_bps: np.ndarray
    eta_bw: np.ndarray
    flops: np.ndarray
    usable_memory_gib: np.ndarray
    monthly_price: np.ndarray
    model_ids: list[str]
    params: np.ndarray
    kv_bytes_per_sequence: np.ndarray
    quants: list[str]
    bits_per_weight: np.ndarray
    multipliers: np.ndarray

    def slice(self, offers: int, models: int, quants: int) -> GridInputs:
        return GridInputs(
            self.bandwidth_bps[:offers],
            self.eta_bw[:offers],
            self.flops[:offers],
            self.usable_memory_gib[:offers],
            self.monthly_price[:offers],
            self.model_ids[:models],
            self.params[:models],
            self.kv_bytes_per_sequence[:models],
            self.quants[:quants],
            self.bits_per_weight[:quants],
            self.multipliers,
        )


def synthetic_inputs(
    offers: int = 50_000, models: int = 12, quants: int = 6, traffic_points: int = 50, seed: int = 0
) -> GridInputs:
    """Offers drawn from the real hardware table with spread prices; the real model and
    quantisation tables."""
    rng = np.random.default_rng(seed)
    hardware = pd.read_csv(CONFIG / "hardware.csv")
    hardware = hardware[hardware["mem_bandwidth_gbps"].notna()].reset_index(drop=True)
    pick = hardware.iloc[rng.integers(0, len(hardware), offers)].reset_index(drop=True)
    is_gpu = pick["kind"].eq("gpu").to_numpy()
    gpu_count = np.where(is_gpu, rng.choice([1, 1, 1, 2, 4, 8], offers), 1)
    vcpus = rng.choice([2, 4, 8, 16, 32, 64], offers).astype(float)
    host_memory = vcpus * rng.choice([2.0, 4.0, 8.0], offers)
    device_memory = pick["memory_gib"].fillna(24.0).to_numpy(float) * gpu_count
    peak = pick["peak_fp16_tflops"].fillna(0).to_numpy(float) * 1e12 * gpu_count
    cpu_flops = throughput.cpu_threads(vcpus, np.where(rng.random(offers) < 0.3, "arm64", "x86_64"))
    price_hour = np.where(is_gpu, 0.5 * gpu_count, 0.01 * vcpus) * rng.uniform(0.6, 1.8, offers)
    model_table = pd.read_csv(CONFIG / "models.csv").iloc[:models]
    quant_table = pd.read_csv(CONFIG / "quantisations.csv").iloc[:quants]
    kv = (
        throughput.kv_bytes_per_token(
            model_table["layers"].to_numpy(float),
            model_table["kv_heads"].to_numpy(float),
            model_table["head_dim"].to_numpy(float),
            WORKLOAD["kv_cache_bytes"],
        )
        * WORKLOAD["context_tokens"]
    )
    multipliers = costs.traffic_points([1.0, 100.0], traffic_points)["traffic_multiplier"]
    return GridInputs(
        bandwidth_bps=pick["mem_bandwidth_gbps"].to_numpy(float)
        * throughput.GB
        * np.where(is_gpu, gpu_count, 1),
        eta_bw=rng.uniform(0.3, 0.85, offers),
        flops=np.where(is_gpu & (peak > 0), peak * GPU_ETA_FLOPS, cpu_flops * CPU_FLOPS_PER_THREAD),
        usable_memory_gib=np.where(is_gpu, device_memory, host_memory),
        monthly_price=np.round(price_hour * costs.HOURS_PER_MONTH, 2),
        model_ids=model_table["model_id"].tolist(),
        params=model_table["params"].to_numpy(float),
        kv_bytes_per_sequence=kv,
        quants=quant_table["quant"].tolist(),
        bits_per_weight=quant_table["bits_per_weight"].to_numpy(float),
        multipliers=multipliers.to_numpy(float),
    )


def loads(inputs: GridInputs) -> np.ndarray:
    return costs.load_per_day(
        WORKLOAD["queries_per_day"],
        inputs.multipliers,
        WORKLOAD["peak_to_average"],
        WORKLOAD["cache_hit_rate"],
    )


def vectorised_grid(inputs: GridInputs) -> pd.DataFrame:
    """The cheapest offer and concurrency per model x quant x traffic point, on arrays.

    One model at a time bounds memory: its offers x quants x concurrencies throughput, then
    quants x traffic points x offers costs (about 15 million cells at full size).
    """
    load = loads(inputs)
    frames = []
    for m, model_id in enumerate(inputs.model_ids):
        # axes: offer, quant, concurrency
        weights = throughput.weight_bytes(inputs.params[m], inputs.bits_per_weight)[None, :, None]
        batch = CONCURRENCIES[None, None, :]
        step = throughput.decode_step_seconds(
            weights,
            inputs.kv_bytes_per_sequence[m],
            batch,
            inputs.bandwidth_bps[:, None, None],
            inputs.eta_bw[:, None, None],
            inputs.params[m],
            inputs.flops[:, None, None],
        )
        prefill = throughput.prefill_tokens_per_second(inputs.flops, inputs.params[m])
        seconds = costs.seconds_per_query(
            WORKLOAD["prompt_tokens"],
            WORKLOAD["completion_tokens"],
            prefill[:, None, None],
            batch / step,
        )
        raw_capacity = costs.raw_capacity_per_day(seconds)
        needed = throughput.memory_needed_gib(
            weights, inputs.kv_bytes_per_sequence[m], batch, WORKLOAD["runtime_overhead_gib"]
        )
        feasible = (inputs.usable_memory_gib[:, None, None] >= needed) & (
            1.0 / step >= WORKLOAD["latency_floor_tps"]
        )
        best, capacity = costs.best_concurrency(
            raw_capacity * WORKLOAD["target_utilisation"], feasible
        )
        # axes: quant, traffic, offer
        pick = costs.cheapest_offers(capacity.T, inputs.monthly_price, load)
        offer = pick["offer"]
        chosen = np.take_along_axis(best.T[:, None, :], np.maximum(offer, 0)[..., None], axis=-1)
        chosen_capacity = np.take_along_axis(
            capacity.T[:, None, :], np.maximum(offer, 0)[..., None], axis=-1
        )
        frames.append(
            _result_frame(
                model_id,
                inputs,
                load,
                offer,
                np.where(offer >= 0, CONCURRENCIES[chosen[..., 0]], np.nan),
                pick["instances"],
                pick["monthly_cost"],
                chosen_capacity[..., 0],
            )
        )
    return pd.concat(frames, ignore_index=True)


def _result_frame(model_id, inputs, load, offer, concurrency, instances, monthly, capacity):
    quants, traffic = offer.shape
    tokens = WORKLOAD["prompt_tokens"] + WORKLOAD["completion_tokens"]
    queries = WORKLOAD["queries_per_day"] * np.tile(inputs.multipliers, quants)
    served = offer.ravel() >= 0
    monthly = np.where(served, monthly.ravel(), np.nan)
    per_query = costs.cost_per_query(monthly, queries)
    return pd.DataFrame(
        {
            "model_id": model_id,
            "quant": np.repeat(inputs.quants, traffic),
            "traffic_multiplier": np.tile(inputs.multipliers, quants),
            "load_per_day": np.tile(load, quants),
            "offer": offer.ravel(),
            "concurrency": concurrency.ravel(),
            "instances": instances.ravel(),
            "monthly_cost": monthly,
            "cost_per_mtok": costs.cost_per_million_tokens(per_query, tokens),
            "utilisation": np.where(
                served,
                np.tile(load, quants)
                / (instances.ravel() * capacity.ravel() / WORKLOAD["target_utilisation"]),
                np.nan,
            ),
        }
    )


def reference_grid(inputs: GridInputs) -> pd.DataFrame:
    """Every cell of the full grid in plain Python loops: the slow, obviously right answer."""
    rows = []
    load = loads(inputs)
    tokens = WORKLOAD["prompt_tokens"] + WORKLOAD["completion_tokens"]
    for m, model_id in enumerate(inputs.model_ids):
        for q, quant in enumerate(inputs.quants):
            weights = float(throughput.weight_bytes(inputs.params[m], inputs.bits_per_weight[q]))
            options = []  # (offer, -capacity, concurrency, capacity, raw capacity) feasible cells
            for o in range(len(inputs.monthly_price)):
                prefill = throughput.prefill_tokens_per_second(inputs.flops[o], inputs.params[m])
                for batch in CONCURRENCIES:
                    step = float(
                        throughput.decode_step_seconds(
                            weights,
                            inputs.kv_bytes_per_sequence[m],
                            batch,
                            inputs.bandwidth_bps[o],
                            inputs.eta_bw[o],
                            inputs.params[m],
                            inputs.flops[o],
                        )
                    )
                    needed = throughput.memory_needed_gib(
                        weights,
                        inputs.kv_bytes_per_sequence[m],
                        batch,
                        WORKLOAD["runtime_overhead_gib"],
                    )
                    if inputs.usable_memory_gib[o] < needed:
                        continue
                    if 1.0 / step < WORKLOAD["latency_floor_tps"]:
                        continue
                    seconds = costs.seconds_per_query(
                        WORKLOAD["prompt_tokens"],
                        WORKLOAD["completion_tokens"],
                        prefill,
                        batch / step,
                    )
                    raw = costs.raw_capacity_per_day(seconds)
                    capacity = raw * WORKLOAD["target_utilisation"]
                    options.append((o, -capacity, batch, capacity, raw))
            for t, multiplier in enumerate(inputs.multipliers):
                best = None
                for o, negative_capacity, batch, capacity, raw in options:
                    instances = int(costs.instances_needed(load[t], capacity))
                    cost = instances * inputs.monthly_price[o]
                    key = (cost, o, negative_capacity, batch)
                    if best is None or key < best[0]:
                        best = (key, instances, raw)
                row = {
                    "model_id": model_id,
                    "quant": quant,
                    "traffic_multiplier": multiplier,
                    "load_per_day": load[t],
                }
                if best is None:
                    row.update(
                        offer=-1,
                        concurrency=math.nan,
                        instances=0,
                        monthly_cost=math.nan,
                        cost_per_mtok=math.nan,
                        utilisation=math.nan,
                    )
                else:
                    (cost, o, _, batch), instances, raw = best
                    per_query = costs.cost_per_query(cost, WORKLOAD["queries_per_day"] * multiplier)
                    row.update(
                        offer=o,
                        concurrency=batch,
                        instances=instances,
                        monthly_cost=cost,
                        cost_per_mtok=costs.cost_per_million_tokens(per_query, tokens),
                        utilisation=load[t] / (instances * raw),
                    )
                rows.append(row)
    return pd.DataFrame(rows)
