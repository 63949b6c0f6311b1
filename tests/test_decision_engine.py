"""The decision engine's hand-worked answers without the DAG: payback with and without
engineering cost, Chinchilla's two token budgets, and the classic advice rules."""

from __future__ import annotations

import pandas as pd
import pytest
from servecost import reference, scaling_laws, scenarios, summary, throughput

from .conftest import REPO

# ---------------------------------------------------------------- payback

# One box: 10 tok/s, 1,000 completion tokens per query, no prompt -> 100 s per query ->
# 864 queries/day at 100 %. 1,000 queries/day need 2 boxes (200/month) without software work;
# a 25 % response cache leaves 750/day, which 1 box (100/month) carries. The cache (8 h) and the
# prefix cache (4 h) are 12 engineering hours.
PAYBACK_CONFIG = {
    "workload": {
        "model": "qwen2.5-3b",
        "quant": "q4_k_m",
        "queries_per_day": 1000,
        "prompt_tokens": 0,
        "completion_tokens": 1000,
        "peak_to_average": 1.0,
        "target_utilisation": 1.0,
        "latency_floor_tps": 1.0,
        "traffic_multipliers": [1],
        "curve_points": 2,
    },
    "current": {"provider": "custom", "instance_type": "box", "billing": "monthly", "instances": 1},
    "optimisations": {
        "quantisation": {"enabled": False},
        "response_cache": {"enabled": True, "hit_rate": 0.25, "hours": 8},
        "prefix_cache": {"enabled": True, "prefill_saving": 0.0, "hours": 4},
        "batching": {"enabled": False},
    },
    "custom_offers": [{"name": "box", "price_month": 100.0, "currency": "USD", "decode_tps": 10}],
}


def payback_for(rate: float):
    config = dict(PAYBACK_CONFIG, engineering_rate=rate)
    fx = {"USD": 1.0}
    measured = throughput.custom_throughput(
        [dict(o, provider="custom") for o in config["custom_offers"]], "qwen2.5-3b", "q4_k_m", 1.0
    )
    offers = scenarios.join_offers(scenarios.user_offers(config, fx), measured)
    costs = scenarios.cost_table(offers, config, None, fx)
    roi, _ = scenarios.roi_timeline(costs, 36)
    return costs, roi, summary.payback_months(roi)


@pytest.mark.parametrize(
    ("rate", "months"),
    [
        (0.0, 0),  # free work: cheaper from the first month
        (50.0, 6),  # 600 + 100 t <= 200 t from t = 6 (equal at 6 counts)
        (55.0, 7),  # 660 + 100 t <= 200 t from t = 6.6 -> month 7
        (400.0, None),  # 4,800 needs 48 months: no payback inside the 36-month horizon
    ],
)
def test_payback_with_engineering_cost(rate, months):
    costs, roi, payback = payback_for(rate)
    picks = costs[costs["strategy"] != "candidate"].set_index("strategy")
    assert (
        picks.loc["scale_out", "instances"] == 2 and picks.loc["scale_out", "monthly_cost"] == 200
    )
    assert picks.loc["optimise", "instances"] == 1 and picks.loc["optimise", "monthly_cost"] == 100
    assert picks.loc["optimise", "one_off_cost"] == pytest.approx(12 * rate)
    assert not bool(picks.loc["as_is", "feasible"])  # 1,000/day on one 864/day box
    assert payback["optimise"] == months
    assert payback["scale_out"] == 0 and payback["as_is"] is None
    optimise = roi[roi["strategy"] == "optimise"].set_index("month")["cumulative_cost"]
    assert optimise[0] == pytest.approx(12 * rate)
    assert optimise[36] == pytest.approx(12 * rate + 36 * 100)
    assert set(roi["baseline"]) == {"scale_out"}  # as_is cannot carry the load


# ---------------------------------------------------------------- scaling laws


@pytest.fixture(scope="module")
def hoffmann() -> dict:
    table = reference.read_table("scaling_laws", REPO / "config" / "scaling_laws.csv")
    return reference.scaling_law_constants(table, "chinchilla_hoffmann2022")


