"""Tests of neurosim.numerics.fixedpoint: formats, rounding, saturation, RNG bits, log codes."""

from __future__ import annotations

import math
from fractions import Fraction

import numba as nb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurosim.errors import ConfigError
from neurosim.golden.numerics import ref_shift_stochastic
from neurosim.numerics.fixedpoint import (
    GOLDEN,
    MASK64,
    FixedFormat,
    LogQuantizer,
    derive_key,
    log_quantize,
    ref_log_quantize,
    ref_mix64,
    ref_quantize,
    ref_random_word,
    ref_saturate,
    ref_shift_nearest,
    saturate,
)
from neurosim.numerics.kernels._lazy import materialize
from neurosim.numerics.logbits import log_quantize_f32

materialize()  # the kernels as numba dispatchers: this module's njit code calls _mix64
from neurosim.numerics.kernels.rounding import _mix64  # noqa: E402

Q8_7 = FixedFormat(8, 7)
LSB7 = 2.0**-7

# ------------------------------------------------------------------ FixedFormat


@pytest.mark.parametrize(
    "fmt, qmin, qmax, lsb, max_abs, text",
    [
        (FixedFormat(8, 7), -128, 127, 0.0078125, 128, "Q8.7"),
        (FixedFormat(16, 14), -32768, 32767, 6.103515625e-05, 32768, "Q16.14"),
        (FixedFormat(4, 0), -8, 7, 1.0, 8, "Q4.0"),
        (FixedFormat(2, 0), -2, 1, 1.0, 2, "Q2.0"),
        (FixedFormat(8, 8, signed=False), 0, 255, 0.00390625, 255, "UQ8.8"),
        (FixedFormat(8, 7, signed=False), 0, 255, 0.0078125, 255, "UQ8.7"),
        (FixedFormat(1, 0, signed=False), 0, 1, 1.0, 1, "UQ1.0"),
        (FixedFormat(4, 6), -8, 7, 0.015625, 8, "Q4.6"),
        (FixedFormat(8, 12, signed=False), 0, 255, 0.000244140625, 255, "UQ8.12"),
        (FixedFormat(8, -2), -128, 127, 4.0, 128, "Q8.-2"),
        (FixedFormat(6, -5, signed=False), 0, 63, 32.0, 63, "UQ6.-5"),
        (FixedFormat(62, 0), -(2**61), 2**61 - 1, 1.0, 2**61, "Q62.0"),
    ],
)
def test_format_table(fmt, qmin, qmax, lsb, max_abs, text):
    assert fmt.qmin == qmin
    assert fmt.qmax == qmax
    assert fmt.lsb == lsb
    assert fmt.max_abs == max_abs
    assert str(fmt) == text


@pytest.mark.parametrize(
    "bits, signed", [(0, True), (63, True), (0, False), (63, False), (1, True), (-3, False)]
)
def test_format_rejects_bad_widths(bits, signed):
    with pytest.raises(ConfigError):
        FixedFormat(bits, 0, signed)


def test_to_real():
    fmt = FixedFormat(8, 7)
    np.testing.assert_array_equal(
        fmt.to_real([-128, -1, 0, 3, 127]), [-1.0, -0.0078125, 0.0, 0.0234375, 0.9921875]
    )
    assert FixedFormat(8, -2).to_real([3])[0] == 12.0


# quantize: (format, real value, expected code, expected saturation count)
QUANTIZE_TABLE = [
    # Q8.7: range [-1, 127/128]
    (Q8_7, 127 * LSB7, 127, 0),  # max
    (Q8_7, -1.0, -128, 0),  # min
    (Q8_7, 1.0, 127, 1),  # just over max: saturates
    (Q8_7, 127.4 * LSB7, 127, 0),
    (Q8_7, 127.5 * LSB7, 127, 1),  # tie rounds to 128 (even), then saturates
    (Q8_7, -128.5 * LSB7, -128, 0),  # tie rounds to -128 (even): no saturation
    (Q8_7, -128.6 * LSB7, -128, 1),
    (Q8_7, -1.5, -128, 1),
    (Q8_7, 0.5 * LSB7, 0, 0),  # ties to even
    (Q8_7, 1.5 * LSB7, 2, 0),
    (Q8_7, 2.5 * LSB7, 2, 0),
    (Q8_7, 3.5 * LSB7, 4, 0),
    (Q8_7, -0.5 * LSB7, 0, 0),
    (Q8_7, -1.5 * LSB7, -2, 0),
    (Q8_7, -2.5 * LSB7, -2, 0),
    (Q8_7, 0.5000001 * LSB7, 1, 0),
    (Q8_7, -0.4999999 * LSB7, 0, 0),
    (Q8_7, 0.3, 38, 0),  # 38.4
    (Q8_7, -0.3, -38, 0),
    (Q8_7, 0.0, 0, 0),
    (Q8_7, -0.0, 0, 0),
    (Q8_7, 1e-300, 0, 0),
    (Q8_7, -1e-300, 0, 0),
    (Q8_7, 5e-324, 0, 0),
    (Q8_7, 1e300, 127, 1),
    (Q8_7, -math.inf, -128, 1),
    (Q8_7, math.inf, 127, 1),
    # Q16.14
    (FixedFormat(16, 14), 1.0, 16384, 0),
    (FixedFormat(16, 14), 2.0, 32767, 1),
    (FixedFormat(16, 14), -2.0, -32768, 0),
    (FixedFormat(16, 14), 2.5 * 2.0**-14, 2, 0),
    # Q4.0
    (FixedFormat(4, 0), 7.0, 7, 0),
    (FixedFormat(4, 0), 7.5, 7, 1),
    (FixedFormat(4, 0), 6.5, 6, 0),
    (FixedFormat(4, 0), -8.5, -8, 0),
    (FixedFormat(4, 0), -9.0, -8, 1),
    # unsigned
    (FixedFormat(8, 8, signed=False), 255 / 256, 255, 0),
    (FixedFormat(8, 8, signed=False), 1.0, 255, 1),
    (FixedFormat(8, 8, signed=False), -0.001, 0, 0),  # -0.256 LSB rounds to 0
    (FixedFormat(8, 8, signed=False), -0.003, 0, 1),  # -0.768 LSB rounds to -1: clipped
    (FixedFormat(8, 7, signed=False), 1.0, 128, 0),
    (FixedFormat(8, 7, signed=False), 2.0, 255, 1),
    # fraction bits above the width
    (FixedFormat(4, 6), 0.1, 6, 0),  # 6.4
    (FixedFormat(4, 6), 0.2, 7, 1),  # 12.8 -> 13 -> clipped
    (FixedFormat(4, 6), -0.125, -8, 0),
    # negative fraction bits: LSB = 4
    (FixedFormat(4, -2), 6.0, 2, 0),  # 1.5
    (FixedFormat(4, -2), 10.0, 2, 0),  # 2.5
    (FixedFormat(4, -2), -6.0, -2, 0),
    (FixedFormat(4, -2), 28.0, 7, 0),
    (FixedFormat(4, -2), 30.0, 7, 1),  # 7.5 -> 8 -> clipped
    (FixedFormat(4, -2), -34.0, -8, 0),  # -8.5 -> -8
    (FixedFormat(4, -2), -36.0, -8, 1),
]


