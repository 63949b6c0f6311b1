"""Real-shaped synthetic AWS EC2 per-region offer files (Bulk API CSV and JSON) of a chosen size.

The shape follows the published files: the CSV has its 5 metadata lines, then the header with the
Bulk API column spelling (every field quoted) and one line per price dimension; the JSON has
`products` (sku -> productFamily + attributes) followed by `terms` -> OnDemand / Reserved -> sku ->
term -> priceDimensions. Like a real region file, almost every line is discarded: each instance
type has one Linux / Shared / Used / no-software product among dozens of other operating systems,
licences, tenancies and capacity reservations, and every product carries 12 Reserved terms beside
its OnDemand one. A file grows by adding such discarded products, so the kept catalog (one offer
per instance type) is the same at every size, and peak memory can be compared across sizes.
"""

from __future__ import annotations

import json
from pathlib import Path

REGION = "us-east-2"
LOCATION = "US East (Ohio)"
USAGE_PREFIX = "USE2-"
PUBLICATION = "2023-03-22T14:56:51Z"
VERSION = "20230322145651"
EFFECTIVE = "2023-03-01T00:00:00Z"
ON_DEMAND_CODE = "JRTCKXETXF"

# JSON attribute -> its column in the CSV (Bulk API spelling). Only attributes a compute product
# carries; the CSV has further columns (storage, transfer, ...) that stay empty for it.
ATTRIBUTE_COLUMNS = {
    "servicecode": "serviceCode",
    "location": "Location",
    "locationType": "Location Type",
    "instanceType": "Instance Type",
    "currentGeneration": "Current Generation",
    "instanceFamily": "Instance Family",
    "vcpu": "vCPU",
    "physicalProcessor": "Physical Processor",
    "clockSpeed": "Clock Speed",
    "memory": "Memory",
    "storage": "Storage",
    "networkPerformance": "Network Performance",
    "processorArchitecture": "Processor Architecture",
    "tenancy": "Tenancy",
    "operatingSystem": "Operating System",
    "licenseModel": "License Model",
    "usagetype": "usageType",
    "operation": "operation",
    "availabilityzone": "AvailabilityZone",
    "capacitystatus": "CapacityStatus",
    "classicnetworkingsupport": "ClassicNetworkingSupport",
    "dedicatedEbsThroughput": "Dedicated EBS Throughput",
    "ecu": "ECU",
    "enhancedNetworkingSupported": "Enhanced Networking Supported",
    "gpu": "GPU",
    "gpuMemory": "GPU Memory",
    "intelAvxAvailable": "Intel AVX Available",
    "intelAvx2Available": "Intel AVX2 Available",
    "intelTurboAvailable": "Intel Turbo Available",
    "marketoption": "MarketOption",
    "normalizationSizeFactor": "Normalization Size Factor",
    "preInstalledSw": "Pre Installed S/W",
    "processorFeatures": "Processor Features",
    "regionCode": "Region Code",
    "servicename": "serviceName",
    "vpcnetworkingsupport": "VPCNetworkingSupport",
}
TERM_COLUMNS = [
    "SKU",
    "OfferTermCode",
    "RateCode",
    "TermType",
    "PriceDescription",
    "EffectiveDate",
    "StartingRange",
    "EndingRange",
    "Unit",
    "PricePerUnit",
    "Currency",
    "RelatedTo",
    "LeaseContractLength",
    "PurchaseOption",
    "OfferingClass",
    "Product Family",
]
EMPTY_COLUMNS = [
    "Storage Media",
    "Volume Type",
    "Max Volume Size",
    "Max IOPS/volume",
    "Max IOPS Burst Performance",
    "Max throughput/volume",
    "Provisioned",
    "EBS Optimized",
    "Group",
    "Group Description",
    "Transfer Type",
    "From Location",
    "From Location Type",
    "To Location",
    "To Location Type",
    "Elastic Graphics Type",
    "From Region Code",
    "Instance",
    "Instance Capacity - large",
    "Instance Capacity - xlarge",
    "Instance Capacity - metal",
    "instanceSKU",
    "Physical Cores",
    "Product Type",
    "Resource Type",
    "SnapshotArchiveFeeType",
    "To Region Code",
    "Volume API Name",
]
CSV_HEADER = [*TERM_COLUMNS, *ATTRIBUTE_COLUMNS.values(), *EMPTY_COLUMNS]

