"""``resampled``: feedback C^h redrawn every minibatch versus held fixed."""

from __future__ import annotations

from typing import Any

from neurosim.experiments.paper.common import (
    CLEAR,
    Claim,
    Experiment,
    Variant,
    above,
    fmt4,
    rule_label,
    score,
)


def _resampled_variants(cfg: Any) -> list[Variant]:
    out = []
    for r in ("srbp", "rbp"):
        out.append(Variant(f"{rule_label(r)} fixed C", {"rule": r, "feedback_resample": False}))
        out.append(Variant(f"{rule_label(r)} resampled", {"rule": r, "feedback_resample": True}))
    out.append(Variant("RBP resampled, sign-concordant",
                       {"rule": "rbp", "feedback_resample": True,
                        "feedback_sign": "concordant"}))  # fmt: skip
    out.append(Variant("top-only", {"rule": "top-only"}))
    return out


def _resampled_claims(runs: dict) -> list[Claim]:
    top = score(runs["top-only"])
    res = {r: score(runs[f"{r} resampled"]) for r in ("SRBP", "RBP")}
    return [
        Claim("Zero-mean C^h resampled every minibatch is poor, similar to top-only "
              "(within 2 points of it)",
              ", ".join(f"{r} {fmt4(a)}" for r, a in res.items()) + f"; top-only {fmt4(top)}",
              all(abs(a - top) <= CLEAR for a in res.values())),
        above(runs, ["SRBP fixed C", "RBP fixed C"], "top-only",
              "The same C^h held fixed learns"),
    ]  # fmt: skip


EXPERIMENT = Experiment("resampled", "Feedback resampled every minibatch", _resampled_variants,
                        _resampled_claims)
