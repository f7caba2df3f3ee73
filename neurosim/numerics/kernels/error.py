"""Error unit: projection rounding, the log coder, block (message) exponents and
stochastic log rounding of error messages.

The unit turns a projected error ``p`` (times ``f'`` for hidden layers) into
the saturated linear error word, then into log codes: one fixed exponent
range (:func:`error_kernel`), one shared exponent per message
(:func:`error_kernel_block`), or either with stochastic (unbiased) rounding.
"""

from __future__ import annotations

import math

import numpy as np

from neurosim.numerics.fixedpoint import GOLDEN
from neurosim.numerics.kernels._lazy import jit
from neurosim.numerics.kernels.rounding import _clip, _mix64, _round_shift_int


def log_table(bits: int, top: int, emax: int) -> tuple[np.ndarray, np.ndarray]:
    """Decision thresholds and output levels of the log quantizer, as floats.

    ``thr[c]`` is the smallest integer ``m`` with ``m >= 2**(l - 1/2)`` for level
    ``l = top - emax + c``; a magnitude passing ``c`` thresholds becomes
    ``levels[c]`` (``levels[0] = 0``, then ``2**(top-emax) .. 2**top``). For a
    1-bit code ``levels[0] = 2**top`` (sign only). Thresholds are computed
    exactly with integer square roots and are exact in float64.
    """
    if bits == 1:
        return np.zeros(0), np.array([float(1 << top)])
    thr = []
    for lvl in range(top - emax, top + 1):
        # smallest m with m*m >= 2**(2*lvl - 1); 1 for lvl <= 0
        thr.append(1 if lvl <= 0 else math.isqrt((1 << (2 * lvl - 1)) - 1) + 1)
    levels = [0.0] + [float(1 << lvl) for lvl in range(top - emax, top + 1)]
    return np.array(thr, dtype=np.float64), np.array(levels, dtype=np.float64)


def _sqrt2_mantissa(mant_bits: int) -> int:
    # smallest mantissa field k with (1 + k / 2**mant_bits)**2 >= 2: a float
    # m = 2**e * (1 + f) is nearer 2**(e+1) than 2**e in the log domain
    # exactly when its mantissa field reaches k (sqrt 2 is irrational: no ties)
    return math.isqrt((1 << (2 * mant_bits + 1)) - 1) + 1 - (1 << mant_bits)


@jit(cache=True)
def _error_linear(p, d, use_d, shift, lo, hi, sign_level, f64_exact, out) -> int:
    # R = saturate(round_half_even(p * f' / 2**shift)); sign_level > 0 makes
    # it the 1-bit code +-sign_level (zero goes out with sign bit 0)
    sat = 0
    scale = 2.0 ** (-shift)
    for b in range(p.shape[0]):
        for j in range(p.shape[1]):
            if f64_exact:
                x = np.float64(p[b, j])
                if use_d:
                    x = x * d[b, j]
                v = np.rint(x * scale)
            else:
                iv = np.int64(p[b, j])
                if use_d:
                    iv = iv * np.int64(d[b, j])
                v = float(_round_shift_int(iv, shift))
            c = _clip(v, lo, hi)
            sat += c != v
            if sign_level > 0:
                c = -sign_level if c < 0 else sign_level
            out[b, j] = c
    return sat


@jit(cache=True)
def _log_pass(bits2d, mant_bits, bias, kthr, sign_mask, lo_lvl, top):
    # log quantizer on the IEEE bit patterns of integer-valued floats, in
    # place: the level is the exponent, plus one when the mantissa reaches
    # sqrt(2); levels above top clip to top, below lo_lvl become zero.
    # Integer selects only, so the loop vectorises.
    fmask = (np.int64(1) << mant_bits) - 1
    amask = ~sign_mask
    bits = bits2d.ravel()  # a view: the caller's array is C-contiguous
    for i in range(bits.size):
        b = np.int64(bits[i])
        mag = b & amask
        lvl = (mag >> mant_bits) - bias + ((mag & fmask) >= kthr)
        lvl = min(lvl, top)
        new = (lvl + bias) << mant_bits
        new = 0 if lvl < lo_lvl else new
        bits[i] = new | (b & sign_mask)


_K32 = _sqrt2_mantissa(23)
_K64 = _sqrt2_mantissa(52)


