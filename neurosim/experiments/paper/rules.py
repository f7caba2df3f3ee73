"""``rules``: the learning rules, with and without f′ in their learning rule."""

from __future__ import annotations

from typing import Any

from neurosim.experiments.paper.common import (
    Claim,
    Experiment,
    Variant,
    above,
    derivative_claims,
    rule_label,
)


def _rules_variants(cfg: Any) -> list[Variant]:
    out = [Variant(rule_label(r), {"rule": r, "no_derivative": False})
           for r in ("bp", "rbp", "srbp", "sbp", "top-only")]  # fmt: skip
    out += [Variant(rule_label(r, True), {"rule": r, "no_derivative": True})
            for r in ("bp", "rbp", "srbp", "sbp")]  # fmt: skip
    return out


def _rules_claims(runs: dict) -> list[Claim]:
    claims = [
        above(runs, ["BP", "RBP", "SRBP"], "top-only",
              "BP, RBP and SRBP learn; training the top layer only does clearly worse"),
    ]  # fmt: skip
    return claims + derivative_claims(runs, ("BP", "RBP", "SRBP", "SBP"))


EXPERIMENT = Experiment("rules", "Learning rules, with and without f′", _rules_variants,
                        _rules_claims)
