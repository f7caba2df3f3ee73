"""``init-mean``: RBP and SRBP with feedback of a non-zero mean."""

from __future__ import annotations

from typing import Any

from neurosim.experiments.paper.common import Claim, Experiment, Variant, above

FEEDBACK_MEANS = (0.0, 0.1, 0.25, 0.5)


def _mean_variants(cfg: Any) -> list[Variant]:
    out = [Variant(f"SRBP mean {m}", {"rule": "srbp", "feedback_mean": m}, "SRBP", m)
           for m in FEEDBACK_MEANS]  # fmt: skip
    out += [Variant(f"RBP mean {m}", {"rule": "rbp", "feedback_mean": m}, "RBP", m)
            for m in FEEDBACK_MEANS]  # fmt: skip
    out.append(Variant("top-only", {"rule": "top-only", "feedback_mean": 0.0}))
    return out


def _mean_claims(runs: dict) -> list[Claim]:
    labels = [f"{r} mean {m}" for r in ("SRBP", "RBP") for m in FEEDBACK_MEANS if m]
    return [above(runs, labels, "top-only", "Feedback with a non-zero mean learns")]


EXPERIMENT = Experiment("init-mean", "Feedback with a non-zero mean", _mean_variants,
                        _mean_claims, x_label="mean of C^h entries")
