"""The conv blocks' feature maps: patches (im2col), max-pool with its argmax,
the routing of errors back through it, and the bound on the patches' sums.

Maps are ``(B, H, W, C)``. Each operation has a NumPy reference
(``*_numpy``, writing into a given array) and runs as a kernel of
:mod:`neurosim.numerics.kernels.maps` where that costs no numba start
(compiled ahead of time, or numba already loaded: :class:`Fastest`); the
two give the same arrays, element for element.
"""

from __future__ import annotations

import numpy as np

from neurosim.numerics.kernels._lazy import Fastest


def to_maps(x: np.ndarray, image_shape: tuple[int, ...]) -> np.ndarray:
    """Rows ``(B, C*H*W)`` in ``(C, H, W)`` order to maps ``(B, H, W, C)``."""
    c, h, w = image_shape
    return x.reshape(x.shape[0], c, h, w).transpose(0, 2, 3, 1)


def im2col(x: np.ndarray, k: int) -> np.ndarray:
    """Patches of a 'same'-padded stride-1 convolution.

    Parameters
    ----------
    x : ndarray, shape (B, H, W, C)
    k : int
        Odd kernel size; zero padding ``k // 2``.

    Returns
    -------
    ndarray, shape (B*H*W, k*k*C), x's dtype
        Row ``(b, i, j)``, column ``(di, dj, c)`` holds ``x[b, i+di-p, j+dj-p, c]``
        (0 outside the map).
    """
    B, H, W, C = x.shape
    out = np.empty((B * H * W, k * k * C), dtype=x.dtype)
    _IM2COL(x, k, out)
    return out


def patch_abs_sum(x: np.ndarray, k: int) -> float:
    """``max_i sum_k |im2col(x, k)[i, k]|`` without the patches: each
    position's ``sum_c |x|`` (float64), summed over its ``k x k`` window by
    an integral image. Exact for integer codes (sums far below 2**53), so
    equal to the patches' row sums."""
    B, H, W, _ = x.shape
    if x.size == 0:
        return 0.0
    p = k // 2
    s = np.zeros((B, H + 2 * p + 1, W + 2 * p + 1), dtype=np.float64)
    np.abs(x).sum(axis=3, dtype=np.float64, out=s[:, 1 + p : 1 + p + H, 1 + p : 1 + p + W])
    s.cumsum(axis=1, out=s)
    s.cumsum(axis=2, out=s)
    box = s[:, k:, k:] - s[:, :-k, k:] - s[:, k:, :-k] + s[:, :-k, :-k]
    return float(box.max())


def im2col_numpy(x: np.ndarray, k: int, out: np.ndarray) -> None:
    """:func:`im2col` into ``out`` by NumPy: a padded copy, then one strided
    copy per kernel offset (the reference of ``maps.im2col_kernel``)."""
    B, H, W, C = x.shape
    p = k // 2
    xp = np.zeros((B, H + 2 * p, W + 2 * p, C), dtype=x.dtype)
    xp[:, p : p + H, p : p + W, :] = x
    cols = out.reshape(B, H, W, k, k, C)
    for di in range(k):
        for dj in range(k):
            cols[:, :, :, di, dj, :] = xp[:, di : di + H, dj : dj + W, :]


def flip_kernel(w: np.ndarray, k: int) -> np.ndarray:
    """``(F, k*k*C)`` kernel to the ``(k*k*F, C)`` matrix of its transposed
    convolution: row ``(a, b, f)``, column ``c`` holds ``w[f, k-1-a, k-1-b, c]``."""
    f = w.shape[0]
    c = w.shape[1] // (k * k)
    return np.ascontiguousarray(
        w.reshape(f, k, k, c)[:, ::-1, ::-1, :].transpose(1, 2, 0, 3).reshape(k * k * f, c)
    )


def maxpool(o: np.ndarray, p: int, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Valid max-pool of ``(B, H, W, C)`` maps.

    Returns
    -------
    pooled : ndarray, shape (B, H_out, W_out, C)
    idx : ndarray of int8, same shape
        Window position ``di * p + dj`` of each maximum (first in row-major
        order on ties).
    """
    B, H, W, C = o.shape
    ho, wo = (H - p) // s + 1, (W - p) // s + 1
    best = np.empty((B, ho, wo, C), dtype=o.dtype)
    idx = np.empty((B, ho, wo, C), dtype=np.int8)
    _MAXPOOL(o, p, s, best, idx)
    return best, idx


def maxpool_numpy(o: np.ndarray, p: int, s: int, best: np.ndarray, idx: np.ndarray) -> None:
    """:func:`maxpool` into ``best`` and ``idx`` by NumPy, one strided pass
    per window position (the reference of ``maps.maxpool_kernel``)."""
    ho, wo = best.shape[1], best.shape[2]
    best[:] = o[:, 0 : s * (ho - 1) + 1 : s, 0 : s * (wo - 1) + 1 : s, :]
    idx[:] = 0
    for di in range(p):
        for dj in range(p):
            if di == dj == 0:
                continue
            v = o[:, di : di + s * (ho - 1) + 1 : s, dj : dj + s * (wo - 1) + 1 : s, :]
            m = np.greater(v, best)
            np.copyto(best, v, where=m)
            np.copyto(idx, np.int8(di * p + dj), where=m)


def unpool(d: np.ndarray, idx: np.ndarray, p: int, s: int, H: int, W: int, dtype) -> np.ndarray:
    """Route errors at the pooled map ``(B, Ho, Wo, C)`` to each window's
    argmax in a ``(B, H, W, C)`` map of ``dtype`` (sums where windows overlap;
    exact for integer codes in float64)."""
    B, ho, wo, C = d.shape
    out = np.empty((B, H, W, C), dtype=dtype)
    _UNPOOL(d, idx, p, s, out)
    return out


def unpool_numpy(d: np.ndarray, idx: np.ndarray, p: int, s: int, out: np.ndarray) -> None:
    """:func:`unpool` into ``out`` by NumPy, one strided pass per window
    position (the reference of ``maps.unpool_kernel``)."""
    ho, wo = d.shape[1], d.shape[2]
    out[:] = 0
    for di in range(p):
        for dj in range(p):
            sl = out[:, di : di + s * (ho - 1) + 1 : s, dj : dj + s * (wo - 1) + 1 : s, :]
            sl += np.where(idx == di * p + dj, d, 0)


# the kernels where they cost no numba start (compiled ahead of time, or
# numba already loaded), the NumPy references otherwise: the same arrays
_IM2COL = Fastest("maps.im2col_kernel", im2col_numpy)
_MAXPOOL = Fastest("maps.maxpool_kernel", maxpool_numpy)
_UNPOOL = Fastest("maps.unpool_kernel", unpool_numpy)
