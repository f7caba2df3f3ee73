"""``fixed-layers``: the top layer(s) fixed, the lower ones trained."""

from __future__ import annotations

from typing import Any

from neurosim.experiments.paper.common import (
    NEAR,
    Claim,
    Experiment,
    Variant,
    above,
    fmt4,
    rule_label,
    score,
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
    top = score(runs["top-only"])
    fixed = [f"{r} {w} fixed" for r in ("SRBP", "RBP") for w in ("top", "top two")]
    return [
        Claim("Fixing the top layer(s) and training the lower ones with RBP or SRBP does not "
              "learn: no better than top-only",
              ", ".join(f"{lab} {fmt4(score(runs[lab]))}" for lab in fixed)
              + f"; top-only {fmt4(top)}",
              all(score(runs[lab]) <= top + NEAR for lab in fixed)),
        above(runs, ["BP top fixed"], "top-only",
              "Unlike gradient descent: BP with the top layer fixed still learns"),
    ]  # fmt: skip


EXPERIMENT = Experiment("fixed-layers", "Fixed top layers, lower layers trained",
                        _fixed_layers_variants, _fixed_layers_claims)
