"""DigitalOcean: GET /v2/sizes (paginated through links.pages.next).

Memory is published in MB (1024 MB = 1 GiB). Hourly and monthly prices are both published and
their ratio varies, so both are kept; float artefacts such as 0.00743999984115362 are rounded to
6 decimal places (DigitalOcean prices have at most 5). One row per listed region; sizes with
`available: false` or no regions are not offers.
"""

from __future__ import annotations

import math

from servecost.errors import DataError

NAME = "digitalocean"
# Billings this live source can produce; snapshot rows of other billings are kept.
BILLINGS = {"on_demand"}
TOKEN_ENV = "DIGITALOCEAN_TOKEN"
ORIGIN = "https://api.digitalocean.com"
PATH = "/v2/sizes"
PER_PAGE = 200
LIST_KEY = "sizes"
CURRENCY = "USD"
PRICE_DECIMALS = 6


def fetch(client, regions=None) -> dict:
    items: list = []

    def next_url(page, url):
        return ((page.get("links") or {}).get("pages") or {}).get("next")

    total = None
    for page in client.paginate(
        f"{client.url(PATH)}?page=1&per_page={PER_PAGE}", next_url=next_url
    ):
        if not isinstance(page.get(LIST_KEY), list):
            raise client.error(client.urls[-1], f"response has no {LIST_KEY!r} list")
        items.extend(page[LIST_KEY])
        total = (page.get("meta") or {}).get("total", total)
    return {
        LIST_KEY: items,
        "links": {},
        "meta": {"total": total if total is not None else len(items)},
    }


def _number(value, *, where: str, field: str, required: bool = True):
    if value is None or value == "":
        if required:
            raise DataError(f"{where} field {field!r}: is required but missing")
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{where} field {field!r}: cannot read {value!r} as a number") from None
    if not math.isfinite(number):
        raise DataError(f"{where} field {field!r}: must be finite, got {value!r}")
    return number


def gpu_model(model: str | None) -> str | None:
    """'nvidia_h100' -> 'H100', 'amd_mi300x' -> 'MI300X'."""
    if not model:
        return None
    name = str(model)
    for vendor in ("nvidia_", "amd_", "intel_"):
        if name.lower().startswith(vendor):
            name = name[len(vendor) :]
    return name.replace("_", " ").upper()


def normalise(body: dict, *, origin: str, regions=None) -> list[dict]:
    if not isinstance(body, dict) or not isinstance(body.get(LIST_KEY), list):
        raise DataError(f"{origin}: expected an object with a {LIST_KEY!r} list")
    wanted = {r.lower() for r in regions} if regions else None
    rows = []
    for position, size in enumerate(body[LIST_KEY]):
        slug = size.get("slug")
        where = f"{origin}: size {slug or f'#{position + 1}'}"
        if not slug:
            raise DataError(f"{where} field 'slug': is required but empty")
        if size.get("available") is False or not size.get("regions"):
            continue
        hourly = _number(size.get("price_hourly"), where=where, field="price_hourly")
        monthly = _number(
            size.get("price_monthly"), where=where, field="price_monthly", required=False
        )
        memory_mb = _number(size.get("memory"), where=where, field="memory", required=False)
        gpu = size.get("gpu_info") or {}
        count = gpu.get("count")
        vram = (gpu.get("vram") or {}).get("amount")
        unit = str((gpu.get("vram") or {}).get("unit", "gib")).lower()
        per_gpu = None
        if vram is not None and count:
            per_gpu = float(vram) / int(count) * (1.0 if unit == "gib" else 1 / 1024)
        for region in size["regions"]:
            if wanted is not None and str(region).lower() not in wanted:
                continue
            rows.append(
                {
                    "instance_type": slug,
                    "region": str(region).lower(),
                    "billing": "on_demand",
                    "vcpus": size.get("vcpus"),
                    "memory_gib": None if memory_mb is None else memory_mb / 1024,
                    "arch": "x86_64",
                    "gpu_model": gpu_model(gpu.get("model")),
                    "gpu_count": count,
                    "gpu_memory_gib": per_gpu,
                    "price_hour": round(hourly, PRICE_DECIMALS),
                    "price_month": None if monthly is None else round(monthly, PRICE_DECIMALS),
                    "currency": CURRENCY,
                }
            )
    return rows
