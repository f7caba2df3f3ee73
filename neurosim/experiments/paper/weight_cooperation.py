"""``weight-cooperation``: a separate random feedback weight per synapse (float)."""

from __future__ import annotations

from typing import Any

from neurosim.experiments.paper.common import (
    NEAR,
    Claim,
    Experiment,
    Variant,
    beyond,
    show,
)


def _cooperation_variants(cfg: Any) -> list[Variant]:
    return [
        Variant("SRBP", {"rule": "srbp", "feedback_per_synapse": False}),
        Variant("SRBP per synapse", {"rule": "srbp", "feedback_per_synapse": True}),
        Variant("top-only", {"rule": "top-only", "feedback_per_synapse": False}),
    ]


def _cooperation_claims(runs: dict) -> list[Claim]:
    return [
        Claim("A separate random feedback weight per synapse (no weight cooperation) does "
              "not learn: no better than top-only",
              f"per synapse {show(runs['SRBP per synapse'])}; top-only {show(runs['top-only'])};"
              f" SRBP {show(runs['SRBP'])}",
              not beyond(runs, "SRBP per synapse", "top-only", NEAR)),
    ]  # fmt: skip


EXPERIMENT = Experiment("weight-cooperation", "Per-synapse feedback: no weight cooperation (float)",
                        _cooperation_variants, _cooperation_claims, settings=dict(mode="float"))
