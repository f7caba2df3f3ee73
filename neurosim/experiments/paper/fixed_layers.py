"""``fixed-layers``: the top layer(s) fixed, the lower ones trained."""

from __future__ import annotations

from typing import Any

from neurosim.experiments.paper.common import (
    NEAR,
    Claim,
    Experiment,
    Variant,
    above,
    beyond,
    rule_label,
    show,
)


def _fixed_layers_variants(cfg: Any) -> list[Variant]:
    L = len(cfg.hidden) + 1
    out = []
    for r in ("srbp", "rbp", "bp"):
        out.append(Variant(f"{rule_label(r)} top fixed", {"rule": r, "freeze": [L]}))
        out.append(Variant(f"{rule_label(r)} top two fixed", {"rule": r, "freeze": [L - 1, L]}))
        out.append(Variant(f"{rule_label(r)} all trained", {"rule": r, "freeze": []}))
    out.append(Variant("top-only", {"rule": "top-only", "freeze": []}))
    return out


def _fixed_layers_claims(runs: dict) -> list[Claim]:
    fixed = [f"{r} {w} fixed" for r in ("SRBP", "RBP") for w in ("top", "top two")]
    return [
        Claim("Fixing the top layer(s) and training the lower ones with RBP or SRBP does not "
              "learn: no better than top-only",
              ", ".join(f"{lab} {show(runs[lab])}" for lab in fixed)
              + f"; top-only {show(runs['top-only'])}",
              not any(beyond(runs, lab, "top-only", NEAR) for lab in fixed)),
        above(runs, ["BP top fixed"], "top-only",
              "Unlike gradient descent: BP with the top layer fixed still learns"),
    ]  # fmt: skip


EXPERIMENT = Experiment("fixed-layers", "Fixed top layers, lower layers trained",
                        _fixed_layers_variants, _fixed_layers_claims)
