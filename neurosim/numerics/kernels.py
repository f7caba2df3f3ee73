"""Hot loops: exact integer matrix products and the fused update unit.

All tensors hold exact integers in float32/float64 arrays. A product is
computed in the cheapest arithmetic that is provably exact for these operands:
every partial sum of ``a @ b`` is bounded by ``max_i sum_k |a_ik| * max|b|``
(and by ``K * max|a| * max|b|``); below 2**24 float32 BLAS is exact, below
2**53 float64 BLAS is, and beyond that an int64 numba kernel runs. When the
bound exceeds the accumulator's range, partial sums could saturate and the
order matters: :func:`matmul_saturating` then accumulates sequentially over
``k = 0 .. K-1``, saturating at each step, as the tile's MAC does.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from neurosim.numerics.fixedpoint import GOLDEN, FixedFormat, _mix64

_NO_MIRROR = np.empty(0, dtype=np.float64)  # update kernels: no float64 copy
F32_EXACT = float(1 << 24)
F64_EXACT = float(1 << 53)
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


@nb.njit(cache=True)
def _max_row_abs_sum(a) -> float:
    best = 0.0
    for i in range(a.shape[0]):
        t = 0.0
        for k in range(a.shape[1]):
            v = a[i, k]
            t += v if v >= 0 else -v
        if t > best:
            best = t
    return best


def partial_sum_bound(
    a: np.ndarray,
    max_a: float,
    max_b: float,
    rowsum: float | None = None,
    quantum: float = 1.0,
) -> float:
    """Bound on every partial sum of ``a @ b`` (``a`` is ``(M, K)``), in units of ``quantum``.

    ``min(K * max|a| * max|b|, max_i sum_k |a_ik| * max|b|) / quantum``; the
    row sums are exact (integers far below 2**53 in float64). ``rowsum``
    passes ``max_i sum_k |a_ik|`` when the producer of ``a`` already computed
    it. ``quantum`` is a power of two dividing every product ``a_ik * b_kj``
    (log-coded errors are multiples of their finest level): a float format
    holds every multiple of it up to ``2**24`` (float32) or ``2**53``
    (float64) units exactly, so the bound in units decides the arithmetic.
    """
    static = float(a.shape[1]) * max_a * max_b / quantum
    if a.size == 0 or static < F32_EXACT:
        return static
    if rowsum is None:
        rowsum = _max_row_abs_sum(a)
    return min(static, rowsum * max_b / quantum)


def _as(x: np.ndarray, dtype) -> np.ndarray:
    return x if x.dtype == dtype else x.astype(dtype)


def product(a: np.ndarray, b: np.ndarray, bound: float) -> np.ndarray:
    """Exact ``a @ b`` given a bound on its partial sums (in units of their quantum).

    float32 BLAS below 2**24, float64 BLAS below 2**53, else an int64 kernel
    (result as float64; values beyond 2**53 are then not representable and
    the caller's formats must keep them away).
    """
    if bound < F32_EXACT:
        return _as(a, np.float32) @ _as(b, np.float32)
    if bound < F64_EXACT:
        return _as(a, np.float64) @ _as(b, np.float64)
    return matmul_int64(
        np.ascontiguousarray(a, dtype=np.int64), np.ascontiguousarray(b, dtype=np.int64)
    ).astype(np.float64)


def exact_matmul_plain(
    a: np.ndarray, b: np.ndarray, max_a: float, max_b: float, quantum: float = 1.0
) -> np.ndarray:
    """Exact ``a @ b`` of integer-valued arrays (wide accumulator).

    The result is float32 or float64, whichever holds it exactly; see
    :func:`partial_sum_bound` for ``quantum``.
    """
    return product(a, b, partial_sum_bound(a, max_a, max_b, quantum=quantum))


class Workspace:
    """Arrays of a training step, allocated once per name, shape and dtype.

    Reusing them keeps the step free of allocations: temporaries of a few
    hundred KB would otherwise go back to the OS and fault in again every
    step. ``Workspace(reuse=False)`` hands out fresh arrays (for callers
    that keep the results).
    """

    def __init__(self, reuse: bool = True) -> None:
        self.reuse = reuse
        self._arrays: dict = {}

    def get(self, name: str, shape: tuple, dtype=np.float32) -> np.ndarray:
        """An uninitialised C-contiguous array of this shape and dtype.

        One buffer per name, grown when a request needs more room; a smaller
        shape (the last batch of an epoch, a varying number of columns) is a
        view of its first elements.
        """
        if not self.reuse:
            return np.empty(shape, dtype)
        ent = self._arrays.get(name)
        if ent is not None and ent[1].shape == shape and ent[0].dtype == dtype:
            return ent[1]
        n = math.prod(shape)
        buf = None if ent is None else ent[0]
        if buf is None or buf.dtype != dtype or buf.size < n:
            buf = np.empty(n, dtype)
        view = buf[:n].reshape(shape)
        self._arrays[name] = (buf, view)
        return view

    def cast(self, name: str, a: np.ndarray, dtype) -> np.ndarray:
        """``a`` in ``dtype`` (itself when it already is)."""
        if a.dtype == dtype:
            return a
        out = self.get(name, a.shape, dtype)
        np.copyto(out, a)
        return out


def product_into(
    a: np.ndarray,
    b32: np.ndarray,
    b64: np.ndarray,
    bound: float,
    ws: Workspace,
    name: str,
) -> np.ndarray:
    """Exact ``a @ b`` in a workspace array.

    ``b32``/``b64`` are the same integer codes in float32 and float64 (either
    may be a view of the other's dtype; it is cast when needed). ``bound`` is
    :func:`partial_sum_bound`'s; it picks float32 BLAS, float64 BLAS or the
    int64 kernel as :func:`product` does.
    """
    shape = (a.shape[0], b32.shape[1])
    if bound < F32_EXACT:
        out = ws.get(name, shape, np.float32)
        if a.dtype != _F32:
            a = ws.cast(name + ".a32", a, np.float32)
        if b32.dtype != _F32:
            b32 = ws.cast(name + ".b32", b32, np.float32)
        np.matmul(a, b32, out=out)
        return out
    if bound < F64_EXACT:
        out = ws.get(name + ".64", shape, np.float64)
        if a.dtype != _F64:
            a = ws.cast(name + ".a64", a, np.float64)
        if b64.dtype != _F64:
            b64 = ws.cast(name + ".b64", b64, np.float64)
        np.matmul(a, b64, out=out)
        return out
    return product(a, b64, bound)


def exact_matmul(
    a: np.ndarray,
    b: np.ndarray,
    max_a: int,
    max_b: int,
    acc: FixedFormat,
    rowsum: float | None = None,
    init: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """Exact ``a @ b`` through an accumulator of format ``acc``.

    ``rowsum`` is ``max_i sum_k |a_ik|`` if already known (see
    :func:`partial_sum_bound`). ``init`` (float64 integer codes, one per
    output column) is where every accumulator of column ``j`` starts (a
    bias): the start value is saturated first (a clip counts as one
    saturation), then the products are added in order.

    Returns
    -------
    out : ndarray of float32/float64, shape (M, N)
        The accumulated sums (saturated where the accumulator saturated).
    saturations : int
        Number of saturation events (each step that clipped counts once).
    """
    bound = partial_sum_bound(a, max_a, max_b, rowsum)
    if init is not None and init.size:
        bound += float(np.abs(init).max())
    if bound <= acc.qmax:
        out = product(a, b, bound)
        if init is not None:
            out += init.astype(out.dtype)  # exact: |sum| <= bound
        return out, 0
    if bound < F64_EXACT:
        # per output, |init_j| + sum_k |a_ik| |b_kj| bounds its partial sums
        # in any order: only rows where that reaches the accumulator's range
        # need the tile's sequential saturating order
        reach = np.abs(_as(a, np.float64)) @ np.abs(_as(b, np.float64))
        if init is not None:
            reach += np.abs(init)
        risky = np.flatnonzero(reach.max(axis=1) > acc.qmax)
        out = _as(product(a, b, bound), np.float64)
        if init is not None:
            out += init
        if risky.size == 0:
            return out, 0
        bi = np.ascontiguousarray(b, dtype=np.int64)
        sub = np.empty((risky.size, b.shape[1]), dtype=np.int64)
        ai = np.ascontiguousarray(a[risky], dtype=np.int64)
        n = _saturating(ai, bi, acc, init, sub)
        out[risky] = sub
        return out, int(n)
    out = np.empty((a.shape[0], b.shape[1]), dtype=np.int64)
    ai = np.ascontiguousarray(a, dtype=np.int64)
    n = _saturating(ai, np.ascontiguousarray(b, dtype=np.int64), acc, init, out)
    return out.astype(np.float64), int(n)


def _saturating(ai, bi, acc: FixedFormat, init, out) -> int:
    if init is None:
        return matmul_saturating(ai, bi, acc.qmin, acc.qmax, out)
    return matmul_saturating_init(ai, bi, init.astype(np.int64), acc.qmin, acc.qmax, out)


@nb.njit(cache=True)
def matmul_int64(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Plain int64 matrix product (no saturation)."""
    m, k = a.shape
    n = b.shape[1]
    out = np.zeros((m, n), dtype=np.int64)
    for i in range(m):
        for p in range(k):
            av = a[i, p]
            if av != 0:
                for j in range(n):
                    out[i, j] += av * b[p, j]
    return out


@nb.njit(cache=True)
def matmul_saturating(a, b, qmin, qmax, out) -> int:
    """``out = a @ b`` accumulating over ``k`` in order, saturating each step."""
    m, k = a.shape
    n = b.shape[1]
    sat = 0
    for i in range(m):
        for j in range(n):
            s = np.int64(0)
            for p in range(k):
                s += a[i, p] * b[p, j]
                s, c = _clamp(s, qmin, qmax)
                sat += c
            out[i, j] = s
    return sat


@nb.njit(cache=True)
def matmul_saturating_init(a, b, init, qmin, qmax, out) -> int:
    """:func:`matmul_saturating` with accumulator ``j`` starting at
    ``init[j]`` (saturated first, a clip counted) instead of 0."""
    m, k = a.shape
    n = b.shape[1]
    sat = 0
    for i in range(m):
        for j in range(n):
            s, c = _clamp(np.int64(init[j]), qmin, qmax)
            sat += c
            for p in range(k):
                s += a[i, p] * b[p, j]
                s, c = _clamp(s, qmin, qmax)
                sat += c
            out[i, j] = s
    return sat


@nb.njit(cache=True)
def _round_shift_int(v, shift):
    if shift <= 0:
        return v << (-shift)
    fl = v >> shift
    rem = v - (fl << shift)
    half = np.int64(1) << (shift - 1)
    if rem > half or (rem == half and (fl & 1) == 1):
        fl += 1
    return fl


@nb.njit(cache=True)
def _log_level(d, top, emax):
    # nearest power of two in the log domain, clipped to [top - emax, top];
    # zero stays zero. m = mant * 2**ex rounds up from 2**(ex-1) exactly when
    # mant > 1/sqrt(2); comparing with fl(1/sqrt 2), the first double above
    # 1/sqrt(2), is exact for every double mant.
    if d == 0:
        return d
    m = -d if d < 0 else d
    mant, ex = math.frexp(float(m))  # exact: |d| < 2**53
    lvl = np.int64(ex - 1)
    if mant >= 0.7071067811865476:
        lvl += 1
    if lvl < top - emax:
        return np.int64(0)
    if lvl > top:
        lvl = top
    v = np.int64(1) << lvl
    return -v if d < 0 else v


@nb.njit(cache=True)
def _sign_level(d, top):
    # 1-bit code: the sign alone; zero is sent with sign bit 0
    return -(np.int64(1) << top) if d < 0 else (np.int64(1) << top)


@nb.njit(cache=True, inline="always")
def _clamp(v, lo, hi):
    # saturate v to [lo, hi]; the second value is 1 when it clipped
    if v > hi:
        return hi, 1
    if v < lo:
        return lo, 1
    return v, 0


@nb.njit(cache=True, inline="always")
def _write(fw, fm, i, d, qmin, qmax):
    # saturating write-back of one update (to the codes and their mirror, if
    # any); returns (saturated, changed)
    old = np.int64(fw[i])
    x, s = _clamp(old + d, qmin, qmax)
    if x != old:
        fw[i] = x
        if fm.size:
            fm[i] = x
        return s, 1
    return s, 0


# Kernels below are written branch-free (min/max instead of if/else) so LLVM
# vectorises them. ``reassoc`` only lets it reorder the row sums: they add
# exact integers far below 2**53, so any order gives the same result.
_FAST = {"reassoc"}


@nb.njit(cache=True, fastmath=_FAST)
def _quantize64(x, frac, qmin, qmax, out):
    sat = 0
    scale = 2.0**frac
    lo = float(qmin)
    hi = float(qmax)
    best = 0.0
    for i in range(x.shape[0]):
        t = 0.0
        for j in range(x.shape[1]):
            v = np.rint(np.float64(x[i, j]) * scale)  # exact scaling; rint = half even
            c = min(max(v, lo), hi)
            sat += c != v
            out[i, j] = c + 0.0  # -0.0 (rint of a small negative) stored as 0
            t += abs(c)
        best = max(best, t)
    return sat, best


@nb.njit(cache=True, fastmath=_FAST)
def _quantize32(x, frac, qmin, qmax, out):
    # float32 input: scaling by 2**frac and rint are exact in float32 too
    # (twice the vector width); the row sums stay in float64
    sat = 0
    scale = np.float32(2.0**frac)
    lo = np.float32(qmin)
    hi = np.float32(qmax)
    best = 0.0
    for i in range(x.shape[0]):
        t = 0.0
        for j in range(x.shape[1]):
            v = np.rint(x[i, j] * scale)
            c = min(max(v, lo), hi)
            sat += c != v
            out[i, j] = c + np.float32(0.0)
            t += np.float64(abs(c))
        best = max(best, t)
    return sat, best


def quantize_kernel(x, frac, qmin, qmax, out) -> tuple[int, float]:
    """``out = saturate(round_half_even(x * 2**frac))`` for reals ``x`` (2-D).

    ``qmin``/``qmax`` must be exact in float32 (formats of at most 24 bits).
    Returns ``(saturations, max_i sum_j |out_ij|)``.
    """
    if x.dtype == _F32 and out.dtype == _F32:
        return _quantize32(x, frac, qmin, qmax, out)
    return _quantize64(x, frac, qmin, qmax, out)


@nb.njit(cache=True, fastmath=_FAST)
def act_kernel(acc, shift, qmin, qmax, f, df, out_f, out_d, want_d):
    """Activation unit: shift ``acc`` to the LUT input (round half even),
    saturate, look ``f`` (and ``f'``) up.

    Returns ``(saturations of S, max_b sum_j |out_f[b, j]|)``, the row sums
    bounding the next layer's partial sums.

    ``acc`` holds exact integers below 2**53, so scaling by ``2**-shift`` is
    exact in float64 and ``rint`` is the round-half-even of the shift. Each
    row first computes its table indices (a vectorised pass), then looks
    them up.
    """
    sat = 0
    scale = 2.0 ** (-shift)
    lo = float(qmin)
    hi = float(qmax)
    best = 0.0
    n = acc.shape[1]
    idx = np.empty(n, dtype=np.int32)
    for b in range(acc.shape[0]):
        for j in range(n):
            v = np.rint(np.float64(acc[b, j]) * scale)
            c = min(max(v, lo), hi)
            sat += c != v
            idx[j] = np.int32(c - lo)
        t = 0.0
        for j in range(n):
            o = f[idx[j]]
            out_f[b, j] = o
            t += abs(o)
        if want_d:
            for j in range(n):
                out_d[b, j] = df[idx[j]]
        best = max(best, t)
    return sat, best


@nb.njit(cache=True, fastmath=_FAST)
def act_deriv_kernel(acc, shift, qmin, qmax, fd, out_f, out_d):
    """:func:`act_kernel` with ``want_d`` for a hidden layer, from the table
    ``fd`` of ``(f, f')`` pairs (shape ``(2**lut_bits, 2)``): one lookup
    fetches both."""
    sat = 0
    scale = 2.0 ** (-shift)
    lo = float(qmin)
    hi = float(qmax)
    best = 0.0
    n = acc.shape[1]
    idx = np.empty(n, dtype=np.int32)
    for b in range(acc.shape[0]):
        for j in range(n):
            v = np.rint(np.float64(acc[b, j]) * scale)
            c = min(max(v, lo), hi)
            sat += c != v
            idx[j] = np.int32(c - lo)
        t = 0.0
        of = out_f[b]
        od = out_d[b]
        for j in range(n):
            k = idx[j]
            o = fd[k, 0]
            of[j] = o
            od[j] = fd[k, 1]
            t += abs(o)
        best = max(best, t)
    return sat, best


@nb.njit(cache=True)
def requant_kernel(acc, shift, qmin, qmax, out) -> int:
    """``out = saturate(round_half_even(acc / 2**shift))``; returns saturations."""
    sat = 0
    for b in range(acc.shape[0]):
        for j in range(acc.shape[1]):
            v = _round_shift_int(np.int64(acc[b, j]), shift)
            v, c = _clamp(v, qmin, qmax)
            sat += c
            out[b, j] = v
    return sat


@nb.njit(cache=True)
def softmax_kernel(acc, shift, qmin, qmax, exp_table, out_frac, out) -> int:
    """Integer softmax of the LUT-input codes of ``acc``.

    ``e_j = EXP[max(S) - S_j]`` (exponentials in ``UQ17.16``), then
    ``O_j = round_half_up(e_j * 2**out_frac / sum(e))`` by integer division.
    Returns the saturations of ``S``.
    """
    sat = 0
    n = acc.shape[1]
    codes = np.empty(n, dtype=np.int64)
    for b in range(acc.shape[0]):
        top = qmin
        for j in range(n):
            v = _round_shift_int(np.int64(acc[b, j]), shift)
            v, c = _clamp(v, qmin, qmax)
            sat += c
            codes[j] = v
            if v > top:
                top = v
        tot = np.int64(0)
        for j in range(n):
            codes[j] = exp_table[top - codes[j]]
            tot += codes[j]
        for j in range(n):
            out[b, j] = (codes[j] * (np.int64(2) << out_frac) + tot) // (2 * tot)
    return sat


@nb.njit(cache=True)
def nonzero_rows(a):
    """Non-zero entries of each row of a 2-D array (int64, shape ``(M,)``)."""
    out = np.zeros(a.shape[0], dtype=np.int64)
    for i in range(a.shape[0]):
        n = 0
        for j in range(a.shape[1]):
            n += a[i, j] != 0
        out[i] = n
    return out


@nb.njit(cache=True)
def nonzero_columns(a, idx) -> int:
    """Write the indices of ``a``'s columns holding a non-zero entry to ``idx``; return how many."""
    n = a.shape[1]
    flag = np.zeros(n, dtype=np.uint8)
    for i in range(a.shape[0]):
        for j in range(n):
            flag[j] |= a[i, j] != 0
    k = 0
    for j in range(n):
        if flag[j]:
            idx[k] = j
            k += 1
    return k


@nb.njit(cache=True)
def gather_columns(a, idx, out):
    """``out = a[:, idx[:k]]`` with ``k = out.shape[1]``."""
    for i in range(a.shape[0]):
        arow = a[i]
        orow = out[i]
        for c in range(out.shape[1]):
            orow[c] = arow[idx[c]]


@nb.njit(cache=True)
def gather_rows(a, idx, out):
    """``out = a[idx[:k]]`` with ``k = out.shape[0]`` (contiguous row copies)."""
    n = out.shape[1]
    for c in range(out.shape[0]):
        r = idx[c]
        for j in range(n):  # explicit loop: a slice copy per row costs 4x
            out[c, j] = a[r, j]


@nb.njit(cache=True)
def message_tally(msg, bits_of, radix, code):
    """One batch of one message kind: non-zero components and packet bits.

    ``msg`` is ``(B, n)``; ``bits_of[k]`` the bits of a message with ``k``
    non-zero components. ``code`` (int64, ``(B,)``) becomes
    ``code * radix + nnz`` per sample (mixed-radix code of the tuple of
    non-zero counts). Returns ``(non-zero components, bits)`` of the batch.
    """
    nnz_tot = 0
    bits = 0
    for i in range(msg.shape[0]):
        n = 0
        for j in range(msg.shape[1]):
            n += msg[i, j] != 0
        nnz_tot += n
        bits += bits_of[n]
        code[i] = code[i] * radix + n
    return nnz_tot, bits


@nb.njit(cache=True)
def nonzero(a) -> int:
    """Non-zero entries of a 2-D array (``np.count_nonzero`` without a bool temporary)."""
    n = 0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            n += a[i, j] != 0
    return n


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


@nb.njit(cache=True)
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
            c = min(max(v, lo), hi)
            sat += c != v
            if sign_level > 0:
                c = -sign_level if c < 0 else sign_level
            out[b, j] = c
    return sat


@nb.njit(cache=True)
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


@nb.njit(cache=True)
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


@nb.njit(cache=True)
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


@nb.njit(cache=True, inline="always")
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


@nb.njit(cache=True)
def _block_pass(out, flat, mant_bits, bias, kthr, sign_mask, lbits, emax, top_hi, tops):
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
            lvl = float(np.int64(1) << top)
            for j in range(n):
                out[b, j] = -lvl if out[b, j] < 0 else lvl
        else:
            _log_range(flat, b * n, (b + 1) * n, mant_bits, bias, kthr, sign_mask,
                       max(top - emax, 0), top)  # fmt: skip


@nb.njit(cache=True)
def _error_unit_block(p, d, use_d, shift, lo, hi, f64_exact, lbits, emax, top_hi, tops, out):
    # error_kernel with a shared exponent per row: the linear word, then the
    # block log stage on the bits of out (float32 or float64)
    sat = _error_linear(p, d, use_d, shift, lo, hi, 0.0, f64_exact, out)
    if out.itemsize == 4:
        flat = out.view(np.int32).ravel()
        _block_pass(out, flat, 23, 127, _K32, -(1 << 31), lbits, emax, top_hi, tops)
    else:
        flat = out.view(np.int64).ravel()
        _block_pass(out, flat, 52, 1023, _K64, -(1 << 63), lbits, emax, top_hi, tops)
    return sat


def error_kernel_block(
    p, d, use_d, shift, qmin, qmax, lbits, emax, top_hi, f64_exact, out, tops
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
    Returns the saturations of the error word.
    """
    if not out.flags.c_contiguous:
        raise ValueError("error_kernel_block writes a C-contiguous out array")
    if out.size == 0:
        return _error_linear(p, d, use_d, shift, float(qmin), float(qmax), 0.0, f64_exact, out)
    return _error_unit_block(
        p, d, use_d, shift, float(qmin), float(qmax), f64_exact, lbits, emax, top_hi, tops, out
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


@nb.njit(cache=True)
def update_kernel(w, g, mult, shift, qmin, qmax, stochastic, key, counter0, ubits, buf, mirror):
    """Fused update unit: ``w += Q(round(g * mult / 2**shift))``, saturating.

    Parameters
    ----------
    w : ndarray (float32/float64 holding integers), modified in place
        Stored codes of W (or C).
    g : ndarray, same size
        Exact integer gradient sums.
    mult, shift : int
        Learning-rate register and the right shift that lands on W's LSB.
    qmin, qmax : int
        W's range.
    stochastic : bool
        Stochastic rounding with SplitMix64 bits for counters
        ``counter0 + flat index`` under ``key``; otherwise round half to even.
        A zero ``g * mult`` is no update: no bits are drawn for it.
    ubits : int
        Log-quantize each step's update to this many bits (0 = off), with
        ``alpha`` the smallest power of two >= max |update| and levels no
        finer than one LSB.
    buf : ndarray of int64, same size
        Scratch space.
    mirror : ndarray of float64, same size or empty, modified in place
        A second copy of the codes (float64 for BLAS) that receives every
        write; empty when there is none.

    Returns
    -------
    (saturations, changed, rng_bits)
    """
    fw = w.ravel()
    fm = mirror.ravel()
    fg = g.ravel()
    n = fw.size
    gold = np.uint64(GOLDEN)
    base = np.uint64(key) + np.uint64(counter0) * gold
    use_rng = stochastic and shift > 0
    if use_rng and ubits == 0:
        return _update_stochastic(fw, fm, fg, mult, shift, qmin, qmax, base)
    sat = 0
    changed = 0
    drawn = 0
    mx = np.int64(0)
    for i in range(n):
        v = np.int64(fg[i]) * mult
        if use_rng:
            # floor((0 + r) / 2**shift) = 0: a zero update stays zero, and the
            # unit skips it without drawing bits (counted as such)
            r = np.int64(_mix64(base + np.uint64(i) * gold) >> np.uint64(64 - shift))
            drawn += v != 0
            d = (v + r) >> shift
        else:
            d = _round_shift_int(v, shift)
        if ubits > 0:  # quantized updates need max |d| first: keep d for pass 2
            buf[i] = d
            a = -d if d < 0 else d
            if a > mx:
                mx = a
        elif d != 0:
            s, c = _write(fw, fm, i, d, qmin, qmax)
            sat += s
            changed += c
    if ubits > 0 and mx > 0:
        top = np.int64(0)
        while (np.int64(1) << top) < mx:
            top += 1
        emax = (np.int64(1) << (ubits - 1)) - 2 if ubits > 1 else np.int64(0)
        if emax > top:
            emax = top
        for i in range(n):
            d = buf[i]
            if d == 0:
                continue
            d = _sign_level(d, top) if ubits == 1 else _log_level(d, top, emax)
            if d != 0:
                s, c = _write(fw, fm, i, d, qmin, qmax)
                sat += s
                changed += c
    return sat, changed, drawn * shift


@nb.njit(cache=True)
def _update_stochastic(fw, fm, fg, mult, shift, qmin, qmax, base):
    # update_kernel's common case (stochastic rounding, no update quantizer)
    # without branches, so the loop vectorises: a zero update draws no bits
    # and adds 0; the codes are always in range, so clamping an unchanged
    # code never counts a saturation; every code is written back
    gold = np.uint64(GOLDEN)
    rshift = np.uint64(64 - shift)
    mirrored = fm.size > 0
    sat = 0
    changed = 0
    drawn = 0
    for i in range(fw.size):
        v = np.int64(fg[i]) * mult
        r = np.int64(_mix64(base + np.uint64(i) * gold) >> rshift)
        drawn += v != 0
        old = np.int64(fw[i])
        t = old + ((v + r) >> shift)
        x = min(max(t, qmin), qmax)
        sat += x != t
        changed += x != old
        fw[i] = x
        if mirrored:
            fm[i] = x
    return sat, changed, drawn * shift


@nb.njit(cache=True)
def _update_stochastic_rows_t(wt, mt, gt, rows, mult, shift, qmin, qmax, base):
    # _update_stochastic on a matrix stored transposed, wt = W.T of shape
    # (n_in, n_out), for the rows rows[:k] of wt (input columns of W) whose
    # gradients gt (k, n_out) may be non-zero; every other gradient is zero,
    # which changes nothing and draws no bits. Entry W[r, p] draws the word
    # of its flat index r * n_in + p, as the full kernel does.
    n_in = wt.shape[0]
    gold = np.uint64(GOLDEN)
    rshift = np.uint64(64 - shift)
    mirrored = mt.size > 0
    sat = 0
    changed = 0
    drawn = 0
    for q in range(gt.shape[0]):
        p = rows[q]
        wrow = wt[p]
        grow = gt[q]
        for r in range(grow.size):
            v = np.int64(grow[r]) * mult
            rnd = np.int64(_mix64(base + np.uint64(r * n_in + p) * gold) >> rshift)
            drawn += v != 0
            old = np.int64(wrow[r])
            t = old + ((v + rnd) >> shift)
            x = min(max(t, qmin), qmax)
            sat += x != t
            changed += x != old
            wrow[r] = x
            if mirrored:
                mt[p, r] = x
    return sat, changed, drawn * shift


def apply_update_flat(
    w: np.ndarray,
    g: np.ndarray,
    mult: int,
    shift: int,
    qmin: int,
    qmax: int,
    key: int,
    counter0: int,
    mirror: np.ndarray = _NO_MIRROR,
) -> tuple[int, int, int]:
    """:func:`apply_update`'s common case (stochastic rounding, no update
    quantizer, ``shift > 0``) on 1-D views: ``w`` and ``g`` are the flat
    (C-order) codes and gradients, ``mirror`` the flat float64 copy or empty.
    No checks: the engine's hot path.

    Returns ``(saturations, changed, rng_bits)``.
    """
    base = np.uint64((key + counter0 * GOLDEN) & ((1 << 64) - 1))
    return _update_stochastic(w, mirror, g, mult, shift, qmin, qmax, base)


def apply_update_rows_t(
    wt: np.ndarray,
    gt: np.ndarray,
    rows: np.ndarray,
    mult: int,
    shift: int,
    fmt: FixedFormat,
    key: int,
    counter0: int,
    mirror_t: np.ndarray | None = None,
) -> tuple[int, int, int]:
    """:func:`apply_update` of ``W`` (stochastic rounding, no update
    quantizer, ``shift > 0``) stored transposed as ``wt = W.T`` (C-contiguous,
    ``(n_in, n_out)``), when only the rows ``rows[:k]`` of ``wt`` can have
    non-zero gradients, given as ``gt`` (``(k, n_out)``): the same bits and
    counts as the full update of ``W``. ``mirror_t`` (float64, like ``wt``)
    receives the same writes.

    Returns ``(saturations, changed, rng_bits)``.
    """
    if shift <= 0 or not wt.flags.c_contiguous:
        raise ValueError("apply_update_rows_t needs shift > 0 and a C-contiguous wt")
    base = np.uint64((key + counter0 * GOLDEN) & ((1 << 64) - 1))
    m = np.empty((0, 0)) if mirror_t is None else mirror_t
    sat, changed, bits = _update_stochastic_rows_t(
        wt, m, gt, rows, int(mult), int(shift), int(fmt.qmin), int(fmt.qmax), base
    )
    return int(sat), int(changed), int(bits)


_EMPTY_BUF = np.empty(0, dtype=np.int64)


def apply_update(
    w: np.ndarray,
    g: np.ndarray,
    mult: int,
    shift: int,
    fmt: FixedFormat,
    stochastic: bool,
    key: int,
    counter0: int,
    update_bits: int = 0,
    mirror: np.ndarray | None = None,
    buf: np.ndarray | None = None,
) -> tuple[int, int, int]:
    """Run :func:`update_kernel` on ``w`` in place; see it for the semantics.

    ``mirror`` (float64, C-contiguous, ``w``'s shape) receives the same writes;
    ``buf`` is int64 scratch of ``w.size`` for quantized updates (allocated
    when not given). Returns ``(saturations, changed, rng_bits)``.
    """
    if not update_bits:
        buf = _EMPTY_BUF
    elif buf is None:
        buf = np.empty(w.size, dtype=np.int64)
    # the kernel writes through ravel(), a copy for non-contiguous arrays
    target = w if w.flags.c_contiguous else np.ascontiguousarray(w)
    # Python ints below 2**63 reach numba as int64, like np.int64
    sat, changed, bits = update_kernel(
        target, g if g.flags.c_contiguous else np.ascontiguousarray(g), int(mult), int(shift),
        int(fmt.qmin), int(fmt.qmax), bool(stochastic), int(key), int(counter0),
        int(update_bits), buf, _NO_MIRROR if mirror is None else mirror,
    )  # fmt: skip
    if target is not w:
        w[...] = target
    return int(sat), int(changed), int(bits)


# --- momentum: the update unit with a velocity word --------------------------


@nb.njit(cache=True)
def _rnd_shift(v, shift, stochastic, base, i):
    # v / 2**shift rounded (stochastic: the top `shift` bits of the word of
    # counter i under base; nearest: half to even); returns (value, bits drawn).
    # A zero stays zero and draws nothing; shift <= 0 is an exact left shift.
    if shift <= 0:
        return v << (-shift), 0
    if v == 0:
        return v, 0
    if stochastic:
        r = np.int64(_mix64(base + np.uint64(i) * np.uint64(GOLDEN)) >> np.uint64(64 - shift))
        return (v + r) >> shift, shift
    return _round_shift_int(v, shift), 0


@nb.njit(cache=True)
def momentum_kernel(
    w, v, g, mult, shift_v, extra, mu, mu_frac, qmin, qmax, vmin, vmax, stochastic,
    base_g, base_decay, base_step, ubits, buf, mirror,
):  # fmt: skip
    """Update unit with momentum, fused over one parameter array.

    Per entry ``i`` (flat C order): ``d = round(g * mult / 2**shift_v)`` (the
    learning-rate-scaled gradient on the velocity's LSB; words of
    ``base_g``), optionally log-quantized to ``ubits`` bits over the array
    (as :func:`update_kernel`, levels no finer than one velocity LSB);
    ``u = sat_V(round(mu * v / 2**mu_frac) + d)`` (words of ``base_decay``);
    ``v = u``; ``w = sat_W(w + round(u / 2**extra))`` (words of
    ``base_step``). Rounding is stochastic or half-to-even for all three.

    Returns
    -------
    (sat_w, changed, rng_bits_gradient, sat_v, rng_bits_velocity)
    """
    fw = w.ravel()
    fv = v.ravel()
    fm = mirror.ravel()
    fg = g.ravel()
    n = fw.size
    drawn_g = 0
    drawn_m = 0
    mx = np.int64(0)
    for i in range(n):
        d, k = _rnd_shift(np.int64(fg[i]) * mult, shift_v, stochastic, base_g, i)
        drawn_g += k
        buf[i] = d
        a = -d if d < 0 else d
        if a > mx:
            mx = a
    if ubits > 0 and mx > 0:
        top = np.int64(0)
        while (np.int64(1) << top) < mx:
            top += 1
        emax = (np.int64(1) << (ubits - 1)) - 2 if ubits > 1 else np.int64(0)
        if emax > top:
            emax = top
        for i in range(n):
            d = buf[i]
            if d != 0:
                buf[i] = _sign_level(d, top) if ubits == 1 else _log_level(d, top, emax)
    sat_w = 0
    sat_v = 0
    changed = 0
    for i in range(n):
        dec, k = _rnd_shift(np.int64(fv[i]) * mu, mu_frac, stochastic, base_decay, i)
        drawn_m += k
        u, s = _clamp(dec + buf[i], vmin, vmax)
        sat_v += s
        fv[i] = u
        step, k = _rnd_shift(u, extra, stochastic, base_step, i)
        drawn_m += k
        if step != 0:
            s, c = _write(fw, fm, i, step, qmin, qmax)
            sat_w += s
            changed += c
    return sat_w, changed, drawn_g, sat_v, drawn_m


def _base(key: int, counter0: int) -> np.uint64:
    return np.uint64((key + counter0 * GOLDEN) & ((1 << 64) - 1))


def apply_momentum(
    w: np.ndarray,
    v: np.ndarray,
    g: np.ndarray,
    mult: int,
    shift: int,
    extra: int,
    mu: int,
    mu_frac: int,
    fmt: FixedFormat,
    vfmt: FixedFormat,
    stochastic: bool,
    keys: tuple[int, int, int],
    update_bits: int = 0,
    mirror: np.ndarray | None = None,
) -> tuple[int, int, int, int, int]:
    """Run :func:`momentum_kernel` on ``w`` (codes) and ``v`` (int64 velocity
    codes, C-contiguous, ``w``'s shape) in place.

    ``shift`` is the plain update's shift onto ``w``'s LSB; the gradient
    lands on the velocity's LSB, ``extra`` bits finer (``shift - extra``).
    ``keys`` are the three generator bases ``_base(key, counter0)`` of the
    gradient's rounding words (the parameter's usual update stream) and of
    the momentum stream's decay and step words. ``mirror`` (float64)
    receives the same writes as ``w``.

    Returns ``(sat_w, changed, rng_bits, sat_v, rng_bits_velocity)``.
    """
    base_g, base_decay, base_step = (np.uint64(k) for k in keys)
    target = w if w.flags.c_contiguous else np.ascontiguousarray(w)
    buf = np.empty(w.size, dtype=np.int64)
    out = momentum_kernel(
        target, v, g if g.flags.c_contiguous else np.ascontiguousarray(g), int(mult),
        int(shift - extra), int(extra), int(mu), int(mu_frac), int(fmt.qmin), int(fmt.qmax),
        int(vfmt.qmin), int(vfmt.qmax), bool(stochastic), base_g, base_decay, base_step,
        int(update_bits), buf, _NO_MIRROR if mirror is None else mirror,
    )  # fmt: skip
    if target is not w:
        w[...] = target
    return tuple(int(x) for x in out)


# --- stochastic (unbiased) log quantization of error messages ---------------
#
# The rule of :func:`neurosim.numerics.fixedpoint.ref_stochastic_log_quantize`: the
# component at flat index ``b * n + j`` of a message batch (``n`` components
# per message) rounds with the top bits of the SplitMix64 word of counter
# ``counter0 + b * n + j`` under ``key``; the caller makes the counters unique
# per step, message, sample and component (see FixedEngine.error_counter).


@nb.njit(cache=True, inline="always")
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


@nb.njit(cache=True)
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


@nb.njit(cache=True)
def _error_unit_stochastic(p, d, use_d, shift, lo_w, hi_w, f64_exact, lbits, top, lo, key,
                           counter0, out):  # fmt: skip
    sat = _error_linear(p, d, use_d, shift, lo_w, hi_w, 0.0, f64_exact, out)
    drawn = _stochastic_rows(out, lbits, top, lo, key, counter0, 0, out.shape[0])
    return sat, drawn


@nb.njit(cache=True)
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
