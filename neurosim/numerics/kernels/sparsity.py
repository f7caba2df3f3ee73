"""Non-zero counts and gathers: event-driven message tallies and zero-column skipping.

The counts feed the chip's action counts (non-zero error components, packet
bits); the gathers let the forward pass skip input columns that are all zero.
"""

from __future__ import annotations

import numpy as np

from neurosim.numerics.kernels._lazy import jit


@jit(cache=True, inline="always")
def _row_nnz(a, i):
    # non-zero entries of row i of a 2-D array
    n = 0
    for j in range(a.shape[1]):
        n += a[i, j] != 0
    return n


@jit(cache=True)
def nonzero_rows(a):
    """Non-zero entries of each row of a 2-D array (int64, shape ``(M,)``)."""
    out = np.zeros(a.shape[0], dtype=np.int64)
    for i in range(a.shape[0]):
        out[i] = _row_nnz(a, i)
    return out


@jit(cache=True)
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


@jit(cache=True)
def gather_columns(a, idx, out):
    """``out = a[:, idx[:k]]`` with ``k = out.shape[1]``."""
    for i in range(a.shape[0]):
        arow = a[i]
        orow = out[i]
        for c in range(out.shape[1]):
            orow[c] = arow[idx[c]]


@jit(cache=True)
def gather_rows(a, idx, out):
    """``out = a[idx[:k]]`` with ``k = out.shape[0]`` (contiguous row copies)."""
    n = out.shape[1]
    for c in range(out.shape[0]):
        r = idx[c]
        for j in range(n):  # explicit loop: a slice copy per row costs 4x
            out[c, j] = a[r, j]


@jit(cache=True)
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
        n = _row_nnz(msg, i)
        nnz_tot += n
        bits += bits_of[n]
        code[i] = code[i] * radix + n
    return nnz_tot, bits


@jit(cache=True)
def input_tally(a, r):
    """A layer's inputs ``a`` (``(B, n)``) beside its errors ``r`` (``(B, m)``):
    ``(sum_s nnz(a_s), sum_s nnz(r_s) * nnz(a_s))`` -- the non-zero inputs and
    the gradient products whose error and input are both non-zero."""
    n_in = 0
    n_pairs = 0
    for s in range(a.shape[0]):
        na = _row_nnz(a, s)
        nr = _row_nnz(r, s)
        n_in += na
        n_pairs += na * nr
    return n_in, n_pairs


@jit(cache=True)
def nonzero(a) -> int:
    """Non-zero entries of a 2-D array (``np.count_nonzero`` without a bool temporary)."""
    n = 0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            n += a[i, j] != 0
    return n
