"""`servecost estimate` on a real catalog offer, and one-line errors with close matches."""

import json
import os

import pytest
from servecost.cli import main

from .conftest import REPO


@pytest.fixture(autouse=True)
def in_repo():
    cwd = os.getcwd()
    os.chdir(REPO)
    yield
    os.chdir(cwd)


def test_estimate_cax21_qwen3b(capsys):
    assert (
        main(
            [
                "estimate",
                "--provider",
                "hetzner",
                "--instance",
                "cax21",
                "--model",
                "qwen2.5-3b",
                "--quant",
                "q4_k_m",
                "--json",
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert {
        "decode_tps",
        "decode_tps_per_stream",
        "prefill_tps",
        "basis",
        "fits_memory",
        "max_concurrency",
    } <= set(result)
    assert result["basis"] == "calibrated" and result["fits_memory"] is True
    assert 5 < result["decode_tps"] < 12  # the folk figure for this box is ~8 tok/s


def test_unknown_offer_lists_close_matches(capsys):
    assert (
        main(
            [
                "estimate",
                "--provider",
                "hetzner",
                "--instance",
                "cax22",
                "--model",
                "qwen2.5-3b",
                "--quant",
                "q4_k_m",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cax21" in err
    assert (
        main(
            [
                "estimate",
                "--provider",
                "hetzner",
                "--instance",
                "cax21",
                "--model",
                "qwen2.5-3",
                "--quant",
                "q4_k_m",
            ]
        )
        == 2
    )
    assert "qwen2.5-3b" in capsys.readouterr().err