@pytest.mark.parametrize("fmt, x, code, sat", QUANTIZE_TABLE)
def test_quantize_table(fmt, x, code, sat):
    q, n = fmt.quantize(np.array([x]))
    assert q.dtype == np.float64
    assert q[0] == code
    assert not np.signbit(q[0]) or code < 0
    assert n == sat


@pytest.mark.parametrize("fmt, x, code, sat", [r for r in QUANTIZE_TABLE if math.isfinite(r[1])])
def test_ref_quantize_table(fmt, x, code, sat):
    assert ref_quantize(x, fmt) == (code, sat)


def test_quantize_negative_zero_is_positive_zero():
    q, n = Q8_7.quantize(np.array([-0.0, -1e-300, -0.5 * LSB7, -0.25 * LSB7]))
    np.testing.assert_array_equal(q, 0.0)
    assert not np.signbit(q).any()
    assert n == 0


def test_quantize_whole_table_at_once():
    for fmt in {row[0] for row in QUANTIZE_TABLE}:
        rows = [r for r in QUANTIZE_TABLE if r[0] == fmt]
        q, n = fmt.quantize(np.array([r[1] for r in rows]).reshape(-1, 1))
        assert q.shape == (len(rows), 1)
        assert q[:, 0].tolist() == [r[2] for r in rows]
        assert n == sum(r[3] for r in rows)


def test_quantize_rejects_stochastic():
    with pytest.raises(ConfigError):
        Q8_7.quantize(np.array([0.1]), rounding="stochastic")


@pytest.mark.parametrize("x, code, sat", [(0.25, 32, 0), (3.0, 127, 1), (-3.0, -128, 1)])
def test_quantize_zero_dim(x, code, sat):
    q, n = Q8_7.quantize(np.array(x))
    assert float(q) == code
    assert n == sat


formats = st.builds(
    FixedFormat,
    bits=st.integers(2, 40),
    frac=st.integers(-8, 40),
    signed=st.booleans(),
)
reals = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_subnormal=False)


@settings(max_examples=150, deadline=None)
@given(fmt=formats, xs=st.lists(reals, min_size=1, max_size=30))
def test_quantize_monotone_and_within_half_lsb(fmt, xs):
    x = np.sort(np.array(xs))
    q, n = fmt.quantize(x)
    assert np.all(np.diff(q) >= 0)
    assert np.all((q >= fmt.qmin) & (q <= fmt.qmax))
    assert np.all(q == np.rint(q))
    for xi, qi in zip(x.tolist(), q.tolist(), strict=True):
        err = abs(Fraction(int(qi)) * Fraction(2) ** -fmt.frac - Fraction(xi))
        exact = Fraction(xi) * Fraction(2) ** fmt.frac
        if fmt.qmin - Fraction(1, 2) <= exact <= fmt.qmax + Fraction(1, 2):
            assert err <= Fraction(2) ** -fmt.frac / 2
        assert ref_quantize(xi, fmt)[0] == int(qi)
    assert n == sum(ref_quantize(xi, fmt)[1] for xi in x.tolist())


# ------------------------------------------------------------------ shifts and saturation

# (v, k, round_half_even(v / 2**k))
SHIFT_TABLE = [
    (5, 1, 2),  # 2.5
    (7, 1, 4),  # 3.5
    (1, 1, 0),  # 0.5
    (3, 1, 2),  # 1.5
    (6, 2, 2),  # 1.5
    (10, 2, 2),  # 2.5
    (9, 2, 2),  # 2.25
    (11, 2, 3),  # 2.75
    (-1, 1, 0),  # -0.5
    (-3, 1, -2),  # -1.5
    (-5, 1, -2),  # -2.5
    (-7, 1, -4),  # -3.5
    (-6, 2, -2),
    (-10, 2, -2),
    (-9, 2, -2),
    (-11, 2, -3),
    (-2, 3, 0),  # -0.25
    (12, 3, 2),  # 1.5
    (20, 3, 2),  # 2.5
    (7, 0, 7),
    (-7, 0, -7),
    (0, 5, 0),
    (3, -2, 12),
    (-3, -2, -12),
    (2**52 + 2**20, 21, 2**31),  # 2**31 + 0.5
    (2**52 + 3 * 2**20, 21, 2**31 + 2),  # 2**31 + 1.5
    (-(2**52) - 2**20, 21, -(2**31)),
    (-(2**52) - 3 * 2**20, 21, -(2**31) - 2),
    (2**52 - 1, 52, 1),  # 1 - 2**-52
]


@pytest.mark.parametrize("v, k, expected", SHIFT_TABLE)
def test_ref_shift_nearest_table(v, k, expected):
    assert ref_shift_nearest(v, k) == expected


