"""``adaptive``: the adaptive learning channels ARBP and ASRBP."""

from __future__ import annotations

from typing import Any

from neurosim.experiments.paper.common import Claim, Experiment, Variant, above, rule_label


def _adaptive_variants(cfg: Any) -> list[Variant]:
    return [Variant(rule_label(r), {"rule": r})
            for r in ("arbp", "asrbp", "rbp", "srbp", "top-only")]  # fmt: skip


def _adaptive_claims(runs: dict) -> list[Claim]:
    return [
        above(runs, ["ARBP", "ASRBP"], "top-only",
              "The adaptive rules ARBP and ASRBP (dC^h = eta O^h R) learn"),
    ]  # fmt: skip


EXPERIMENT = Experiment("adaptive", "Adaptive learning channels (ARBP, ASRBP)",
                        _adaptive_variants, _adaptive_claims)
