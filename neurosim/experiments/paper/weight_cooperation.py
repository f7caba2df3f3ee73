"""``weight-cooperation``: a separate random feedback weight per synapse (float)."""

from __future__ import annotations

from typing import Any

from neurosim.experiments.paper.common import NEAR, Claim, Experiment, Variant, fmt4, score


def _cooperation_variants(cfg: Any) -> list[Variant]:
    return [
        Variant("SRBP", {"rule": "srbp", "feedback_per_synapse": False}),
        Variant("SRBP per synapse", {"rule": "srbp", "feedback_per_synapse": True}),
        Variant("top-only", {"rule": "top-only", "feedback_per_synapse": False}),
    ]


def _cooperation_claims(runs: dict) -> list[Claim]:
    top, ps = score(runs["top-only"]), score(runs["SRBP per synapse"])
    return [
        Claim("A separate random feedback weight per synapse (no weight cooperation) does "
              "not learn: no better than top-only",
              f"per synapse {fmt4(ps)}; top-only {fmt4(top)}; SRBP {fmt4(score(runs['SRBP']))}",
              ps <= top + NEAR),
    ]  # fmt: skip


EXPERIMENT = Experiment("weight-cooperation", "Per-synapse feedback: no weight cooperation (float)",
                        _cooperation_variants, _cooperation_claims, settings=dict(mode="float"))
