"""Lambda Cloud: GET /api/v1/instance-types (API key from LAMBDA_API_KEY).

Prices are integer cents per hour -> USD per hour; only hourly prices are published, so
price_month = price_hour x 730. Lambda's price for a type does not depend on the region and
`regions_with_capacity_available` changes minute by minute, so every type is one offer with
region "" (a type with no capacity right now is still an offer); --region is ignored.
"""

from __future__ import annotations

import math
import re

from servecost.errors import DataError

NAME = "lambda"
# Billings this live source can produce; snapshot rows of other billings are kept.
BILLINGS = {"on_demand"}
TOKEN_ENV = "LAMBDA_API_KEY"
ORIGIN = "https://cloud.lambdalabs.com"
PATH = "/api/v1/instance-types"
CURRENCY = "USD"
ARM_GPUS = ("GH200",)

# "1x RTX A100 (24 GB)", "8x H100 (80 GB SXM5)", "A100 (40 GB SXM4)"
_DESCRIPTION = re.compile(r"^\s*(?:(\d+)x\s+)?(.+?)\s*\((\d+(?:\.\d+)?)\s*GB\b", re.IGNORECASE)
_NAME_COUNT = re.compile(r"^gpu_(\d+)x_")


def fetch(client, regions=None) -> dict:
    return client.get_json(client.url(PATH))


def _gpu(instance_type: dict) -> tuple[str | None, int | None, float | None]:
    model = memory = None
    count = None
    for text in (instance_type.get("gpu_description"), instance_type.get("description")):
        match = _DESCRIPTION.match(str(text or ""))
        if match:
            if match.group(1):
                count = int(match.group(1))
            model = match.group(2).strip()
            memory = float(match.group(3))
            break
    specs = instance_type.get("specs") or {}
    if specs.get("gpus") not in (None, ""):
        count = int(specs["gpus"])
    if count is None:
        match = _NAME_COUNT.match(str(instance_type.get("name", "")))
        count = int(match.group(1)) if match else None
    return model, count, memory


def normalise(body: dict, *, origin: str, regions=None) -> list[dict]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise DataError(f"{origin}: expected an object with a 'data' mapping")
    rows = []
    for key, entry in data.items():
        instance_type = (entry or {}).get("instance_type") or {}
        name = instance_type.get("name") or key
        where = f"{origin}: instance type {name}"
        cents = instance_type.get("price_cents_per_hour")
        if cents in (None, ""):
            raise DataError(f"{where} field 'price_cents_per_hour': is required but missing")
        try:
            price = float(cents) / 100.0
        except (TypeError, ValueError):
            raise DataError(
                f"{where} field 'price_cents_per_hour': cannot read {cents!r} as a number"
            ) from None
        if not math.isfinite(price):
            raise DataError(f"{where} field 'price_cents_per_hour': must be finite, got {cents!r}")
        specs = instance_type.get("specs") or {}
        model, count, memory = _gpu(instance_type)
        arch = "arm64" if model and any(g in model.upper() for g in ARM_GPUS) else "x86_64"
        rows.append(
            {
                "instance_type": str(name),
                "region": "",
                "billing": "on_demand",
                "vcpus": specs.get("vcpus"),
                "memory_gib": specs.get("memory_gib"),
                "arch": arch,
                "gpu_model": model,
                "gpu_count": count,
                "gpu_memory_gib": memory,
                "price_hour": round(price, 6),
                "price_month": None,
                "currency": CURRENCY,
            }
        )
    return rows
