"""The obvious way to normalise an offer file, kept as the benchmark's yardstick: load the whole
file (pandas.read_csv / json.load), then filter. Filtering and joining use the library's own
rules (aws.keep_product, aws.product_row, the same OnDemand join), so only the reading differs
from the streaming normaliser and the two must agree row for row."""

from __future__ import annotations

import json

import pandas as pd
from servecost.providers import aws

METADATA_LINES = 5  # FormatVersion, Disclaimer, Publication Date, Version, OfferCode


def normalise_csv(path, *, origin: str, region_hint: str | None = None) -> list[dict]:
    frame = pd.read_csv(path, skiprows=METADATA_LINES, dtype=str, keep_default_na=False)
    frame.columns = [aws._key(name) for name in frame.columns]
    on_demand = frame[(frame["termtype"] == "OnDemand") & (frame["unit"] == "Hrs")]
    offers = aws._Offers(origin, region_hint)
    offers.terms_first = True
    for position, attrs in zip(on_demand.index, on_demand.to_dict("records"), strict=True):
        if not aws.keep_product(attrs, attrs["productfamily"]):
            continue
        sku = attrs["sku"]
        offers.products.setdefault(sku, aws.product_row(attrs, region_hint=region_hint))
        offers.add_price(
            sku,
            "OnDemand",
            "Hrs",
            {attrs["currency"] or "USD": attrs["priceperunit"]},
            f"{origin}: row {position} (SKU {sku})",
        )
    return offers.rows()


def normalise_json(path, *, origin: str, region_hint: str | None = None) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    offers = aws._Offers(origin, region_hint)
    for sku, product in document["products"].items():
        attrs = {aws._key(k): str(v) for k, v in (product.get("attributes") or {}).items()}
        offers.add_product(sku, str(product.get("productFamily", "")), attrs)
    for term_type, by_sku in document["terms"].items():
        for sku, terms in by_sku.items():
            aws.add_term_prices(offers, sku, term_type, terms, origin)
    return offers.rows()