# (family, processor, arch label, GPUs per xlarge step or 0, GPU memory GiB each, GiB per vCPU)
FAMILIES = [
    ("m5", "Intel Xeon Platinum 8175", "64-bit", 0, 0, 4),
    ("m6i", "Intel Xeon 8375C (Ice Lake)", "64-bit", 0, 0, 4),
    ("m7g", "AWS Graviton3 Processor", "64-bit", 0, 0, 4),
    ("c5", "Intel Xeon Platinum 8124M", "64-bit", 0, 0, 2),
    ("c6g", "AWS Graviton2 Processor", "64-bit", 0, 0, 2),
    ("c7g", "AWS Graviton3 Processor", "64-bit", 0, 0, 2),
    ("r5", "Intel Xeon Platinum 8175", "64-bit", 0, 0, 8),
    ("r7g", "AWS Graviton3 Processor", "64-bit", 0, 0, 8),
    ("t3", "Intel Skylake E5 2686 v5", "64-bit", 0, 0, 4),
    ("g5", "AMD EPYC 7R32", "64-bit", 1, 24, 4),
    ("g6", "AMD EPYC 7R13", "64-bit", 1, 24, 4),
    ("g6e", "AMD EPYC 7R13", "64-bit", 1, 48, 8),
]
SIZES = [("large", 2), ("xlarge", 4), ("2xlarge", 8), ("4xlarge", 16), ("8xlarge", 32)]
# A region file lists several hundred instance types; generations multiply the families above.
GENERATIONS = 12

# Discarded variants of every instance type: (operatingSystem, licenseModel, preInstalledSw,
# tenancy, capacitystatus, usage prefix); the first entry is the one product a type keeps.
KEPT_VARIANT = ("Linux", "No License required", "NA", "Shared", "Used", "BoxUsage")
OTHER_VARIANTS = [
    (os_name, licence, software, tenancy, capacity, usage)
    for os_name, licence, software in [
        ("Linux", "No License required", "SQL Std"),
        ("Linux", "No License required", "SQL Web"),
        ("Windows", "No License required", "NA"),
        ("Windows", "Bring your own license", "NA"),
        ("Windows", "No License required", "SQL Ent"),
        ("RHEL", "No License required", "NA"),
        ("SUSE", "No License required", "NA"),
        ("Red Hat Enterprise Linux with HA", "No License required", "NA"),
        ("Ubuntu Pro", "No License required", "NA"),
    ]
    for tenancy, usage in [("Shared", "BoxUsage"), ("Dedicated", "DedicatedUsage")]
    for capacity in ["Used", "UnusedCapacityReservation", "AllocatedCapacityReservation"]
] + [
    ("Linux", "No License required", "NA", "Dedicated", "Used", "DedicatedUsage"),
    ("Linux", "No License required", "NA", "Shared", "UnusedCapacityReservation", "Reservation"),
    ("Linux", "No License required", "NA", "Shared", "AllocatedCapacityReservation", "Reservation"),
]
RESERVED = [
    (lease, option, offering)
    for lease in ("1yr", "3yr")
    for option in ("No Upfront", "Partial Upfront", "All Upfront")
    for offering in ("standard", "convertible")
]


