"""Scaling laws: predicted loss versus model size, for the quality-versus-serving-cost chart.

Chinchilla (Hoffmann et al. 2022):  L(N, D) = E + A / N^alpha + B / D^beta, training compute
C ~= 6 N D; minimising L at fixed C gives N_opt = G (C/6)^(beta/(alpha+beta)) with
G = (alpha A / (beta B))^(1/(alpha+beta)), D_opt = C / (6 N_opt). Kaplan et al. 2020:
L(N) = (N_c / N)^alpha_N, L(D) = (D_c / D)^alpha_D.

Two answers to "how many tokens for N parameters", and they differ:
- the rule of thumb, D = 20 N (Hoffmann et al.'s headline from their approaches 1 and 2): a 1e9
  model wants ~2e10 tokens. The curves and the quality table use this rule.
- the parametric closed form above with the Approach-3 constants (E 1.69, A 406.4, B 410.7,
  alpha 0.34, beta 0.28): for the budget the rule implies, C = 6 x 1e9 x 2e10 = 1.2e20 FLOPs, it
  gives N_opt = 7.0e8 and D_opt = 2.86e10, ~41 tokens per parameter; and 1e9 parameters are
  compute-optimal only at C = 2.6e20, with D = 4.4e10 (~44 tokens/param). The ratio also grows
  with C (D_opt/N_opt is proportional to C^((alpha-beta)/(alpha+beta))). The Besiroglu et al. 2024
  refit of the same data gives ~23 tokens/param at 1.2e20, close to the rule again.
The loss gap is small either way (2.580 at 1e9/2e10 against 2.575 at the closed-form optimum).

These describe training, not serving: the report uses them for the quality axis only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TOKENS_PER_PARAM_RULE = 20.0


def rule_of_thumb_tokens(params):
    """Compute-optimal training tokens by the ~20 tokens per parameter rule (Chinchilla)."""
    return TOKENS_PER_PARAM_RULE * params


def chinchilla_loss(params, tokens, c: dict):
    return c["E"] + c["A"] / np.power(params, c["alpha"]) + c["B"] / np.power(tokens, c["beta"])


def compute_optimal(compute_flops, c: dict) -> tuple[float, float]:
    """(N_opt, D_opt) minimising L(N, D) subject to 6 N D = C."""
    a, b = c["alpha"], c["beta"]
    g = (a * c["A"] / (b * c["B"])) ** (1.0 / (a + b))
    n_opt = g * (compute_flops / 6.0) ** (b / (a + b))
    return n_opt, compute_flops / (6.0 * n_opt)


def compute_optimal_tokens(params, c: dict) -> float:
    """D such that `params` is the compute-optimal size: invert N_opt(C), then D = C / 6N."""
    a, b = c["alpha"], c["beta"]
    g = (a * c["A"] / (b * c["B"])) ** (1.0 / (a + b))
    compute = 6.0 * (params / g) ** ((a + b) / b)
    return compute / (6.0 * params)


def kaplan_loss_params(params, c: dict):
    return np.power(c["N_c"] / params, c["alpha_N"])


def kaplan_loss_tokens(tokens, c: dict):
    return np.power(c["D_c"] / tokens, c["alpha_D"])


def loss_curve(chinchilla: dict, kaplan: dict, law: str, sizes=None) -> pd.DataFrame:
    """Loss versus parameters at the ~20 tokens/param rule, for both laws."""
    sizes = np.geomspace(1e8, 1e11, 31) if sizes is None else np.asarray(sizes, dtype=float)
    tokens = rule_of_thumb_tokens(sizes)
    return pd.DataFrame(
        {
            "params": sizes,
            "tokens": tokens,
            "chinchilla_loss": chinchilla_loss(sizes, tokens, chinchilla),
            "kaplan_loss": kaplan_loss_params(sizes, kaplan),
            "law": law,
        }
    )


def quality_vs_cost(model_costs: pd.DataFrame, chinchilla: dict) -> pd.DataFrame:
    """Each tabulated model: predicted loss (at 20 tokens/param) beside its best cost/1M tokens."""
    frame = model_costs.copy()
    frame["predicted_loss"] = chinchilla_loss(
        frame["params"], rule_of_thumb_tokens(frame["params"]), chinchilla
    )
    frame = frame.sort_values("params").reset_index(drop=True)
    # Loss falls roughly with log(N) while serving cost grows ~linearly with N: the marginal loss
    # bought per extra dollar shrinks; this column shows it.
    frame["loss_drop_per_dollar"] = -frame["predicted_loss"].diff() / frame["cost_per_mtok"].diff()
    return frame
