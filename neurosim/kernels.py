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

import numba as nb
import numpy as np

from neurosim.fixedpoint import GOLDEN, FixedFormat, _mix64

F32_EXACT = float(1 << 24)
F64_EXACT = float(1 << 53)


def partial_sum_bound(a: np.ndarray, max_a: int, max_b: int) -> float:
    """Upper bound on every partial sum of ``a @ b`` (``a`` is ``(M, K)``)."""
    static = float(a.shape[1]) * max_a * max_b
    if a.size == 0:
        return 0.0
    dynamic = float(np.abs(a).sum(axis=1, dtype=np.float64).max()) * max_b
    return min(static, dynamic)


def exact_matmul_plain(a: np.ndarray, b: np.ndarray, max_a: int, max_b: int) -> np.ndarray:
    """Exact ``a @ b`` of integer-valued arrays, as float64 (wide accumulator)."""
    bound = partial_sum_bound(a, max_a, max_b)
    if bound < F32_EXACT:
        return (a.astype(np.float32, copy=False) @ b.astype(np.float32, copy=False)).astype(
            np.float64
        )
    if bound < F64_EXACT:
        return a.astype(np.float64, copy=False) @ b.astype(np.float64, copy=False)
    return matmul_int64(
        np.ascontiguousarray(a, dtype=np.int64), np.ascontiguousarray(b, dtype=np.int64)
    ).astype(np.float64)


def exact_matmul(
    a: np.ndarray, b: np.ndarray, max_a: int, max_b: int, acc: FixedFormat
) -> tuple[np.ndarray, int]:
    """Exact ``a @ b`` through an accumulator of format ``acc``.

    Returns
    -------
    out : ndarray of float64, shape (M, N)
        The accumulated sums (saturated where the accumulator saturated).
    saturations : int
        Number of saturation events (each step that clipped counts once).
    """
    bound = partial_sum_bound(a, max_a, max_b)
    if bound <= acc.qmax:
        return exact_matmul_plain(a, b, max_a, max_b), 0
    out = np.empty((a.shape[0], b.shape[1]), dtype=np.int64)
    n = matmul_saturating(
        np.ascontiguousarray(a, dtype=np.int64),
        np.ascontiguousarray(b, dtype=np.int64),
        acc.qmin,
        acc.qmax,
        out,
    )
    return out.astype(np.float64), int(n)


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
                if s > qmax:
                    s = qmax
                    sat += 1
                elif s < qmin:
                    s = qmin
                    sat += 1
            out[i, j] = s
    return sat


def mul_shift_nearest(p: np.ndarray, d: np.ndarray, k: int) -> np.ndarray:
    """Exact ``round_half_even(p * d / 2**k)`` of integer-valued arrays."""
    bound = float(np.abs(p).max(initial=0.0)) * float(np.abs(d).max(initial=0.0))
    if bound < F64_EXACT:
        v = p * d.astype(np.float64, copy=False)
        v = np.ldexp(v, -k, out=v)
        if k > 0:
            np.rint(v, out=v)
        return v
    v = p.astype(np.int64) * d.astype(np.int64)
    return shift_nearest_int(v, k).astype(np.float64)


def shift_nearest_int(v: np.ndarray, k: int) -> np.ndarray:
    """``v / 2**k`` round half to even on int64 arrays."""
    if k <= 0:
        return v << (-k)
    fl = v >> k
    rem = v - (fl << k)
    half = 1 << (k - 1)
    return fl + ((rem > half) | ((rem == half) & ((fl & 1) == 1)))


def softmax_fixed(idx: np.ndarray, exp_table: np.ndarray, out_frac: int) -> np.ndarray:
    """Integer softmax of LUT-input codes.

    ``e_j = EXP[max(S) - S_j]`` (exponentials in ``UQ17.16``), then
    ``O_j = round_half_up(e_j * 2**out_frac / sum(e))`` by integer division.

    Parameters
    ----------
    idx : ndarray of intp, shape (B, N)
        ``S`` codes offset by the LUT's ``qmin`` (order is what matters).
    exp_table : ndarray of int64
        ``exp(-d)`` codes for ``d = 0 ..``.
    out_frac : int
        Fraction bits of the output format.

    Returns
    -------
    ndarray of float32, shape (B, N)
    """
    diff = idx.max(axis=1, keepdims=True) - idx
    e = exp_table[diff]
    tot = e.sum(axis=1, keepdims=True)
    o = (e * (2 << out_frac) + tot) // (2 * tot)
    return o.astype(np.float32)


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
    # zero stays zero (a zero update is no update)
    if d == 0:
        return d
    m = -d if d < 0 else d
    lvl = np.int64(0)
    while (np.int64(1) << (lvl + 1)) <= m:
        lvl += 1
    if m * m >= np.int64(1) << (2 * lvl + 1):
        lvl += 1
    if lvl < top - emax:
        return np.int64(0)
    if lvl > top:
        lvl = top
    v = np.int64(1) << lvl
    return -v if d < 0 else v


@nb.njit(cache=True)
def update_kernel(w, g, mult, shift, qmin, qmax, stochastic, key, counter0, ubits, buf):
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
    ubits : int
        Log-quantize each step's update to this many bits (0 = off), with
        ``alpha`` the smallest power of two >= max |update| and levels no
        finer than one LSB.
    buf : ndarray of int64, same size
        Scratch space.

    Returns
    -------
    (saturations, changed, rng_bits)
    """
    fw = w.ravel()
    fg = g.ravel()
    n = fw.size
    gold = np.uint64(GOLDEN)
    base = np.uint64(key) + np.uint64(counter0) * gold
    use_rng = stochastic and shift > 0
    mx = np.int64(0)
    for i in range(n):
        v = np.int64(fg[i]) * mult
        if use_rng:
            r = np.int64(_mix64(base + np.uint64(i) * gold) >> np.uint64(64 - shift))
            d = (v + r) >> shift
        else:
            d = _round_shift_int(v, shift)
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
            if ubits == 1:
                d = buf[i]
                buf[i] = 0 if d == 0 else ((np.int64(1) << top) if d > 0 else -(np.int64(1) << top))
            else:
                buf[i] = _log_level(buf[i], top, emax)
    sat = 0
    changed = 0
    for i in range(n):
        d = buf[i]
        if d != 0:
            old = np.int64(fw[i])
            x = old + d
            if x > qmax:
                x = qmax
                sat += 1
            elif x < qmin:
                x = qmin
                sat += 1
            if x != old:
                changed += 1
            fw[i] = x
    return sat, changed, (n * shift if use_rng else 0)


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
) -> tuple[int, int, int]:
    """Run :func:`update_kernel` on ``w`` in place; see it for the semantics.

    Returns ``(saturations, changed, rng_bits)``.
    """
    buf = np.empty(w.size, dtype=np.int64)
    sat, changed, bits = update_kernel(
        w,
        np.ascontiguousarray(g),
        np.int64(mult),
        np.int64(shift),
        np.int64(fmt.qmin),
        np.int64(fmt.qmax),
        stochastic,
        np.int64(key),
        np.int64(counter0),
        np.int64(update_bits),
        buf,
    )
    return int(sat), int(changed), int(bits)
