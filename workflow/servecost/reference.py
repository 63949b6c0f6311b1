"""Curated reference tables in config/: hardware, offer->hardware map, models, quantisations,
benchmarks, managed APIs, scaling-law constants. Every row carries its source."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from servecost.errors import DataError

TABLES: dict[str, dict[str, list[str]]] = {
    # name: {"columns": required columns, "key": unique key, "numeric": numeric columns}
    "hardware": {
        "columns": ["hardware_id", "kind", "hw_class", "mem_bandwidth_gbps", "source"],
        "key": ["hardware_id"],
        "numeric": ["mem_bandwidth_gbps", "peak_fp16_tflops", "memory_gib", "tdp_w"],
    },
    "offer_hardware": {
        "columns": ["provider", "instance_type", "hardware_id", "basis"],
        "key": ["provider", "instance_type"],
        "numeric": [],
    },
    "models": {
        "columns": ["model_id", "params", "layers", "kv_heads", "head_dim", "source"],
        "key": ["model_id"],
        "numeric": ["params", "layers", "hidden_size", "attention_heads", "kv_heads", "head_dim"],
    },
    "quantisations": {
        "columns": ["quant", "bits_per_weight", "source"],
        "key": ["quant"],
        "numeric": ["bits_per_weight"],
    },
    "benchmarks": {
        "columns": ["hardware_id", "model_id", "quant", "test", "concurrency", "tok_s", "source"],
        "key": [],
        "numeric": ["concurrency", "threads", "tok_s", "model_size_bytes"],
    },
    "managed_apis": {
        "columns": [
            "api_id",
            "model",
            "input_per_mtok",
            "output_per_mtok",
            "currency",
            "source_url",
        ],
        "key": ["api_id"],
        "numeric": ["input_per_mtok", "output_per_mtok"],
    },
    "scaling_laws": {
        "columns": ["law", "parameter", "value", "source"],
        "key": ["law", "parameter"],
        "numeric": ["value"],
    },
}


def read_table(name: str, path: str | Path) -> pd.DataFrame:
    """Read a reference CSV; check columns, keys and numbers; errors name file, row and field."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (OSError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read {name} table: {exc}") from exc
    return check_table(name, frame, path)


def check_table(name: str, frame: pd.DataFrame, path) -> pd.DataFrame:
    """Validate a table read as strings; numeric columns come back as Float64."""
    spec = TABLES[name]
    frame = frame.copy()
    missing = [c for c in spec["columns"] if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
    for column in spec["numeric"]:
        if column not in frame.columns:
            continue
        parsed = pd.to_numeric(frame[column], errors="coerce")
        bad = parsed.isna() & frame[column].notna()
        bad |= parsed < 0
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise DataError(
                f"{path}: row {row + 1} field {column!r}: expected a number >= 0, "
                f"got {frame[column].iloc[row]!r}"
            )
        frame[column] = parsed.astype("Float64")
    for column in spec["columns"]:
        if column in spec["numeric"] or column == "source":
            continue
        empty = frame[column].isna()
        if empty.any():
            row = int(empty.to_numpy().nonzero()[0][0])
            raise DataError(f"{path}: row {row + 1} field {column!r}: is required but empty")
    if spec["key"]:
        duplicated = frame.duplicated(spec["key"])
        if duplicated.any():
            row = int(duplicated.to_numpy().nonzero()[0][0])
            raise DataError(f"{path}: row {row + 1}: duplicate key {spec['key']}")
    return frame


def check_references(
    *,
    hardware: pd.DataFrame,
    offer_hardware: pd.DataFrame,
    models: pd.DataFrame,
    quantisations: pd.DataFrame,
    benchmarks: pd.DataFrame,
) -> None:
    """Every id a table names exists in the table it points to."""
    known_hw = set(hardware["hardware_id"])
    for table, frame in (("offer_hardware", offer_hardware), ("benchmarks", benchmarks)):
        unknown = ~frame["hardware_id"].isin(known_hw)
        if unknown.any():
            row = int(unknown.to_numpy().nonzero()[0][0])
            raise DataError(
                f"{table}: row {row + 1}: hardware_id {frame['hardware_id'].iloc[row]!r} "
                "is not in config/hardware.csv"
            )
    for column, known, table in (
        ("model_id", set(models["model_id"]), "models"),
        ("quant", set(quantisations["quant"]), "quantisations"),
    ):
        unknown = ~benchmarks[column].isin(known)
        if unknown.any():
            row = int(unknown.to_numpy().nonzero()[0][0])
            raise DataError(
                f"benchmarks: row {row + 1}: {column} {benchmarks[column].iloc[row]!r} "
                f"is not in config/{table}.csv"
            )


def scaling_law_constants(table: pd.DataFrame, law: str) -> dict[str, float]:
    rows = table[table["law"] == law]
    if rows.empty:
        raise DataError(f"scaling_laws: no constants for law {law!r}")
    return {r.parameter: float(r.value) for r in rows.itertuples()}
