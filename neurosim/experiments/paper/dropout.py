"""``dropout``: RBP and SRBP with dropout in the learning channel.

Inverted dropout, as Keras and PyTorch apply it (and the paper's authors
used): every variant sets ``channel_dropout_rescale = true``, so each kept
component of ``R^h`` is scaled by ``1 / (1 - p)`` (inert at ``p = 0``).
Without the rescale each layer of RBP's chain passes down ``1 - p`` of its
message and the bottom layers learn at ``(1 - p)**(L - 1)`` of the rate.
"""

from __future__ import annotations

from typing import Any

from neurosim.experiments.paper.common import (
    CLEAR,
    Claim,
    Experiment,
    Variant,
    above,
    beyond,
    rule_label,
    score,
)

DROPOUT_P = (0.0, 0.1, 0.25, 0.5)


def _dropout_variants(cfg: Any) -> list[Variant]:
    out = [Variant(f"{rule_label(r)} p={p}",
                   {"rule": r, "channel_dropout": p, "channel_dropout_rescale": True},
                   rule_label(r), p)
           for r in ("srbp", "rbp") for p in DROPOUT_P]  # fmt: skip
    out.append(Variant("top-only", {"rule": "top-only", "channel_dropout": 0.0}))
    return out


def _dropout_claims(runs: dict) -> list[Claim]:
    labels = [f"{r} p={p}" for r in ("SRBP", "RBP") for p in DROPOUT_P if p]
    base = {lab: lab.split()[0] + " p=0.0" for lab in labels}
    gaps = {lab: score(runs[lab]) - score(runs[base[lab]]) for lab in labels}
    worst = min(gaps, key=gaps.get)
    return [
        above(runs, labels, "top-only",
              "RBP and SRBP learn with dropout in the learning channel"),
        Claim("Dropout in the learning channel has no large impact (within 2 points of p = 0)",
              ", ".join(f"{lab} {g:+.4f}" for lab, g in gaps.items()) + f"; worst {worst}",
              not any(beyond(runs, base[lab], lab, CLEAR) for lab in labels)),
    ]  # fmt: skip


EXPERIMENT = Experiment("dropout", "Dropout in the learning channel", _dropout_variants,
                        _dropout_claims, x_label="dropout probability p")