def instance_types() -> list[dict]:
    """Attributes shared by every product of an instance type (several hundred types)."""
    types = []
    for generation in range(GENERATIONS):
        for family, processor, architecture, gpus, gpu_gib, gib_per_vcpu in FAMILIES:
            name = family if generation == 0 else f"{family}x{generation}"
            for size, vcpus in SIZES:
                gpu_count = gpus * max(1, vcpus // 8) if gpus else 0
                types.append(
                    {
                        "instanceType": f"{name}.{size}",
                        "instanceFamily": "GPU instance" if gpus else "General purpose",
                        "vcpu": str(vcpus),
                        "physicalProcessor": processor,
                        "memory": f"{vcpus * gib_per_vcpu:,} GiB",
                        "processorArchitecture": architecture,
                        "gpu": str(gpu_count) if gpus else "NA",
                        "gpuMemory": f"{gpu_count * gpu_gib} GiB" if gpus else "NA",
                        "normalizationSizeFactor": str(vcpus // 2),
                    }
                )
    return types


def hourly_price(type_index: int, variant: int) -> str:
    """A deterministic price, distinct per product, printed with AWS's 10 decimals."""
    return f"{0.0125 * (type_index % 97 + 1) + 0.0001 * variant:.10f}"


def product_attributes(kind: dict, variant: tuple) -> dict:
    os_name, licence, software, tenancy, capacity, usage = variant
    instance_type = kind["instanceType"]
    return {
        "servicecode": "AmazonEC2",
        "location": LOCATION,
        "locationType": "AWS Region",
        "instanceType": instance_type,
        "currentGeneration": "Yes",
        "instanceFamily": kind["instanceFamily"],
        "vcpu": kind["vcpu"],
        "physicalProcessor": kind["physicalProcessor"],
        "clockSpeed": "3.1 GHz",
        "memory": kind["memory"],
        "storage": "EBS only",
        "networkPerformance": "Up to 10 Gigabit",
        "processorArchitecture": kind["processorArchitecture"],
        "tenancy": tenancy,
        "operatingSystem": os_name,
        "licenseModel": licence,
        "usagetype": f"{USAGE_PREFIX}{usage}:{instance_type}",
        "operation": "RunInstances" if os_name == "Linux" else "RunInstances:0002",
        "availabilityzone": "NA",
        "capacitystatus": capacity,
        "classicnetworkingsupport": "false",
        "dedicatedEbsThroughput": "Up to 2120 Mbps",
        "ecu": "10",
        "enhancedNetworkingSupported": "Yes",
        "gpu": kind["gpu"],
        "gpuMemory": kind["gpuMemory"],
        "intelAvxAvailable": "Yes",
        "intelAvx2Available": "Yes",
        "intelTurboAvailable": "Yes",
        "marketoption": "OnDemand",
        "normalizationSizeFactor": kind["normalizationSizeFactor"],
        "preInstalledSw": software,
        "processorFeatures": "Intel AVX; Intel AVX2; Intel AVX512; Intel Turbo",
        "regionCode": REGION,
        "servicename": "Amazon Elastic Compute Cloud",
        "vpcnetworkingsupport": "true",
    }


def products(count: int, kept: int):
    """(sku, attributes, OnDemand $/h) for `count` products; the first `kept` are kept."""
    types = instance_types()[:kept]
    for index in range(count):
        type_index, round_number = index % len(types), index // len(types)
        if round_number == 0:
            variant = KEPT_VARIANT
        else:
            variant = OTHER_VARIANTS[(round_number - 1 + type_index) % len(OTHER_VARIANTS)]
        sku = f"S{index:07d}{type_index % 997:03d}SYNTH"[:16]
        yield (
            sku,
            product_attributes(types[type_index], variant),
            hourly_price(type_index, round_number),
        )


def reserved_base(hourly: str) -> float:
    """Reserved rates follow the type's base price (AWS prices them per type, not per SKU)."""
    return round(float(hourly), 4)


def price_dimensions(sku: str, hourly: str, os_name: str):
    """(term type, term code, rate code, unit, price, description, lease, option, offering)."""
    yield (
        "OnDemand",
        ON_DEMAND_CODE,
        f"{sku}.{ON_DEMAND_CODE}.6YS6EN2CT7",
        "Hrs",
        hourly,
        f"${float(hourly):.4f} per On Demand {os_name} Instance Hour",
        "",
        "",
        "",
    )
    for n, (lease, option, offering) in enumerate(RESERVED):
        code = f"RES{n:02d}{lease.upper()}"
        discount = 0.6 if lease == "1yr" else 0.4
        if option != "All Upfront":
            rate = reserved_base(hourly) * discount * (0.5 if option == "Partial Upfront" else 1.0)
            yield (
                "Reserved",
                code,
                f"{sku}.{code}.6YS6EN2CT7",
                "Hrs",
                f"{rate:.10f}",
                f"{os_name} (Amazon VPC), {lease} {option} reserved instance hour",
                lease,
                option,
                offering,
            )
        if option != "No Upfront":
            upfront = reserved_base(hourly) * discount * 730 * (12 if lease == "1yr" else 36)
            yield (
                "Reserved",
                code,
                f"{sku}.{code}.2TG2D8R56U",
                "Quantity",
                f"{upfront:.0f}",
                "Upfront Fee",
                lease,
                option,
                offering,
            )


def _quoted(values) -> str:
    return ",".join(f'"{value}"' for value in values)


def type_count(target_bytes: int) -> int:
    """Every instance type from 150 MB up (so the kept catalog stops growing); fewer below, so
    that a test file can be small."""
    return max(4, min(len(instance_types()), target_bytes // 200_000))


def _products_for_size(target_bytes: int, bytes_per_product: float) -> int:
    return max(type_count(target_bytes), int(target_bytes / bytes_per_product) + 1)


def write_csv(path: Path, target_bytes: int) -> Path:
    """An offer CSV of about target_bytes (at least one product per instance type)."""
    empty_tail = "," + _quoted([""] * len(EMPTY_COLUMNS))
    types = type_count(target_bytes)
    sample = "".join(_csv_product_lines(*item, empty_tail) for item in products(200, types))
    count = _products_for_size(target_bytes, len(sample.encode()) / 200)
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(_quoted(["FormatVersion", "v1.0"]) + "\n")
        handle.write(
            _quoted(["Disclaimer", "This pricing list is for informational purposes only."]) + "\n"
        )
        handle.write(_quoted(["Publication Date", PUBLICATION]) + "\n")
        handle.write(_quoted(["Version", VERSION]) + "\n")
        handle.write(_quoted(["OfferCode", "AmazonEC2"]) + "\n")
        handle.write(_quoted(CSV_HEADER) + "\n")
        batch = []
        for item in products(count, types):
            batch.append(_csv_product_lines(*item, empty_tail))
            if len(batch) >= 2000:
                handle.write("".join(batch))
                batch.clear()
        handle.write("".join(batch))
    return path


def _csv_product_lines(sku: str, attributes: dict, hourly: str, empty_tail: str) -> str:
    product_fields = "," + _quoted(["Compute Instance", *attributes.values()]) + empty_tail + "\n"
    lines = []
    for (
        term_type,
        code,
        rate,
        unit,
        price,
        description,
        lease,
        option,
        offering,
    ) in price_dimensions(sku, hourly, attributes["operatingSystem"]):
        begin, end = ("0", "Inf") if unit == "Hrs" else ("", "")
        lines.append(
            _quoted(
                [
                    sku,
                    code,
                    rate,
                    term_type,
                    description,
                    EFFECTIVE,
                    begin,
                    end,
                    unit,
                    price,
                    "USD",
                    "",
                    lease,
                    option,
                    offering,
                ]
            )
            + product_fields
        )
    return "".join(lines)


def write_json(path: Path, target_bytes: int) -> Path:
    """An offer JSON of about target_bytes, indented like the published files."""
    templates = _JsonTemplates()
    types = type_count(target_bytes)
    sample = sum(
        len(templates.product(sku, attrs)) + sum(map(len, templates.terms(sku, attrs, hourly)))
        for sku, attrs, hourly in products(200, types)
    )
    count = _products_for_size(target_bytes, sample / 200)
    with path.open("w", encoding="utf-8") as handle:
        handle.write(
            "{\n"
            '  "formatVersion" : "v1.0",\n'
            '  "disclaimer" : "This pricing list is for informational purposes only.",\n'
            '  "offerCode" : "AmazonEC2",\n'
            f'  "version" : "{VERSION}",\n'
            f'  "publicationDate" : "{PUBLICATION}",\n'
            '  "products" : {\n'
        )
        _write_joined(handle, (templates.product(sku, a) for sku, a, _ in products(count, types)))
        handle.write('\n  },\n  "terms" : {\n    "OnDemand" : {\n')
        _write_joined(handle, (templates.terms(s, a, h)[0] for s, a, h in products(count, types)))
        handle.write('\n    },\n    "Reserved" : {\n')
        _write_joined(handle, (templates.terms(s, a, h)[1] for s, a, h in products(count, types)))
        handle.write('\n    }\n  },\n  "attributesList" : { }\n}\n')
    return path


def _write_joined(handle, parts) -> None:
    batch, first = [], True
    for part in parts:
        batch.append(part if first else ",\n" + part)
        first = False
        if len(batch) >= 2000:
            handle.write("".join(batch))
            batch.clear()
    handle.write("".join(batch))


def _indent(text: str, spaces: int) -> str:
    return text.replace("\n", "\n" + " " * spaces)


SKU_SLOT, PRICE_SLOT, DOLLARS_SLOT = "@SKU@", "@PRICE@", "@DOLLARS@"


class _JsonTemplates:
    """json.dumps with indent runs in pure Python: render each distinct shape once, then fill in."""

    def __init__(self):
        self.products: dict[tuple, str] = {}
        self.terms_by_shape: dict[tuple, tuple[str, str]] = {}

    def product(self, sku: str, attributes: dict) -> str:
        key = tuple(attributes.values())
        if key not in self.products:
            body = {"sku": SKU_SLOT, "productFamily": "Compute Instance", "attributes": attributes}
            self.products[key] = f'    "{SKU_SLOT}" : ' + _indent(_dumps(body), 4)
        return self.products[key].replace(SKU_SLOT, sku)

    def terms(self, sku: str, attributes: dict, hourly: str) -> tuple[str, str]:
        """The sku's OnDemand and Reserved term objects, as `"sku" : {...}` members."""
        key = (attributes["operatingSystem"], reserved_base(hourly))
        if key not in self.terms_by_shape:
            self.terms_by_shape[key] = _terms_json(attributes["operatingSystem"], hourly)
        on_demand, reserved = self.terms_by_shape[key]
        on_demand = on_demand.replace(PRICE_SLOT, hourly).replace(
            DOLLARS_SLOT, f"{float(hourly):.4f}"
        )
        return on_demand.replace(SKU_SLOT, sku), reserved.replace(SKU_SLOT, sku)


def _dumps(value) -> str:
    return json.dumps(value, indent=2, separators=(",", " : "))


def _terms_json(os_name: str, hourly: str) -> tuple[str, str]:
    terms: dict[str, dict] = {"OnDemand": {}, "Reserved": {}}
    for (
        term_type,
        code,
        rate,
        unit,
        price,
        description,
        lease,
        option,
        offering,
    ) in price_dimensions(SKU_SLOT, hourly, os_name):
        if term_type == "OnDemand":
            price = PRICE_SLOT
            description = f"${DOLLARS_SLOT} per On Demand {os_name} Instance Hour"
        attributes = (
            {"LeaseContractLength": lease, "OfferingClass": offering, "PurchaseOption": option}
            if term_type == "Reserved"
            else {}
        )
        term = terms[term_type].setdefault(
            f"{SKU_SLOT}.{code}",
            {
                "offerTermCode": code,
                "sku": SKU_SLOT,
                "effectiveDate": EFFECTIVE,
                "priceDimensions": {},
                "termAttributes": attributes,
            },
        )
        term["priceDimensions"][rate] = {
            "rateCode": rate,
            "description": description,
            "beginRange": "0",
            "endRange": "Inf",
            "unit": unit,
            "pricePerUnit": {"USD": price},
            "appliesTo": [],
        }
    return tuple(
        f'      "{SKU_SLOT}" : ' + _indent(_dumps(terms[kind]), 6)
        for kind in ("OnDemand", "Reserved")
    )
