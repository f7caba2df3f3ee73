"""``activations``: RBP, SRBP and top-only with each hidden activation."""

from __future__ import annotations

from typing import Any

from neurosim.experiments.paper.common import Claim, Experiment, Variant, above, rule_label

ACTS = ("linear", "logistic", "tanh", "relu")
# the initialisation practice calls for with each unit: He for relu, Glorot's
# logistic bound (4x) for logistic units, Glorot for the others
INIT_FOR = {"linear": "glorot", "logistic": "glorot-logistic", "tanh": "glorot", "relu": "he"}
# relu and linear outputs are unbounded: the chip's default activation
# format Q(8, 7) holds [-1, 1) and clips every O^h beyond it while the f'
# table still says 1 there, so these units get range for their outputs
# (Q(8, 4): [-8, 8)) and the LUT input range to reach it (Q(12, 6): [-32,
# 32)); logistic and tanh units keep the defaults
FORMATS_FOR = {
    "relu": {"act_int_bits": 3, "lut_int_bits": 5},
    "linear": {"act_int_bits": 3, "lut_int_bits": 5},
}


# the activations series: (name in claims, label suffix of its runs, bias)
ACT_SERIES = (("no bias", "", False), ("bias", ", bias", True))


def _act_variants(cfg: Any) -> list[Variant]:
    # the paper's networks (Keras Dense layers) have biases; the chip's do
    # only with `bias`: both series, same runs otherwise; each unit starts
    # from the initialisation of INIT_FOR
    return [
        Variant(f"{rule_label(r)} {a}{suffix}",
                {"rule": r, "act": a, "bias": bias, "init": INIT_FOR[a],
                 **FORMATS_FOR.get(a, {})})
        for _, suffix, bias in ACT_SERIES
        for a in ACTS
        for r in ("srbp", "rbp", "top-only")
    ]


def _act_claims(runs: dict) -> list[Claim]:
    # the claims, checked for the bias-free and the bias series alone
    return [
        above(runs, [f"SRBP {a}{suffix}", f"RBP {a}{suffix}"], f"top-only {a}{suffix}",
              f"RBP and SRBP learn with {a} units (beating top-only with {a} units; {name})")
        for name, suffix, _ in ACT_SERIES
        for a in ACTS
    ]  # fmt: skip


EXPERIMENT = Experiment("activations", "Hidden activations", _act_variants, _act_claims)