def test_hoffmann_constants_are_the_papers(hoffmann):
    assert hoffmann == {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def test_rule_of_thumb_is_20_tokens_per_parameter():
    assert scaling_laws.TOKENS_PER_PARAM_RULE == 20
    assert scaling_laws.rule_of_thumb_tokens(1e9) == 2e10
    curve = scaling_laws.loss_curve(
        {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28},
        {"alpha_N": 0.076, "N_c": 8.8e13, "alpha_D": 0.095, "D_c": 5.4e13},
        "chinchilla_hoffmann2022",
        sizes=[1e9],
    )
    assert curve["tokens"].tolist() == [2e10]
    # 1.69 + 406.4 / 1e9^0.34 + 410.7 / 2e10^0.28 = 1.69 + 0.3475 + 0.5425
    assert curve["chinchilla_loss"].iloc[0] == pytest.approx(2.5800, abs=1e-4)


def test_parametric_closed_form_differs_from_the_rule(hoffmann):
    a, b, big_a, big_b = 0.34, 0.28, 406.4, 410.7
    # Budget the rule implies for 1e9 parameters: C = 6 N D = 6 x 1e9 x 2e10.
    compute = 6 * 1e9 * 2e10
    assert compute == 1.2e20
    # By hand: G = (a A / (b B))^(1/(a+b)) = (138.176 / 114.996)^(1/0.62) = 1.34471;
    # N_opt = G (C/6)^(b/(a+b)) = 1.34471 x (2e19)^0.451613 = 7.0020e8; D_opt = C / 6 N_opt.
    g = (a * big_a / (b * big_b)) ** (1 / (a + b))
    assert g == pytest.approx(1.34471, rel=1e-5)
    n_hand = g * (compute / 6) ** (b / (a + b))
    n_opt, d_opt = scaling_laws.compute_optimal(compute, hoffmann)
    assert n_opt == pytest.approx(n_hand, rel=1e-12)
    assert n_opt == pytest.approx(7.0020e8, rel=1e-4)
    assert d_opt == pytest.approx(2.8563e10, rel=1e-4)
    assert 6 * n_opt * d_opt == pytest.approx(compute)
    assert d_opt / n_opt == pytest.approx(40.79, abs=0.01)  # not 20
    # ... and 1e9 parameters are compute-optimal only with D = (N/G)^((a+b)/b) / N = 4.403e10.
    tokens = scaling_laws.compute_optimal_tokens(1e9, hoffmann)
    assert tokens == pytest.approx((1e9 / g) ** ((a + b) / b) / 1e9, rel=1e-12)
    assert tokens == pytest.approx(4.4030e10, rel=1e-4)
    # The closed-form optimum beats the rule's split of the same compute, but only just.
    rule_loss = scaling_laws.chinchilla_loss(1e9, 2e10, hoffmann)
    best_loss = scaling_laws.chinchilla_loss(n_opt, d_opt, hoffmann)
    assert best_loss < rule_loss
    assert rule_loss - best_loss == pytest.approx(0.0053, abs=1e-4)


def test_methodology_states_both_token_budgets():
    doc = scaling_laws.__doc__
    assert "D = 20 N" in doc and "2.86e10" in doc and "4.4e10" in doc


# ---------------------------------------------------------------- advice

WORKLOAD = {
    "model": "m",
    "quant": "q4_k_m",
    "queries_per_day": 1000,
    "peak_to_average": 1.0,
    "target_utilisation": 0.8,
    "latency_floor_tps": 5.0,
}
CURRENT = {"provider": "custom", "instance_type": "box"}


def advice_for(
    *,
    utilisation=0.5,
    seconds_per_query=100.0,
    capacity=1382.4,
    single_tps=10.0,
    batch_tps=30.0,
    fits=True,
    **workload,
):
    """The current box at 1x plus its throughput rows; defaults fire no rule."""
    config = {"workload": dict(WORKLOAD, **workload), "current": CURRENT}
    costs = pd.DataFrame(
        [
            {
                "strategy": "as_is",
                "traffic_multiplier": 1.0,
                "utilisation": utilisation,
                "seconds_per_query": seconds_per_query,
                "capacity_queries_per_day": capacity,
            }
        ]
    )
    row = {
        "provider": "custom",
        "instance_type": "box",
        "model_id": "m",
        "kind": "cpu",
        "weight_bytes": 2.0e9,
        "usable_memory_gib": 7.0,
    }
    rows = [
        dict(
            row,
            quant="q4_k_m",
            concurrency=1,
            decode_tps=single_tps,
            decode_tps_per_stream=single_tps,
            fits_memory=fits,
            feasible=fits,
            memory_needed_gib=3.0 if fits else 9.5,
        ),
        dict(
            row,
            quant="q4_k_m",
            concurrency=4,
            decode_tps=batch_tps,
            decode_tps_per_stream=batch_tps / 4,
            fits_memory=fits,
            feasible=fits,
            memory_needed_gib=3.5 if fits else 10.0,
        ),
        dict(
            row,
            quant="q4_0",
            concurrency=1,
            weight_bytes=1.8e9,
            decode_tps=single_tps,
            decode_tps_per_stream=single_tps,
            fits_memory=True,
            feasible=True,
            memory_needed_gib=2.8,
        ),
    ]
    return summary.advice(costs, pd.DataFrame(rows), config)


def fired(advice: list[dict]) -> dict[str, str]:
    return {item["rule"]: item["message"] for item in advice}


def test_neutral_box_gets_no_advice():
    # 50 % busy, 10 tok/s per stream over a 5 tok/s floor, fits, 1,000/day x 100 s = 1.2 in flight.
    assert advice_for() == []


def test_latency_critical_means_gpu():
    assert fired(advice_for(latency_floor_tps=4.0)) == {}
    messages = fired(advice_for(latency_floor_tps=12.0))
    assert list(messages) == ["latency-critical -> GPU"]
    text = messages["latency-critical -> GPU"]
    assert "12 tok/s" in text and "best 10.0 tok/s" in text


def test_throughput_bound_means_batch_tuning_before_cores():
    # 75 % busy against a 70 % target, and batching x3 on the same box.
    messages = fired(advice_for(utilisation=0.75, target_utilisation=0.7))
    assert list(messages) == ["throughput-bound -> tune batch size before adding cores"]
    text = messages["throughput-bound -> tune batch size before adding cores"]
    assert "Batching to 4 streams" in text and "from 10.0 to 30.0 tok/s (x3.00)" in text
    assert "75%" in text and "70%" in text
    # Under target, or when batching buys less than 20 %, the rule stays quiet.
    assert fired(advice_for(utilisation=0.65, target_utilisation=0.7)) == {}
    assert fired(advice_for(utilisation=0.75, target_utilisation=0.7, batch_tps=11.9)) == {}


def test_model_that_does_not_fit_means_quantise_before_ram():
    messages = fired(advice_for(fits=False))
    assert list(messages) == ["model does not fit -> quantise before buying RAM"]
    text = messages["model does not fit -> quantise before buying RAM"]
    assert "q4_k_m needs 9.5 GiB of 7.0 GiB" in text and "q4_0 fits" in text


def test_ten_concurrent_users_means_several_instances():
    # 1,000/day x 864 s each / 86,400 s = exactly 10 in flight.
    messages = fired(advice_for(seconds_per_query=864.0))
    assert list(messages) == ["10+ concurrent users -> multiple instances"]
    text = messages["10+ concurrent users -> multiple instances"]
    assert "about 10 requests" in text and "0.012 queries/s x 864 s" in text
    assert fired(advice_for(seconds_per_query=855.0)) == {}  # 9.9 in flight


def test_always_above_80_percent_means_upgrade():
    # 85 % busy: over 80 %, but under the 90 % target, so the batching rule does not fire.
    messages = fired(advice_for(utilisation=0.85, target_utilisation=0.9))
    assert list(messages) == ["always above 80-90% -> upgrade"]
    text = messages["always above 80-90% -> upgrade"]
    assert "85%" in text and "1382 queries/day" in text and "90% target" in text
    assert "1000 queries/day" in text
    assert fired(advice_for(utilisation=0.8, target_utilisation=0.9)) == {}


def test_every_rule_but_batching_fires_on_a_busy_slow_oversized_setup():
    messages = fired(
        advice_for(
            utilisation=0.95,
            seconds_per_query=1000.0,
            fits=False,
            latency_floor_tps=12.0,
        )
    )
    assert set(messages) == {
        "latency-critical -> GPU",
        "model does not fit -> quantise before buying RAM",
        "10+ concurrent users -> multiple instances",
        "always above 80-90% -> upgrade",
    }  # no batching advice: the batch rows do not fit in memory either
    # 1,000/day x 1,000 s / 86,400 s = 11.6 in flight.
    assert "about 12 requests" in messages["10+ concurrent users -> multiple instances"]
