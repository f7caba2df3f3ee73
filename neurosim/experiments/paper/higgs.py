"""``higgs``: the rules with and without f′ on HIGGS (test AUC), preset ``higgs``."""

from __future__ import annotations

from typing import Any

from neurosim.experiments.paper.common import (
    NEAR,
    Claim,
    Experiment,
    Variant,
    beats,
    derivative_claims,
    fmt4,
    score,
)
from neurosim.experiments.paper.rules import _rules_variants


def _higgs_claims(runs: dict) -> list[Claim]:
    claims = [
        Claim(
            "BP, RBP and SRBP learn (test AUC well above chance, 0.5)",
            ", ".join(f"{r} {fmt4(score(runs[r]))}" for r in ("BP", "RBP", "SRBP")),
            all(beats(runs, r, 0.5, 5 * NEAR) for r in ("BP", "RBP", "SRBP")),
        ),
        Claim(
            "Training the top layer only does clearly worse than BP, RBP and SRBP",
            f"top-only {fmt4(score(runs['top-only']))} vs the weakest of the three "
            f"{fmt4(min(score(runs[r]) for r in ('BP', 'RBP', 'SRBP')))}",
            all(beats(runs, r, "top-only", NEAR) for r in ("BP", "RBP", "SRBP")),
        ),
    ]
    claims += derivative_claims(runs, ("BP", "RBP", "SRBP"))
    bits = {r: runs[r]["transport_bits_per_sample"] for r in ("BP", "RBP", "SRBP")}
    claims.append(
        Claim(
            "SRBP sends fewer error bits per sample than RBP and BP (the chip's skip bus)",
            ", ".join(f"{r} {b:.1f}" for r, b in bits.items()),
            bits["SRBP"] < min(bits["RBP"], bits["BP"]),
        )
    )
    return claims


def _higgs_variants(cfg: Any) -> list[Variant]:
    return [v for v in _rules_variants(cfg) if v.fields["rule"] != "sbp"]


EXPERIMENT = Experiment(
    "higgs", "HIGGS: rules with and without f′ (AUC)", _higgs_variants, _higgs_claims,
    preset="higgs", full=dict(limit=1_000_000, epochs=5, mode="fixed", error_bits=4),
    quick=dict(limit=2000, epochs=2, hidden=(16, 16), mode="fixed", error_bits=4),
)  # fmt: skip
