"""``rank``: SRBP with low-rank feedback (truncated SVD of C^h)."""

from __future__ import annotations

from typing import Any

from neurosim.experiments.paper.common import (
    CLEAR,
    NEAR,
    Claim,
    Experiment,
    Variant,
    beats,
    beyond,
    channel_sweep,
    fmt4,
    score,
    show,
)


def _rank_variants(cfg: Any) -> list[Variant]:
    return channel_sweep(cfg, "lowrank", "rank", "rank {}", "low-rank SRBP")


def _rank_claims(runs: dict) -> list[Claim]:
    rs = sorted(int(lab.split()[1]) for lab in runs if lab.startswith("rank "))
    acc = {r: score(runs[f"rank {r}"]) for r in rs}
    return [
        Claim("Accuracy falls as the rank of C^h goes to 0",
              ", ".join(f"{r}: {fmt4(acc[r])}" for r in rs),
              not any(beyond(runs, "rank 0", f"rank {r}", 0.0) for r in rs[1:])
              and beats(runs, f"rank {rs[-1]}", "rank 0", CLEAR)),
        Claim("Rank 0 (no feedback) is no better than top-only",
              f"rank 0 {show(runs['rank 0'])}; top-only {show(runs['top-only'])}",
              not beyond(runs, "rank 0", "top-only", NEAR)),
    ]  # fmt: skip


EXPERIMENT = Experiment("rank", "Low-rank feedback: truncated SVD of C^h (SRBP)", _rank_variants,
                        _rank_claims, x_label="rank of C^h")
