"""Integer rounding and saturation shared by the chip's units (numba, inlined).

Shifting right with round half to even (the requantiser of the forward
unit, the error unit's int64 path, nearest-rounded updates) and saturating
a value to a word's range (the MAC's accumulator, every write-back); and
the SplitMix64 finaliser that makes the stochastic rounding's random words
(:func:`neurosim.numerics.fixedpoint.ref_mix64` is its reference on Python
ints).
"""

from __future__ import annotations

import numpy as np

from neurosim.numerics.kernels._lazy import jit


@jit(cache=True)
def _round_shift_int(v, shift):
    if shift <= 0:
        return v << (-shift)
    fl = v >> shift
    rem = v - (fl << shift)
    half = np.int64(1) << (shift - 1)
    if rem > half or (rem == half and (fl & 1) == 1):
        fl += 1
    return fl


@jit(cache=True, inline="always")
def _clamp(v, lo, hi):
    # saturate v to [lo, hi]; the second value is 1 when it clipped
    if v > hi:
        return hi, 1
    if v < lo:
        return lo, 1
    return v, 0


@jit(cache=True, inline="always")
def _clip(v, lo, hi):
    # v saturated to [lo, hi] (lo <= hi, no NaN) as two selects: unlike
    # min/max, which keep NaN's order rules, these vectorise on AVX2 too
    v = v if v < hi else hi
    return v if v > lo else lo


@jit(cache=True, inline="always")
def _mix64(z: np.uint64) -> np.uint64:
    # SplitMix64's finaliser, equal to fixedpoint.ref_mix64 (uint64 wraps)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))
