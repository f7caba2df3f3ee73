"""NumPy twins of the tally kernels in :mod:`neurosim.numerics.kernels.sparsity`.

A float run's chip accounting counts with these, so that the run never
imports numba (whose import and first cache load cost a fresh process more
than half a second), unless ``neurosim kernels build`` compiled the tally
kernels (they load without numba; a call they do not take comes here);
fixed runs keep the fused kernels. Both give the same integers
(tests/test_startup.py): an entry counts when ``x != 0`` (so NaN counts and
-0.0 does not).
"""

from __future__ import annotations

import numpy as np

__all__ = ["input_tally", "message_tally", "nonzero", "nonzero_rows"]


def nonzero(a: np.ndarray) -> int:
    """Non-zero entries of an array."""
    return int(np.count_nonzero(a))


def nonzero_rows(a: np.ndarray) -> np.ndarray:
    """Non-zero entries of each row of a 2-D array (int64, shape ``(M,)``)."""
    # a reduction of the boolean array straight into int64: faster than
    # count_nonzero(axis=1) on a batch's (B, n) messages
    return np.add.reduce(a != 0, axis=1, dtype=np.int64)


def input_tally(a: np.ndarray, r: np.ndarray) -> tuple[int, int]:
    """Non-zero inputs and (error, input) pairs of a batch: ``(sum_s nnz(a_s),
    sum_s nnz(r_s) nnz(a_s))`` for inputs ``a`` ``(B, n)`` and errors ``r`` ``(B, m)``."""
    na = nonzero_rows(a)
    return int(na.sum()), int(nonzero_rows(r) @ na)


def message_tally(
    msg: np.ndarray, bits_of: np.ndarray, radix: int, code: np.ndarray
) -> tuple[int, int]:
    """One batch of one message kind: non-zero components and packet bits.

    Parameters
    ----------
    msg : ndarray, shape (B, n)
        The batch's messages.
    bits_of : ndarray of int64, shape (n + 1,)
        Bits of a message with ``k`` non-zero components, by ``k``.
    radix : int
        Radix of this message kind in the mixed-radix code.
    code : ndarray of int64, shape (B,)
        Updated in place to ``code * radix + nnz`` per sample.

    Returns
    -------
    (int, int)
        Non-zero components and packet bits of the batch.
    """
    n = nonzero_rows(msg)
    code *= radix
    code += n
    return int(n.sum()), int(bits_of[n].sum())