@jit(cache=True)
def _error_unit(p, d, use_d, shift, lo, hi, sign_level, f64_exact, do_log, lo_lvl, top, out):
    # error_kernel in one call: the linear word, then the log stage on the
    # bits of out (float32 or float64)
    sat = _error_linear(p, d, use_d, shift, lo, hi, sign_level, f64_exact, out)
    if do_log:
        if out.itemsize == 4:
            _log_pass(out.view(np.int32), 23, 127, _K32, -(1 << 31), lo_lvl, top)
        else:
            _log_pass(out.view(np.int64), 52, 1023, _K64, -(1 << 63), lo_lvl, top)
    return sat


@jit(cache=True)
def _log_range(bits, start, stop, mant_bits, bias, kthr, sign_mask, lo_lvl, top):
    # _log_pass on bits[start:stop] of a flat array (one message of a block)
    fmask = (np.int64(1) << mant_bits) - 1
    amask = ~sign_mask
    for i in range(start, stop):
        b = np.int64(bits[i])
        mag = b & amask
        lvl = (mag >> mant_bits) - bias + ((mag & fmask) >= kthr)
        lvl = min(lvl, top)
        new = (lvl + bias) << mant_bits
        new = 0 if lvl < lo_lvl else new
        bits[i] = new | (b & sign_mask)


@jit(cache=True, inline="always")
def _row_top(out, b, top_hi):
    # a message's exponent: top = ceil(log2 max_j |out[b, j]|) (exact: frexp
    # of an integer), clipped to top_hi; an all-zero row is set to +0.0 and
    # gets -1
    m = 0.0
    for j in range(out.shape[1]):
        m = max(m, abs(np.float64(out[b, j])))
    if m == 0.0:
        for j in range(out.shape[1]):
            out[b, j] = 0.0
        return np.int64(-1)
    mant, ex = math.frexp(m)
    top = np.int64(ex - 1) if mant == 0.5 else np.int64(ex)
    return min(top, np.int64(top_hi))


@jit(cache=True, inline="always")
def _row_rms_top(out, b, top_hi):
    # error_sign_scale = "rms": the smallest t with sum_j r_j**2 < n * 2**(2t+1)
    # (exact: integer codes, sums far below 2**53), clipped to top_hi
    s = 0.0
    n = out.shape[1]
    for j in range(n):
        v = np.float64(out[b, j])
        s += v * v
    t = np.int64(0)
    while t < top_hi and s >= n * math.ldexp(1.0, 2 * t + 1):
        t += 1
    return t


@jit(cache=True)
def _block_pass(out, flat, mant_bits, bias, kthr, sign_mask, lbits, emax, top_hi, tops, rms):
    # per row: top = ceil(log2 max|r|) (exact: frexp of an integer), clipped
    # to top_hi; then the row's log levels 2**top .. 2**max(top - emax, 0),
    # or the sign alone (lbits = 1); an all-zero row stays zero, top = -1
    n = out.shape[1]
    for b in range(out.shape[0]):
        top = _row_top(out, b, top_hi)
        tops[b] = top
        if top < 0:
            continue
        if lbits == 1:
            if rms:
                top = _row_rms_top(out, b, top_hi)
                tops[b] = top
            lvl = float(np.int64(1) << top)
            for j in range(n):
                out[b, j] = -lvl if out[b, j] < 0 else lvl
        else:
            _log_range(flat, b * n, (b + 1) * n, mant_bits, bias, kthr, sign_mask,
                       max(top - emax, 0), top)  # fmt: skip


@jit(cache=True)
def _error_unit_block(p, d, use_d, shift, lo, hi, f64_exact, lbits, emax, top_hi, tops, out,
                      rms):  # fmt: skip
    # error_kernel with a shared exponent per row: the linear word, then the
    # block log stage on the bits of out (float32 or float64)
    sat = _error_linear(p, d, use_d, shift, lo, hi, 0.0, f64_exact, out)
    if out.itemsize == 4:
        flat = out.view(np.int32).ravel()
        _block_pass(out, flat, 23, 127, _K32, -(1 << 31), lbits, emax, top_hi, tops, rms)
    else:
        flat = out.view(np.int64).ravel()
        _block_pass(out, flat, 52, 1023, _K64, -(1 << 63), lbits, emax, top_hi, tops, rms)
    return sat


