"""AWS EC2 through the Price List Bulk API (no auth).

fetch: offer index -> EC2 region index -> the region's current offer file (JSON, or CSV: the
same path with .csv), streamed to disk. normalise: streams the offer file, so peak memory
depends on the number of offers kept, not on the size of the file (hundreds of MB). CSV: each
raw line is tested for the words a kept line must hold and only candidates are parsed (csv
module). JSON: an incremental reader decodes one product or one SKU's terms at a time and stops
after the OnDemand terms. tests/perf/ measures both against loading the whole file.

Kept: productFamily "Compute Instance" (or its bare-metal variant), operatingSystem Linux,
preInstalledSw NA, licenseModel "No License required", tenancy Shared, capacitystatus Used,
usagetype containing BoxUsage, marketoption OnDemand (where present); the OnDemand term's
"Hrs" price dimension. Reserved terms and upfront "Quantity" dimensions are never read as
hourly prices.
"""

from __future__ import annotations

import csv
import functools
import json
import math
import re
from pathlib import Path

from servecost.errors import DataError

NAME = "aws"
# Billings this live source can produce; snapshot rows of other billings are kept.
BILLINGS = {"on_demand"}
TOKEN_ENV = None
ORIGIN = "https://pricing.us-east-1.amazonaws.com"
OFFER_INDEX = "/offers/v1.0/aws/index.json"
REGION_INDEX = "/offers/v1.0/aws/AmazonEC2/current/region_index.json"
SERVICE = "AmazonEC2"
DEFAULT_REGIONS = ["us-east-1"]
COMPUTE_FAMILIES = {"compute instance", "compute instance (bare metal)"}
MANIFEST_KEY = "servecost_aws_offer_files"
MAX_VALUE_CHARS = 64 << 20  # one product or one SKU's terms; real ones are a few KB
READ_CHARS = 1 << 20

# Older offer files have no regionCode attribute; their location names map to these codes.
LOCATION_REGION = {
    "US East (N. Virginia)": "us-east-1",
    "US East (Ohio)": "us-east-2",
    "US West (N. California)": "us-west-1",
    "US West (Oregon)": "us-west-2",
    "EU (Frankfurt)": "eu-central-1",
    "EU (Ireland)": "eu-west-1",
    "EU (London)": "eu-west-2",
    "EU (Paris)": "eu-west-3",
    "EU (Stockholm)": "eu-north-1",
    "Asia Pacific (Tokyo)": "ap-northeast-1",
    "Asia Pacific (Singapore)": "ap-southeast-1",
    "Asia Pacific (Sydney)": "ap-southeast-2",
    "Asia Pacific (Mumbai)": "ap-south-1",
    "Canada (Central)": "ca-central-1",
    "South America (Sao Paulo)": "sa-east-1",
}

# GPU model by instance family, where the offer file has only a GPU count.
GPU_BY_FAMILY = {
    "p2": "K80",
    "p3": "V100",
    "p3dn": "V100",
    "p4d": "A100",
    "p4de": "A100",
    "p5": "H100",
    "p5e": "H200",
    "p5en": "H200",
    "p6-b200": "B200",
    "g3": "M60",
    "g4dn": "T4",
    "g4ad": "Radeon Pro V520",
    "g5": "A10G",
    "g5g": "T4G",
    "g6": "L4",
    "g6e": "L40S",
    "gr6": "L4",
    "g6f": "L4",
}


# -- fetch ---------------------------------------------------------------------------------
def offer_url(client, region: str, fmt: str = "json") -> str:
    """The region's current EC2 offer file URL (walks offer index -> region index)."""
    index = client.get_json(client.url(OFFER_INDEX))
    try:
        region_index_path = index["offers"][SERVICE]["currentRegionIndexUrl"]
    except (KeyError, TypeError):
        region_index_path = REGION_INDEX
    regions = client.get_json(client.url(region_index_path))
    try:
        path = regions["regions"][region]["currentVersionUrl"]
    except (KeyError, TypeError):
        raise client.error(
            client.urls[-1], f"region {region!r} is not in the EC2 region index"
        ) from None
    if fmt == "csv":
        path = re.sub(r"\.json$", ".csv", path)
    return client.url(path)


