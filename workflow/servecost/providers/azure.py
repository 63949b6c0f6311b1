"""Azure Retail Prices: GET /api/retail/prices?$filter=... (NextPageLink until null; no auth).

Kept: Virtual Machines, type "Consumption", unit "1 Hour", Linux (productName without
"Windows"). skuName "... Spot" -> billing spot, otherwise on_demand. Dropped: Windows, Low
Priority, DevTestConsumption, Cloud Services and every Reservation row (its retailPrice is the
total for the 1- or 3-year term although unitOfMeasure says "1 Hour", so it is never an hourly
rate; reserved pricing is not mapped). A meter shared by several SKUs yields one row per
armSkuName; repeated keys are de-duplicated (latest effectiveStartDate, then the primary meter
region, then the lowest price).
"""

from __future__ import annotations

import math
import re

from servecost.errors import DataError

NAME = "azure"
# Billings this live source can produce; snapshot rows of other billings are kept.
BILLINGS = {"on_demand", "spot"}
TOKEN_ENV = None
ORIGIN = "https://prices.azure.com"
PATH = "/api/retail/prices"
LIST_KEY = "Items"
API_VERSION = "2023-01-01-preview"
DEFAULT_REGIONS = ["eastus"]


def build_filter(regions) -> str:
    clauses = ["serviceName eq 'Virtual Machines'", "priceType eq 'Consumption'"]
    regions = [r.lower() for r in (regions or DEFAULT_REGIONS)]
    if regions:
        either = " or ".join(f"armRegionName eq '{r}'" for r in regions)
        clauses.append(f"({either})" if len(regions) > 1 else either)
    return " and ".join(clauses)


def fetch(client, regions=None) -> dict:
    items: list = []
    first = client.url(PATH)
    params = {"api-version": API_VERSION, "$filter": build_filter(regions)}

    def next_url(page, url):
        return page.get("NextPageLink")

    currency = None
    for page in client.paginate(first, params=params, next_url=next_url):
        if not isinstance(page.get(LIST_KEY), list):
            raise client.error(client.urls[-1], f"response has no {LIST_KEY!r} list")
        items.extend(page[LIST_KEY])
        currency = page.get("BillingCurrency", currency)
    return {
        "BillingCurrency": currency or "USD",
        "CustomerEntityId": "Default",
        "CustomerEntityType": "Retail",
        LIST_KEY: items,
        "NextPageLink": None,
        "Count": len(items),
    }


_ARM_SUFFIX = re.compile(r"^Standard_[A-Z]+\d+(?:-\d+)?([a-z]*)_", re.ASCII)


def arch_from_sku(arm_sku: str) -> str:
    """Azure size names mark Arm (Ampere/Cobalt) sizes with a 'p' feature letter: D4ps_v5."""
    match = _ARM_SUFFIX.match(arm_sku)
    return "arm64" if match and "p" in match.group(1) else "x86_64"


def _keep(item: dict) -> str | None:
    """The billing for a row worth keeping, or None."""
    if item.get("type") != "Consumption":  # Reservation, DevTestConsumption
        return None
    if item.get("serviceName", "Virtual Machines") != "Virtual Machines":
        return None
    product = str(item.get("productName", ""))
    sku = str(item.get("skuName", ""))
    meter = str(item.get("meterName", ""))
    if "Windows" in product or "Cloud Services" in product:
        return None
    if sku.endswith("Low Priority") or meter.endswith("Low Priority"):
        return None
    if str(item.get("unitOfMeasure", "1 Hour")) != "1 Hour":
        return None
    return "spot" if sku.endswith(" Spot") else "on_demand"


def normalise(body: dict, *, origin: str, regions=None) -> list[dict]:
    if isinstance(body, dict) and "Items" not in body and "retailPrice" in body:
        body = {"Items": [body]}  # a single item, as the docs show it
    if not isinstance(body, dict) or not isinstance(body.get(LIST_KEY), list):
        raise DataError(f"{origin}: expected an object with an {LIST_KEY!r} list")
    wanted = {r.lower() for r in regions} if regions else None
    best: dict[tuple, tuple] = {}
    for position, item in enumerate(body[LIST_KEY]):
        billing = _keep(item)
        if billing is None:
            continue
        sku = item.get("armSkuName")
        where = f"{origin}: item {position + 1} (skuId {item.get('skuId', '?')}, {sku or '?'})"
        for field in ("armSkuName", "armRegionName", "retailPrice", "currencyCode"):
            if item.get(field) in (None, ""):
                raise DataError(f"{where} field {field!r}: is required but empty")
        region = str(item["armRegionName"]).lower()
        if wanted is not None and region not in wanted:
            continue
        try:
            price = float(item["retailPrice"])
        except (TypeError, ValueError):
            raise DataError(
                f"{where} field 'retailPrice': cannot read {item['retailPrice']!r} as a number"
            ) from None
        if not math.isfinite(price):
            raise DataError(f"{where} field 'retailPrice': must be finite, got {price!r}")
        row = {
            "instance_type": str(sku),
            "region": region,
            "billing": billing,
            "arch": arch_from_sku(str(sku)),
            "price_hour": price,
            "price_month": None,
            "currency": str(item["currencyCode"]),
        }
        key = (row["instance_type"], region, billing)
        # Preference: newest price, then the primary meter region, then the lowest price.
        rank = (
            str(item.get("effectiveStartDate", "")),
            bool(item.get("isPrimaryMeterRegion")),
            -price,
        )
        if key not in best or rank > best[key][0]:
            best[key] = (rank, row)
    return [row for _, row in best.values()]
