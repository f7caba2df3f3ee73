"""``sign-magnitude``: hidden updates reduced to their sign or their magnitude."""

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


def _sign_variants(cfg: Any) -> list[Variant]:
    out = [Variant(f"{rule_label(r)} {m}", {"rule": r, "update_mode": m})
           for r in ("srbp", "rbp") for m in ("full", "sign", "magnitude")]  # fmt: skip
    out.append(Variant("top-only", {"rule": "top-only", "update_mode": "full"}))
    return out


def _sign_claims(runs: dict) -> list[Claim]:
    mag = [f"{r} magnitude" for r in ("SRBP", "RBP")]
    return [
        Claim("Keeping only the magnitude of the hidden updates (no sign) does not learn: "
              "no better than top-only",
              ", ".join(f"{lab} {show(runs[lab])}" for lab in mag)
              + f"; top-only {show(runs['top-only'])}",
              not any(beyond(runs, lab, "top-only", NEAR) for lab in mag)),
        above(runs, ["SRBP sign", "RBP sign"], "top-only",
              "Keeping only the sign (a 1-bit update, the precision result) still learns"),
    ]  # fmt: skip


EXPERIMENT = Experiment("sign-magnitude", "Sign-only and magnitude-only hidden updates",
                        _sign_variants, _sign_claims)
