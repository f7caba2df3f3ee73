"""Neuron biases (``bias = True``): fast fixed engine versus the integer
reference bit for bit, the float formula, and the switch's edges."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.config import TrainConfig
from neurosim.errors import ConfigError
from neurosim.golden.reference import ReferenceEngine
from neurosim.nn.engine import FixedEngine, FloatEngine
from neurosim.plan import make_plan
from tests.test_engine import N_IN, N_OUT, B, _assert_same, _batches, _events


def test_bias_in_narrow_saturating_accumulator() -> None:
    # large biases: the accumulator starts near its limit, so both the start
    # value and the partial sums saturate, on the sequential path
    cfg = TrainConfig(
        mode="fixed", hidden=(12, 9, 7), batch=B, bias=True, rule="srbp",
        acc_bits=12, weight_bits=10, lr=0.5,
    ).validate()  # fmt: skip
    fast = FixedEngine(make_plan(cfg, N_IN, N_OUT))
    rng = np.random.default_rng(3)
    for b in fast.b:
        b[:] = rng.integers(fast.fm.weight.qmin, fast.fm.weight.qmax + 1, size=b.size)
    ref = ReferenceEngine(fast)
    for x, t in _batches(1, 3):
        fast.train_batch(x, t)
        ref.train_batch(x, t)
    _assert_same(fast, ref)
    assert fast.counts["sat:acc^1"] > 0
    assert fast.counts["sat:acc^2"] > 0


def test_bias_saturating_start_counts_once() -> None:
    # acc_bits so narrow that b << src.frac itself does not fit
    cfg = TrainConfig(
        mode="fixed", hidden=(4,), batch=1, bias=True, rule="srbp", acc_bits=10,
        weight_bits=8, weight_int_bits=3, act_bits=8,
    ).validate()  # fmt: skip
    fast = FixedEngine(make_plan(cfg, 3, 2))
    fast.b[0][:] = [100, -100, 0, 1]  # 100 << 8 is far beyond Q(10, 12)
    x = np.zeros((1, 3), np.float32)
    acc = fast.fwd.acc_fmt[0]
    from neurosim.numerics import kernels

    out, n = kernels.exact_matmul(x, fast.W[0].T, 255, 127, acc, None, fast.fwd.bias_init(0))
    assert n == 2
    assert list(out[0]) == [acc.qmax, acc.qmin, 0, 1 << 8]
    ref = ReferenceEngine(fast)
    ref.forward_sample(x[0])
    assert ref.counts["sat:acc^1"] == 2


def test_bias_false_keeps_results_and_streams() -> None:
    plain = TrainConfig(mode="fixed", hidden=(12, 9), batch=B, rule="srbp").validate()
    a = FixedEngine(make_plan(plain, N_IN, N_OUT))
    assert a.b is None
    for x, t in _batches(2, 2):
        a.train_batch(x, t)
    assert not any(k.endswith(("b^1", "b^2", "b^3")) for k in a.counts)


def test_bias_random_stream_leaves_weight_stream_alone() -> None:
    # biases stay 0 when their update is zero... the weight keys are the same
    # objects as without bias
    cfg = TrainConfig(mode="fixed", hidden=(12, 9), batch=B).validate()
    cfgb = TrainConfig(mode="fixed", hidden=(12, 9), batch=B, bias=True).validate()
    a, b = FixedEngine(make_plan(cfg, N_IN, N_OUT)), FixedEngine(make_plan(cfgb, N_IN, N_OUT))
    assert a.upd.w_keys == b.upd.w_keys and a.upd.c_keys == b.upd.c_keys
    assert not set(b.upd.b_keys) & set(b.upd.w_keys + b.upd.c_keys + b.err.e_keys)
    # the first step's weight update sees the same forward (biases start at 0)
    x, t = next(_batches(2, 1))
    a.train_batch(x, t)
    b.train_batch(x, t)
    for wa, wb in zip(a.W, b.W, strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert _events(a.counts)["rng_bits"] < _events(b.counts)["rng_bits"]


@pytest.mark.parametrize("rule", ["bp", "rbp", "srbp", "sbp", "top-only"])
def test_float_bias_update_is_eta_mean_r(rule: str) -> None:
    cfg = TrainConfig(rule=rule, hidden=(12, 9), batch=B, bias=True).validate()
    eng = FloatEngine(make_plan(cfg, N_IN, N_OUT))
    rng = np.random.default_rng(0)
    for b in eng.b:
        b[:] = rng.normal(0, 0.3, b.size)
    x, t = next(_batches(5, 1))
    A, S, out = eng.forward(x)
    np.testing.assert_allclose(S[0], x @ eng.W[0].T + eng.b[0], rtol=1e-5, atol=1e-6)
    # R of every layer, recorded by the accountant hook
    seen = {}

    class Spy:
        def observe(self, R, msgs, srcs):
            seen["R"] = [None if r is None else r.copy() for r in R]

        def observe_inputs(self, *args) -> None:  # the zero-input tally: not checked here
            pass

    eng.accountant = Spy()
    b0 = [b.copy() for b in eng.b]
    eng.train_batch(x, t)
    R = seen["R"]
    for i in range(eng.L):
        if R[i] is None or (rule == "top-only" and i < eng.L - 1):
            np.testing.assert_array_equal(eng.b[i], b0[i])
            continue
        np.testing.assert_allclose(
            eng.b[i] - b0[i], cfg.lr * R[i].mean(axis=0), rtol=1e-4, atol=1e-7
        )


def test_float_bias_sign_mode() -> None:
    cfg = TrainConfig(rule="srbp", hidden=(12, 9), batch=B, bias=True, update_mode="sign")
    eng = FloatEngine(make_plan(cfg.validate(), N_IN, N_OUT))
    x, t = next(_batches(5, 1))
    eng.train_batch(x, t)
    d = eng.b[0]
    mags = np.unique(np.abs(d[d != 0]))
    assert mags.size == 1 and np.log2(mags[0]) == int(np.log2(mags[0]))


def test_bias_refused_with_per_synapse_and_accepted_with_conv() -> None:
    with pytest.raises(ConfigError, match="bias"):
        TrainConfig(bias=True, rule="srbp", feedback_per_synapse=True).validate()
    TrainConfig(bias=True, data="digits", conv="c2k3p2s2", rule="srbp", hidden=(5,)).validate()
    with pytest.raises(ConfigError, match="bias"):
        TrainConfig(bias=1).validate()