@settings(max_examples=200, deadline=None)
@given(v=st.integers(-(2**52), 2**52), k=st.integers(-8, 60))
def test_ref_shift_nearest_is_round_half_even(v, k):
    ref = ref_shift_nearest(v, k)
    exact = Fraction(v, 1) / Fraction(2) ** k
    assert abs(ref - exact) <= Fraction(1, 2)
    if abs(ref - exact) == Fraction(1, 2):
        assert ref % 2 == 0


# (v, k, r, floor((v + r) / 2**k))
STOCHASTIC_TABLE = [
    (5, 2, 0, 1),
    (5, 2, 2, 1),
    (5, 2, 3, 2),
    (4, 2, 0, 1),
    (4, 2, 3, 1),
    (-5, 2, 0, -2),
    (-5, 2, 1, -1),
    (-5, 2, 3, -1),
    (-1, 1, 0, -1),
    (-1, 1, 1, 0),
    (1, 8, 254, 0),
    (1, 8, 255, 1),
    (-1, 8, 0, -1),
    (-1, 8, 1, 0),
    (3, 0, 0, 3),
    (3, -1, 0, 6),
    (-3, -2, 0, -12),
]


@pytest.mark.parametrize("v, k, r, expected", STOCHASTIC_TABLE)
def test_ref_shift_stochastic_table(v, k, r, expected):
    assert ref_shift_stochastic(v, k, r) == expected


@pytest.mark.parametrize("v", [-37, -8, -1, 0, 1, 5, 8, 1001])
@pytest.mark.parametrize("k", [1, 2, 3, 7])
def test_stochastic_exhaustive_mean_is_exact(v, k):
    # over all 2**k values of r the results average to v / 2**k exactly
    outs = [ref_shift_stochastic(v, k, r) for r in range(1 << k)]
    assert sum(outs) == v
    assert set(outs) <= {v >> k, -((-v) >> k)}


def test_saturate_in_place_table():
    q = np.array([-9.0, -8.0, 0.0, 7.0, 8.0, 100.0, -100.0])
    out, n = saturate(q, FixedFormat(4, 0))
    assert out is q
    assert q.tolist() == [-8, -8, 0, 7, 7, 7, -8]
    assert n == 4

    q = np.array([[-1.0, 0.0], [15.0, 16.0]])
    out, n = saturate(q, FixedFormat(4, 3, signed=False))
    assert out is q
    assert q.tolist() == [[0, 0], [15, 15]]
    assert n == 2

    q = np.array([127.0, -128.0, 0.0])
    out, n = saturate(q, Q8_7)
    assert q.tolist() == [127, -128, 0]
    assert n == 0


@pytest.mark.parametrize(
    "q, fmt, expected",
    [
        (8, FixedFormat(4, 0), (7, 1)),
        (7, FixedFormat(4, 0), (7, 0)),
        (-8, FixedFormat(4, 0), (-8, 0)),
        (-9, FixedFormat(4, 0), (-8, 1)),
        (-1, FixedFormat(4, 0, signed=False), (0, 1)),
        (0, FixedFormat(4, 0, signed=False), (0, 0)),
        (15, FixedFormat(4, 0, signed=False), (15, 0)),
        (16, FixedFormat(4, 0, signed=False), (15, 1)),
        (2**70, FixedFormat(62, 0), (2**61 - 1, 1)),
        (-(2**61), FixedFormat(62, 0), (-(2**61), 0)),
    ],
)
def test_ref_saturate_table(q, fmt, expected):
    assert ref_saturate(q, fmt) == expected


# ------------------------------------------------------------------ random bits


@nb.njit
def random_bits(key: np.int64, counter0: np.int64, n: np.int64, k: np.int64) -> np.ndarray:
    """``n`` uniform integers on ``[0, 2**k)`` for counters ``counter0 ...``: the top
    ``k`` bits of each word of the kernels' SplitMix64 (``_mix64``), ``0 <= k <= 62``."""
    out = np.empty(n, dtype=np.int64)
    g = np.uint64(GOLDEN)
    base = np.uint64(key) + np.uint64(counter0) * g
    sh = np.uint64(64 - k)
    for i in range(n):
        w = _mix64(base + np.uint64(i) * g)
        out[i] = np.int64(w >> sh) if k > 0 else 0
    return out


def test_splitmix64_published_vector():
    # SplitMix64 seeded with 0: state advances by GOLDEN before each output
    expected = [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F, 0xF88BB8A8724C81EC]
    assert [ref_random_word(0, c) for c in range(1, 5)] == expected
    assert ref_mix64(GOLDEN) == expected[0]
    assert ref_mix64(0) == 0
    assert ref_mix64(1 << 64) == 0  # input taken mod 2**64


@pytest.mark.parametrize("k", [0, 1, 2, 7, 16, 31, 32, 53, 62])
@pytest.mark.parametrize("counter0", [0, 1, 12345, 2**40 + 7])
def test_random_bits_matches_reference(k, counter0):
    key = derive_key(2024, 3, 1)
    n = 64
    got = random_bits(np.int64(key), np.int64(counter0), np.int64(n), np.int64(k))
    assert got.dtype == np.int64
    expected = [ref_random_word(key, counter0 + i) >> (64 - k) if k else 0 for i in range(n)]
    assert got.tolist() == expected
    assert all(0 <= x < (1 << k) for x in got.tolist())


def test_random_bits_counter_based():
    key = derive_key(5)
    whole = random_bits(key, 100, 50, 20)
    parts = np.concatenate([random_bits(key, 100 + s, 10, 20) for s in range(0, 50, 10)])
    np.testing.assert_array_equal(whole, parts)
    assert not np.array_equal(whole, random_bits(derive_key(6), 100, 50, 20))


def test_ref_random_word_wraps_mod_2_64():
    assert ref_random_word(3, 7) == ref_mix64((3 + 7 * GOLDEN) & MASK64)
    assert 0 <= ref_random_word(2**63 - 1, 2**50) <= MASK64


