# Shared helpers: config validation, provider lists, input functions.
from pathlib import Path

import servecost.config
from servecost.chart_names import CHART_NAMES

# Validated against workflow/schemas/config.schema.yaml (draft 2020-12); defaults filled in.
config.update(servecost.config.validate_config(config))

PROVIDERS = sorted(p for p, s in config["providers"].items() if s.get("enabled", True))
CHARTS = CHART_NAMES
# The report's Jinja2 templates are inputs too, so editing one re-renders the report. They ship
# with the code, not the data: local() keeps them out of a cluster's default storage.
REPORT_TEMPLATES = [
    local(str(path))
    for path in sorted(
        (Path(servecost.config.__file__).parent / "templates").glob("*.j2")
    )
]


wildcard_constraints:
    provider="|".join(PROVIDERS),


def provider_settings(wildcards):
    return config["providers"][wildcards.provider]


def price_tables(wildcards):
    return expand("results/prices/{provider}.parquet", provider=PROVIDERS)


def price_provenance(wildcards):
    return expand("results/prices/{provider}.provenance.json", provider=PROVIDERS)


def reference_tables(wildcards):
    paths = config["reference"]
    tables = [
        paths[name]
        for name in (
            "hardware",
            "offer_hardware",
            "models",
            "quantisations",
            "benchmarks",
        )
    ]
    local = paths.get("local_benchmarks")
    if local and os.path.exists(local):
        tables.append(local)
    return tables


def model_params(wildcards):
    """The config sections the decision engine reads (a change to one reruns it)."""
    keys = (
        "workload",
        "current",
        "optimisations",
        "engineering_rate",
        "engineering_rate_sensitivity",
        "custom_offers",
        "owned_hardware",
        "electricity",
        "managed_api",
        "roi_months",
        "billing",
        "report_currency",
        "fx",
        "reference",
        "throughput",
        "scaling_law",
    )
    return {key: config.get(key) for key in keys}
