"""``sign-concordant``: RBP with C^h sign-concordant with the forward weights."""

from __future__ import annotations

from typing import Any

from neurosim.experiments.paper.common import Claim, Experiment, Variant, above


def _concordant_variants(cfg: Any) -> list[Variant]:
    return [
        Variant("RBP random signs", {"rule": "rbp"}),
        Variant("RBP sign-concordant", {"rule": "rbp", "feedback_sign": "concordant"}),
        Variant("RBP sign-concordant, resampled",
                {"rule": "rbp", "feedback_sign": "concordant", "feedback_resample": True}),
        Variant("BP", {"rule": "bp"}),
        Variant("top-only", {"rule": "top-only"}),
    ]


def _concordant_claims(runs: dict) -> list[Claim]:
    return [
        above(runs, ["RBP sign-concordant"], "top-only",
              "RBP with C^h sign-concordant with the forward weights learns"),
        above(runs, ["RBP sign-concordant, resampled"], "top-only",
              "It learns even with magnitudes redrawn every minibatch (signs carry it)"),
    ]  # fmt: skip


EXPERIMENT = Experiment("sign-concordant", "Sign-concordant feedback (RBP)",
                        _concordant_variants, _concordant_claims)
