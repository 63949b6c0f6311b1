"""Hetzner Cloud: GET /v1/server_types (paginated page/per_page, meta.pagination.next_page).

Prices are decimal strings per location, net and gross, hourly and monthly. The net figure is the
price (the catalog is net of VAT); vat_rate = gross/net - 1 rounded to 4 places. The monthly
price is a cap, so both published figures are kept as published (not hourly x 730).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from servecost.errors import DataError

NAME = "hetzner"
# Billings this live source can produce; snapshot rows of other billings are kept.
BILLINGS = {"on_demand"}
TOKEN_ENV = "HCLOUD_TOKEN"
ORIGIN = "https://api.hetzner.cloud"
PATH = "/v1/server_types"
PER_PAGE = 50
LIST_KEY = "server_types"
CURRENCY = "EUR"
ARCH = {"x86": "x86_64", "arm": "arm64"}


def fetch(client, regions=None) -> dict:
    """All pages merged into one body of the API's own shape."""
    items: list = []
    base = client.url(PATH)

    def next_url(page, url):
        pagination = (page.get("meta") or {}).get("pagination") or {}
        following = pagination.get("next_page")
        if not following:
            return None
        return f"{base}?page={int(following)}&per_page={PER_PAGE}"

    for page in client.paginate(f"{base}?page=1&per_page={PER_PAGE}", next_url=next_url):
        if not isinstance(page.get(LIST_KEY), list):
            raise client.error(client.urls[-1], f"response has no {LIST_KEY!r} list")
        items.extend(page[LIST_KEY])
    total = len(items)
    pagination = {
        "page": 1,
        "per_page": total,
        "previous_page": None,
        "next_page": None,
        "last_page": 1,
        "total_entries": total,
    }
    return {LIST_KEY: items, "meta": {"pagination": pagination}}


def _decimal(value, *, where: str, field: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        raise DataError(f"{where} field {field!r}: cannot read {value!r} as a decimal") from None
    if not number.is_finite():
        raise DataError(f"{where} field {field!r}: must be finite, got {value!r}")
    return number


def _deprecated(entry: dict) -> bool:
    return bool(entry.get("deprecated")) or entry.get("deprecation") not in (None, {}, "")


def normalise(body: dict, *, origin: str, regions=None) -> list[dict]:
    if not isinstance(body, dict) or not isinstance(body.get(LIST_KEY), list):
        raise DataError(f"{origin}: expected an object with a {LIST_KEY!r} list")
    wanted = {r.lower() for r in regions} if regions else None
    rows = []
    for position, server_type in enumerate(body[LIST_KEY]):
        name = server_type.get("name")
        where = f"{origin}: server type {name or f'#{position + 1}'}"
        if not name:
            raise DataError(f"{where} field 'name': is required but empty")
        if _deprecated(server_type):
            continue
        # 2025 API: per-location availability and deprecation.
        locations = {loc.get("name"): loc for loc in server_type.get("locations") or []}
        arch = ARCH.get(str(server_type.get("architecture", "")).lower())
        for price in server_type.get("prices") or []:
            location = str(price.get("location") or "")
            where_loc = f"{where} location {location or '?'}"
            if not location:
                raise DataError(f"{where_loc} field 'location': is required but empty")
            info = locations.get(location)
            if info is not None and (_deprecated(info) or info.get("available") is False):
                continue
            if wanted is not None and location.lower() not in wanted:
                continue
            try:
                hourly, monthly = price["price_hourly"], price["price_monthly"]
                net_h = _decimal(hourly["net"], where=where_loc, field="price_hourly.net")
                net_m = _decimal(monthly["net"], where=where_loc, field="price_monthly.net")
            except (KeyError, TypeError) as exc:
                raise DataError(
                    f"{where_loc} field {str(exc)!r}: is required but missing"
                ) from None
            vat = None
            if hourly.get("gross") not in (None, "") and net_h > 0:
                gross_h = _decimal(hourly["gross"], where=where_loc, field="price_hourly.gross")
                vat = float(round(gross_h / net_h - 1, 4))
            rows.append(
                {
                    "instance_type": name,
                    "region": location,
                    "billing": "on_demand",
                    "vcpus": server_type.get("cores"),
                    "memory_gib": server_type.get("memory"),
                    "arch": arch,
                    "price_hour": float(net_h),
                    "price_month": float(net_m),
                    "currency": CURRENCY,
                    "vat_rate": vat,
                }
            )
    return rows
