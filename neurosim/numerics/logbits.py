"""Log codes of float32 arrays computed on their bits: the float engine's
error and update codes (:func:`log_quantize_f32`)."""

from __future__ import annotations

import numpy as np

from neurosim.numerics.fixedpoint import log_quantize

__all__ = ["log_quantize_f32"]

#: float32's mantissa field at or above which a value rounds up to the next
#: power of two in the log domain: m = 1 + M / 2**23 >= sqrt(2) exactly when
#: M >= ceil((sqrt(2) - 1) * 2**23) (sqrt(2) is irrational: no tie)
_SQRT2_MANT = 3474676


def log_quantize_f32(x: np.ndarray, bits: int, top: int, emax: int) -> np.ndarray:
    """:func:`log_quantize` of a float32 array, as float32: the same values
    as ``log_quantize(x, ...).astype(np.float32)``, computed on the bits.

    Adding ``2**23 - _SQRT2_MANT`` to ``|x|``'s bits carries into the
    exponent field exactly when the mantissa rounds up, so the exponent
    field is the level; the output's bits are the sign and that level.
    Arrays this does not cover (another dtype, levels outside float32's
    normal range, or Inf/NaN) go through :func:`log_quantize`.
    """
    lo = top - emax
    if (not isinstance(x, np.ndarray) or x.dtype != np.float32 or bits == 1
            or lo < -125 or top > 127):  # fmt: skip
        return log_quantize(x, bits, top, emax).astype(np.float32)
    b = x.view(np.int32)
    lvl = b & np.int32(0x7FFFFFFF)  # |x|
    if lvl.size and int(lvl.max()) >= 0x7F800000:  # Inf or NaN
        return log_quantize(x, bits, top, emax).astype(np.float32)
    lvl += np.int32((1 << 23) - _SQRT2_MANT)
    lvl >>= 23  # the biased level: 127 + level
    keep = lvl >= lo + 127  # zero and subnormals fall below the smallest level
    np.minimum(lvl, top + 127, out=lvl)
    lvl <<= 23
    lvl |= b & np.int32(-0x80000000)  # the sign
    lvl *= keep  # +0.0 below the smallest level
    return lvl.view(np.float32)