def test_derive_key():
    assert derive_key(7, 1, 2) == derive_key(7, 1, 2)
    paths = [(), (0,), (1,), (2,), (0, 0), (0, 1), (1, 0), (2, 3), (3, 2), (0, 0, 0)]
    keys = [derive_key(seed, *p) for seed in [0, 1, 2, 3, 42, 2**40, -1] for p in paths]
    assert len(set(keys)) == len(keys)
    assert all(0 <= k < 2**63 for k in keys)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(-(2**64), 2**64), path=st.lists(st.integers(0, 1000), max_size=4))
def test_derive_key_range(seed, path):
    k = derive_key(seed, *path)
    assert 0 <= k < 2**63
    assert k == derive_key(seed, *path)


# unbiasedness of stochastic rounding on a fixed large sample of random words
RNG_KEY = derive_key(99, 7)
RNG_N = 1 << 16


@settings(max_examples=60, deadline=None)
@given(v=st.integers(-(2**40), 2**40), k=st.integers(1, 30))
def test_stochastic_rounding_unbiased(v, k):
    r = random_bits(RNG_KEY, 0, RNG_N, k)
    out = (np.int64(v) + r) >> k
    fl, ce = v >> k, -((-v) >> k)
    assert set(np.unique(out).tolist()) <= {fl, ce}
    # exact for the first few with the reference
    assert [ref_shift_stochastic(v, k, int(x)) for x in r[:8]] == out[:8].tolist()
    mean = float(np.mean(out - fl))
    assert abs(mean - (v - (fl << k)) / 2.0**k) < 0.01


# ------------------------------------------------------------------ log quantizer

# (bits, top, emax, input, expected)
LOG_TABLE = [
    # 1 bit: sign only, everything (zero too) becomes +-alpha
    (1, 3, 0, 0, 8),
    (1, 3, 0, 1, 8),
    (1, 3, 0, -1, -8),
    (1, 3, 0, 100, 8),
    (1, 3, 0, -100, -8),
    (1, 0, 0, 5, 1),
    # 2 bits: {0, +-alpha}; zero below alpha * 2**-0.5 = 5.66
    (2, 3, 0, 0, 0),
    (2, 3, 0, 5, 0),
    (2, 3, 0, 6, 8),
    (2, 3, 0, -5, 0),
    (2, 3, 0, -6, -8),
    (2, 3, 0, 8, 8),
    (2, 3, 0, 1000, 8),
    # 3 bits: alpha, alpha/2, alpha/4; thresholds 2**1.5, 2**2.5, 2**3.5
    (3, 4, 2, 2, 0),
    (3, 4, 2, 3, 4),
    (3, 4, 2, 4, 4),
    (3, 4, 2, 5, 4),
    (3, 4, 2, 6, 8),
    (3, 4, 2, 11, 8),
    (3, 4, 2, 12, 16),
    (3, 4, 2, 16, 16),
    (3, 4, 2, 1000, 16),
    (3, 4, 2, -12, -16),
    (3, 4, 2, -11, -8),
    (3, 4, 2, -3, -4),
    (3, 4, 2, -2, 0),
    # 4 bits: alpha = 256, levels down to 4
    (4, 8, 6, 0, 0),
    (4, 8, 6, 2, 0),
    (4, 8, 6, 3, 4),
    (4, 8, 6, 90, 64),  # 2**6.5 = 90.51
    (4, 8, 6, 91, 128),
    (4, 8, 6, 181, 128),  # 2**7.5 = 181.02
    (4, 8, 6, 182, 256),
    (4, 8, 6, -181, -128),
    (4, 8, 6, -182, -256),
    (4, 8, 6, 255, 256),
    (4, 8, 6, 256, 256),
    (4, 8, 6, 257, 256),
    (4, 8, 6, 100000, 256),
    (4, 8, 6, -100000, -256),
    # 8 bits, emax capped at top = 20: levels 2**20 .. 1
    (8, 20, 20, 1, 1),
    (8, 20, 20, -1, -1),
    (8, 20, 20, 2, 2),
    (8, 20, 20, 3, 4),
    (8, 20, 20, 5, 4),
    (8, 20, 20, 6, 8),
    (8, 20, 20, 181, 128),
    (8, 20, 20, 182, 256),
    (8, 20, 20, 1448, 1024),  # 2**10.5 = 1448.15
    (8, 20, 20, 1449, 2048),
    (8, 20, 20, 2**20, 2**20),
    (8, 20, 20, 2**21, 2**20),
    (8, 20, 20, 0, 0),
    # huge integers: 2**51.5 = 3184525836262886.4
    (8, 60, 60, 3184525836262886, 2**51),
    (8, 60, 60, 3184525836262887, 2**52),
    (8, 60, 60, -3184525836262887, -(2**52)),
    (8, 60, 60, 2**52, 2**52),
    (8, 60, 60, 2**52 + 1, 2**52),
    (8, 60, 60, 2**53 - 1, 2**53),
    # 2**52.5 = 6369051672525772.8; the mantissa of ...772 is the double just below 1/sqrt(2)
    (8, 60, 60, 6369051672525772, 2**52),
    (8, 60, 60, 6369051672525773, 2**53),
]


@pytest.mark.parametrize("bits, top, emax, x, expected", LOG_TABLE)
def test_ref_log_quantize_table(bits, top, emax, x, expected):
    assert ref_log_quantize(x, bits, top, emax) == expected


@pytest.mark.parametrize("bits, top, emax, x, expected", LOG_TABLE)
def test_log_quantize_table(bits, top, emax, x, expected):
    out = log_quantize(np.array([float(x)]), bits, top, emax)
    assert out.dtype == np.float64
    assert out[0] == expected
    if expected == 0:
        assert not np.signbit(out[0])


@pytest.mark.parametrize(
    "bits, top, emax, x, expected",
    [row for row in LOG_TABLE if float(np.float32(row[3])) == row[3]],  # float32 inputs
)
def test_log_quantize_f32_table(bits, top, emax, x, expected):
    out = log_quantize_f32(np.array([x], np.float32), bits, top, emax)
    assert out.dtype == np.float32
    assert out[0] == expected
    if expected == 0:
        assert not np.signbit(out[0])


