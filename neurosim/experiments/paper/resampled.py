"""``resampled``: feedback C^h redrawn every minibatch versus held fixed."""

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
    show,
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
    res = [f"{r} resampled" for r in ("SRBP", "RBP")]
    return [
        Claim("Zero-mean C^h resampled every minibatch is poor, similar to top-only "
              "(within 2 points of it)",
              ", ".join(f"{lab} {show(runs[lab])}" for lab in res)
              + f"; top-only {show(runs['top-only'])}",
              not any(beyond(runs, a, b, CLEAR) for lab in res
                      for a, b in ((lab, "top-only"), ("top-only", lab)))),
        above(runs, ["SRBP fixed C", "RBP fixed C"], "top-only",
              "The same C^h held fixed learns"),
    ]  # fmt: skip


EXPERIMENT = Experiment("resampled", "Feedback resampled every minibatch", _resampled_variants,
                        _resampled_claims)
