"""The conv blocks' data movement over ``(B, H, W, C)`` feature maps: patches
(im2col), max-pool with its argmax, and the routing of errors back through it.

The NumPy versions in :mod:`neurosim.nn.conv` (``im2col``, ``maxpool``,
``unpool``) are the reference; these compute the same arrays, element for
element (the routing adds each window's error in the same order), in one
pass instead of a strided copy per kernel offset or window position.
"""

from __future__ import annotations

from neurosim.numerics.kernels._lazy import jit


@jit(cache=True)
def im2col_kernel(x, k, out):
    """Patches of a 'same'-padded stride-1 convolution.

    ``x`` ``(B, H, W, C)``; ``k`` the odd kernel size (zero padding
    ``k // 2``); ``out`` ``(B*H*W, k*k*C)``, written: row ``(b, i, j)``,
    column ``(di, dj, c)`` holds ``x[b, i+di-p, j+dj-p, c]``, 0 outside the map.
    """
    n_b, h, w, c = x.shape
    p = k // 2
    r = 0
    for b in range(n_b):
        for i in range(h):
            for j in range(w):
                col = 0
                for di in range(k):
                    ii = i + di - p
                    for dj in range(k):
                        jj = j + dj - p
                        if 0 <= ii < h and 0 <= jj < w:
                            for ch in range(c):
                                out[r, col + ch] = x[b, ii, jj, ch]
                        else:
                            for ch in range(c):
                                out[r, col + ch] = 0
                        col += c
                r += 1


@jit(cache=True)
def maxpool_kernel(o, p, s, best, idx):
    """Valid max-pool of ``o`` ``(B, H, W, C)``, window ``p``, stride ``s``.

    ``best`` (``o``'s dtype) and ``idx`` (int8), ``(B, H_out, W_out, C)``,
    written: each window's maximum and its position ``di * p + dj`` (the
    first in row-major order on ties; a NaN never replaces the maximum so far).
    """
    n_b, ho, wo, c = best.shape
    for b in range(n_b):
        for i in range(ho):
            for j in range(wo):
                for ch in range(c):
                    v0 = o[b, i * s, j * s, ch]
                    at = 0
                    for di in range(p):
                        for dj in range(p):
                            v = o[b, i * s + di, j * s + dj, ch]
                            if v > v0:
                                v0 = v
                                at = di * p + dj
                    best[b, i, j, ch] = v0
                    idx[b, i, j, ch] = at


@jit(cache=True)
def unpool_kernel(d, idx, p, s, out):
    """Add each pooled error ``d`` ``(B, H_out, W_out, C)`` to its window's
    argmax (``idx``) in ``out`` ``(B, H, W, C)``, zeroed first; window
    positions in row-major order, as the NumPy routing adds them."""
    n_b, ho, wo, c = d.shape
    out[:] = 0
    for di in range(p):
        for dj in range(p):
            at = di * p + dj
            for b in range(n_b):
                for i in range(ho):
                    for j in range(wo):
                        for ch in range(c):
                            if idx[b, i, j, ch] == at:
                                out[b, i * s + di, j * s + dj, ch] += d[b, i, j, ch]