def test_log_quantize_f32_by_hand():
    # top 3, 4 bits (emax 6): levels 2**-3 .. 2**3; sqrt(2) * 2**k rounds up
    x = np.array([1.4142, 1.4143, 0.0, -0.0, -3.0, 2.0**-4, 0.09, 100.0, -2.83, -2.82],
                 np.float32)  # fmt: skip
    want = [1.0, 2.0, 0.0, 0.0, -4.0, 0.0, 0.125, 8.0, -4.0, -2.0]
    out = log_quantize_f32(x, 4, 3, 6)
    assert out.tolist() == want and not np.signbit(out[2:4]).any()


def test_log_quantize_f32_is_log_quantize_bit_for_bit():
    rng = np.random.default_rng(3)
    s2 = np.float32(math.sqrt(2.0))
    k = np.arange(-60, 60)
    edges = np.concatenate([
        np.nextafter(s2, np.float32(0)) * 2.0**k, s2 * 2.0**k,
        np.nextafter(s2, np.float32(2)) * 2.0**k, 2.0**k, np.nextafter(np.float32(1), 2) * 2.0**k,
    ]).astype(np.float32)  # fmt: skip
    tiny = np.array([0.0, -0.0, 1e-45, -1e-45, 1e-39, 1.2e-38, 3e38, -3e38], np.float32)
    for bits, top in [(2, 0), (3, -4), (4, 3), (4, -20), (6, 10), (8, 40), (8, -80), (5, 127)]:
        emax = (1 << (bits - 1)) - 2
        x = (rng.standard_normal(3000) * 2.0 ** rng.integers(-40, 40, 3000)).astype(np.float32)
        x = np.concatenate([x, edges, -edges, tiny]).reshape(-1, 8)
        want = log_quantize(x, bits, top, emax).astype(np.float32)
        assert log_quantize_f32(x, bits, top, emax).tobytes() == want.tobytes()
    # what the bits do not cover goes through log_quantize: Inf and NaN,
    # levels below float32's normal range, float64, one bit
    odd = np.array([np.inf, -1.0, np.nan, 0.5], np.float32)
    with np.errstate(invalid="ignore"):
        want = log_quantize(odd, 4, 3, 6).astype(np.float32)
        got = log_quantize_f32(odd, 4, 3, 6)
    assert got.tobytes() == want.tobytes()
    assert log_quantize_f32(np.float32([1e-39]), 8, -60, 126).tolist() == [
        float(np.float32(log_quantize(np.float32([1e-39]), 8, -60, 126)[0]))]
    assert log_quantize_f32(np.array([0.3]), 4, 0, 6).dtype == np.float32
    assert log_quantize_f32(np.float32([0.3, -0.0]), 1, 2, 0).tolist() == [4.0, 4.0]


def test_log_quantize_negative_zero():
    assert log_quantize(np.array([-0.0]), 4, 8, 6)[0] == 0.0
    assert not np.signbit(log_quantize(np.array([-0.0, -1.0]), 4, 8, 6)).any()
    assert log_quantize(np.array([-0.0]), 1, 3, 0)[0] == 8.0


@pytest.mark.parametrize(
    "bits, alpha_log2, frac, emax, top",
    [
        (1, 3, 4, 0, 7),
        (2, 0, 10, 0, 10),
        (3, 0, 13, 2, 13),
        (3, -2, 2, 0, 0),  # capped: levels finer than one LSB do not exist
        (4, 0, 13, 6, 13),
        (4, -3, 5, 2, 2),  # capped
        (8, 2, 5, 7, 7),  # capped
        (8, 0, 200, 126, 200),
        (16, 0, None, 32766, 0),
        (8, 0, None, 126, 0),
        (8, -3, None, 126, -3),
        (4, 2, None, 6, 2),
    ],
)
def test_log_quantizer_emax_top(bits, alpha_log2, frac, emax, top):
    lq = LogQuantizer(bits, alpha_log2, frac)
    assert lq.emax == emax
    assert lq.top == top


@pytest.mark.parametrize("bits, alpha_log2, frac", [(0, 0, None), (17, 0, None), (4, -6, 5)])
def test_log_quantizer_rejects(bits, alpha_log2, frac):
    with pytest.raises(ConfigError):
        LogQuantizer(bits, alpha_log2, frac)


LQ_CASES = [
    LogQuantizer(1, 0, 3),
    LogQuantizer(2, 1, 4),
    LogQuantizer(3, 0, 6),
    LogQuantizer(3, -2, 2),
    LogQuantizer(4, 0, 13),
    LogQuantizer(8, 2, 5),
    LogQuantizer(1, -1, None),
    LogQuantizer(3, 0, None),
    LogQuantizer(4, -2, None),
    LogQuantizer(8, 1, None),
]


@pytest.mark.parametrize("lq", LQ_CASES, ids=lambda lq: repr(lq))
def test_encode_decode_round_trip(lq):
    levels = []
    ncodes = 1 if lq.bits == 1 else lq.emax + 2
    for sign in (0, 1):
        for code in range(ncodes):
            v = lq.decode(sign, code)
            if lq.frac is not None:
                assert isinstance(v, int)
            levels.append(v)
            if v == 0:
                assert code == 0
                assert lq.encode(v) == (0, 0)
                continue
            assert lq.encode(v) == (sign, code)
            assert (v < 0) == (sign == 1)
            assert lq(np.array([float(v)]))[0] == v  # a level stays where it is
            if lq.frac is not None:
                assert ref_log_quantize(v, lq.bits, lq.top, lq.emax) == v
    nonzero = sorted({abs(v) for v in levels if v != 0})
    if lq.bits == 1:
        assert nonzero == [2.0**lq.top]
    else:
        assert nonzero == [2.0 ** (lq.top - e) for e in range(lq.emax, -1, -1)]
        assert lq.decode(0, 0) == 0 and lq.decode(1, 0) == 0


