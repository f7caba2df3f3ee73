"""The 8-bit MAC kernels (AVX-512 VNNI): exact integer products, the same
sums as float32 BLAS, and the same run, bit for bit."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from neurosim.config import TrainConfig
from neurosim.experiments.sweep import strip_wall_times
from neurosim.experiments.train import train
from neurosim.nn.fixed.error import ChainMac
from neurosim.numerics.kernels import imac


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    if not imac.cpu_supported() or shutil.which("cc") is None:
        pytest.skip("no AVX512-VNNI or no cc")
    name = imac.library_path().name
    return imac.load(imac.build(tmp_path_factory.mktemp("imac") / name))


@pytest.mark.parametrize(
    ("a", "w", "k", "off"),
    [((0, 255), (-128, 127), 784, 0), ((-128, 127), (-128, 127), 100, 128),
     ((0, 15), (-8, 7), 10, 0), ((-8, 7), (-32, 31), 10, 128), ((0, 256), (-128, 127), 4, None),
     ((0, 255), (-129, 127), 4, None), ((-129, 126), (-128, 127), 4, None),
     ((0, 255), (-128, 128), 4, None), ((0, 255), (-128, 127), imac.MAX_K + 1, None)],
)  # fmt: skip
def test_applies_picks_the_offset_or_refuses(a, w, k, off):
    assert imac.applies(*a, *w, k) == off


@pytest.mark.parametrize(
    ("m", "k", "n", "off", "layout"),
    [(64, 784, 100, 0, "C"), (64, 100, 100, 128, "T"), (7, 13, 3, 128, "C"), (5, 33, 17, 0, "T"),
     (1, 1, 1, 0, "C"), (9, 64, 16, 128, "T"), (4, 17, 33, 0, "C"), (130, 300, 97, 128, "T")],
)  # fmt: skip
def test_products_are_exact(lib, m, k, n, off, layout):
    rng = np.random.default_rng(m * k + n)
    a = rng.integers(-off, 256 - off, (m, k)).astype(np.float32)
    W = rng.integers(-128, 128, (n, k)).astype(np.float32)
    a[0], W[0] = 255 - off, -128  # the extremes: the largest products
    if m > 1:
        a[1], W[-1] = -off, 127
    wt = np.ascontiguousarray(W.T) if layout == "C" else W.T
    pw = imac.PackedWeights(k, n)
    pw.pack(lib, wt)
    out = np.full((m, n), np.nan, np.float32)
    imac.product_into(lib, a, pw, off, out)
    ref = a.astype(np.int64) @ W.astype(np.int64).T  # integers, numpy's own way
    assert out.tolist() == ref.tolist()
    # a row-strided view of a, and a transposed one, give the same sums
    big = np.zeros((m, k + 5), np.float32)
    big[:, :k] = a
    out2 = np.empty_like(out)
    imac.product_into(lib, big[:, :k], pw, off, out2)
    assert out2.tolist() == ref.tolist()
    out3 = np.empty_like(out)
    imac.product_into(lib, np.ascontiguousarray(a.T).T, pw, off, out3)
    assert out3.tolist() == ref.tolist()


@pytest.mark.parametrize(("m", "k", "n"), [(784, 64, 100), (100, 64, 100), (33, 7, 5), (16, 4, 16)])
def test_scaled_operands_are_exact(lib, m, k, n):
    # the update unit's gradients: error codes are multiples of a power-of-two
    # quantum q with |R / q| <= 64; scaled by 1/q into int8 and the sums by q
    rng = np.random.default_rng(m + k + n)
    q = 2.0**-3
    act = rng.integers(-128, 128, (k, m)).astype(np.float32)  # (B, K): activations
    err = (rng.integers(-64, 65, (k, n)) * q).astype(np.float32)  # (B, N): errors
    err[0, 0], act[0, 0] = 64 * q, -128
    ref = act.T.astype(np.float64) @ err.astype(np.float64)
    pw = imac.PackedWeights(k, n)
    pw.pack(lib, err, 1 / q)  # the errors as the int8 operand
    out = np.full((m, n), np.nan, np.float32)
    imac.product_into(lib, act.T, pw, 128, out, oscale=q)  # columns contiguous
    assert out.tolist() == ref.tolist()
    # and the other way round: the errors as the byte operand (offset 128)
    pa = imac.PackedWeights(k, m)
    pa.pack(lib, act)
    out2 = np.full((n, m), np.nan, np.float32)
    imac.product_into(lib, err.T, pa, 128, out2, ascale=1 / q, oscale=q)
    assert out2.tolist() == ref.T.tolist()
    # BP's projection R @ W with 16-bit W: the errors scaled into bytes, W's
    # codes as two byte planes, the float64 sums scaled back by q
    w16 = rng.integers(-32768, 32768, (k, m)).astype(np.float32)
    w16[0, 0], w16[-1, -1] = -32768, 32767
    ref16 = err.T.astype(np.float64) @ w16.astype(np.float64)
    p16 = imac.PackedWeights16(k, m)
    p16.pack(lib, w16)
    out3 = np.full((n, m), np.nan)
    imac.product16_into(lib, err.T, p16, 128, out3, ascale=1 / q)
    assert (out3 * q).tolist() == ref16.tolist()


@pytest.mark.parametrize(
    ("m", "k", "n", "off", "layout"),
    [(64, 784, 100, 0, "C"), (64, 100, 100, 128, "T"), (7, 13, 3, 128, "C"), (5, 33, 17, 0, "T"),
     (1, 1, 1, 0, "C"), (130, 300, 97, 128, "T")],
)  # fmt: skip
def test_16_bit_products_are_exact(lib, m, k, n, off, layout):
    rng = np.random.default_rng(m * k + n + 1)
    a = rng.integers(-off, 256 - off, (m, k)).astype(np.float32)
    W = rng.integers(-32768, 32768, (n, k)).astype(np.float32)
    a[0], W[0] = 255 - off, -32768  # the extremes, and both byte planes' edges
    if n > 1:
        W[-1, : min(k, 4)] = [32767, 255, -256, -1][: min(k, 4)]
    wt = np.ascontiguousarray(W.T) if layout == "C" else W.T
    pw = imac.PackedWeights16(k, n)
    pw.pack(lib, wt)
    out = np.full((m, n), np.nan)
    imac.product16_into(lib, a, pw, off, out)
    assert out.tolist() == (a.astype(np.int64) @ W.astype(np.int64).T).tolist()


@pytest.mark.parametrize(
    ("a", "w", "off"),
    [((0, 255), (-32768, 32767), 0), ((-128, 127), (-2048, 2047), 128),
     ((0, 511), (-32768, 32767), None), ((0, 255), (-32769, 32767), None)],
)  # fmt: skip
def test_applies16(a, w, off):
    assert imac.applies16(*a, *w, 784) == off


@pytest.mark.parametrize(
    ("b", "n", "shift", "qmin", "qmax", "klo", "khi"),
    [(64, 100, 5, -2048, 2047, 0, 4095), (64, 100, 6, -2048, 2047, 100, 3000),
     (7, 33, 0, -8, 7, 0, -1), (130, 100, 3, -128, 127, 10, 200), (3, 5, -2, -64, 63, 0, 127),
     (2, 16, 1, 0, 255, 5, 250), (1, 17, 4, -2048, 2047, 0, -1)],
)  # fmt: skip
@pytest.mark.parametrize("wide", [False, True])
def test_activation_unit_is_the_numba_kernel(lib, b, n, shift, qmin, qmax, klo, khi, wide):
    from neurosim.numerics import kernels

    rng = np.random.default_rng(b * n + shift)
    fd = rng.integers(-128, 128, (qmax - qmin + 1, 2)).astype(np.float32)
    acc = rng.integers(-(1 << 20), 1 << 20, (b, n)) // (1 << rng.integers(0, 16, (b, n)))
    if wide:  # float64 sums (16-bit weights) beyond float32's 2**24, the same S
        acc, shift = acc * (1 << 20) + rng.integers(0, 1 << 20, (b, n)), shift + 20
    acc = acc.astype(np.float64 if wide else np.float32)
    p = float(1 << max(shift, 0))
    acc[0, :4] = [0.5 * p, 1.5 * p, -2.5 * p, -0.5 * p]  # ties, to even
    f1, d1, f2, d2 = (np.full((b, n), np.nan, np.float32) for _ in range(4))
    want = kernels.act_deriv_kernel(acc, shift, qmin, qmax, fd, f1, d1, klo, khi)
    act = lib.act64 if wide else lib.act
    got = act(acc, shift, qmin, qmax, fd, f2, d2, klo, khi)
    assert got == tuple(want)
    assert f2.tolist() == f1.tolist() and d2.tolist() == d1.tolist()
    assert np.signbit(f2).tolist() == np.signbit(f1).tolist()
    with pytest.raises(ValueError):  # a table too short for the index range
        act(acc, shift, qmin, qmax, fd[:-1], f2, d2, klo, khi)
    with pytest.raises(TypeError):  # the other accumulator width
        act(acc.astype(np.float32 if wide else np.float64), shift, qmin, qmax, fd, f2, d2, klo, khi)


def test_gather_is_the_numba_gather(lib, monkeypatch):
    from neurosim.nn.base import InputCodes
    from neurosim.numerics import kernels

    rng = np.random.default_rng(5)
    codes = rng.integers(0, 256, (50, 37)).astype(np.uint8)
    sat = rng.integers(0, 4, 50)
    rowsum = rng.random(50) * 1000
    for idx in (rng.integers(0, 50, 23), np.zeros(0, np.int64), np.array([49, 0, 49])):
        ref = np.full((idx.size, 37), np.nan, np.float32)
        want = kernels.gather_codes_kernel(codes, sat, rowsum, idx, ref)
        out = np.full_like(ref, np.nan)
        got = lib.gather(codes, sat, rowsum, idx, out, rng.integers(0, 50, 7))
        assert out.tolist() == ref.tolist() and got == (int(want[0]), float(want[1]))
    monkeypatch.setattr(imac, "load", lambda path=None: lib)
    ic = InputCodes(codes, sat, rowsum)
    assert ic._lib is lib  # uint8 codes take the compiled gather
    part, n, best = ic.batch(np.array([3, 4]), np.array([5]))
    assert part.tolist() == codes[[3, 4]].astype(np.float32).tolist()
    assert (n, best) == (int(sat[3] + sat[4]), float(max(rowsum[3], rowsum[4])))
    with pytest.raises(ValueError):  # an index beyond the rows
        lib.gather(codes, sat, rowsum, np.array([50]), np.empty((1, 37), np.float32), ic._none)
    with pytest.raises(ValueError):
        lib.gather(codes, sat, rowsum, np.array([0]), np.empty((1, 37), np.float32),
                   np.array([-1]))  # fmt: skip
    assert InputCodes(codes.astype(np.int16), sat, rowsum)._lib is None


def test_bad_arguments_raise(lib):
    pw = imac.PackedWeights(8, 4)
    pw.pack(lib, np.zeros((8, 4), np.float32))
    a = np.zeros((2, 8), np.float32)
    out = np.zeros((2, 4), np.float32)
    with pytest.raises(TypeError):
        lib.mm(a.astype(np.float64), 1.0, 0, pw.wp, pw.colsum, out, 1.0)
    with pytest.raises(ValueError):
        lib.mm(a, 1.0, 64, pw.wp, pw.colsum, out, 1.0)
    with pytest.raises(ValueError):
        lib.mm(a, 1.0, 0, pw.wp, pw.colsum, np.zeros((3, 4), np.float32), 1.0)
    with pytest.raises(ValueError):  # weights packed for fewer outputs
        lib.mm(a, 1.0, 0, pw.wp, pw.colsum, np.zeros((2, 40), np.float32), 1.0)
    p16 = imac.PackedWeights16(8, 4)
    p16.pack(lib, np.zeros((8, 4), np.float32))
    with pytest.raises(TypeError):  # float64 sums only
        lib.mm16(a, 1.0, 0, p16.hp, p16.lp, p16.hsum, p16.lsum, out)
    with pytest.raises(ValueError):
        lib.mm16(a, 1.0, 0, p16.hp, p16.lp, p16.hsum, p16.lsum, np.zeros((2, 40)))
    with pytest.raises(ValueError):  # neither rows nor columns contiguous
        lib.mm(np.zeros((4, 16), np.float32)[::2, ::2], 1.0, 0, pw.wp, pw.colsum, out, 1.0)


def test_no_library_without_a_build(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(imac, "_state", {"lib": None, "tried": False})
    assert imac.load() is None


@pytest.mark.parametrize(
    ("rule", "extra", "grads"),
    [("srbp", {}, True), ("bp", {"bias": True}, True), ("sbp", {}, True),
     ("rbp", {"momentum": 0.5}, True),
     ("srbp", {"channel_dropout": 0.25}, True), ("asrbp", {}, True), ("drtp", {}, True),
     ("srbp", {"feedback": "binary"}, True),
     ("srbp", {"feedback": "sparse", "feedback_n": 3}, True),
     ("srbp", {"update_mode": "magnitude", "freeze": [1]}, True),
     ("srbp", {"error_bits": 0}, False)],
)  # fmt: skip
def test_a_run_is_the_same_with_integer_products(lib, rule, extra, grads, monkeypatch):
    for w in (8, 16):
        same_run_both_ways(lib, rule, extra, grads, monkeypatch, w)


def same_run_both_ways(lib, rule, extra, grads, monkeypatch, weight_bits):
    # 8-bit weights and activations: every layer's product can run in
    # integers (inputs unsigned, hidden codes signed with the offset), and
    # with 4-bit log-coded errors the gradients too (errors / quantum in int8)
    kw = {"error_bits": 4, **extra}
    cfg = TrainConfig(data="mnist5k", mode="fixed", rule=rule, weight_bits=weight_bits, act_bits=8,
                      batch=7, epochs=2, hidden=[20, 12], limit=300, chip="ref45",
                      **kw).validate()  # fmt: skip
    calls = []
    real, real16 = imac.product_into, imac.product16_into

    def counted(*args):
        calls.append((8, args[3], args[6] if len(args) > 6 else 1.0))  # offset, sums' scale
        return real(*args)

    def counted16(*args):
        calls.append((16, args[3], 1.0))
        return real16(*args)

    acts = []
    real_act, real_act64 = lib.act, lib.act64

    def counted_act(*args):
        acts.append(args[0].dtype)
        return real_act(*args)

    def counted_act64(*args):
        acts.append(args[0].dtype)
        return real_act64(*args)

    projections = []  # the error unit's projections (W^T, C^h, skip): in the VNNI kernels or not
    real_w = ChainMac.product

    def counted_w(self, *args):
        p = real_w(self, *args)
        projections.append(p is not None)
        return p

    with monkeypatch.context() as m:
        m.setattr(imac, "load", lambda path=None: lib)
        m.setattr(ChainMac, "product", counted_w)
        m.setattr(imac, "product_into", counted)
        m.setattr(imac, "product16_into", counted16)
        m.setattr(lib, "act", counted_act)
        m.setattr(lib, "act64", counted_act64)
        result, engine = train(cfg)
        with_int = result.to_record()
    # the hidden LUTs ran in the compiled unit: on float32 sums of 8-bit
    # weights, on the float64 sums of 16-bit weights' byte planes
    assert set(acts) == {np.dtype(np.float64 if weight_bits == 16 else np.float32)}
    # byte planes: no float64 copies of W kept (nor written by the updates)
    assert all(w is None for w in engine.mem.W64) and engine.mem.W64T0 is None
    # the forward products in integers, inputs (offset 0) and hidden codes
    # (offset 128): 8-bit weights as they are, 16-bit ones in byte planes
    forward = {(w, off) for w, off, sc in calls if sc == 1}
    assert forward == {(weight_bits, 0), (weight_bits, 128)}
    assert any(sc != 1.0 for _, _, sc in calls) == grads  # gradients in integers
    # every rule projects its errors; in integers where the errors are log codes
    assert projections and projections == [grads] * len(projections)
    with monkeypatch.context() as m:
        m.setattr(imac, "load", lambda path=None: None)
        with_blas = train(cfg)[0].to_record()
    assert json.dumps(strip_wall_times(with_int), sort_keys=True) == json.dumps(
        strip_wall_times(with_blas), sort_keys=True
    )


def test_a_failed_build_raises_and_keeps_the_old_library(tmp_path, monkeypatch):
    target = tmp_path / imac.library_path().name
    target.write_bytes(b"old")
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    with pytest.raises(RuntimeError, match="no C compiler"):
        imac.build(target)
    assert target.read_bytes() == b"old"
    monkeypatch.setenv("CC", "false")  # a compiler that fails
    with pytest.raises(RuntimeError, match="failed"):
        imac.build(target)
    assert target.read_bytes() == b"old"


@pytest.mark.parametrize("rule", ["srbp", "bp", "rbp"])
def test_a_conv_run_is_the_same_with_integer_products(lib, rule, monkeypatch):
    # the blocks' patches and kernels (8-bit) multiply in integers, images
    # unsigned (offset 0) and pooled codes signed (offset 128); the kernels'
    # gradients too (log-coded errors over the quantum, as int8 offset bytes)
    cfg = TrainConfig(data="digits", mode="fixed", rule=rule, weight_bits=8, act_bits=8,
                      error_bits=4, conv="c4k3p3s2,c5k3p2s1", hidden=[12], batch=6, epochs=1,
                      limit=120, chip="ref45").validate()  # fmt: skip
    calls = []
    real = imac.product_into

    def counted(*args):
        calls.append((args[1].shape[1], args[3], args[6] if len(args) > 6 else 1.0))
        return real(*args)

    with monkeypatch.context() as m:
        m.setattr(imac, "load", lambda path=None: lib)
        m.setattr(imac, "product_into", counted)
        with_int = train(cfg)[0].to_record()
    # digits are 1 x 8 x 8: block 1's patches 3*3*1 wide over 6 * 8 * 8
    # positions, block 2's 3*3*4 over 6 * 3 * 3 (after the 3x3/2 pool)
    forward = {(k, off) for k, off, sc in calls if sc == 1}
    assert {(9, 0), (36, 128)} <= forward
    # block 2's gradient over its 6 * 3 * 3 positions; block 1's patches are
    # unsigned 8-bit image codes, beyond the int8 operand: float32 BLAS there
    grads = {k for k, _, sc in calls if sc != 1}
    assert 6 * 3 * 3 in grads and 6 * 8 * 8 not in grads
    with monkeypatch.context() as m:
        m.setattr(imac, "load", lambda path=None: None)
        with_blas = train(cfg)[0].to_record()
    assert json.dumps(strip_wall_times(with_int), sort_keys=True) == json.dumps(
        strip_wall_times(with_blas), sort_keys=True
    )