def error_kernel_block(
    p, d, use_d, shift, qmin, qmax, lbits, emax, top_hi, f64_exact, out, tops, rms=False
) -> int:
    """Error unit with block (shared-exponent) log quantization.

    As :func:`error_kernel` up to the saturated error word; then each row
    ``b`` of ``out`` (one message) gets ``top_b = ceil(log2 max_j |r_bj|)``
    (integer units, the exponent of the largest code rounded up, at most
    ``top_hi = word_bits - 1``) and is log-quantized with ``alpha =
    2**top_b``: ``lbits = 1`` sends ``+-2**top_b`` for every component,
    ``lbits >= 2`` the levels ``2**top_b .. 2**max(top_b - emax, 0)`` and
    zero (``emax = 2**(lbits-1) - 2``). An all-zero row stays zero and gets
    ``top_b = -1``. ``tops`` (int64, length ``B``) receives the exponents.
    With ``rms`` (``error_sign_scale = "rms"``) a 1-bit row's exponent is
    the smallest ``t`` with ``sum_j r_bj**2 < n * 2**(2t + 1)`` (the rms
    rounded in the log domain), at most ``top_hi``.
    Returns the saturations of the error word.
    """
    if not out.flags.c_contiguous:
        raise ValueError("error_kernel_block writes a C-contiguous out array")
    if out.size == 0:
        return _error_linear(p, d, use_d, shift, float(qmin), float(qmax), 0.0, f64_exact, out)
    return _error_unit_block(
        p, d, use_d, shift, float(qmin), float(qmax), f64_exact, lbits, emax, top_hi, tops, out,
        bool(rms),
    )


def error_kernel(p, d, use_d, shift, qmin, qmax, lbits, top, thr, levels, f64_exact, out) -> int:
    """Error unit: ``R = Q_log(saturate(round_half_even(p * f' / 2**shift)))``.

    ``use_d`` False skips the derivative; ``lbits`` 0 keeps the linear word,
    1 is sign-only (``+-2**top``), >= 2 the log quantizer given by its
    thresholds ``thr`` and the ``levels`` they select (:func:`log_table`).
    ``f64_exact`` says every ``p * f'`` is below 2**53, so the float64 path
    is exact; otherwise the product and shift run on int64. ``out``
    (float32 or float64, C-contiguous, shape of ``p``) receives ``R``.
    Returns the saturations of the error word. A zero may be stored as
    ``-0.0``: it equals 0 in every later product, count and code, and is
    never written to weights.

    The log stage works on the bits of the saturated word: for an integer
    ``m >= 1`` the level nearest in the log domain is its exponent, rounded
    up when its mantissa reaches sqrt(2) -- the same decisions as the
    thresholds ``thr`` (the smallest integers at or above ``2**(l - 1/2)``).
    """
    if not out.flags.c_contiguous:
        raise ValueError("error_kernel writes a C-contiguous out array")
    sign_level = float(levels[0]) if lbits == 1 else 0.0
    emax = thr.size - 1  # thr holds levels top - emax .. top
    return _error_unit(
        p, d, use_d, shift, float(qmin), float(qmax), sign_level, f64_exact,
        lbits > 1 and out.size > 0, top - emax, top, out,
    )  # fmt: skip


# --- stochastic (unbiased) log quantization of error messages ---------------
#
# The rule of :func:`neurosim.numerics.fixedpoint.ref_stochastic_log_quantize`: the
# component at flat index ``b * n + j`` of a message batch (``n`` components
# per message) rounds with the top bits of the SplitMix64 word of counter
# ``counter0 + b * n + j`` under ``key``; the caller makes the counters unique
# per step, message, sample and component (see FixedEngine.error_counter).


@jit(cache=True, inline="always")
def _stochastic_level(v, lbits, top, lo, w):
    # one component: (value, random bits drawn); w is its uint64 word
    if lbits == 1:
        a = np.int64(1) << top
        c = min(max(v, -a), a)
        if c == a or c == -a:
            return c, 0
        u = np.int64(w >> np.uint64(64 - (top + 1)))
        return (a if u < a + c else -a), top + 1
    m = -v if v < 0 else v
    if m == 0:
        return np.int64(0), 0
    n = 0
    if m >= (np.int64(1) << top):
        q = np.int64(1) << top
    elif m >= (np.int64(1) << lo):
        lvl = np.int64(0)
        while (m >> (lvl + 1)) != 0:
            lvl += 1
        q = np.int64(1) << lvl
        rest = m - q
        if rest != 0:
            n = lvl
            if np.int64(w >> np.uint64(64 - lvl)) < rest:
                q = q << 1
    else:
        n = lo
        q = (np.int64(1) << lo) if np.int64(w >> np.uint64(64 - lo)) < m else np.int64(0)
    return (-q if v < 0 else q), n