@pytest.mark.parametrize(
    "lq, code, value",
    [
        (LogQuantizer(4, 0, 13), (0, 1), 8192),
        (LogQuantizer(4, 0, 13), (1, 7), -128),
        (LogQuantizer(4, -2, None), (0, 1), 0.25),
        (LogQuantizer(4, -2, None), (1, 3), -0.0625),
        (LogQuantizer(1, 3, 2), (1, 0), -32),
        (LogQuantizer(1, -1, None), (0, 0), 0.5),
    ],
)
def test_decode_table(lq, code, value):
    assert lq.decode(*code) == value


# float mode: alpha = 2**-2, 4 bits: levels 2**-2 .. 2**-8
FLOAT_LQ = LogQuantizer(4, -2, None)


@pytest.mark.parametrize(
    "x, expected",
    [
        (0.3, 0.25),  # log2 = -1.74
        (0.2, 0.25),  # log2 = -2.32
        (0.17, 0.125),  # log2 = -2.56
        (1.0, 0.25),
        (-7.0, -0.25),
        (2.0**-8, 2.0**-8),
        (2.0**-8.5 * 1.0001, 2.0**-8),
        (2.0**-8.5 * 0.9999, 0.0),
        (2.0**-20, 0.0),
        (2.0**-2.5 * 1.0001, 0.25),
        (2.0**-2.5 * 0.9999, 0.125),
        (-(2.0**-2.5) * 1.0001, -0.25),
        (2.0**-3.5 * 1.0001, 0.125),
        (2.0**-3.5 * 0.9999, 0.0625),
        (0.0, 0.0),
        (5e-324, 0.0),
    ],
)
def test_float_mode_table(x, expected):
    assert FLOAT_LQ(np.array([x]))[0] == expected


def exact_log_level(x: float, bits: int, top: int, emax: int) -> float:
    """Nearest level in the log domain, with exact rational comparisons."""
    if bits == 1:
        return math.copysign(2.0**top, -1.0 if x < 0 else 1.0)
    m = Fraction(abs(x))
    if m == 0:
        return 0.0
    lvl = math.frexp(abs(x))[1] - 1
    if m * m >= Fraction(2) ** (2 * lvl + 1):
        lvl += 1
    if lvl < top - emax:
        return 0.0
    return math.copysign(2.0 ** min(lvl, top), x)


@settings(max_examples=200, deadline=None)
@given(
    xs=st.lists(
        st.floats(min_value=-1e10, max_value=1e10, allow_nan=False), min_size=1, max_size=20
    ),
    bits=st.integers(1, 16),
    top=st.integers(-20, 20),
    emax_frac=st.floats(0, 1),
)
def test_float_mode_matches_exact(xs, bits, top, emax_frac):
    full = 0 if bits == 1 else (1 << (bits - 1)) - 2
    emax = int(emax_frac * min(full, 40))
    out = log_quantize(np.array(xs), bits, top, emax)
    assert out.tolist() == [exact_log_level(x, bits, top, emax) for x in xs]


@st.composite
def log_params(draw):
    bits = draw(st.integers(1, 16))
    top = draw(st.integers(0, 60))
    full = 0 if bits == 1 else (1 << (bits - 1)) - 2
    emax = draw(st.integers(0, min(full, top)))
    return bits, top, emax


big_ints = st.one_of(
    st.integers(-(2**52), 2**52),
    st.integers(-300, 300),
    st.integers(1, 52).flatmap(lambda e: st.integers(-(2**e) - 3, 2**e + 3)),
)


@settings(max_examples=300, deadline=None)
@given(params=log_params(), xs=st.lists(big_ints, min_size=1, max_size=30))
def test_log_quantize_matches_reference(params, xs):
    bits, top, emax = params
    out = log_quantize(np.array(xs, dtype=np.float64), bits, top, emax)
    assert [int(v) for v in out] == [ref_log_quantize(x, bits, top, emax) for x in xs]
    lq_out = LogQuantizer(bits, top, 0)(np.array(xs, dtype=np.float64))
    if emax == LogQuantizer(bits, top, 0).emax:
        np.testing.assert_array_equal(lq_out, out)


@settings(max_examples=200, deadline=None)
@given(params=log_params(), xs=st.lists(st.integers(0, 2**52), min_size=1, max_size=30))
def test_log_quantize_odd_and_monotone(params, xs):
    bits, top, emax = params
    mags = np.array(sorted(xs), dtype=np.float64)
    pos = log_quantize(mags, bits, top, emax)
    neg = log_quantize(-mags, bits, top, emax)
    nz = mags != 0
    np.testing.assert_array_equal(neg[nz], -pos[nz])
    assert np.all(np.diff(pos) >= 0)
    assert np.all(pos >= 0)
    assert np.all(pos <= 2.0**top)
    refs = [ref_log_quantize(int(x), bits, top, emax) for x in mags]
    assert [ref_log_quantize(-int(x), bits, top, emax) for x in mags if x] == [
        -r for r, x in zip(refs, mags, strict=True) if x
    ]
    assert refs == sorted(refs)


# --- block (shared-exponent) log quantization: hand-computed table ---------
#
# Integer units of a 16-bit error word (exponents 0..15, no level below one
# LSB). top = ceil(log2 max|q|); levels 2**top .. 2**(top - emax) with
# emax = 0 (2 bits), 2 (3 bits); a magnitude m goes up to 2**(l+1) when
# m >= 2**(l + 1/2) (5.66 between 4 and 8, 2.83 between 2 and 4, 1.41
# between 1 and 2) and to zero below 2**(top - emax - 1/2).
BLOCK_INT = [
    # row, top, 1-bit, 2-bit, 3-bit
    ([5, -3, 1, 0], 3, [8, -8, 8, 8], [0, 0, 0, 0], [4, -4, 0, 0]),  # 5 < 5.66: 2 bits send nothing
    ([6, -1, 2, -3], 3, [8, -8, 8, -8], [8, 0, 0, 0], [8, 0, 2, -4]),
    ([0, 0, 0, 0], -1, [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]),  # all-zero message
    ([1, 0, -1], 0, [1, 1, -1], [1, 0, -1], [1, 0, -1]),  # top 0: emax capped at 0
    ([-32768, 100, 3], 15, [-32768, 32768, 32768], [-32768, 0, 0], [-32768, 0, 0]),
    ([3, 2], 2, [4, 4], [4, 0], [4, 2]),
]

