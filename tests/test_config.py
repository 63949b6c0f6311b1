"""The config schema: the shipped config validates; bad values fail naming the key and value."""

import copy

import pytest
import yaml
from servecost.config import load_config, validate_config
from servecost.errors import ConfigError

from .conftest import REPO


@pytest.fixture(scope="module")
def good():
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def test_shipped_config_is_valid_and_defaults_filled(good):
    config = load_config(REPO / "config" / "config.yaml")
    assert config["workload"]["model"] == "qwen2.5-3b"
    assert config["current"]["instance_type"] == "cax21"
    minimal = copy.deepcopy(good)
    del minimal["workload"]["peak_to_average"]
    assert validate_config(minimal)["workload"]["peak_to_average"] == 1.0


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("workload", "target_utilisation"), 1.4, "workload.target_utilisation"),
        (("workload", "queries_per_day"), -5, "workload.queries_per_day"),
        (("workload", "quant"), "q3_xs", "workload.quant"),
        (("prices",), "sometimes", "prices"),
        (("workload", "bogus_key"), 1, "bogus_key"),
        (("providers", "hetzner", "regions"), "fsn1", "providers.hetzner.regions"),
    ],
)
def test_bad_values_name_key_and_value(good, path, value, message):
    config = copy.deepcopy(good)
    target = config
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ConfigError) as error:
        validate_config(config)
    assert message in str(error.value)


def test_custom_offer_needs_price_and_a_rate(good):
    config = copy.deepcopy(good)
    config["custom_offers"] = [{"name": "box", "currency": "USD", "decode_tps": 8}]
    with pytest.raises(ConfigError, match=r"custom_offers\[0\] \(box\): price_month"):
        validate_config(config)
    config["custom_offers"] = [{"name": "box", "currency": "USD", "price_month": 7.5}]
    with pytest.raises(ConfigError, match="decode_tps"):
        validate_config(config)
    config["custom_offers"] = [
        {"name": "box", "currency": "GBP", "price_month": 7.5, "decode_tps": 8}
    ]
    with pytest.raises(ConfigError, match="no fx rate for GBP"):
        validate_config(config)
