"""``error-bits``: BP, RBP and SRBP with log-quantized error codes of 1 to 10
bits, float and fixed side by side.

Every main series runs the datapath on which the paper's precision claim
("gracious degradation ... down to a single bit") holds: the projected
signal ``B^h`` is coded before ``f'`` (``error_coding =
"before_derivative"``), the output layer trains on its own full error word
and only the messages are coded (``top_error = "full"``), each message has a
shared exponent (``error_scale = "block"``) and is rounded stochastically
from 2 bits up (at 1 bit the deterministic sign: a stochastic sign is
noise; the words on the chain scaled by their rms, ``error_sign_scale =
"rms"``: scaled by its largest value every coded layer inflates the error,
the inflation compounds down the chain and 1-bit RBP falls below top-only).
RBP codes once per layer, as BP does: the chain carries ``Q(C^h R^{h+1})``.
The contrast series is the chip's default datapath (``R^h = Q(f'
B^h)``, the top layer on its coded ``R^L``, one fixed alpha), which collapses
to chance at low widths: at 1 bit every hidden component is ``+-alpha``
whatever ``f'`` says, so saturated units keep receiving full-size updates.
"""

from __future__ import annotations

from typing import Any

from neurosim.experiments.paper.common import (
    NEAR,
    STEP,
    Claim,
    Experiment,
    Variant,
    beats,
    beyond,
    fmt4,
    gap,
    score,
    show,
    values,
)

ERROR_BITS = (1, 2, 3, 4, 5, 6, 7, 10)
RULES = ("SRBP", "RBP", "BP")
MODES = ("float", "fixed")
MARGIN = 0.05  # the bar: 1-bit errors beat top-only by 5 points

GRACEFUL = {"error_coding": "before_derivative", "top_error": "full", "error_scale": "block"}
"""The datapath of the main series (rounding set per width: :func:`graceful`)."""

CONTRAST = "SRBP, coded after f′ (default datapath)"
"""The contrast series' name (fixed alpha, ``R^h = Q(f' B^h)``, float)."""


def graceful(bits: int) -> dict[str, Any]:
    """Fields of the main series at ``bits``: stochastic rounding from 2 bits,
    the deterministic sign at 1 bit (chain words scaled by their rms)."""
    if bits == 1:
        return {**GRACEFUL, "error_bits": 1, "error_rounding": "nearest",
                "error_sign_scale": "rms"}  # fmt: skip
    return {**GRACEFUL, "error_bits": bits, "error_rounding": "stochastic"}


def _label(rule: str, mode: str, bits: int | None) -> str:
    return f"{rule} {mode} " + (f"{bits}-bit" if bits else "linear")


def _error_bits_variants(cfg: Any) -> list[Variant]:
    out = []
    for mode in MODES:
        for rule in RULES:
            series = f"{rule}, {mode}"
            out += [Variant(_label(rule, mode, b), {"rule": rule.lower(), "mode": mode,
                                                     **graceful(b)}, series, b)
                    for b in ERROR_BITS]  # fmt: skip
            out.append(Variant(_label(rule, mode, None),
                               {"rule": rule.lower(), "mode": mode, "error_bits": 0}))  # fmt: skip
        out.append(Variant(f"top-only {mode}", {"rule": "top-only", "mode": mode,
                                                "error_bits": 0}))  # fmt: skip
    out += [Variant(f"SRBP {b}-bit after f′", {"rule": "srbp", "mode": "float", "error_bits": b},
                    CONTRAST, b)
            for b in (1, 2, 3, 4, 7, 10)]  # fmt: skip
    return out


def _series_claims(runs: dict, rule: str, mode: str) -> list[Claim]:
    """The three claims on one (rule, mode) series of the main datapath, judged
    on the means over the seeds by the rule of :mod:`.stats`."""
    name = f"{rule}, {mode}"
    top, lin = f"top-only {mode}", _label(rule, mode, None)
    lab = {b: _label(rule, mode, b) for b in ERROR_BITS}
    acc = {b: score(runs[lab[b]]) for b in ERROR_BITS}
    pairs = list(zip(ERROR_BITS[:-1], ERROR_BITS[1:], strict=True))
    lo_at, hi_at = max(pairs, key=lambda p: acc[p[1]] - acc[p[0]])
    # a step down in width fails the claim only when its loss exceeds STEP
    # and the paired difference counts
    steep = [(lo, hi) for lo, hi in pairs if beyond(runs, lab[hi], lab[lo], STEP)]
    return [
        Claim(f"With 1-bit (sign) errors {rule} beats top-only by "
              f"{MARGIN * 100:.0f} points ({name})",
              f"1 bit {show(runs[lab[1]])}; top-only {show(runs[top])} "
              f"({gap(runs, lab[1], top)})",
              beats(runs, lab[1], top, MARGIN)),
        Claim(f"By 7 bits {rule} is near full precision (linear errors; {name})",
              f"7 bits {show(runs[lab[7]])}; linear {show(runs[lin])} "
              f"({gap(runs, lab[7], lin)})",
              not beyond(runs, lin, lab[7], NEAR)),
        Claim(f"Accuracy degrades gracefully: a step down in width never costs more "
              f"than {STEP * 100:.0f} points ({name})",
              f"largest loss {acc[hi_at] - acc[lo_at]:+.4f} ({hi_at} to {lo_at} bits"
              + (f", {gap(runs, lab[hi_at], lab[lo_at])}" if len(values(runs[lin])) > 1 else "")
              + "); " + ", ".join(f"{b}: {fmt4(acc[b])}" for b in ERROR_BITS),
              not steep),
    ]  # fmt: skip


def _error_bits_claims(runs: dict) -> list[Claim]:
    # checked for each (rule, mode) series alone, so the table shows which
    # series meets which claim; the contrast series is shown, not judged
    return [c for mode in MODES for rule in RULES for c in _series_claims(runs, rule, mode)]


EXPERIMENT = Experiment(
    "error-bits",
    "Log-quantized error bits (BP, RBP, SRBP; B^h coded before f', float and fixed)",
    _error_bits_variants, _error_bits_claims, x_label="error code bits",
)