# Real units (float reference): exponents -12 .. 3 (a 16-bit word with 3
# integer bits), no floor below the levels.
BLOCK_REAL = [
    ([0.3, -0.05, 0.0], -1, [0.5, -0.5, 0.5], [0.0, 0.0, 0.0], [0.25, 0.0, 0.0]),
    ([20.0, 1.0], 3, [8.0, 8.0], [8.0, 0.0], [8.0, 0.0]),  # top clipped to 3
    ([1e-6, 0.0], -12, [2.0**-12, 2.0**-12], [0.0, 0.0], [0.0, 0.0]),  # clipped to -12
    ([0.0, -0.0], -13, [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]),  # all zero: top_lo - 1
]


def _emax(k: int) -> int:
    return 0 if k == 1 else (1 << (k - 1)) - 2


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("case", BLOCK_INT, ids=lambda c: str(c[0]))
def test_block_log_quantize_integer_table(case, k: int) -> None:
    from neurosim.numerics import kernels
    from neurosim.numerics.fixedpoint import block_log_quantize, ref_block_log_quantize

    row, top, *expected = case
    want = expected[k - 1]
    assert ref_block_log_quantize(row, k, 16) == (want, top)
    q, t = block_log_quantize(np.array([row], dtype=np.float64), k, 0, 15, _emax(k), 0)
    assert q[0].tolist() == want and t.tolist() == [top]
    for dt in (np.float32, np.float64):  # the fused error unit, both out dtypes
        p = np.array([row, row[::-1]], dtype=dt)
        out, tops = np.empty_like(p), np.empty(2, dtype=np.int64)
        kernels.error_kernel_block(p, p, False, 0, -32768, 32767, k, _emax(k), 15, True, out, tops)
        assert out[0].tolist() == want and out[1].tolist() == want[::-1]
        assert tops.tolist() == [top, top]


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("case", BLOCK_REAL, ids=lambda c: str(c[0]))
def test_block_log_quantize_real_table(case, k: int) -> None:
    from neurosim.numerics.fixedpoint import block_log_quantize

    row, top, *expected = case
    q, t = block_log_quantize(np.array([row]), k, -12, 3, _emax(k), None)
    assert q[0].tolist() == expected[k - 1] and t.tolist() == [top]


def test_block_log_quantize_rows_are_independent() -> None:
    # each row has its own exponent: the table's rows stacked give the same
    from neurosim.numerics.fixedpoint import block_log_quantize

    rows = [c[0] + [0] * (4 - len(c[0])) for c in BLOCK_INT]
    q, t = block_log_quantize(np.array(rows, dtype=np.float64), 3, 0, 15, 2, 0)
    assert t.tolist() == [c[1] for c in BLOCK_INT]
    assert [r[: len(c[0])] for r, c in zip(q.tolist(), BLOCK_INT, strict=True)] == [
        c[4] for c in BLOCK_INT
    ]


# --- stochastic (unbiased) log quantization: hand-computed table ------------
#
# Integer units. The random integer u is the top n bits of the 64-bit word;
# the low bits are junk that must not matter. Levels 2**lo .. 2**top and 0
# (k >= 2): a magnitude 2**l <= m < 2**(l+1) goes up iff u < m - 2**l
# (n = l bits); m < 2**lo becomes 2**lo iff u < m (n = lo bits). 1 bit:
# +2**top iff u < 2**top + v (n = top + 1 bits). Levels, clipped values and
# zero (k >= 2) draw nothing.
STOCH_TABLE = [
    # q, bits, top, lo, u, n (bits drawn), value
    (5, 3, 4, 2, 0, 2, 8),  # 4 + 1: up iff u < 1
    (5, 3, 4, 2, 1, 2, 4),
    (-6, 3, 4, 2, 1, 2, -8),  # 4 + 2: up iff u < 2
    (-6, 3, 4, 2, 2, 2, -4),
    (12, 3, 4, 2, 3, 3, 16),  # 8 + 4: up iff u < 4 (3 bits)
    (12, 3, 4, 2, 4, 3, 8),
    (15, 3, 4, 2, 6, 3, 16),
    (15, 3, 4, 2, 7, 3, 8),
    (8, 3, 4, 2, 0, 0, 8),  # a level: certain
    (16, 3, 4, 2, 0, 0, 16),
    (20, 3, 4, 2, 0, 0, 16),  # clips to alpha
    (-40, 3, 4, 2, 0, 0, -16),
    (3, 3, 4, 2, 2, 2, 4),  # below the lowest level 4: up iff u < 3
    (3, 3, 4, 2, 3, 2, 0),
    (-1, 3, 4, 2, 0, 2, -4),
    (-1, 3, 4, 2, 1, 2, 0),
    (0, 3, 4, 2, 0, 0, 0),  # zero stays zero
    (5, 2, 4, 4, 4, 4, 16),  # 2 bits: one level, 16; up iff u < 5 (4 bits)
    (5, 2, 4, 4, 5, 4, 0),
    (-15, 2, 4, 4, 14, 4, -16),
    (-15, 2, 4, 4, 15, 4, 0),
    (1, 4, 6, 0, 0, 0, 1),  # level 2**0: exact
    (3, 4, 6, 0, 0, 1, 4),  # 2 + 1: 1 bit, up iff u < 1
    (3, 4, 6, 0, 1, 1, 2),
    (0, 1, 4, 4, 15, 5, 16),  # 1 bit: + iff u < 16 + v (5 bits); zero is +-16 at 1/2
    (0, 1, 4, 4, 16, 5, -16),
    (-12, 1, 4, 4, 3, 5, 16),  # + with probability 4/32
    (-12, 1, 4, 4, 4, 5, -16),
    (7, 1, 4, 4, 22, 5, 16),
    (7, 1, 4, 4, 23, 5, -16),
    (16, 1, 4, 4, 31, 0, 16),  # +-alpha and beyond: certain
    (-30, 1, 4, 4, 0, 0, -16),
    (1, 1, 0, 0, 1, 0, 1),  # alpha = one LSB
    (0, 1, 0, 0, 0, 1, 1),
    (0, 1, 0, 0, 1, 1, -1),
]  # fmt: skip


