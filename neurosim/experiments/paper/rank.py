"""``rank``: SRBP with low-rank feedback (truncated SVD of C^h)."""

from __future__ import annotations

from typing import Any

from neurosim.experiments.paper.common import (
    CLEAR,
    NEAR,
    Claim,
    Experiment,
    Variant,
    channel_sweep,
    fmt4,
    score,
)


def _rank_variants(cfg: Any) -> list[Variant]:
    return channel_sweep(cfg, "lowrank", "rank", "rank {}", "low-rank SRBP")


def _rank_claims(runs: dict) -> list[Claim]:
    rs = sorted(int(lab.split()[1]) for lab in runs if lab.startswith("rank "))
    acc = {r: score(runs[f"rank {r}"]) for r in rs}
    top, full = score(runs["top-only"]), acc[rs[-1]]
    return [
        Claim("Accuracy falls as the rank of C^h goes to 0",
              ", ".join(f"{r}: {fmt4(acc[r])}" for r in rs),
              acc[0] <= min(acc[r] for r in rs[1:]) and full >= acc[0] + CLEAR),
        Claim("Rank 0 (no feedback) is no better than top-only",
              f"rank 0 {fmt4(acc[0])}; top-only {fmt4(top)}", acc[0] <= top + NEAR),
    ]  # fmt: skip


EXPERIMENT = Experiment("rank", "Low-rank feedback: truncated SVD of C^h (SRBP)", _rank_variants,
                        _rank_claims, x_label="rank of C^h")
