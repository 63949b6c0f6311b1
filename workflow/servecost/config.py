"""Loading and validating config/config.yaml against workflow/schemas/config.schema.yaml."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import yaml

from servecost.errors import ConfigError

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"
# Every `snakemake` start parses the schema; libyaml's loader does it ~6x faster than pure Python.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_schema() -> dict:
    return yaml.load(SCHEMA_PATH.read_text(encoding="utf-8"), Loader=YAML_LOADER)


def _with_defaults(validator_class):
    """A validator that also fills `default`s into the instance, as snakemake.utils.validate does."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _describe(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties":
        return f"config: {path}: {error.message} (check the spelling against the schema)"
    if error.validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "enum"):
        return f"config: {path} {error.message.replace(repr(error.instance), '').strip()}, got {error.instance!r}"
    return f"config: {path}: {error.message}"


def validate_config(config: dict) -> dict:
    """Validate, fill defaults, run the cross-field checks; return a new dict or raise ConfigError."""
    config = copy.deepcopy(config)
    validator = _with_defaults(jsonschema.Draft202012Validator)(load_schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError("; ".join(_describe(e) for e in errors[:5]))
    _check_domain(config)
    return config


def _check_domain(config: dict) -> None:
    workload = config["workload"]
    if workload["target_utilisation"] <= 0 or workload["target_utilisation"] > 1:
        raise ConfigError(
            f"workload.target_utilisation must be in (0, 1], got {workload['target_utilisation']}"
        )
    names = [o["name"] for o in config.get("custom_offers", []) + config.get("owned_hardware", [])]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(
            f"custom_offers/owned_hardware: duplicate name(s) {', '.join(duplicates)}"
        )
    for index, offer in enumerate(config.get("custom_offers", [])):
        if "price_month" not in offer:
            raise ConfigError(f"custom_offers[{index}] ({offer['name']}): price_month is required")
        if "decode_tps" not in offer and "hardware_id" not in offer:
            raise ConfigError(
                f"custom_offers[{index}] ({offer['name']}): give decode_tps (measured) or "
                "hardware_id (a config/hardware.csv row to model it from)"
            )
    for index, offer in enumerate(config.get("owned_hardware", [])):
        for key in ("purchase_price", "lifetime_months", "power_watts"):
            if key not in offer:
                raise ConfigError(f"owned_hardware[{index}] ({offer['name']}): {key} is required")
        if "decode_tps" not in offer and "hardware_id" not in offer:
            raise ConfigError(
                f"owned_hardware[{index}] ({offer['name']}): give decode_tps or hardware_id"
            )
    currencies = {config["report_currency"], *config.get("fx", {})}
    for where, currency in [
        ("electricity.currency", config.get("electricity", {}).get("currency"))
    ] + [
        (f"custom_offers.{o['name']}.currency", o["currency"])
        for o in config.get("custom_offers", []) + config.get("owned_hardware", [])
    ]:
        if currency and currency not in currencies:
            raise ConfigError(f"{where}: no fx rate for {currency} (add fx.{currency})")


def load_config(path: str | Path, overrides: dict | None = None) -> dict:
    try:
        config = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=YAML_LOADER) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from exc
    config.update(overrides or {})
    return validate_config(config)
