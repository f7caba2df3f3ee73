"""MAC array: exact integer matrix products and the saturating accumulator.

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

from collections.abc import Callable

import numpy as np

from neurosim.numerics.fixedpoint import FixedFormat
from neurosim.numerics.kernels._lazy import jit
from neurosim.numerics.kernels.rounding import _clamp
from neurosim.numerics.workspace import Workspace

F32_EXACT = float(1 << 24)
F64_EXACT = float(1 << 53)
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


@jit(cache=True)
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


def max_abs(x: np.ndarray) -> float:
    """Largest ``|x|`` (0.0 when empty): NumPy's vectorised max and min, no
    temporary (a numba loop's max does not vectorise: 92 against 10 us for
    784 x 100 float32)."""
    if x.size == 0:
        return 0.0
    return max(float(x.max()), -float(x.min()))


def partial_sum_bound(
    a: np.ndarray,
    max_a: float,
    max_b: float,
    rowsum: float | Callable[[], float] | None = None,
    quantum: float = 1.0,
) -> float:
    """Bound on every partial sum of ``a @ b`` (``a`` is ``(M, K)``), in units of ``quantum``.

    ``min(K * max|a| * max|b|, max_i sum_k |a_ik| * max|b|) / quantum``; the
    row sums are exact (integers far below 2**53 in float64). ``rowsum``
    passes ``max_i sum_k |a_ik|`` when the producer of ``a`` already computed
    it, or a function computing it, called only when the static bound is
    not enough. ``quantum`` is a power of two dividing every product ``a_ik * b_kj``
    (log-coded errors are multiples of their finest level): a float format
    holds every multiple of it up to ``2**24`` (float32) or ``2**53``
    (float64) units exactly, so the bound in units decides the arithmetic.
    """
    static = float(a.shape[1]) * max_a * max_b / quantum
    if a.size == 0 or static < F32_EXACT:
        return static
    if rowsum is None:
        rowsum = _max_row_abs_sum(a)
    elif callable(rowsum):
        rowsum = rowsum()
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


@jit(cache=True)
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


@jit(cache=True)
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


@jit(cache=True)
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
