"""Fixed-point formats, rounding, saturation and the log quantizer.

These are the chip's arithmetic specification. Two implementations of every
operation live here side by side:

* vectorised ones over float64 arrays that *hold integers* (every value is an
  exact integer below 2**53, so float64 addition, power-of-two scaling,
  ``rint`` and ``floor`` are exact); the training engine uses these;
* ``ref_*`` ones over Python ``int``, written with shifts and comparisons only,
  used by the slow reference implementation and the tests.

Conventions
-----------
A signed format ``Q(bits, frac)`` stores the integer ``q`` in
``[-2**(bits-1), 2**(bits-1) - 1]`` and means the real value ``q * 2**-frac``.
An unsigned format stores ``[0, 2**bits - 1]``. Two's complement has no
negative zero: ``-0.0`` quantizes to the integer ``0``.

Rounding a value right by ``k`` bits (dividing by ``2**k``):

* ``nearest``: round half to even (IEEE default; no bias on ties);
* ``stochastic``: ``floor((v + r) / 2**k)`` with ``r`` uniform on
  ``[0, 2**k)`` drawn from a counter-based generator, so that
  ``E[result] = v / 2**k`` exactly and the same counter always gives the same
  bits, whatever the order or batching of the computation.

The counter-based generator is SplitMix64 (Steele, Lea, Flood, "Fast
splittable pseudorandom number generators", OOPSLA 2014): the random word for
counter ``c`` under key ``k`` is ``mix64(k + c * GOLDEN)``. Each tile (in this
engine: each layer and purpose) has its own key, derived from the run seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from neurosim.errors import ConfigError

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
ROUNDING_MODES = ("nearest", "stochastic")
# fl(1/sqrt(2)) is the double just above 1/sqrt(2); a float64 mantissa f of an
# integer is >= it exactly when f > 1/sqrt(2) (see log_quantize).
_INV_SQRT2 = 0.7071067811865476


@dataclass(frozen=True)
class FixedFormat:
    """A fixed-point number format.

    Parameters
    ----------
    bits : int
        Total width in bits, sign included for signed formats (1..62).
    frac : int
        Fraction bits: the integer ``q`` means ``q * 2**-frac``. May exceed
        ``bits`` (all-fraction formats) or be negative.
    signed : bool
        Two's complement signed (default) or unsigned.
    """

    bits: int
    frac: int
    signed: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.bits <= 62:
            raise ConfigError("bits", self.bits, "a width of 1 to 62 bits")
        if self.signed and self.bits < 2:
            raise ConfigError("bits", self.bits, "signed formats need at least 2 bits")

    @cached_property
    def qmin(self) -> int:
        """Smallest stored integer."""
        return -(1 << (self.bits - 1)) if self.signed else 0

    @cached_property
    def qmax(self) -> int:
        """Largest stored integer."""
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @cached_property
    def lsb(self) -> float:
        """Real value of one least significant bit, ``2**-frac``."""
        return math.ldexp(1.0, -self.frac)

    @cached_property
    def max_abs(self) -> int:
        """Largest magnitude of a stored integer."""
        return max(-self.qmin, self.qmax)

    def __str__(self) -> str:
        kind = "Q" if self.signed else "UQ"
        return f"{kind}{self.bits}.{self.frac}"

    def quantize(self, x: np.ndarray, rounding: str = "nearest") -> tuple[np.ndarray, int]:
        """Quantize real values to this format (round to nearest even, saturate).

        Parameters
        ----------
        x : ndarray of float
            Real values.
        rounding : str
            Only ``"nearest"`` is deterministic without a generator; it is the
            mode used for data and parameter initialisation.

        Returns
        -------
        q : ndarray of float64
            Integer codes (held in float64).
        saturations : int
            How many values were clipped to the format's range.
        """
        if rounding != "nearest":
            raise ConfigError("rounding", rounding, "quantize() of real values uses 'nearest'")
        # +0.0 turns -0.0 into 0: two's complement has no negative zero
        q = np.asarray(np.rint(np.ldexp(np.asarray(x, dtype=np.float64), self.frac)) + 0.0)
        return saturate(q, self)

    def to_real(self, q: np.ndarray) -> np.ndarray:
        """Real values of integer codes ``q`` (float64)."""
        return np.ldexp(np.asarray(q, dtype=np.float64), -self.frac)


# ---------------------------------------------------------------------------
# vectorised operations over integer-valued float64 arrays
# ---------------------------------------------------------------------------


def saturate(q: np.ndarray, fmt: FixedFormat) -> tuple[np.ndarray, int]:
    """Clip integer codes to ``fmt``'s range in place; count the clipped ones.

    Parameters
    ----------
    q : ndarray of float64
        Integer-valued codes; modified in place.
    fmt : FixedFormat
        Target format.

    Returns
    -------
    q : ndarray
        The same array, clipped.
    count : int
        Number of entries that were outside ``[fmt.qmin, fmt.qmax]``.
    """
    lo, hi = fmt.qmin, fmt.qmax
    count = int(np.count_nonzero(q < lo)) + int(np.count_nonzero(q > hi))
    if count:
        np.clip(q, lo, hi, out=q)
    return q, count


# ---------------------------------------------------------------------------
# counter-based random bits (SplitMix64)
# ---------------------------------------------------------------------------


def ref_mix64(z: int) -> int:
    """SplitMix64 finaliser on a Python int (reference)."""
    z &= MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def ref_random_word(key: int, counter: int) -> int:
    """64 random bits for ``counter`` under ``key`` (reference)."""
    return ref_mix64(key + counter * GOLDEN)


def derive_key(seed: int, *path: int) -> int:
    """A generator key for one tile/purpose, derived from the run seed.

    Parameters
    ----------
    seed : int
        Run seed.
    *path : int
        Small integers naming the tile (e.g. layer index, purpose code).

    Returns
    -------
    int
        A 63-bit key (kept below 2**63 so numba can hold it in int64).
    """
    z = ref_mix64(seed * GOLDEN + 0x5EED)
    for p in path:
        z = ref_mix64(z ^ ((p + 1) * 0xD1B54A32D192ED03))
    return z >> 1


# ---------------------------------------------------------------------------
# reference operations on Python ints
# ---------------------------------------------------------------------------


def ref_saturate(q: int, fmt: FixedFormat) -> tuple[int, int]:
    """Clip one integer to ``fmt``; return ``(value, 1 if clipped else 0)``."""
    if q > fmt.qmax:
        return fmt.qmax, 1
    if q < fmt.qmin:
        return fmt.qmin, 1
    return q, 0


def ref_shift_nearest(v: int, k: int) -> int:
    """``v / 2**k`` rounded half to even, with integer operations only."""
    if k <= 0:
        return v << (-k)
    fl = v >> k  # floor division by 2**k, also for negative v
    rem = v - (fl << k)
    half = 1 << (k - 1)
    if rem > half or (rem == half and fl & 1):
        fl += 1
    return fl


def ref_quantize(x: float, fmt: FixedFormat) -> tuple[int, int]:
    """Quantize one real value, round half to even, saturate (reference)."""
    from fractions import Fraction

    v = Fraction(x) * (Fraction(2) ** fmt.frac)
    fl = math.floor(v)
    rem = v - fl
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and fl % 2 == 1):
        fl += 1
    return ref_saturate(int(fl), fmt)


# ---------------------------------------------------------------------------
# log quantizer for error signals
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LogQuantizer:
    """Symmetric log quantizer: ``value = +-alpha * 2**-e`` or zero.

    With ``bits = k >= 2`` a code is one sign bit and ``k - 1`` magnitude bits;
    magnitude code 0 means zero and codes ``1 .. 2**(k-1) - 1`` mean exponents
    ``e = 0 .. emax``. With ``k = 1`` the code is the sign alone and every value
    (zero included, sent with sign bit 0) becomes ``+-alpha``.

    A magnitude ``m`` goes to the level nearest in the log domain: up to
    ``2**(l+1)`` when ``m >= 2**(l + 1/2)``; it never ties, because
    ``2**(l+1/2)`` is irrational. Values above ``alpha`` clip to ``alpha``;
    values below ``alpha * 2**-(emax + 1/2)`` become zero.

    Parameters
    ----------
    bits : int
        Code width ``k`` (1..16).
    alpha_log2 : int
        ``alpha = 2**alpha_log2`` (real units).
    frac : int or None
        Fraction bits of the fixed-point datapath that holds the decoded
        values; levels finer than its LSB do not exist, so ``emax`` is capped
        at ``alpha_log2 + frac``. ``None`` for the float reference (no cap).
    """

    bits: int
    alpha_log2: int = 0
    frac: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.bits <= 16:
            raise ConfigError("error_bits", self.bits, "1 to 16 bits (0 disables)")
        if self.frac is not None and self.alpha_log2 + self.frac < 0:
            raise ConfigError("error_alpha_log2", self.alpha_log2, "alpha must be at least one LSB")

    @property
    def emax(self) -> int:
        """Largest exponent in use."""
        if self.bits == 1:
            return 0
        e = (1 << (self.bits - 1)) - 2
        if self.frac is not None:
            e = min(e, self.alpha_log2 + self.frac)
        return e

    @property
    def top(self) -> int:
        """log2 of alpha in the datapath's integer units (``alpha_log2 + frac``)."""
        return self.alpha_log2 + (self.frac or 0)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Quantize an array (integer codes if ``frac`` is set, else reals)."""
        return log_quantize(x, self.bits, self.top, self.emax)

    def encode(self, q: int) -> tuple[int, int]:
        """``(sign_bit, magnitude_code)`` of one quantized value (reference)."""
        if self.bits == 1:
            return (1 if q < 0 else 0), 0
        if q == 0:
            return 0, 0
        lvl = math.frexp(abs(q))[1] - 1  # q is a level: an exact power of two
        e = self.top - lvl
        return (1 if q < 0 else 0), e + 1

    def decode(self, sign: int, code: int) -> int | float:
        """Value of a code: integer in datapath units, or real if ``frac`` is None."""
        if self.bits == 1:
            mag = 1 << self.top if self.frac is not None else 2.0**self.top
        elif code == 0:
            return 0
        else:
            e = code - 1
            mag = 1 << (self.top - e) if self.frac is not None else 2.0 ** (self.top - e)
        return -mag if sign else mag


def log_quantize(x: np.ndarray, bits: int, top: int, emax: int) -> np.ndarray:
    """Vectorised log quantization (see :class:`LogQuantizer`).

    Parameters
    ----------
    x : ndarray of float
        Values (integer-valued when used on a fixed-point datapath).
    bits : int
        Code width.
    top : int
        ``log2(alpha)`` in the units of ``x``.
    emax : int
        Largest exponent.

    Returns
    -------
    ndarray of float64
        ``+-2**(top - e)`` or 0, same shape as ``x``.
    """
    x = np.asarray(x, dtype=np.float64)
    sign = np.where(x < 0, -1.0, 1.0)
    if bits == 1:
        return sign * math.ldexp(1.0, top)
    mant, ex = np.frexp(np.abs(x))
    # m = mant * 2**ex, mant in [0.5, 1): floor(log2 m) = ex - 1, and m rounds
    # up in the log domain exactly when mant > 1/sqrt(2).
    lvl = ex - 1 + (mant >= _INV_SQRT2)
    zero = (mant == 0) | (lvl < top - emax)
    np.clip(lvl, top - emax, top, out=lvl)
    out = sign * np.ldexp(1.0, lvl)
    out[zero] = 0.0
    return out


def ref_log_quantize(q: int, bits: int, top: int, emax: int) -> int:
    """Log quantization of one integer with integer operations (reference)."""
    neg = q < 0
    m = -q if neg else q
    if bits == 1:
        v = 1 << top
    elif m == 0:
        return 0
    else:
        lvl = m.bit_length() - 1  # floor(log2 m)
        if m * m >= 1 << (2 * lvl + 1):  # m >= 2**(lvl + 1/2)
            lvl += 1
        if lvl < top - emax:
            return 0
        lvl = min(lvl, top)
        v = 1 << lvl
    return -v if neg else v


# ---------------------------------------------------------------------------
# stochastic (unbiased) log quantization
# ---------------------------------------------------------------------------
#
# Levels are +-2**l for lo <= l <= top and 0 (k >= 2 bits), or +-2**top
# alone (k = 1). A magnitude m at or above 2**top clips to 2**top; between
# two neighbouring levels, 2**l <= m < 2**(l+1), it goes up with probability
# (m - 2**l) / 2**l; below the lowest level it becomes 2**lo with
# probability m / 2**lo, else 0. A 1-bit code is +2**top with probability
# (1 + v / 2**top) / 2 (v clipped to +-2**top). So E[q] = v exactly, except
# where |v| > 2**top clips.
#
# On integers the probabilities are exact: the random integer u is the top
# ``n`` bits of a 64-bit counter-based word (uniform on [0, 2**n)), with
# n = l for the step [2**l, 2**(l+1)) (up iff u < m - 2**l), n = lo for the
# lowest step (up iff u < m) and n = top + 1 for a 1-bit code (+ iff
# u < 2**top + v). A value that is already a level, or clips, or (k >= 2) is
# zero, draws no bits; every other value draws its n bits (counted as
# ``rng_bits:error``).


def ref_stochastic_log_quantize(q: int, bits: int, top: int, lo: int, word: int) -> tuple[int, int]:
    """Stochastic log quantization of one integer (reference).

    Parameters
    ----------
    q : int
        Error-word code.
    bits : int
        Code width ``k``.
    top, lo : int
        log2 of the largest and the smallest level (integer units,
        ``0 <= lo <= top``); ``lo`` is unused for ``k = 1``.
    word : int
        The component's 64-bit random word (:func:`ref_random_word`).

    Returns
    -------
    value : int
        ``+-2**l`` or 0.
    drawn : int
        Random bits used (0 when the result is certain).
    """
    if bits == 1:
        a = 1 << top
        v = max(-a, min(a, q))
        if v in (a, -a):
            return v, 0
        u = word >> (64 - (top + 1))
        return (a if u < a + v else -a), top + 1
    neg = q < 0
    m = -q if neg else q
    n = 0
    if m >= 1 << top:
        v = 1 << top
    elif m >= 1 << lo:
        lvl = m.bit_length() - 1
        rest = m - (1 << lvl)
        v = 1 << lvl
        if rest:
            n = lvl
            if word >> (64 - lvl) < rest:
                v <<= 1
    elif m == 0:
        return 0, 0
    else:
        n = lo
        v = 1 << lo if word >> (64 - lo) < m else 0
    return (-v if neg else v), n


def stochastic_log_quantize(x: np.ndarray, bits: int, top, lo, u: np.ndarray) -> np.ndarray:
    """Stochastic log quantization of reals (vectorised; the float engine's).

    The rule of :func:`ref_stochastic_log_quantize` with uniform reals ``u``
    on ``[0, 1)`` in place of the integer comparisons: a value goes up when
    ``u`` is below its probability of going up.

    Parameters
    ----------
    x : ndarray of float
        Values.
    bits : int
        Code width ``k``.
    top, lo : int or ndarray
        log2 of the largest and smallest levels (real units), broadcast
        against ``x`` (per-row arrays of shape ``(B, 1)`` for block scaling).
    u : ndarray of float
        Uniform random numbers on ``[0, 1)``, shape of ``x``.

    Returns
    -------
    ndarray of float64
        ``+-2**l`` or 0, shape of ``x``.
    """
    x = np.asarray(x, dtype=np.float64)
    alpha = np.ldexp(1.0, np.asarray(top))
    if bits == 1:
        v = np.clip(x, -alpha, alpha)
        return np.where(u < 0.5 * (1.0 + v / alpha), alpha, -alpha)
    m = np.minimum(np.abs(x), alpha)
    sign = np.where(x < 0, -1.0, 1.0)
    floor = np.ldexp(1.0, np.asarray(lo))
    mant, ex = np.frexp(m)
    base = np.ldexp(1.0, np.maximum(ex - 1, lo))  # 2**l, or 2**lo below the lowest level
    low = m < floor
    p = np.where(low, m / floor, (m - base) / base)
    q = np.where(low, np.where(u < p, floor, 0.0), np.where(u < p, 2.0 * base, base))
    return sign * q


# ---------------------------------------------------------------------------
# block (shared-exponent) log quantization of error messages
# ---------------------------------------------------------------------------


def block_exp_bits(word_bits: int) -> int:
    """Width of the exponent field of a block-scaled message header.

    The shared exponent ``top`` of a message takes the ``word_bits`` values
    of alpha the error word can hold, ``2**-frac .. 2**int_bits`` (integer
    units ``2**0 .. 2**(word_bits - 1)``); the field stores ``top - top_lo + 1``
    and reserves 0 for an all-zero message, so it needs
    ``ceil(log2(word_bits + 1)) = word_bits.bit_length()`` bits (5 bits for
    the default 16-bit error word).

    Parameters
    ----------
    word_bits : int
        Width of the linear error word in bits (sign included).

    Returns
    -------
    int
        Exponent field width in bits.
    """
    return int(word_bits).bit_length()


def rms_top(x: np.ndarray, top_lo: int, top_hi: int) -> np.ndarray:
    """Per row, the exponent of a 1-bit code scaled by the row's rms.

    The smallest ``t`` with ``sum_j x_j**2 < n * 2**(2t + 1)`` (the power of
    two nearest to the rms in the log domain, ties up), clipped to
    ``[top_lo, top_hi]``; an all-zero row gets ``top_lo - 1``. Exact for
    integer rows whose sums of squares stay below ``2**53``.

    ``x``: ndarray of shape (B, N); ``top_lo, top_hi``: the exponent's range
    in the units of ``x``. Returns int64 of shape (B,).
    """
    x = np.asarray(x, dtype=np.float64)
    n, s = max(x.shape[1], 1), (x * x).sum(axis=1)
    with np.errstate(all="ignore"):
        t = np.floor((np.log2(np.maximum(s, 1.0) / n) - 1) / 2).astype(np.int64) + 1
    # the float log2 may be off by one next to a boundary: settle it exactly
    t += s >= n * np.ldexp(1.0, 2 * t + 1)
    t -= s < n * np.ldexp(1.0, 2 * t - 1)
    t = np.clip(t, top_lo, top_hi)
    t[s == 0] = top_lo - 1
    return t


def ref_rms_top(row: list[int], word_bits: int) -> int:
    """:func:`rms_top` of one message of error-word codes (integer units,
    exponents ``0 .. word_bits - 1``; -1 for an all-zero row)."""
    s, n = sum(v * v for v in row), len(row)
    if s == 0:
        return -1
    t = 0
    while t < word_bits - 1 and s >= n << (2 * t + 1):
        t += 1
    return t


def block_log_quantize(
    x: np.ndarray, bits: int, top_lo: int, top_hi: int, emax: int, floor: int | None,
    rms: bool = False,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Block log quantization: every row shares one exponent (vectorised).

    Row ``b`` (one error message) gets ``top_b = ceil(log2 max_j |x_bj|)``,
    clipped to ``[top_lo, top_hi]``, and is log-quantized as
    :func:`log_quantize` does with ``alpha = 2**top_b``: levels
    ``+-2**top_b .. +-2**(top_b - emax_b)`` and zero, where ``emax_b = emax``
    but levels below ``2**floor`` do not exist (``emax_b = min(emax, top_b -
    floor)``). With ``bits = 1`` every component of the row becomes
    ``+-2**top_b`` (0 goes out as ``+``). An all-zero row stays all zero and
    gets the exponent ``top_lo - 1`` (header code 0, see
    :func:`block_exp_bits`), whatever ``bits``.

    ``ceil(log2 m)`` is exact: with ``m = mant * 2**ex`` (``mant`` in
    [0.5, 1)) it is ``ex - 1`` when ``mant == 0.5`` and ``ex`` otherwise.

    Parameters
    ----------
    x : ndarray of float, shape (B, N)
        One message per row (integer-valued on a fixed-point datapath).
    bits : int
        Code width ``k`` (1..16).
    top_lo, top_hi : int
        Range of the shared exponent, in the units of ``x`` (integer units:
        ``0 .. word_bits - 1``; real units: ``-frac .. int_bits``).
    emax : int
        Largest exponent of a ``k``-bit code, ``2**(k-1) - 2`` (0 for k = 1).
    floor : int or None
        log2 of the finest level that exists (0: one LSB of a fixed-point
        word); ``None`` for the float reference (no floor).
    rms : bool
        With ``bits = 1``: the exponent is :func:`rms_top`'s, not the max's
        (``error_sign_scale = "rms"``).

    Returns
    -------
    q : ndarray of float64, shape (B, N)
        Quantized values ``+-2**l`` or 0.
    top : ndarray of int64, shape (B,)
        Each row's exponent (``top_lo - 1`` for an all-zero row).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"block_log_quantize takes (B, N) rows, not shape {x.shape}")
    m = np.abs(x).max(axis=1) if x.shape[1] else np.zeros(x.shape[0])
    mant, ex = np.frexp(m)
    top = np.clip(ex.astype(np.int64) - (mant == 0.5), top_lo, top_hi)
    zero_row = m == 0
    top[zero_row] = top_lo - 1
    t = top[:, None]
    sign = np.where(x < 0, -1.0, 1.0)
    if bits == 1:
        if rms:
            top = rms_top(x, top_lo, top_hi)
            t = np.maximum(top, top_lo)[:, None]
        out = sign * np.ldexp(1.0, t)
        out[zero_row] = 0.0
        return out, top
    lo = t - emax
    if floor is not None:
        lo = np.maximum(lo, floor)
    mx, ex2 = np.frexp(np.abs(x))
    lvl = ex2 - 1 + (mx >= _INV_SQRT2)
    zero = (mx == 0) | (lvl < lo)
    lvl = np.minimum(lvl, t)
    out = sign * np.ldexp(1.0, lvl)
    out[zero] = 0.0
    return out, top


def ref_block_log_quantize(
    row: list[int], bits: int, word_bits: int, rms: bool = False
) -> tuple[list[int], int]:
    """Block log quantization of one message of error-word codes (reference).

    Integer operations only: ``top`` is the smallest ``t >= 0`` with
    ``max|q| <= 2**t`` (``(max - 1).bit_length()``), at most
    ``word_bits - 1``; then :func:`ref_log_quantize` with
    ``emax = min(2**(bits-1) - 2, top)`` (no level below one LSB), or the
    sign alone for ``bits = 1`` (with ``rms``, at :func:`ref_rms_top`'s
    exponent). An all-zero row stays zero with ``top = -1``.

    Parameters
    ----------
    row : list of int
        Saturated error-word codes of one message.
    bits : int
        Code width ``k``.
    word_bits : int
        Width of the error word (sign included).

    Returns
    -------
    values : list of int
        Quantized codes ``+-2**l`` or 0.
    top : int
        The shared exponent in integer units (-1 for an all-zero row).
    """
    m = max((abs(v) for v in row), default=0)
    if m == 0:
        return [0] * len(row), -1
    top = min((m - 1).bit_length(), word_bits - 1)
    if bits == 1:
        if rms:  # error_sign_scale = "rms": the exponent of the row's rms
            top = ref_rms_top(row, word_bits)
        return [-(1 << top) if v < 0 else 1 << top for v in row], top
    emax = min((1 << (bits - 1)) - 2, top)
    return [ref_log_quantize(v, bits, top, emax) for v in row], top


def ref_block_log_quantize_stochastic(
    row: list[int], bits: int, word_bits: int, words: list[int]
) -> tuple[list[int], int, int]:
    """Block log quantization of one message with stochastic rounding (reference).

    The shared exponent ``top`` is :func:`ref_block_log_quantize`'s (an
    all-zero row stays zero with ``top = -1`` and draws nothing); every
    component is then rounded by :func:`ref_stochastic_log_quantize` with
    ``lo = max(top - emax, 0)`` (no level below one LSB) and its own random
    word ``words[j]``.

    Returns
    -------
    values : list of int
        Quantized codes ``+-2**l`` or 0.
    top : int
        The shared exponent (-1 for an all-zero row).
    drawn : int
        Random bits used by the row.
    """
    m = max((abs(v) for v in row), default=0)
    if m == 0:
        return [0] * len(row), -1, 0
    top = min((m - 1).bit_length(), word_bits - 1)
    emax = 0 if bits == 1 else (1 << (bits - 1)) - 2
    lo = max(top - emax, 0)
    out, drawn = [], 0
    for v, w in zip(row, words, strict=True):
        q, n = ref_stochastic_log_quantize(v, bits, top, lo, w)
        out.append(q)
        drawn += n
    return out, top, drawn
