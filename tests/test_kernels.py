"""Tests of neurosim.numerics.kernels: exact products, rounding products, softmax, updates."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.golden.numerics import ref_shift_stochastic
from neurosim.numerics import kernels
from neurosim.numerics.fixedpoint import (
    FixedFormat,
    derive_key,
    ref_log_quantize,
    ref_quantize,
    ref_random_word,
    ref_saturate,
    ref_shift_nearest,
)

# ------------------------------------------------------------------ references


def int_matmul(a, b) -> list[list[int]]:
    """Exact product with Python ints."""
    a = [[int(x) for x in row] for row in np.asarray(a).tolist()]
    b = [[int(x) for x in row] for row in np.asarray(b).tolist()]
    return [
        [sum(a[i][p] * b[p][j] for p in range(len(b))) for j in range(len(b[0]))]
        for i in range(len(a))
    ]


def saturating_matmul(a, b, fmt: FixedFormat) -> tuple[list[list[int]], int]:
    """Sequential accumulation over k, clipping (and counting) at every step."""
    a = np.asarray(a).tolist()
    b = np.asarray(b).tolist()
    out, sat = [], 0
    for i in range(len(a)):
        row = []
        for j in range(len(b[0])):
            s = 0
            for p in range(len(b)):
                s, n = ref_saturate(s + int(a[i][p]) * int(b[p][j]), fmt)
                sat += n
            row.append(s)
        out.append(row)
    return out, sat


def as_ints(x) -> list:
    return [[int(v) for v in row] for row in np.asarray(x).tolist()]


def ref_update(w, g, mult, shift, fmt, stochastic, key, counter0, ubits):
    """The update unit on Python ints: returns (new weights, sat, changed, rng_bits)."""
    w = [int(v) for v in np.asarray(w).ravel().tolist()]
    g = [int(v) for v in np.asarray(g).ravel().tolist()]
    use_rng = stochastic and shift > 0
    d = []
    drawn = 0
    for i, gv in enumerate(g):
        v = gv * mult
        if v == 0:  # no update: nothing rounded, no bits drawn
            d.append(0)
        elif use_rng:
            r = ref_random_word(key, counter0 + i) >> (64 - shift)
            d.append(ref_shift_stochastic(v, shift, r))
            drawn += 1
        else:
            d.append(ref_shift_nearest(v, shift))
    mx = max(abs(x) for x in d)
    if ubits and mx:
        top = (mx - 1).bit_length()  # smallest t with 2**t >= mx
        if ubits == 1:
            d = [0 if x == 0 else (1 << top if x > 0 else -(1 << top)) for x in d]
        else:
            emax = min((1 << (ubits - 1)) - 2, top)
            d = [ref_log_quantize(x, ubits, top, emax) for x in d]
    sat = changed = 0
    for i, x in enumerate(d):
        if x:
            new, n = ref_saturate(w[i] + x, fmt)
            sat += n
            changed += new != w[i]
            w[i] = new
    return w, sat, changed, drawn * shift


# ------------------------------------------------------------------ exact products (product)


def exact_matmul_plain(a, b, max_a, max_b, quantum=1.0) -> np.ndarray:
    """Exact ``a @ b`` through :func:`kernels.product` with the bound of
    :func:`kernels.partial_sum_bound` (a wide accumulator: no saturation)."""
    return kernels.product(a, b, kernels.partial_sum_bound(a, max_a, max_b, quantum=quantum))


def rand_ints(rng, lo, hi, shape):
    return rng.integers(lo, hi, size=shape, endpoint=True).astype(np.float64)


def matmul_cases():
    rng = np.random.default_rng(11)
    cases = []
    # bound < 2**24: float32 branch
    a = rand_ints(rng, -15, 15, (5, 7))
    b = rand_ints(rng, -100, 100, (7, 4))
    cases.append(("f32", a, b, 15, 100))
    # a bound of exactly 2**24 - 1 = 4095 * 4097
    a = np.array([[2048.0, 2047.0], [-2048.0, -2047.0], [1.0, 0.0]])
    b = np.array([[4097.0, -4097.0, 3.0], [4097.0, 4097.0, -4097.0]])
    cases.append(("f32", a, b, 2048, 4097))
    # 2**24 <= bound < 2**53: float64 branch; 2**24 + 1 is not a float32
    a = np.array([[1.0, 1.0], [3.0, -1.0]])
    b = np.array([[2.0**24, 7.0], [1.0, 2.0**24 - 1]])
    cases.append(("f64", a, b, 3, 2**24))
    a = rand_ints(rng, -(2**15), 2**15, (6, 9))
    b = rand_ints(rng, -(2**15), 2**15, (9, 5))
    cases.append(("f64", a, b, 2**15, 2**15))
    # bound >= 2**53: int64 kernel; partial sums leave float64's exact range but
    # the final sums come back below 2**53
    a = np.array([[1.0, 1.0, -1.0], [2.0**27 + 1, 1.0, -(2.0**27 + 1)]])
    b = np.array([[2.0**53, 2.0**26 + 1], [1.0, 1.0], [2.0**53, 2.0**26 + 1]])
    cases.append(("i64", a, b, 2**27 + 1, 2**53))
    a = rand_ints(rng, -(2**26), 2**26, (4, 6))
    b = rand_ints(rng, -(2**28), 2**28, (6, 3))
    a[:, 3:] = a[:, :3]  # cancelling halves keep results small
    b[3:] = -b[:3]
    a[0, 0] += 1
    cases.append(("i64", a, b, 2**26 + 1, 2**28))
    return cases


BRANCH_RANGE = {"f32": (0, 2**24), "f64": (2**24, 2**53), "i64": (2**53, float("inf"))}


def test_partial_sum_bound_takes_the_row_sum_given_or_a_function_of_it():
    a = np.array([[3.0, -4.0, 0.0], [1.0, 1.0, 1.0]])
    calls = []

    def rowsum() -> float:
        calls.append(1)
        return 7.0

    # the static bound 3 * 4 * 2**22 passes 2**24: the row sums decide (7 * 2**22)
    assert kernels.partial_sum_bound(a, 4.0, 2.0**22) == 7 * 2.0**22
    assert kernels.partial_sum_bound(a, 4.0, 2.0**22, rowsum) == 7 * 2.0**22 and calls == [1]
    assert kernels.partial_sum_bound(a, 4.0, 2.0**22, 5.0) == 5 * 2.0**22
    # below 2**24 the static bound is enough: the function is never called
    assert kernels.partial_sum_bound(a, 4.0, 2.0, rowsum) == 24.0 and calls == [1]


@pytest.mark.parametrize("branch, a, b, max_a, max_b", matmul_cases())
def test_exact_matmul_plain(branch, a, b, max_a, max_b):
    lo, hi = BRANCH_RANGE[branch]
    assert lo <= kernels.partial_sum_bound(a, max_a, max_b) < hi
    expected = int_matmul(a, b)
    assert all(abs(v) < 2**53 for row in expected for v in row)
    for dt in (np.float64, np.float32) if branch == "f32" else (np.float64,):
        out = exact_matmul_plain(a.astype(dt), b.astype(dt), max_a, max_b)
        assert out.dtype == (np.float32 if branch == "f32" else np.float64)
        assert out.shape == (a.shape[0], b.shape[1])
        assert as_ints(out) == expected


def test_exact_matmul_plain_branch_vectors_discriminate():
    # the float64 vector needs more than float32; the int64 one more than float64
    a = np.array([[1.0, 1.0]], dtype=np.float32)
    b = np.array([[2.0**24], [1.0]], dtype=np.float32)
    assert int((a @ b)[0, 0]) != 2**24 + 1
    assert exact_matmul_plain(a, b, 1, 2**24)[0, 0] == 2**24 + 1
    a = np.array([[1.0, 1.0, -1.0]])
    b = np.array([[2.0**53], [1.0], [2.0**53]])
    assert exact_matmul_plain(a, b, 1, 2**53)[0, 0] == 1


def test_exact_matmul_plain_transposed_and_empty():
    rng = np.random.default_rng(3)
    a = rand_ints(rng, -(2**20), 2**20, (8, 5))
    b = rand_ints(rng, -(2**20), 2**20, (8, 4))
    out = exact_matmul_plain(a.T, b, 2**20, 2**20)
    assert as_ints(out) == int_matmul(a.T, b)
    out = exact_matmul_plain(a.T, b * 2**13, 2**20, 2**33)  # int64 branch
    assert as_ints(out) == int_matmul(a.T, b * 2**13)
    z = exact_matmul_plain(np.zeros((3, 0)), np.zeros((0, 2)), 1, 1)
    assert z.shape == (3, 2) and not z.any()


@pytest.mark.parametrize(
    "a, max_a, max_b, rowsum, expected",
    [
        # static K * max_a * max_b at or above 2**24: the row sums tighten it
        ([[1, 2], [3, 4]], 2**12, 2**12, None, 7 * 2**12),  # static 2**25
        ([[1, -2], [0, 3]], 2**20, 16, None, 48),  # static 2**25, row sums 3, 3
        ([[5, 0, 0, 0]], 2**22, 4, None, 20),  # static 2**26
        ([[5, 0, 0, 0]], 2**22, 4, 6.0, 24),  # a row sum passed in by the caller
        ([[2**30, 2**30]], 2**30, 2**30, None, 2**61),  # static 2**61 == row bound
        ([[1, 1]], 2**30, 2**30, None, 2**31),
    ],
)
def test_partial_sum_bound(a, max_a, max_b, rowsum, expected):
    bound = kernels.partial_sum_bound(np.asarray(a, dtype=np.float64), max_a, max_b, rowsum)
    assert bound == expected


@pytest.mark.parametrize(
    "a, max_a, max_b",
    [([[1, 2], [3, 4]], 4, 6), ([[1, -2], [0, 3]], 10, 1), ([[-7] * 9], 7, 2**10)],
)
def test_partial_sum_bound_small_is_a_bound(a, max_a, max_b):
    # below 2**24 any valid bound selects the float32 path
    a = np.asarray(a, dtype=np.float64)
    bound = kernels.partial_sum_bound(a, max_a, max_b)
    static = a.shape[1] * max_a * max_b
    assert np.abs(a).sum(axis=1).max() * max_b <= bound <= static < 2**24


# ------------------------------------------------------------------ narrow accumulator

Q8 = FixedFormat(8, 0)


@pytest.mark.parametrize(
    "a, b, out, sat",
    [
        ([[100, 100, -100]], [[1], [1], [1]], [[27]], 1),  # 100, 200->127, 27
        ([[-100, -100, 100, 100]], [[1]] * 4, [[72]], 1),  # -100, -200->-128, -28, 72
        ([[127, 1, 1, -1]], [[1]] * 4, [[126]], 2),  # 127, 128->127, 128->127, 126
        ([[50, 50, 50]], [[1, -1]] * 3, [[127, -128]], 2),  # 50, 100, 150->127 (both)
        ([[60, 60, -60, -60]], [[1]] * 4, [[0]], 0),  # bound 240 > 127 but no clip
    ],
)
def test_exact_matmul_saturation_table(a, b, out, sat):
    a = np.array(a, dtype=np.float64)
    b = np.array(b, dtype=np.float64)
    got, n = kernels.exact_matmul(a, b, 127, 1, Q8)
    assert as_ints(got) == out
    assert n == sat
    assert saturating_matmul(a, b, Q8) == (out, sat)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("acc", [FixedFormat(8, 0), FixedFormat(10, 3), FixedFormat(12, 0)])
def test_exact_matmul_matches_sequential_saturation(seed, acc):
    rng = np.random.default_rng(seed)
    a = rand_ints(rng, -40, 40, (6, 9))
    b = rand_ints(rng, -9, 9, (9, 5)).astype(np.float32)
    got, n = kernels.exact_matmul(a, b, 40, 9, acc)
    expected, sat = saturating_matmul(a, b, acc)
    assert as_ints(got) == expected
    assert n == sat
    if acc.bits == 8:
        assert sat > 0


def test_exact_matmul_wide_accumulator_takes_plain_path():
    rng = np.random.default_rng(5)
    a = rand_ints(rng, -40, 40, (6, 9))
    b = rand_ints(rng, -9, 9, (9, 5))
    got, n = kernels.exact_matmul(a, b, 40, 9, FixedFormat(32, 0))
    assert as_ints(got) == int_matmul(a, b)
    assert n == 0


# ------------------------------------------------------------------ datapath units

EXP4 = np.array([65536, 24109, 8869, 3263], dtype=np.int64)  # round(exp(-d) * 2**16)


@pytest.mark.parametrize(
    "codes, shift, table, out_frac, expected",
    [
        # e = 65536, 24109, 8869; sum 98514; * 128 / sum = 85.15, 31.33, 11.52
        ([[5, 4, 3], [0, 2, 1]], 0, EXP4, 7, [[85, 31, 12], [12, 85, 31]]),
        # e = 5, 3; * 4 / 8 = 2.5, 1.5: ties round half up
        ([[1, 0]], 0, np.array([5, 3]), 2, [[3, 2]]),
        ([[3, 3]], 0, EXP4, 0, [[1, 1]]),  # 0.5 each
        ([[9, 9, 9, 9]], 0, EXP4, 1, [[1, 1, 1, 1]]),  # 0.5 each
        ([[7]], 0, EXP4, 8, [[256]]),
        ([[2, 2, 1]], 0, EXP4, 8, [[108, 108, 40]]),  # 65536*256/155181 = 108.11, 39.77
        # logits far beyond a 12-bit LUT input's [-2048, 2047] are not clipped:
        # d = 1: 65536, 24109; * 128 / 89645 = 93.57, 34.42 (clipped: 64, 64)
        ([[3000, 2999]], 0, EXP4, 7, [[94, 34]]),
        # d = 10 is past the table's end: its last entry, 3263; / 68799 = 121.93, 6.07
        ([[10, 0]], 0, EXP4, 7, [[122, 6]]),
        # shift 2: 12 / 4 = 3, 4 / 4 = 1, d = 2: 65536, 8869; / 74405 = 112.74, 15.26
        ([[12, 4]], 2, EXP4, 7, [[113, 15]]),
    ],
)
def test_softmax_kernel_table(codes, shift, table, out_frac, expected):
    acc = np.array(codes, dtype=np.float64)  # the accumulators; / 2**shift: the logits
    out = np.empty(acc.shape, dtype=np.float32)
    kernels.softmax_kernel(acc, shift, table, out_frac, out)
    assert out.tolist() == expected


def test_quantize_kernel_table():
    # Q8.7: max, min, over max, ties, -0.0, tiny, infinities
    x = np.array(
        [
            [127 / 128, -1.0, 1.0, 127.5 / 128, -128.5 / 128, -128.6 / 128, 0.5 / 128],
            [1.5 / 128, 2.5 / 128, -0.5 / 128, -1.5 / 128, -2.5 / 128, -0.0, 1e-300],
            [-1e-300, np.inf, -np.inf, 0.3, -0.3, 0.0, 3.5 / 128],
        ]
    )
    out = np.empty(x.shape, dtype=np.float32)
    sat, rowsum = kernels.quantize_kernel(x, 7, -128, 127, out)
    assert out.tolist() == [
        [127, -128, 127, 127, -128, -128, 0],
        [2, 2, 0, -2, -2, 0, 0],
        [0, 127, -128, 38, -38, 0, 4],
    ]
    assert np.signbit(out).tolist() == (out < 0).tolist()
    assert sat == 5  # 1.0, 127.5/128, -128.6/128, inf, -inf
    assert rowsum == 127 + 128 + 127 + 127 + 128 + 128 + 0
    # float32 inputs take the float32 kernel: the same codes and counts
    x32 = x.astype(np.float32)  # 1e-300 becomes 0.0, 0.3 its float32 neighbour
    out32 = np.empty(x.shape, dtype=np.float32)
    got = kernels.quantize_kernel(x32, 7, -128, 127, out32)
    ref = kernels.quantize_kernel(x32.astype(np.float64), 7, -128, 127, out)
    assert got == ref
    assert out32.tolist() == out.tolist()
    assert np.signbit(out32).tolist() == (out32 < 0).tolist()


@pytest.mark.parametrize(
    "fmt",
    [
        FixedFormat(8, 7),
        FixedFormat(8, 8, signed=False),
        FixedFormat(4, -2),
        FixedFormat(16, 14),
        FixedFormat(12, 20),
    ],
)
def test_quantize_kernel_matches_quantize(fmt):
    rng = np.random.default_rng(fmt.bits * 100 + fmt.frac)
    x = rng.normal(0, 2.0 ** (fmt.bits - 1 - fmt.frac), size=(9, 13))
    x[0, :6] = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5]) * fmt.lsb
    out = np.empty(x.shape, dtype=np.float64)
    sat, rowsum = kernels.quantize_kernel(x, fmt.frac, fmt.qmin, fmt.qmax, out)
    q, n = fmt.quantize(x)
    np.testing.assert_array_equal(out, q)
    assert sat == n
    assert [[ref_quantize(v, fmt)[0] for v in row] for row in x.tolist()] == as_ints(out)
    assert rowsum == np.abs(q).sum(axis=1).max()
    x32 = x.astype(np.float32)
    out32 = np.empty(x.shape, dtype=np.float32)
    got = kernels.quantize_kernel(x32, fmt.frac, fmt.qmin, fmt.qmax, out32)
    assert got == kernels.quantize_kernel(x32.astype(np.float64), fmt.frac, fmt.qmin, fmt.qmax, out)
    np.testing.assert_array_equal(out32, out)


# LUT input range [-4, 3]; f(v) = 10 v, f'(v) = v * v
LUT_F = np.array([-40.0, -30.0, -20.0, -10.0, 0.0, 10.0, 20.0, 30.0], dtype=np.float32)
LUT_DF = np.array([16.0, 9.0, 4.0, 1.0, 0.0, 1.0, 4.0, 9.0], dtype=np.float32)


LUT_FD = np.ascontiguousarray(np.stack([LUT_F, LUT_DF], axis=1))


def run_act(kind, acc, shift, out_f, out_d):
    """The output layer's LUT (``f`` only) or a hidden layer's (``f`` and ``f'``)."""
    if kind == "f":
        return kernels.act_kernel(acc, shift, -4, 3, LUT_F, out_f)
    return kernels.act_deriv_kernel(acc, shift, -4, 3, LUT_FD, out_f, out_d)[:2]


@pytest.mark.parametrize("kind", ["f", "f_and_df"])
def test_act_kernel_table(kind):
    # shift 1: -50 -> -4 (sat), -4.5 -> -4, -4, -3, -2.5 -> -2, -1, 1, 2.5 -> 2, 3,
    # 3.5 -> 4 -> 3 (sat), 50 -> 3 (sat)
    acc = np.array(
        [[-100.0, -9, -8, -6, -5, -2, 2, 5, 6, 7, 100], [0.0, 1, -1, 3, -3, 0, 0, 0, 0, 0, 0]]
    )
    v = [[-4, -4, -4, -3, -2, -1, 1, 2, 3, 3, 3], [0, 0, 0, 2, -2, 0, 0, 0, 0, 0, 0]]
    out_f = np.empty(acc.shape, dtype=np.float32)
    out_d = np.full(acc.shape, -1.0, dtype=np.float32)
    sat, rowsum = run_act(kind, acc, 1, out_f, out_d)
    assert sat == 3
    assert out_f.tolist() == [[10 * x for x in row] for row in v]
    if kind == "f_and_df":
        assert out_d.tolist() == [[x * x for x in row] for row in v]
    else:
        assert (out_d == -1).all()
    assert rowsum == 10 * sum(abs(x) for x in v[0])
    if kind == "f_and_df":
        # unclipped table indices 2..6 (v = -2..2): 4 lookups below, 3 above
        got = kernels.act_deriv_kernel(acc, 1, -4, 3, LUT_FD, out_f, out_d, 2, 6)
        assert got == (3, rowsum, 7)
        assert kernels.act_deriv_kernel(acc, 1, -4, 3, LUT_FD, out_f, out_d)[2] == 0


@pytest.mark.parametrize("kind", ["f", "f_and_df"])
@pytest.mark.parametrize("shift", [-1, 0, 1, 3])
def test_act_kernel_matches_reference(shift, kind):
    rng = np.random.default_rng(shift + 5)
    acc = rand_ints(rng, -40, 40, (6, 10))
    out_f = np.empty(acc.shape, dtype=np.float32)
    out_d = np.empty(acc.shape, dtype=np.float32)
    sat, _ = run_act(kind, acc, shift, out_f, out_d)
    fmt = FixedFormat(3, 0)
    codes, n = [], 0
    for row in as_ints(acc):
        r = []
        for a in row:
            c, s = ref_saturate(ref_shift_nearest(a, shift), fmt)
            r.append(c)
            n += s
        codes.append(r)
    assert sat == n
    assert as_ints(out_f) == [[10 * c for c in row] for row in codes]
    if kind == "f_and_df":
        assert as_ints(out_d) == [[c * c for c in row] for row in codes]


@pytest.mark.parametrize("shift", [-2, 0, 1, 2, 5])
@pytest.mark.parametrize("fmt", [FixedFormat(8, 0), FixedFormat(8, 0, signed=False)])
def test_requant_kernel_matches_reference(shift, fmt):
    rng = np.random.default_rng(shift + 50)
    acc = rand_ints(rng, -600, 600, (5, 8))
    acc[0, :4] = [1, 3, -1, -3]  # ties at shift 1
    acc[1, :2] = [2.0**40 + 2**4, -(2.0**40) - 3 * 2**4]
    out = np.empty(acc.shape, dtype=np.float32)
    sat = kernels.requant_kernel(acc, shift, fmt.qmin, fmt.qmax, out)
    pairs = [[ref_saturate(ref_shift_nearest(a, shift), fmt) for a in row] for row in as_ints(acc)]
    assert as_ints(out) == [[c for c, _ in row] for row in pairs]
    assert sat == sum(s for row in pairs for _, s in row)


def test_requant_kernel_ties():
    acc = np.array([[1.0, 3.0, 5.0, 7.0, -1.0, -3.0, -5.0, -7.0, 6.0, 10.0]])
    out = np.empty(acc.shape)
    assert kernels.requant_kernel(acc, 1, -128, 127, out) == 0
    assert out.tolist() == [[0, 2, 2, 4, 0, -2, -2, -4, 3, 5]]


EXP16 = np.array([round(np.exp(-d) * 65536) for d in range(16)], dtype=np.int64)


@pytest.mark.parametrize(
    "acc, out_frac, expected",
    [
        ([[2.0, 2.0]], 0, [[1, 1]]),  # 0.5 each: half up
        ([[-3.0, -3.0, -3.0, -3.0]], 1, [[1, 1, 1, 1]]),
        ([[7.0, 7.0, 7.0, 7.0]], 3, [[2, 2, 2, 2]]),
        ([[40.0, 40.0]], 2, [[2, 2]]),  # equal logits past the LUT input's range
        ([[40.0, 39.0]], 0, [[1, 0]]),  # 0.73, 0.27: not clipped to equal codes
    ],
)
def test_softmax_kernel_ties(acc, out_frac, expected):
    acc = np.array(acc)
    out = np.empty(acc.shape)
    kernels.softmax_kernel(acc, 0, EXP16, out_frac, out)
    assert out.tolist() == expected


def test_softmax_kernel_hand_case():
    # shift 1: codes 5, 4, 3 and 0, 2, 1
    acc = np.array([[10.0, 8.0, 6.0], [0.0, 4.0, 2.0]])
    out = np.empty(acc.shape, dtype=np.float32)
    kernels.softmax_kernel(acc, 1, EXP16, 7, out)
    assert out.tolist() == [[85, 31, 12], [12, 85, 31]]


@pytest.mark.parametrize(
    "bits, top, emax, thr, levels",
    [
        (1, 5, 0, [], [32]),
        (2, 3, 0, [6], [0, 8]),  # 2**2.5 = 5.66
        (3, 2, 2, [1, 2, 3], [0, 1, 2, 4]),  # levels 1, 2, 4: 2**-0.5, 2**0.5, 2**1.5
        (4, 8, 6, [3, 6, 12, 23, 46, 91, 182], [0, 4, 8, 16, 32, 64, 128, 256]),
    ],
)
def test_log_table(bits, top, emax, thr, levels):
    t, lv = kernels.log_table(bits, top, emax)
    assert t.tolist() == thr
    assert lv.tolist() == levels


@pytest.mark.parametrize("bits, top", [(2, 0), (2, 6), (3, 1), (3, 7), (4, 9), (8, 10), (16, 4)])
def test_log_table_decides_like_reference(bits, top):
    emax = min((1 << (bits - 1)) - 2, top)
    thr, levels = kernels.log_table(bits, top, emax)
    m = np.arange(0, (1 << top) * 3 + 2, dtype=np.float64)
    got = levels[(m[:, None] >= thr[None, :]).sum(axis=1)]
    assert [int(v) for v in got] == [ref_log_quantize(int(x), bits, top, emax) for x in m]


def ref_error(p, d, use_d, shift, fmt, lbits, top, emax):
    out, sat = [], 0
    for prow, drow in zip(as_ints(p), as_ints(d), strict=True):
        r = []
        for pv, dv in zip(prow, drow, strict=True):
            v, s = ref_saturate(ref_shift_nearest(pv * dv if use_d else pv, shift), fmt)
            sat += s
            if lbits:
                v = ref_log_quantize(v, lbits, top, emax)
            r.append(v)
        out.append(r)
    return out, sat


@pytest.mark.parametrize("lbits", [0, 1, 2, 3, 4, 8])
@pytest.mark.parametrize("use_d", [True, False])
@pytest.mark.parametrize("f64_exact", [True, False])
def test_error_kernel_matches_reference(lbits, use_d, f64_exact):
    fmt = FixedFormat(16, 12)
    top = 12  # alpha = 1.0 in Q16.12
    emax = 0 if lbits <= 1 else min((1 << (lbits - 1)) - 2, top)
    thr, levels = kernels.log_table(lbits, top, emax) if lbits else (np.zeros(0), np.zeros(1))
    rng = np.random.default_rng(lbits * 4 + use_d * 2 + f64_exact)
    p = rand_ints(rng, -3000, 3000, (6, 9))
    d = rand_ints(rng, 0, 255, (6, 9))
    p[0, :5] = [0, 1, -1, 3, -3]
    d[0, :5] = [7, 1, 1, 1, 1]
    p[2, :3] = [2**20, -(2**20), 2**17]  # saturate the error word
    d[2, :3] = [200, 200, 255]
    if not f64_exact:
        p[1] *= 2**35  # products up to 2**54: beyond float64
        d[1] += 2**10 + 1
        p[2, :3] = [2**52, -(2**52), 2**51]
        # 3 * 6019459658197675 = 1026 * 2**44 + 2**43 + 1: just above a tie at shift 44,
        # a tie once rounded to float64
        p[3, :2] = [6019459658197675, -6019459658197675]
        d[3, :2] = [3, 3]
    shift = 8 if use_d else -1
    if not f64_exact:
        shift += 36
    out = np.empty(p.shape, dtype=np.float64)
    sat = kernels.error_kernel(
        p, d, use_d, shift, fmt.qmin, fmt.qmax, lbits, top, thr, levels, f64_exact, out
    )
    expected, n = ref_error(p, d, use_d, shift, fmt, lbits, top, emax)
    assert as_ints(out) == expected
    assert sat == n
    assert n > 0
    if use_d and not f64_exact and lbits == 0:
        assert expected[3][:2] == [1027, -1027]


@pytest.mark.parametrize("block", [False, True])
@pytest.mark.parametrize("lbits", [1, 2, 3, 4])
@pytest.mark.parametrize("use_d", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_error_kernel_stochastic_matches_reference(block, lbits, use_d, dtype):
    # the stochastic error unit (fixed alpha and block exponent) against the
    # reference: the linear word as error_kernel's, then each component
    # rounded with the word of its counter
    from neurosim.numerics.fixedpoint import (
        ref_block_log_quantize_stochastic,
        ref_random_word,
        ref_stochastic_log_quantize,
    )

    fmt = FixedFormat(16, 12)
    top = 12
    emax = 0 if lbits == 1 else min((1 << (lbits - 1)) - 2, top)
    rng = np.random.default_rng(lbits * 4 + use_d * 2 + block)
    p = rand_ints(rng, -3000, 3000, (6, 9))
    d = rand_ints(rng, 0, 255, (6, 9))
    p[0] = 0  # an all-zero message
    p[2, :3] = [2**20, -(2**20), 2**17]  # saturate the error word
    d[2, :3] = [200, 200, 255]
    shift = 8 if use_d else -1
    key, c0 = 0x1234_5678_9ABC_DEF, 777
    lin, n = ref_error(p, d, use_d, shift, fmt, 0, top, emax)
    out = np.empty(p.shape, dtype=dtype)
    want, bits = [], 0
    if block:
        tops = np.empty(6, dtype=np.int64)
        emax_b = 0 if lbits == 1 else (1 << (lbits - 1)) - 2
        sat, drawn = kernels.error_kernel_block_stochastic(
            p, d, use_d, shift, fmt.qmin, fmt.qmax, lbits, emax_b, 15, True, key, c0, out, tops
        )
        for b, row in enumerate(lin):
            words = [ref_random_word(key, c0 + b * 9 + j) for j in range(9)]
            q, t, k = ref_block_log_quantize_stochastic(row, lbits, 16, words)
            want.append(q)
            bits += k
            assert tops[b] == t
    else:
        sat, drawn = kernels.error_kernel_stochastic(
            p, d, use_d, shift, fmt.qmin, fmt.qmax, lbits, top, emax, True, key, c0, out
        )
        for b, row in enumerate(lin):
            r = []
            for j, v in enumerate(row):
                w = ref_random_word(key, c0 + b * 9 + j)
                q, k = ref_stochastic_log_quantize(v, lbits, top, top - emax, w)
                r.append(q)
                bits += k
            want.append(r)
    assert as_ints(out) == want
    assert (sat, drawn) == (n, bits) and n > 0 and bits > 0
    if lbits == 1 and not block:  # a 1-bit zero goes out as +-alpha, both signs
        assert set(want[0]) == {4096, -4096}
    else:  # zero stays zero, also an all-zero 1-bit block message
        assert all(v == 0 for v in want[0])


# ------------------------------------------------------------------ apply_update


def update_case(seed, fmt, shape=(5, 7), glim=3000):
    rng = np.random.default_rng(seed)
    w = rng.integers(fmt.qmin, fmt.qmax, size=shape, endpoint=True).astype(np.float64)
    g = rng.integers(-glim, glim, size=shape, endpoint=True).astype(np.float64)
    g.flat[0] = 0
    g.flat[1] = 1
    g.flat[2] = -1
    # weights already at the range ends, pushed further out: clipped, unchanged
    w.flat[3], g.flat[3] = fmt.qmax, glim
    w.flat[4], g.flat[4] = fmt.qmin, -glim
    return w, g


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ubits", [0, 1, 3])
@pytest.mark.parametrize("stochastic", [False, True])
@pytest.mark.parametrize(
    "fmt, mult, shift, counter0",
    [
        (FixedFormat(8, 0), 37, 8, 0),
        (FixedFormat(8, 0), 5, 12, 1000),
        (FixedFormat(12, 6), 1, 3, 2**40),
        (FixedFormat(8, 0), 3, 0, 7),  # no shift: nothing random
        (FixedFormat(16, 0), 1, -2, 7),  # left shift
    ],
)
def test_apply_update_matches_reference(dtype, ubits, stochastic, fmt, mult, shift, counter0):
    key = derive_key(17, 2, int(stochastic))
    w, g = update_case(mult * 100 + shift + ubits, fmt)
    w = w.astype(dtype)
    expected_w, sat, changed, rng_bits = ref_update(
        w, g, mult, shift, fmt, stochastic, key, counter0, ubits
    )
    got = kernels.apply_update(w, g, mult, shift, fmt, stochastic, key, counter0, ubits)
    assert w.dtype == dtype
    assert [int(v) for v in w.ravel()] == expected_w
    assert got == (sat, changed, rng_bits)
    assert all(isinstance(x, int) for x in got)


def test_apply_update_reference_counts_are_exercised():
    # the parametrised cases above see saturations, changes and rng bits
    fmt = FixedFormat(8, 0)
    key = derive_key(17, 2, 1)
    w, g = update_case(37 * 100 + 8 + 0, fmt)
    _, sat, changed, bits = ref_update(w, g, 37, 8, fmt, True, key, 0, 0)
    assert sat > 0 and changed > 0 and bits == 34 * 8  # g.flat[0] == 0 draws nothing
    nonzero = sum(1 for x in g.ravel() if ref_shift_nearest(int(x) * 37, 8))
    assert changed < nonzero  # some nonzero updates leave a clipped weight in place


def test_apply_update_counter_and_key_select_bits():
    fmt = FixedFormat(16, 0)
    g = np.full((4, 64), 3.0)
    base = np.zeros((4, 64))
    kernels.apply_update(base, g, 1, 4, fmt, True, 123, 0)
    # the same counters give the same result in two halves
    w1 = np.zeros((2, 64))
    w2 = np.zeros((2, 64))
    kernels.apply_update(w1, g[:2], 1, 4, fmt, True, 123, 0)
    kernels.apply_update(w2, g[2:], 1, 4, fmt, True, 123, 128)
    np.testing.assert_array_equal(np.vstack([w1, w2]), base)
    other = np.zeros((4, 64))
    kernels.apply_update(other, g, 1, 4, fmt, True, 124, 0)
    assert not np.array_equal(other, base)


# weight codes of an 8-bit format; updates g * mult / 2**shift in LSBs
SMALL_UPDATES = [
    (1, 1, 8),  # 1/256 LSB
    (-1, 1, 8),
    (127, 1, 8),  # 0.496 LSB
    (-127, 1, 8),
    (3, 40, 8),  # 0.469 LSB
    (-3, 40, 8),
    (1, 1, 1),  # exactly half an LSB: ties to even (0)
    (-1, 1, 1),
]


@pytest.mark.parametrize("g, mult, shift", SMALL_UPDATES)
def test_sub_half_lsb_updates(g, mult, shift):
    fmt = FixedFormat(8, 7)
    n = 4096
    w0 = np.tile(np.arange(-100, 100, 25, dtype=np.float32), n // 8)
    gg = np.full(n, float(g))

    w = w0.copy()
    sat, changed, bits = kernels.apply_update(w, gg, mult, shift, fmt, False, 0, 0)
    np.testing.assert_array_equal(w, w0)
    assert (sat, changed, bits) == (0, 0, 0)

    w = w0.copy()
    key = derive_key(8, 8)
    sat, changed, bits = kernels.apply_update(w, gg, mult, shift, fmt, True, key, 0)
    step = w - w0
    assert sat == 0
    assert bits == n * shift
    assert changed == np.count_nonzero(step) > 0
    assert set(np.unique(step).tolist()) == {0.0, float(np.sign(g))}
    p = abs(g) * mult / 2**shift  # probability of one LSB
    sd = (n * p * (1 - p)) ** 0.5
    assert abs(changed - n * p) < 6 * sd + 1


# ------------------------------------------------------------------ update unit edge cases


def test_apply_update_log_levels_of_large_updates():
    # |update| >= 2**31 with a wide weight format and 8-bit update quantization
    fmt = FixedFormat(48, 0)
    g = np.array([2.0**31 + 1, 2.0**31, 3037000499.0, 2.0**40, -(2.0**31) - 1, 3.0])
    w = np.zeros(g.size)
    expected_w, sat, changed, bits = ref_update(w, g, 1, 0, fmt, False, 0, 0, 8)
    # top = 40, emax = 40: 2**31 + 1 < 2**31.5 stays at 2**31
    assert expected_w == [2**31, 2**31, 2**31, 2**40, -(2**31), 4]
    got = kernels.apply_update(w, g, 1, 0, fmt, False, 0, 0, 8)
    assert [int(v) for v in w] == expected_w
    assert got == (sat, changed, bits)


@pytest.mark.parametrize("layout", ["strided", "transposed"])
def test_apply_update_writes_through_views(layout):
    fmt = FixedFormat(8, 0)
    base = np.zeros((4, 8))
    w = base[:, ::2] if layout == "strided" else base[:4, :4].T
    g = np.arange(16, dtype=np.float64).reshape(4, 4) * 4
    expected_w, sat, changed, bits = ref_update(
        np.ascontiguousarray(w), g, 1, 2, fmt, False, 0, 0, 0
    )
    got = kernels.apply_update(w, g, 1, 2, fmt, False, 0, 0, 0)
    assert got == (sat, changed, bits)
    assert [int(v) for v in np.ascontiguousarray(w).ravel()] == expected_w


@pytest.mark.parametrize("mirror", [False, True])
def test_apply_update_rows_t_equals_full_update(mirror):
    # W stored transposed; rows of W.T (input columns) without gradient skipped
    rng = np.random.default_rng(4)
    fmt = FixedFormat(8, 6)
    w0 = rng.integers(-128, 128, size=(7, 40)).astype(np.float32)
    w0[0, :3] = [127, -128, 126]  # saturate
    g = rng.integers(-5000, 5000, size=w0.shape).astype(np.float32)
    zero = [0, 5, 6, 17, 39]
    g[:, zero] = 0
    idx = np.zeros(40, dtype=np.int64)
    assert kernels.nonzero_columns(g, idx) == 35
    gt = np.ascontiguousarray(g.T[idx[:35]])
    full = w0.copy()
    wt = np.ascontiguousarray(w0.T)
    m = wt.astype(np.float64) if mirror else None
    want = kernels.apply_update(full, g, 3, 9, fmt, True, 77, 1234)
    got = kernels.apply_update_rows_t(wt, gt, idx, 3, 9, fmt, 77, 1234, m)
    assert got == want and want[0] > 0 and want[2] > 0
    np.testing.assert_array_equal(wt.T, full)
    if mirror:
        np.testing.assert_array_equal(m, wt)
    rows = np.zeros((35, 7), dtype=np.float32)
    kernels.gather_rows(wt, idx, rows)
    np.testing.assert_array_equal(rows, np.delete(full, zero, axis=1).T)


@pytest.mark.parametrize("mirror", [False, True])
@pytest.mark.parametrize(
    ("bits", "mult", "shift"), [(8, 3, 9), (8, 102, 30), (16, 5, 1), (16, 1, 52)]
)
def test_update_float64_path_equals_reference(bits, mult, shift, mirror):
    # with a bound on |g| (gmax) the unit computes in float64; where that is
    # exact (gmax * mult + 2**shift <= 2**53) it must give the int64 path's
    # bits and counts, which are ref_update's: saturation at both ends, zero
    # and -0.0 gradients (no bits drawn), -0.0 codes, the largest |g| allowed
    rng = np.random.default_rng(bits + shift)
    fmt = FixedFormat(bits, bits - 2)
    n = 600
    w = rng.integers(fmt.qmin, fmt.qmax + 1, size=n).astype(np.float32)
    w[:4] = [fmt.qmax, fmt.qmin, -0.0, 0.0]
    gmax = (2.0**53 - 2.0**shift) / mult  # the largest bound the float path takes
    gmax = float(2 ** int(np.log2(gmax)))  # a power of two: exact in float32
    g = (rng.integers(-(2**20), 2**20, size=n) * (gmax / 2**20)).astype(np.float32)
    g[:8] = [gmax, -gmax, 0.0, -0.0, gmax, -gmax, 1.0, -1.0]
    g[10:20] = 0.0
    assert kernels.update._f64_exact(gmax, mult, shift)
    want_w, *want = ref_update(w, g, mult, shift, fmt, True, 99, 4321, 0)
    m = w.astype(np.float64) if mirror else kernels._NO_MIRROR
    got = kernels.apply_update_flat(w, g, mult, shift, fmt.qmin, fmt.qmax, 99, 4321, m, gmax)
    assert got == tuple(want) and want[0] > 0 and want[2] > 0
    assert [int(v) for v in w] == want_w
    assert not np.signbit(w).any() or (w[np.signbit(w)] != 0).all()  # no -0.0 codes
    if mirror:
        np.testing.assert_array_equal(m, w)
    # the transposed W^1 form: the same bits as the full update of W
    w0 = rng.integers(fmt.qmin, fmt.qmax + 1, size=(7, 40)).astype(np.float32)
    g2 = g[:280].reshape(7, 40).copy()
    g2[:, [0, 5, 39]] = 0
    idx = np.zeros(40, dtype=np.int64)
    k = kernels.nonzero_columns(g2, idx)
    gt = np.ascontiguousarray(g2.T[idx[:k]])
    full, wt = w0.copy(), np.ascontiguousarray(w0.T)
    mt = wt.astype(np.float64) if mirror else None
    want = kernels.apply_update(full, g2, mult, shift, fmt, True, 77, 1234)
    got = kernels.apply_update_rows_t(wt, gt, idx, mult, shift, fmt, 77, 1234, mt, gmax)
    assert got == want
    np.testing.assert_array_equal(wt.T, full)
    if mirror:
        np.testing.assert_array_equal(mt, wt)


def test_update_float64_path_only_where_exact():
    exact = kernels.update._f64_exact
    assert exact(2.0**52, 1, 52) and exact(2.0**30, 2**22, 52)
    assert not exact(2.0**52 + 2, 1, 52)  # |v| + 2**shift passes 2**53
    assert not exact(1.0, 1, 53)  # a word's 53 bits: not every sum is exact
    assert not exact(None, 1, 8)  # no bound known: int64


def test_act_deriv_kernel_equals_act_kernel():
    # the hidden layers' paired lookup gives the output layer's f, saturations
    # and row sums, and f' from the same table indices
    rng = np.random.default_rng(8)
    acc = rng.integers(-100, 100, size=(5, 11)).astype(np.float64)
    f, f2, d2 = (np.empty(acc.shape, np.float32) for _ in range(3))
    want = kernels.act_kernel(acc, 3, -4, 3, LUT_F, f)
    assert kernels.act_deriv_kernel(acc, 3, -4, 3, LUT_FD, f2, d2)[:2] == want
    assert want[0] > 0
    np.testing.assert_array_equal(f2, f)
    idx = np.clip(np.rint(acc / 8), -4, 3).astype(np.int64) + 4
    np.testing.assert_array_equal(d2, LUT_DF[idx])
