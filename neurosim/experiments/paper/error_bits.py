"""``error-bits``: SRBP with log-quantized error codes of 1 to 10 bits."""

from __future__ import annotations

from typing import Any

from neurosim.experiments.paper.common import (
    CLEAR,
    NEAR,
    STEP,
    Claim,
    Experiment,
    Variant,
    fmt4,
    score,
)

ERROR_BITS = tuple(range(1, 11))


# the error-bits series: (name in claims, label suffix of its runs, fields)
ERROR_BITS_SERIES = (
    ("fixed alpha", "", {}),
    ("block exponent", " block", {"error_scale": "block"}),
    ("block exponent, stochastic", " block, stochastic",
     {"error_scale": "block", "error_rounding": "stochastic"}),
)  # fmt: skip


def _error_bits_variants(cfg: Any) -> list[Variant]:
    # three series: one alpha for every message (error_alpha_log2, default
    # 1), a shared exponent per message (error_scale = "block"), and the
    # block exponent with unbiased stochastic rounding of the codes
    out = [Variant(f"SRBP {b}-bit{suffix}", {"rule": "srbp", "error_bits": b, **fields},
                   f"SRBP, {name}", b)
           for name, suffix, fields in ERROR_BITS_SERIES
           for b in ERROR_BITS]  # fmt: skip
    out.append(Variant("SRBP linear", {"rule": "srbp", "error_bits": 0}))
    out.append(Variant("top-only", {"rule": "top-only", "error_bits": 0}))
    return out


def _error_bits_claims(runs: dict) -> list[Claim]:
    # the three claims, checked for each quantizer design (series) alone,
    # so the table shows which design meets which claim
    top, lin = score(runs["top-only"]), score(runs["SRBP linear"])
    claims = []
    for name, suffix, _ in ERROR_BITS_SERIES:
        acc = {b: score(runs[f"SRBP {b}-bit{suffix}"]) for b in ERROR_BITS}
        worst = max(acc[b + 1] - acc[b] for b in ERROR_BITS[:-1])
        at = max(ERROR_BITS[:-1], key=lambda b: acc[b + 1] - acc[b])
        claims += [
            Claim(f"With 1-bit (sign) errors SRBP still beats top-only ({name})",
                  f"1 bit {fmt4(acc[1])}; top-only {fmt4(top)}", acc[1] >= top + CLEAR),
            Claim(f"By 7 bits SRBP is near full precision (linear 16-bit errors; {name})",
                  f"7 bits {fmt4(acc[7])}; linear {fmt4(lin)}", acc[7] >= lin - NEAR),
            Claim(f"Accuracy degrades gracefully: one bit less never costs more than "
                  f"{STEP * 100:.0f} points ({name})",
                  f"largest one-bit loss {worst:+.4f} ({at + 1} to {at} bits); "
                  + ", ".join(f"{b}: {fmt4(acc[b])}" for b in ERROR_BITS),
                  worst <= STEP),
        ]  # fmt: skip
    return claims


EXPERIMENT = Experiment(
    "error-bits", "Log-quantized error bits (SRBP; fixed alpha, block exponent, stochastic)",
    _error_bits_variants, _error_bits_claims, x_label="error code bits",
)
