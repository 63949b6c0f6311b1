"""The normalised price catalog: its schema, validation, and conversion to the report currency.

One row per offer = provider x instance_type x region x billing (DESIGN.md).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from servecost.errors import DataError

KEY_COLUMNS = ["provider", "instance_type", "region", "billing"]

# column -> pandas dtype; the order here is the order written to disk.
CATALOG_DTYPES: dict[str, str] = {
    "provider": "string",
    "instance_type": "string",
    "region": "string",
    "billing": "string",
    "vcpus": "Float64",
    "memory_gib": "Float64",
    "arch": "string",
    "cpu_model": "string",
    "gpu_model": "string",
    "gpu_count": "Int64",
    "gpu_memory_gib": "Float64",
    "price_hour": "Float64",
    "price_month": "Float64",
    "currency": "string",
    "vat_rate": "Float64",
    "source_url": "string",
    "fetched_at": "string",
}
CATALOG_COLUMNS = list(CATALOG_DTYPES)
REQUIRED_COLUMNS = [
    "provider",
    "instance_type",
    "region",
    "billing",
    "price_hour",
    "price_month",
    "currency",
    "source_url",
    "fetched_at",
]
# Optional provenance column: the date the *source* itself carries, when it carries one.
OPTIONAL_COLUMNS = {"as_of": "string"}

BILLINGS = {"on_demand", "spot", "reserved_1y", "reserved_3y", "monthly"}
ARCHES = {"x86_64", "arm64"}
HOURS_PER_MONTH = 730.0


def month_from_hour(price_hour: pd.Series) -> pd.Series:
    """Providers that publish only an hourly price: a month is 730 hours (8760 / 12)."""
    # Rounded so binary noise (1.1 x 730 = 803.0000000000001) never reaches a catalog, a
    # snapshot or a price diff; 6 decimals keep every published hourly price exact.
    return (price_hour * HOURS_PER_MONTH).round(6)


def coerce_catalog(frame: pd.DataFrame, *, origin: str) -> pd.DataFrame:
    """Cast a frame to the catalog dtypes, filling price_month from price_hour where unpublished.

    `origin` names the file or provider for error messages.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{origin}: missing required column(s) {', '.join(missing)}")
    out = pd.DataFrame(index=frame.index)
    for column, dtype in {**CATALOG_DTYPES, **OPTIONAL_COLUMNS}.items():
        if column not in frame.columns:
            if column in OPTIONAL_COLUMNS:
                continue
            out[column] = pd.Series(pd.NA, index=frame.index, dtype=dtype)
            continue
        values = frame[column]
        try:
            if dtype in ("Float64", "Int64"):
                values = pd.to_numeric(values, errors="raise")
            out[column] = values.astype(dtype)
        except (ValueError, TypeError) as exc:
            bad = _first_unparseable(values, dtype)
            raise DataError(
                f"{origin}: row {bad} field {column!r}: cannot read {values.loc[bad]!r} "
                f"as {dtype.lower()}"
            ) from exc
    hourly_only = out["price_month"].isna() & out["price_hour"].notna()
    out.loc[hourly_only, "price_month"] = month_from_hour(out.loc[hourly_only, "price_hour"])
    for column in ("region",):
        out[column] = out[column].fillna("")
    return out


def _first_unparseable(values: pd.Series, dtype: str):
    for index, value in values.items():
        if pd.isna(value):
            continue
        try:
            float(value)
        except (TypeError, ValueError):
            return index
        if dtype == "Int64" and float(value) != int(float(value)):
            return index
    return values.index[0]


def validate_catalog(frame: pd.DataFrame, *, origin: str) -> pd.DataFrame:
    """Check keys, prices and enums; raise DataError naming origin, row and field.

    Row numbers are 1-based data rows (the CSV header is row 0), so a user can find them.
    """
    rows = frame.reset_index(drop=True)

    def fail(position: int, field: str, message: str):
        label = _row_label(rows, position)
        raise DataError(f"{origin}: row {position + 1} ({label}) field {field!r}: {message}")

    for field in ("provider", "instance_type", "billing", "currency", "source_url", "fetched_at"):
        empty = rows[field].isna() | (rows[field].astype("string").str.strip() == "")
        if empty.any():
            fail(int(empty.to_numpy().nonzero()[0][0]), field, "is required but empty")
    for field in ("price_hour", "price_month"):
        values = rows[field].astype("Float64")
        for position, value in enumerate(values):
            if pd.isna(value) or not math.isfinite(float(value)):
                fail(position, field, f"must be a finite number, got {value!r}")
            if float(value) < 0:
                fail(position, field, f"must be >= 0, got {value}")
    bad_billing = ~rows["billing"].isin(BILLINGS)
    if bad_billing.any():
        position = int(bad_billing.to_numpy().nonzero()[0][0])
        fail(
            position,
            "billing",
            f"must be one of {sorted(BILLINGS)}, got {rows['billing'][position]!r}",
        )
    arch = rows["arch"].dropna()
    bad_arch = ~arch.isin(ARCHES)
    if bad_arch.any():
        position = int(arch.index[bad_arch.to_numpy().nonzero()[0][0]])
        fail(position, "arch", f"must be one of {sorted(ARCHES)}, got {rows['arch'][position]!r}")
    duplicated = rows.duplicated(KEY_COLUMNS, keep="first")
    if duplicated.any():
        position = int(duplicated.to_numpy().nonzero()[0][0])
        fail(
            position,
            "instance_type",
            "duplicate offer key (provider, instance_type, region, billing)",
        )
    return frame


def _row_label(rows: pd.DataFrame, position: int) -> str:
    row = rows.iloc[position]
    return "/".join(
        str(row[c]) for c in ("provider", "instance_type", "region") if not pd.isna(row[c])
    )


def sort_catalog(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(KEY_COLUMNS, kind="mergesort").reset_index(drop=True)


def read_price_csv(path: str | Path) -> pd.DataFrame:
    """Read one provider's snapshot CSV, coerce and validate it."""
    origin = str(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (OSError, pd.errors.ParserError) as exc:
        raise DataError(f"{origin}: cannot read CSV: {exc}") from exc
    frame = coerce_catalog(raw, origin=origin)
    validate_catalog(frame, origin=origin)
    return sort_catalog(frame)


def to_report_currency(
    catalog: pd.DataFrame, *, report_currency: str, fx_rates: dict[str, dict]
) -> pd.DataFrame:
    """Add report_price_hour/month, fx_rate and fx_date.

    `fx_rates` maps a currency code to {"rate": report units per 1 unit of it, "date": ...}.
    """
    out = catalog.copy()
    rates = {report_currency: {"rate": 1.0, "date": ""}, **fx_rates}
    unknown = sorted(set(out["currency"].dropna()) - set(rates))
    if unknown:
        raise DataError(
            f"catalog: no FX rate to {report_currency} for currency {', '.join(unknown)} "
            f"(add it under fx in config/config.yaml)"
        )
    out["fx_rate"] = out["currency"].map(lambda c: float(rates[c]["rate"])).astype("Float64")
    out["fx_date"] = out["currency"].map(lambda c: str(rates[c].get("date", ""))).astype("string")
    out["report_currency"] = pd.Series(report_currency, index=out.index, dtype="string")
    out["report_price_hour"] = out["price_hour"] * out["fx_rate"]
    out["report_price_month"] = out["price_month"] * out["fx_rate"]
    return out


def combine(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """All providers in one frame; a key seen twice across providers is an error."""
    frames = [f for f in frames if len(f)]
    combined = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CATALOG_COLUMNS)
    )
    validate_catalog(combined, origin="catalog")
    return sort_catalog(combined)
