"""The conv blocks' map kernels (neurosim.numerics.kernels.maps) against
their NumPy references in neurosim.nn.conv, element for element: patches,
max-pool (ties, NaN, signed zeros) and the routing of errors (float32 sums
whose rounding depends on the order of the adds); and the dispatch that
never loads numba for a float run."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from neurosim.nn import conv
from neurosim.numerics.kernels import _lazy


def kernel(name: str):
    from neurosim.numerics.kernels import maps  # noqa: F401 -- registers them

    return next(k for k in _lazy.REGISTRY if k.key == f"maps.{name}").jit()


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal bit for bit (NaN where NaN, -0.0 where -0.0)."""
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_im2col_kernel_equals_numpy(dtype, k):
    rng = np.random.default_rng(k)
    for shape in [(2, 5, 7, 3), (3, 4, 4, 1), (1, 9, 6, 8)]:
        x = rng.normal(size=shape).astype(dtype)
        x[0, 0, 0, 0] = -0.0
        # the first block's maps: a transposed view of (B, C, H, W) rows
        rows = rng.normal(size=(shape[0], shape[3] * shape[1] * shape[2])).astype(dtype)
        for src in (x, conv.to_maps(rows, (shape[3], shape[1], shape[2]))):
            n = src.shape[0] * src.shape[1] * src.shape[2]
            want = np.full((n, k * k * src.shape[3]), 7, dtype=dtype)
            got = np.full_like(want, 7)
            conv.im2col_numpy(src, k, want)
            kernel("im2col_kernel")(src, k, got)
            assert same(got, want)
            assert same(conv.im2col(src, k), want)
    # by hand: a 1-channel 2 x 2 map, 3 x 3 patches
    x = np.arange(1, 5, dtype=np.float32).reshape(1, 2, 2, 1)
    assert conv.im2col(x, 3)[0].tolist() == [0, 0, 0, 0, 1, 2, 0, 3, 4]


@pytest.mark.parametrize(("p", "s"), [(2, 2), (3, 2), (3, 1), (1, 1)])
def test_maxpool_kernel_equals_numpy(p, s):
    rng = np.random.default_rng(10 * p + s)
    for shape in [(2, 7, 7, 3), (1, 9, 5, 2), (3, 3, 3, 4)]:
        o = rng.integers(-3, 3, size=shape).astype(np.float32)  # many ties
        o[rng.random(shape) < 0.1] = np.nan
        o[rng.random(shape) < 0.1] = -0.0
        ho, wo = (shape[1] - p) // s + 1, (shape[2] - p) // s + 1
        want = (np.empty((shape[0], ho, wo, shape[3]), np.float32),
                np.empty((shape[0], ho, wo, shape[3]), np.int8))  # fmt: skip
        got = (np.empty_like(want[0]), np.empty_like(want[1]))
        conv.maxpool_numpy(o, p, s, *want)
        kernel("maxpool_kernel")(o, p, s, *got)
        assert same(got[0], want[0]) and same(got[1], want[1])
    # by hand: ties keep the first position in row-major order
    o = np.array([[1, 3], [3, 2]], dtype=np.float32).reshape(1, 2, 2, 1)
    best, idx = conv.maxpool(o, 2, 2)
    assert best.ravel().tolist() == [3] and idx.ravel().tolist() == [1]


@pytest.mark.parametrize("out_dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("p", "s"), [(3, 2), (2, 2), (3, 1)])
def test_unpool_kernel_equals_numpy(out_dtype, p, s):
    rng = np.random.default_rng(p + s)
    for B, H, W, C in [(2, 7, 7, 3), (1, 9, 6, 2)]:
        ho, wo = (H - p) // s + 1, (W - p) // s + 1
        # magnitudes 1e-8 .. 1e8: a float32 sum of overlapping windows rounds
        # differently in another order
        d = (rng.normal(size=(B, ho, wo, C)) * 10.0 ** rng.integers(-8, 9, (B, ho, wo, C)))
        d = d.astype(np.float32)
        idx = rng.integers(0, p * p, size=d.shape).astype(np.int8)
        want = np.full((B, H, W, C), 5, dtype=out_dtype)
        got = np.full_like(want, 5)
        conv.unpool_numpy(d, idx, p, s, want)
        kernel("unpool_kernel")(d, idx, p, s, got)
        assert same(got, want)
        assert same(conv.unpool(d, idx, p, s, H, W, out_dtype), want)
    # by hand: two overlapping windows send their errors to one pixel
    d = np.array([1.5, 2.25], dtype=np.float32).reshape(1, 1, 2, 1)
    idx = np.array([2, 0], dtype=np.int8).reshape(1, 1, 2, 1)  # (0, 2) and (0, 0) of the next
    out = conv.unpool(d, idx, 3, 2, 3, 5, np.float64)
    assert out[0, 0, :, 0].tolist() == [0, 0, 3.75, 0, 0]


def test_a_float_conv_run_loads_no_numba():
    # without compiled kernels the NumPy references run; the accounting's
    # tallies of a BP conv run (its messages) take their NumPy twins too
    code = (
        "import sys\n"
        "from neurosim import api\n"
        "api.run(rule='bp', mode='float', error_bits=4, data='digits', conv='c3k3p3s2',"
        " hidden=(8,), limit=64, epochs=1, packets='event')\n"
        "assert 'numba' not in sys.modules\n"
    )
    env = {**__import__("os").environ, "NEUROSIM_AOT": "0"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_patch_abs_sum_is_the_patches_largest_row_sum():
    # the forward unit's bound from the map equals the one from the patches
    from neurosim.numerics.kernels.matmul import _max_row_abs_sum

    rng = np.random.default_rng(4)
    for _ in range(200):
        shape = tuple(int(v) for v in rng.integers(1, [4, 9, 9, 5]))
        k = int(rng.choice([1, 3, 5, 7]))
        x = rng.integers(-255, 256, size=shape).astype(np.float32)
        x[rng.random(shape) < 0.3] = 0
        assert conv.patch_abs_sum(x, k) == _max_row_abs_sum.py_func(conv.im2col(x, k))
    x = np.zeros((1, 3, 3, 1), dtype=np.float32)
    x[0, 0, 0, 0], x[0, 2, 2, 0] = -5, 7  # one 3x3 window around the centre holds both
    assert conv.patch_abs_sum(x, 3) == 12.0
    assert conv.patch_abs_sum(np.zeros((0, 3, 3, 2), np.float32), 3) == 0.0