@jit(cache=True)
def _stochastic_rows(out, lbits, top, lo, key, counter0, start, stop):
    # stochastic log quantization of rows start..stop of out in place;
    # returns the random bits drawn
    n = out.shape[1]
    g = np.uint64(GOLDEN)
    base = np.uint64(key) + np.uint64(counter0) * g
    drawn = 0
    for b in range(start, stop):
        for j in range(n):
            w = _mix64(base + np.uint64(b * n + j) * g)
            q, k = _stochastic_level(np.int64(out[b, j]), lbits, top, lo, w)
            out[b, j] = q
            drawn += k
    return drawn


@jit(cache=True)
def _error_unit_stochastic(p, d, use_d, shift, lo_w, hi_w, f64_exact, lbits, top, lo, key,
                           counter0, out):  # fmt: skip
    sat = _error_linear(p, d, use_d, shift, lo_w, hi_w, 0.0, f64_exact, out)
    drawn = _stochastic_rows(out, lbits, top, lo, key, counter0, 0, out.shape[0])
    return sat, drawn


@jit(cache=True)
def _error_unit_block_stochastic(p, d, use_d, shift, lo_w, hi_w, f64_exact, lbits, emax, top_hi,
                                 key, counter0, tops, out):  # fmt: skip
    sat = _error_linear(p, d, use_d, shift, lo_w, hi_w, 0.0, f64_exact, out)
    drawn = 0
    for b in range(out.shape[0]):
        top = _row_top(out, b, top_hi)
        tops[b] = top
        if top < 0:
            continue
        drawn += _stochastic_rows(out, lbits, top, max(top - emax, 0), key, counter0, b, b + 1)
    return sat, drawn


def error_kernel_stochastic(
    p, d, use_d, shift, qmin, qmax, lbits, top, emax, f64_exact, key, counter0, out
) -> tuple[int, int]:
    """:func:`error_kernel` with stochastic (unbiased) log rounding.

    The saturated error word as :func:`error_kernel`; then every component
    is rounded to ``+-2**l`` (``top - emax <= l <= top``) or 0 as
    :func:`neurosim.numerics.fixedpoint.ref_stochastic_log_quantize` does, or to
    ``+-2**top`` with ``lbits = 1``. Component ``(b, j)`` uses the
    SplitMix64 word of counter ``counter0 + b * n + j`` under ``key``
    (``n = out.shape[1]``). Returns ``(saturations, random bits drawn)``.
    """
    if not out.flags.c_contiguous:
        raise ValueError("error_kernel_stochastic writes a C-contiguous out array")
    sat, drawn = _error_unit_stochastic(
        p, d, use_d, shift, float(qmin), float(qmax), f64_exact, int(lbits), int(top),
        int(top - emax), int(key), int(counter0), out,
    )  # fmt: skip
    return int(sat), int(drawn)


def error_kernel_block_stochastic(
    p, d, use_d, shift, qmin, qmax, lbits, emax, top_hi, f64_exact, key, counter0, out, tops
) -> tuple[int, int]:
    """:func:`error_kernel_block` with stochastic (unbiased) log rounding.

    Each row's exponent ``top_b`` as :func:`error_kernel_block` (an all-zero
    row stays zero, ``top_b = -1``, and draws nothing); its components are
    then rounded stochastically between the levels ``2**top_b ..
    2**max(top_b - emax, 0)`` and 0 (``+-2**top_b`` with ``lbits = 1``),
    with the words of :func:`error_kernel_stochastic`. Returns
    ``(saturations, random bits drawn)``.
    """
    if not out.flags.c_contiguous:
        raise ValueError("error_kernel_block_stochastic writes a C-contiguous out array")
    sat, drawn = _error_unit_block_stochastic(
        p, d, use_d, shift, float(qmin), float(qmax), f64_exact, int(lbits), int(emax),
        int(top_hi), int(key), int(counter0), tops, out,
    )  # fmt: skip
    return int(sat), int(drawn)
