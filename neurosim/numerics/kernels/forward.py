"""Forward unit: the input quantizer, the activation LUT, requantisation and softmax."""

from __future__ import annotations

import numpy as np

from neurosim.numerics.kernels._lazy import jit
from neurosim.numerics.kernels.matmul import _F32
from neurosim.numerics.kernels.rounding import _clamp, _clip, _round_shift_int

# Kernels below are written branch-free (saturation as two selects, _clip) so LLVM
# vectorises them. ``reassoc`` only lets it reorder the row sums: they add
# exact integers far below 2**53, so any order gives the same result.
_FAST = {"reassoc"}


@jit(cache=True, fastmath=_FAST)
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
            c = _clip(v, lo, hi)
            sat += c != v
            out[i, j] = c + 0.0  # -0.0 (rint of a small negative) stored as 0
            t += abs(c)
        best = max(best, t)
    return sat, best


@jit(cache=True, fastmath=_FAST)
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
            c = _clip(v, lo, hi)
            sat += c != v
            out[i, j] = c + np.float32(0.0)
            t += np.float64(abs(c))
        best = max(best, t)
    return sat, best


@jit(cache=True, fastmath=_FAST)
def quantize_rows_kernel(x, frac, qmin, qmax, out, sat, rowsum):
    """:func:`quantize_kernel` with per-row tallies: ``out[i]`` the codes of
    row ``i`` of float32 ``x`` (any ``out`` dtype holding ``[qmin, qmax]``),
    ``sat[i]`` its saturations, ``rowsum[i]`` its sum of ``|codes|``
    (float64, exact). ``qmin``/``qmax`` exact in float32. A batch of rows
    then tallies as :func:`quantize_kernel` does: saturations add, the
    partial-sum bound is the largest row sum (:func:`gather_codes_kernel`).
    """
    scale = np.float32(2.0**frac)
    lo = np.float32(qmin)
    hi = np.float32(qmax)
    for i in range(x.shape[0]):
        t = 0.0
        s = 0
        for j in range(x.shape[1]):
            v = np.rint(x[i, j] * scale)
            c = _clip(v, lo, hi)
            s += c != v
            out[i, j] = c + np.float32(0.0)  # a float ``out`` never holds -0.0
            t += np.float64(abs(c))
        sat[i] = s
        rowsum[i] = t


@jit(cache=True, fastmath=_FAST)
def gather_codes_kernel(codes, sat, rowsum, idx, out):
    """``out[r] = codes[idx[r]]`` as float32 (the rows of
    :func:`quantize_rows_kernel`'s codes a minibatch takes).

    Returns ``(sum of sat[idx], max of rowsum[idx])``: the minibatch's
    input saturations and the bound on its first products' partial sums,
    what :func:`quantize_kernel` returns for those rows (0.0 when empty).
    """
    nsat = 0
    best = 0.0
    for r in range(idx.size):
        k = idx[r]
        src = codes[k]
        dst = out[r]
        for j in range(codes.shape[1]):
            dst[j] = np.float32(src[j])
        nsat += sat[k]
        best = max(best, rowsum[k])
    return nsat, best


def quantize_kernel(x, frac, qmin, qmax, out) -> tuple[int, float]:
    """``out = saturate(round_half_even(x * 2**frac))`` for reals ``x`` (2-D).

    ``qmin``/``qmax`` must be exact in float32 (formats of at most 24 bits).
    Returns ``(saturations, max_i sum_j |out_ij|)``.
    """
    if x.dtype == _F32 and out.dtype == _F32:
        return _quantize32(x, frac, qmin, qmax, out)
    return _quantize64(x, frac, qmin, qmax, out)


@jit(cache=True, fastmath=_FAST)
def act_kernel(acc, shift, qmin, qmax, f, out_f):
    """Activation unit of the output layer: shift ``acc`` to the LUT input
    (round half even), saturate, look ``f`` up.

    Returns ``(saturations of S, max_b sum_j |out_f[b, j]|)``, the row sums
    bounding the next layer's partial sums.

    ``acc`` holds exact integers below 2**53, so scaling by ``2**-shift`` is
    exact in float64 and ``rint`` is the round-half-even of the shift. Each
    row first computes its table indices (a vectorised pass), then looks
    them up. Hidden layers, which also need ``f'``, use
    :func:`act_deriv_kernel`.
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
            c = _clip(v, lo, hi)
            sat += c != v
            idx[j] = np.int32(c - lo)
        t = 0.0
        for j in range(n):
            o = f[idx[j]]
            out_f[b, j] = o
            t += abs(o)
        best = max(best, t)
    return sat, best


@jit(cache=True, fastmath=_FAST)
def act_deriv_kernel(acc, shift, qmin, qmax, fd, out_f, out_d, klo=0, khi=-1):
    """:func:`act_kernel` for a hidden layer, which also needs ``f'``: from
    the table ``fd`` of ``(f, f')`` pairs (shape ``(2**lut_bits, 2)``), one
    lookup fetches both into ``out_f`` and ``out_d``.

    Returns ``(saturations of S, max row sum of |out_f|, clipped outputs)``:
    the last counts the lookups outside the table's unclipped index interval
    ``[klo, khi]`` (``Luts.unclipped``; the default counts none)."""
    sat = 0
    clip = 0
    scale = 2.0 ** (-shift)
    lo = float(qmin)
    hi = float(qmax)
    best = 0.0
    n = acc.shape[1]
    count_clip = khi >= klo
    idx = np.empty(n, dtype=np.int32)
    for b in range(acc.shape[0]):
        for j in range(n):
            v = np.rint(np.float64(acc[b, j]) * scale)
            c = _clip(v, lo, hi)
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
            if count_clip:
                clip += (k < klo) | (k > khi)
        best = max(best, t)
    return sat, best, clip


@jit(cache=True)
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


@jit(cache=True)
def softmax_kernel(acc, shift, exp_table, out_frac, out) -> None:
    """Integer softmax of the accumulators ``acc``.

    ``S_j = round_half_even(acc_j / 2**shift)`` at the LUT input's resolution
    but not clipped to its range (the unit subtracts the largest logit
    first, in the accumulator's width), ``e_j = EXP[min(max(S) - S_j,
    len(EXP) - 1)]`` (exponentials in ``UQ17.16``; the table's last entries
    are already 0, so the index clip loses nothing), then ``O_j =
    round_half_up(e_j * 2**out_frac / sum(e))`` by integer division.
    """
    n = acc.shape[1]
    last = exp_table.shape[0] - 1
    codes = np.empty(n, dtype=np.int64)
    for b in range(acc.shape[0]):
        for j in range(n):
            codes[j] = _round_shift_int(np.int64(acc[b, j]), shift)
        top = codes.max()
        tot = np.int64(0)
        for j in range(n):
            codes[j] = exp_table[min(top - codes[j], last)]
            tot += codes[j]
        for j in range(n):
            out[b, j] = (codes[j] * (np.int64(2) << out_frac) + tot) // (2 * tot)
