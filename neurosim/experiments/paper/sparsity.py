"""``sparsity``: SRBP with sparse feedback, n ones per row of C^h."""

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


def _sparsity_variants(cfg: Any) -> list[Variant]:
    return channel_sweep(cfg, "sparse", "feedback_n", "sparse n={}", "sparse SRBP")


def _sparsity_claims(runs: dict) -> list[Claim]:
    ns = sorted(int(lab.split("=")[1]) for lab in runs if lab.startswith("sparse n="))
    k = ns[-1]
    acc = {n: score(runs[f"sparse n={n}"]) for n in ns}
    mid = {n: a for n, a in acc.items() if 0 < n < k}
    best_n = max(mid, key=mid.get)
    best, dense = f"sparse n={best_n}", score(runs["dense SRBP"])
    return [
        Claim("Sparse feedback works between the extremes (as well as dense C^h)",
              f"best n={best_n} {fmt4(mid[best_n])}; dense {fmt4(dense)}",
              not beyond(runs, "dense SRBP", best, CLEAR)),
        Claim("It fails at n = 0 (no feedback: no better than top-only)",
              f"n=0 {show(runs['sparse n=0'])}; top-only {show(runs['top-only'])}",
              not beyond(runs, "sparse n=0", "top-only", NEAR)),
        Claim(f"It fails at n = fan-in = {k} (all ones: a rank-one channel)",
              f"n={k} {fmt4(acc[k])}; best between {fmt4(mid[best_n])}",
              beats(runs, best, f"sparse n={k}", CLEAR)),
    ]  # fmt: skip


EXPERIMENT = Experiment("sparsity", "Sparse feedback: n ones per row, p = n / fan-in (SRBP)",
                        _sparsity_variants, _sparsity_claims, x_label="n")