def fetch_offer(client, region: str, path, fmt: str = "json") -> dict:
    url = offer_url(client, region, fmt)
    return {"region": region, **client.download(url, path, expect=fmt)}


# -- normalise -------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)
def _key(name: str) -> str:
    """CSV header 'Pre Installed S/W' and JSON attribute 'preInstalledSw' -> 'preinstalledsw'."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def keep_product(attrs: dict, family: str) -> bool:
    if family.lower() not in COMPUTE_FAMILIES:
        return False
    license_model = attrs.get("licensemodel", "No License required")
    return (
        attrs.get("operatingsystem") == "Linux"
        and attrs.get("preinstalledsw", "NA") == "NA"
        and attrs.get("tenancy") == "Shared"
        and attrs.get("capacitystatus") == "Used"
        and "BoxUsage" in attrs.get("usagetype", "")
        and license_model in ("No License required", "")
        and attrs.get("marketoption", "OnDemand") in ("OnDemand", "")
        and bool(attrs.get("instancetype"))
    )


def parse_quantity(value) -> float | None:
    """'8 GiB' -> 8.0, '1' -> 1.0, '1,952 GiB' -> 1952.0, 'NA'/'' -> None."""
    if value is None:
        return None
    text = str(value).strip().replace(",", "")
    if text in ("", "NA", "N/A"):
        return None
    match = re.match(r"^(\d+(?:\.\d+)?)\s*(GiB|GB|TiB|TB|MiB|MB)?$", text, re.IGNORECASE)
    if not match:
        return None
    number = float(match.group(1))
    unit = (match.group(2) or "").lower()
    return number * {"tib": 1024, "tb": 1024, "mib": 1 / 1024, "mb": 1 / 1024}.get(unit, 1.0)


def _arch(attrs: dict) -> str:
    processor = attrs.get("physicalprocessor", "")
    architecture = attrs.get("processorarchitecture", "")
    if "graviton" in processor.lower() or "arm" in architecture.lower():
        return "arm64"
    return "x86_64"


def product_row(attrs: dict, *, region_hint: str | None) -> dict:
    instance_type = attrs["instancetype"]
    gpu_count = parse_quantity(attrs.get("gpu"))
    gpu_total = parse_quantity(attrs.get("gpumemory"))
    family = instance_type.split(".")[0]
    gpu_model = attrs.get("gpumodel") or attrs.get("gputype") or None
    if gpu_count:
        gpu_model = gpu_model or GPU_BY_FAMILY.get(family)
    else:
        gpu_count = None
    processor = attrs.get("physicalprocessor", "")
    return {
        "instance_type": instance_type,
        "region": attrs.get("regioncode")
        or region_hint
        or LOCATION_REGION.get(attrs.get("location", ""), ""),
        "billing": "on_demand",
        "vcpus": parse_quantity(attrs.get("vcpu")),
        "memory_gib": parse_quantity(attrs.get("memory")),
        "arch": _arch(attrs),
        "cpu_model": processor if processor not in ("", "NA") else None,
        "gpu_model": gpu_model if gpu_count else None,
        "gpu_count": int(gpu_count) if gpu_count else None,
        # AWS publishes the instance's total GPU memory; the catalog holds it per GPU.
        "gpu_memory_gib": gpu_total / gpu_count if gpu_count and gpu_total else None,
    }


class _Offers:
    """Collects kept products and their OnDemand hourly prices; joins them at the end."""

    def __init__(self, origin: str, region_hint: str | None):
        self.origin = origin
        self.region_hint = region_hint
        self.products: dict[str, dict] = {}
        self.prices: dict[str, tuple[float, str, str]] = {}
        self.terms_first = False

    def add_product(self, sku: str, family: str, attrs: dict) -> None:
        if keep_product(attrs, family):
            self.products[sku] = product_row(attrs, region_hint=self.region_hint)

    def add_price(self, sku: str, term_type: str, unit: str, prices: dict, where: str) -> None:
        if term_type != "OnDemand" or unit != "Hrs":
            return  # Reserved terms, upfront "Quantity" fees
        if not self.terms_first and sku not in self.products:
            return
        if not prices:
            raise DataError(f"{where} field 'pricePerUnit': is required but empty")
        currency, value = next(iter(sorted(prices.items())))
        try:
            price = float(value)
        except (TypeError, ValueError):
            raise DataError(
                f"{where} field 'pricePerUnit': cannot read {value!r} as a number"
            ) from None
        if not math.isfinite(price):
            raise DataError(f"{where} field 'pricePerUnit': must be finite, got {value!r}")
        previous = self.prices.get(sku)
        if previous is not None and previous[0] != price:
            raise DataError(
                f"{where}: SKU {sku} has two OnDemand hourly prices ({previous[0]} and {price})"
            )
        self.prices[sku] = (price, currency, where)

    def rows(self) -> list[dict]:
        rows, seen = [], {}
        for sku in sorted(self.products):
            if sku not in self.prices:
                continue  # a kept product without an OnDemand price (e.g. a trimmed file)
            row = dict(self.products[sku])
            row["price_hour"], row["currency"], _ = self.prices[sku]
            row["price_month"] = None
            key = (row["instance_type"], row["region"])
            if key in seen:
                raise DataError(
                    f"{self.origin}: SKU {sku} field 'instance_type': duplicate offer "
                    f"{key[0]} in {key[1] or '?'} (also SKU {seen[key]})"
                )
            seen[key] = sku
            rows.append(row)
        return rows


# -- CSV ---------------------------------------------------------------------------------
# Every kept line holds these words (TermType OnDemand, Unit Hrs, a ...BoxUsage... usage type,
# operating system Linux, tenancy Shared, capacity status Used). Testing the raw bytes for them
# skips CSV parsing for the ~95 % of a region file's lines that cannot be kept (other operating
# systems, Reserved terms, upfront fees, dedicated hosts, capacity reservations).
KEEP_WORDS = (b"OnDemand", b"BoxUsage", b"Hrs", b"Linux", b"Shared", b"Used")


def _term_type_pattern(term_type_field: int) -> re.Pattern:
    """The TermType field of a line whose leading fields are quoted and hold no quote or newline.

    AWS quotes every field, so nearly every line matches; reading one early field this way costs
    a fraction of searching the whole line for the keep words.
    """
    return re.compile(rb'(?:"[^"\n]*",){%d}"([^"\n]*)"' % term_type_field)


def _may_keep(line: bytes, term_type: re.Pattern) -> bool:
    """False only for a line that cannot be kept."""
    match = term_type.match(line)
    if match is not None and match.group(1) != b"OnDemand":
        return False
    return all(word in line for word in KEEP_WORDS)


def _ends_record(line: bytes) -> bool:
    """A line ending in a closing quote ends its record (an opening quote follows a comma).

    Other lines need their quotes counted to tell whether a quoted field runs on to the next.
    """
    body = line.rstrip(b"\r\n")
    return body[-1:] == b'"' and body[-2:-1] not in (b'"', b",", b"")


def _csv_records(handle, line_number: int):
    """(number of the record's first line, raw record) for each record after the header."""
    pending, first = b"", line_number
    for line in handle:
        line_number += 1
        if pending:
            pending += line
            if pending.count(b'"') % 2 == 0:
                yield first, pending
                pending = b""
        elif _ends_record(line) or line.count(b'"') % 2 == 0:
            yield line_number, line
        else:
            pending, first = line, line_number
    if pending:
        yield first, pending


def _parse_line(record: bytes) -> list[str]:
    return next(csv.reader([record.decode("utf-8")]), [])


def normalise_csv(path, *, origin: str, region_hint: str | None = None) -> list[dict]:
    offers = _Offers(origin, region_hint)
    offers.terms_first = True  # each CSV line carries product and price together
    with open(path, "rb") as handle:
        header = None
        line_number = 0
        while line_number < 20:
            line = handle.readline()
            if not line:
                break
            line_number += 1
            row = _parse_line(line)
            if row and row[0] == "SKU":
                header = [_key(name) for name in row]
                break
        if header is None:
            raise DataError(
                f"{origin}: no 'SKU' header line in the first 20 lines (not an offer CSV?)"
            )
        index = {name: i for i, name in enumerate(header)}
        for needed in ("sku", "termtype", "unit", "priceperunit", "currency", "productfamily"):
            if needed not in index:
                raise DataError(f"{origin}: offer CSV has no {needed!r} column")
        width = len(header)
        term_type, unit = index["termtype"], index["unit"]
        term_type_pattern = _term_type_pattern(term_type)
        last = None
        for record_line, record in _csv_records(handle, line_number):
            last = (record_line, record)
            if not _may_keep(record, term_type_pattern):
                continue
            last = None
            row = _parse_line(record)
            _check_width(row, width, origin, record_line)
            if row[term_type] != "OnDemand" or row[unit] != "Hrs":
                continue
            attrs = {name: row[i] for name, i in index.items()}
            if not keep_product(attrs, attrs["productfamily"]):
                continue
            sku = attrs["sku"]
            offers.products.setdefault(sku, product_row(attrs, region_hint=region_hint))
            offers.add_price(
                sku,
                "OnDemand",
                "Hrs",
                {attrs["currency"] or "USD": attrs["priceperunit"]},
                f"{origin}: line {record_line} (SKU {sku})",
            )
        if last is not None:
            # A file cut short ends in a partial line, whether or not it could have been kept.
            _check_width(_parse_line(last[1]), width, origin, last[0])
    return offers.rows()


def _check_width(row: list[str], width: int, origin: str, line_number: int) -> None:
    if len(row) != width:
        raise DataError(
            f"{origin}: line {line_number}: {len(row)} fields, expected {width} (truncated file?)"
        )


# -- JSON, incrementally -----------------------------------------------------------------
# Offer files are indented: skipping a run of whitespace in one regex call beats a Python loop.
JSON_WHITESPACE = re.compile(r"[ \t\r\n]*")


class _Reader:
    """Walks a JSON document held in a file, decoding one bounded value at a time."""

    def __init__(self, handle, origin: str):
        self.handle = handle
        self.origin = origin
        self.buffer = ""
        self.pos = 0
        self.eof = False
        self.decoder = json.JSONDecoder()

    def _more(self) -> bool:
        if self.eof:
            return False
        chunk = self.handle.read(READ_CHARS)
        if not chunk:
            self.eof = True
            return False
        if self.pos > READ_CHARS:
            self.buffer = self.buffer[self.pos :]
            self.pos = 0
        self.buffer += chunk
        return True

    def fail(self, message: str) -> DataError:
        return DataError(f"{self.origin}: {message}")

    def peek(self) -> str:
        while True:
            self.pos = JSON_WHITESPACE.match(self.buffer, self.pos).end()
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._more():
                raise self.fail("truncated JSON (file ends early)")

    def expect(self, char: str) -> None:
        found = self.peek()
        if found != char:
            raise self.fail(f"invalid JSON: expected {char!r}, found {found!r}")
        self.pos += 1

    def value(self):
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as exc:
                if len(self.buffer) - self.pos > MAX_VALUE_CHARS:
                    raise self.fail(f"invalid JSON: {exc}") from None
                if not self._more():
                    raise self.fail(f"truncated or invalid JSON: {exc}") from None
                continue
            if end >= len(self.buffer) and self._more():
                continue  # a number may go on in the next chunk
            self.pos = end
            return value

    def members(self):
        """Yield the keys of the object that starts here; the caller consumes each value."""
        self.expect("{")
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            if self.peek() != '"':
                raise self.fail(f"invalid JSON: expected an object key, found {self.peek()!r}")
            key = self.value()
            self.expect(":")
            yield key
            separator = self.peek()
            self.pos += 1
            if separator == "}":
                return
            if separator != ",":
                raise self.fail(f"invalid JSON: expected ',' or '}}', found {separator!r}")


def normalise_json(path, *, origin: str, region_hint: str | None = None) -> list[dict]:
    offers = _Offers(origin, region_hint)
    seen_products = False
    with open(path, encoding="utf-8") as handle:
        reader = _Reader(handle, origin)
        for top in reader.members():
            if top == "products":
                seen_products = True
                for sku in reader.members():
                    product = reader.value()
                    if not isinstance(product, dict):
                        raise reader.fail(f"product {sku}: expected an object")
                    attrs = {_key(k): str(v) for k, v in (product.get("attributes") or {}).items()}
                    offers.add_product(sku, str(product.get("productFamily", "")), attrs)
            elif top == "terms":
                if not seen_products:
                    offers.terms_first = True
                if _read_terms(reader, offers, origin, products_read=seen_products):
                    _check_document_end(path, origin)
                    break
            else:
                reader.value()
    if not seen_products:
        raise DataError(f"{origin}: no 'products' in the offer file")
    return offers.rows()


def _read_terms(reader: _Reader, offers: _Offers, origin: str, *, products_read: bool) -> bool:
    """Read the OnDemand prices; True if it stopped early with nothing left to read.

    Reserved terms are most of a region file and never priced here. With the products and the
    OnDemand terms read (AWS writes products, then OnDemand, then Reserved), nothing after them
    can change the catalog, so the rest of the file is not parsed.
    """
    seen_on_demand = False
    for term_type in reader.members():
        if term_type != "OnDemand" and products_read and seen_on_demand:
            return True
        seen_on_demand = seen_on_demand or term_type == "OnDemand"
        for sku in reader.members():
            terms = reader.value()
            if term_type != "OnDemand" or not isinstance(terms, dict):
                continue
            add_term_prices(offers, sku, term_type, terms, origin)
    return False


def add_term_prices(offers, sku: str, term_type: str, terms: dict, origin: str) -> None:
    """Every price dimension of one SKU's terms of one type (JSON offer-file shape)."""
    for code, term in terms.items():
        for rate, dim in (term.get("priceDimensions") or {}).items():
            offers.add_price(
                sku,
                term_type,
                str(dim.get("unit", "")),
                dim.get("pricePerUnit") or {},
                f"{origin}: SKU {sku} term {code} rate {rate}",
            )


def _check_document_end(path, origin: str) -> None:
    """A download cut short in the unread part still fails: the document must close."""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        handle.seek(max(0, handle.tell() - 256))
        tail = handle.read().rstrip()
    if not tail.endswith(b"}"):
        raise DataError(f"{origin}: truncated JSON (file ends early)")


def is_csv(path) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(256).lstrip()
    return not head.startswith(b"{")


def normalise_path(path, *, origin: str, region_hint: str | None = None) -> list[dict]:
    if is_csv(path):
        return normalise_csv(path, origin=origin, region_hint=region_hint)
    return normalise_json(path, origin=origin, region_hint=region_hint)


def manifest_files(path) -> dict[str, Path] | None:
    """A multi-region fetch writes a small manifest naming one offer file per region."""
    path = Path(path)
    if path.stat().st_size > 1 << 16:
        return None
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict) or MANIFEST_KEY not in body:
        return None
    return {region: path.parent / name for region, name in body[MANIFEST_KEY].items()}