def _word(u: int, n: int) -> int:
    junk = 0x5A5A5A5A5A5A5A5A >> n if n else 0x5A5A5A5A5A5A5A5A
    return ((u << (64 - n)) | junk) & ((1 << 64) - 1) if n else junk


@pytest.mark.parametrize("q, bits, top, lo, u, n, value", STOCH_TABLE)
def test_ref_stochastic_log_quantize_table(q, bits, top, lo, u, n, value) -> None:
    from neurosim.numerics.fixedpoint import ref_stochastic_log_quantize

    assert ref_stochastic_log_quantize(q, bits, top, lo, _word(u, n)) == (value, n)


@pytest.mark.parametrize("q, bits, top, lo, u, n, value", STOCH_TABLE)
def test_kernel_stochastic_level_table(q, bits, top, lo, u, n, value) -> None:
    from neurosim.numerics import kernels

    got = kernels._stochastic_level(np.int64(q), bits, top, lo, np.uint64(_word(u, n)))
    assert (int(got[0]), int(got[1])) == (value, n)


@pytest.mark.parametrize("q, bits, top, lo, u, n, value", STOCH_TABLE)
def test_float_stochastic_log_quantize_table(q, bits, top, lo, u, n, value) -> None:
    # the float rule with u = (u_int + 1/2) / 2**n decides as the integers do
    from neurosim.numerics.fixedpoint import stochastic_log_quantize

    uf = (u + 0.5) / 2.0**n if n else 0.5
    for scale in (0, -7):  # integer and real units
        x = np.array([math.ldexp(q, scale)])
        got = stochastic_log_quantize(x, bits, top + scale, lo + scale, np.array([uf]))
        assert got.tolist() == [math.ldexp(value, scale)]


def test_error_kernel_stochastic_counters_and_bits() -> None:
    # component (b, j) of the fused kernel rounds with the word of counter
    # counter0 + b * n + j, and the bits drawn add up
    from neurosim.numerics import kernels
    from neurosim.numerics.fixedpoint import ref_random_word, ref_stochastic_log_quantize

    rng = np.random.default_rng(3)
    key, c0 = derive_key(9, 2, 2), 1234
    for k, top, emax in ((1, 12, 0), (2, 12, 0), (3, 12, 2), (4, 12, 6)):
        p = rng.integers(-6000, 6000, size=(4, 7)).astype(np.float64)
        p[0, :3] = 0
        out = np.empty_like(p)
        sat, drawn = kernels.error_kernel_stochastic(
            p, p, False, 0, -32768, 32767, k, top, emax, True, key, c0, out
        )
        want, bits = [], 0
        for i, v in enumerate(p.ravel()):
            w = ref_random_word(key, c0 + i)
            q, n = ref_stochastic_log_quantize(int(v), k, top, top - emax, w)
            want.append(q)
            bits += n
        assert out.ravel().tolist() == want and drawn == bits and sat == 0


def _stoch_mean(v: int, bits: int, top: int, emax: int, n: int, block: bool) -> float:
    from neurosim.numerics import kernels

    p = np.full((1, n), float(v))
    out = np.empty_like(p)
    if block:
        tops = np.empty(1, dtype=np.int64)
        kernels.error_kernel_block_stochastic(
            p, p, False, 0, -32768, 32767, bits, emax, 15, True, derive_key(1, 0, 2), 0, out, tops
        )
    else:
        kernels.error_kernel_stochastic(
            p, p, False, 0, -32768, 32767, bits, top, emax, True, derive_key(1, 0, 2), 0, out
        )
    return float(out.mean())


@pytest.mark.parametrize("bits", [1, 2, 3])
@pytest.mark.parametrize("v", [0, 1, -3, 5, 7, -11, 13, 16])
def test_stochastic_log_rounding_is_unbiased(v: int, bits: int) -> None:
    # the mean of 2**18 roundings of v (one counter each) is v within 6
    # standard errors; alpha = 16 (top = 4), and the levels of a k-bit code
    n = 1 << 18
    top = 4
    emax = 0 if bits == 1 else (1 << (bits - 1)) - 2
    sd = 16.0 / math.sqrt(n)  # the largest spread of one rounding is +-alpha
    assert abs(_stoch_mean(v, bits, top, emax, n, block=False) - v) < 6 * sd
    # nearest rounding of the same value is biased at 1 and 2 bits
    if bits == 2 and v in (1, -3, 5, 7):
        assert ref_log_quantize(v, bits, top, emax) == 0


@pytest.mark.parametrize("bits", [1, 2, 3])
def test_block_stochastic_log_rounding_is_unbiased(bits: int) -> None:
    # a message of one value: top = ceil(log2 |v|); the mean of its
    # components (one counter each) is v within 6 standard errors
    n = 1 << 18
    emax = 0 if bits == 1 else (1 << (bits - 1)) - 2
    for v in (3, -5, 11, 100):
        alpha = 1 << (abs(v) - 1).bit_length()
        assert abs(_stoch_mean(v, bits, 0, emax, n, block=True) - v) < 6 * alpha / math.sqrt(n)


@pytest.mark.parametrize("bits", [1, 2, 3])
def test_float_stochastic_log_rounding_is_unbiased(bits: int) -> None:
    from neurosim.numerics.fixedpoint import stochastic_log_quantize

    rng = np.random.default_rng(0)
    n = 1 << 18
    emax = 0 if bits == 1 else (1 << (bits - 1)) - 2
    for v in (0.0, 0.01, -0.3, 0.7, -0.99):
        q = stochastic_log_quantize(np.full(n, v), bits, 0, -emax, rng.random(n))
        assert abs(q.mean() - v) < 6 / math.sqrt(n)
