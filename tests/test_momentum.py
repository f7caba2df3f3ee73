"""Momentum in the update unit (``momentum > 0``): fast fixed engine versus
the integer reference bit for bit (weights, biases, C^h, velocities, counts),
the float formula, accounting and memory by hand, and the switch's edges."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hw_models.chip import load_chip
from neurosim.config import TrainConfig
from neurosim.cost.bill import hardware_report, unit_energy_pj
from neurosim.errors import ConfigError
from neurosim.experiments.sweep import point_id
from neurosim.golden.reference import ReferenceEngine
from neurosim.nn.engine import FixedEngine, FloatEngine
from neurosim.plan import make_plan
from tests.test_engine import N_IN, N_OUT, B, _assert_same, _batches, _events


def test_full_velocity_saturates_and_counts() -> None:
    # velocities started at the ends of their range: mu u + d clips
    cfg = TrainConfig(
        mode="fixed", hidden=(12, 9), batch=B, rule="srbp", momentum=0.99, lr=0.5, bias=True
    ).validate()
    fast = FixedEngine(make_plan(cfg, N_IN, N_OUT))
    ref = ReferenceEngine(fast)
    rng = np.random.default_rng(5)
    for name, v in fast.upd.V.items():
        vf = fast.upd.v_fmt[name[0]]
        v[...] = rng.choice([vf.qmin, vf.qmax], size=v.shape)
        ref.V[f"{name[0]}^{int(name[1:]) + 1}"] = v.reshape(-1, v.shape[-1]).tolist()
    for x, t in _batches(1, 3):
        fast.train_batch(x, t)
        ref.train_batch(x, t)
    _assert_same(fast, ref)
    assert sum(v for k, v in fast.counts.items() if k.startswith("sat:vW")) > 0
    assert sum(v for k, v in fast.counts.items() if k.startswith("sat:vb")) > 0


def test_momentum_zero_keeps_results_streams_and_ids() -> None:
    base = TrainConfig(mode="fixed", hidden=(12, 9), batch=B, rule="srbp", bias=True)
    other = dataclasses.replace(base, momentum=0.0, velocity_bits=30)
    a = FixedEngine(make_plan(base.validate(), N_IN, N_OUT))
    b = FixedEngine(make_plan(other.validate(), N_IN, N_OUT))
    for x, t in _batches(2, 3):
        a.train_batch(x, t)
        b.train_batch(x, t)
    for wa, wb in zip(a.W + a.b, b.W + b.b, strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert _events(a.counts) == _events(b.counts)
    assert not a.upd.V and "rng_bits:velocity" not in a.counts
    cfg = TrainConfig(data="digits", hidden=(16,))
    assert point_id(dataclasses.replace(cfg, momentum=0.0, velocity_bits=24)) == point_id(cfg)
    assert point_id(dataclasses.replace(cfg, momentum=0.9)) != point_id(cfg)


def test_momentum_keys_are_their_own_and_the_gradient_keeps_its_stream() -> None:
    cfg = TrainConfig(mode="fixed", hidden=(12, 9), batch=B, rule="asrbp", bias=True)
    a = FixedEngine(make_plan(cfg.validate(), N_IN, N_OUT))
    b = FixedEngine(make_plan(dataclasses.replace(cfg, momentum=0.9).validate(), N_IN, N_OUT))
    ua, ub = a.upd, b.upd
    assert ua.w_keys == ub.w_keys and ua.b_keys == ub.b_keys and ua.c_keys == ub.c_keys
    keys = list(b.upd.m_keys.values())
    assert len(set(keys)) == len(keys)
    assert not set(keys) & set(b.upd.w_keys + b.upd.b_keys + b.upd.c_keys + b.err.e_keys)
    # the first step: u = d, so with velocity_bits = weight_bits (no extra
    # rounding) the first update is exactly the plain one
    c = FixedEngine(make_plan(
        dataclasses.replace(cfg, momentum=0.9, velocity_bits=16).validate(), N_IN, N_OUT
    ))
    x, t = next(_batches(2, 1))
    a.train_batch(x, t)
    c.train_batch(x, t)
    for wa, wc in zip(a.W + a.b + a.C, c.W + c.b + c.C, strict=True):
        np.testing.assert_array_equal(wa, wc)


@pytest.mark.parametrize("rule", ["bp", "srbp", "asrbp"])
def test_float_momentum_is_mu_u_plus_step(rule: str) -> None:
    mu = 0.9
    cfg = TrainConfig(rule=rule, hidden=(12, 9), batch=B, bias=True, momentum=mu).validate()
    eng = FloatEngine(make_plan(cfg, N_IN, N_OUT))
    plain_cfg = dataclasses.replace(cfg, momentum=0.0)
    batches = list(_batches(4, 3))
    eng.train_batch(*batches[0])
    for x, t in batches[1:]:
        plain = FloatEngine(make_plan(plain_cfg, N_IN, N_OUT))  # the plain step from the same state
        params = lambda e: e.W + e.b + (e.C if e.rule.adaptive else [])  # noqa: E731
        for p, q in zip(params(plain), params(eng), strict=True):
            p[...] = q
        before = [q.copy() for q in params(eng)]
        u_before = {k: v.copy() for k, v in eng._vel.items()}
        plain.train_batch(x, t)
        eng.train_batch(x, t)
        names = [f"W{i}" for i in range(eng.L)] + [f"b{i}" for i in range(eng.L)]
        names += [f"C{i}" for i in range(len(eng.C))] if eng.rule.adaptive else []
        for name, p0, p, q in zip(names, before, params(plain), params(eng), strict=True):
            d = p - p0
            np.testing.assert_allclose(q - p0, mu * u_before[name] + d, rtol=1e-4, atol=1e-6)


def test_momentum_bad_values() -> None:
    for bad in (1.0, -0.1, 1.5, 2):
        with pytest.raises(ConfigError, match="momentum"):
            TrainConfig(momentum=bad).validate()
    with pytest.raises(ConfigError, match="velocity_bits"):
        TrainConfig(mode="fixed", momentum=0.9, velocity_bits=12).validate()
    with pytest.raises(ConfigError, match="velocity_bits"):
        TrainConfig(velocity_bits=33).validate()
    with pytest.raises(ConfigError, match="velocity_bits"):
        TrainConfig(
            mode="fixed", rule="arbp", momentum=0.9, feedback_bits=24, velocity_bits=32
        ).validate()
    TrainConfig(mode="fixed", momentum=0.9, velocity_bits=12, weight_bits=8).validate()
    TrainConfig(momentum=0.9, velocity_bits=12).validate()  # float: the width is for pricing
    TrainConfig(momentum=0.9, data="digits", conv="c2k3p2s2", rule="srbp").validate()  # conv too


def test_momentum_actions_and_memory_by_hand() -> None:
    # 20-12-9-4, srbp, 3 batches of 6, bias on: every W^h and b^h has a velocity
    from tests.test_hardware import _run

    cfg, eng, acct, ch, _ = _run(rule="srbp", bias=True, momentum=0.9)
    plain = dataclasses.replace(acct, cfg=dataclasses.replace(cfg, momentum=0.0))
    counts = dict(eng.counts)
    with_m = acct.actions(counts)
    without = plain.actions({k: v for k, v in counts.items() if k != "rng_bits:velocity"})
    delta = {k: with_m[k] - without.get(k, 0) for k in with_m if with_m[k] != without.get(k, 0)}
    params = 20 * 12 + 12 * 9 + 9 * 4 + (12 + 9 + 4)
    batches, vb = 3, 24
    assert counts["rng_bits:velocity"] > 0
    assert delta == {
        ("update", "sram_read", ("velocity",)): params * vb * batches,
        ("update", "sram_write", ("velocity",)): params * vb * batches,
        ("update", "mult", (vb, 16)): params * batches,
        ("update", "add", (vb,)): params * batches,
        ("update", "rng", ()): counts["rng_bits:velocity"],
    }
    h = hardware_report(make_plan(cfg, 20, 4, chip=ch), acct, counts)
    assert h["memory_bits"]["velocity"] == params * vb
    chip = load_chip("small")
    assert chip.memory_kib("velocity") == chip.memory_kib("weights")
    assert {"update.sram_read.velocity", "update.sram_write.velocity"} <= set(
        h["actions_per_sample"]
    )
    # priced like the weight SRAM (an array of the same size)
    table = ch.energy_table()
    for act in ("sram_read", "sram_write"):
        k_v, k_w = ("update", act, ("velocity",)), ("update", act, ("weights",))
        plan = make_plan(cfg, 20, 4, chip=ch)
        assert unit_energy_pj(k_v, plan, table) == unit_energy_pj(k_w, plan, table) > 0
    # adaptive C^h: its velocity is feedback_bits + 8 = 16 bits wide
    cfg2, eng2, acct2, ch2, _ = _run(rule="asrbp", momentum=0.5)
    h2 = hardware_report(make_plan(cfg2, 20, 4, chip=ch2), acct2, dict(eng2.counts))
    assert h2["memory_bits"]["velocity"] == (20 * 12 + 12 * 9 + 9 * 4) * 24 + (12 + 9) * 4 * 16
    cfg0, eng0, acct0, ch0, _ = _run(rule="srbp")
    h0 = hardware_report(make_plan(cfg0, 20, 4, chip=ch0), acct0, dict(eng0.counts))
    assert "velocity" not in h0["memory_bits"]


@pytest.mark.parametrize("stochastic", [True, False])
@pytest.mark.parametrize("ubits", [0, 1, 3])
def test_kernel_without_decay_or_extra_bits_is_the_plain_update(stochastic, ubits) -> None:
    # mu = 0 and a velocity as fine as the weight: u = d, w += d, the same
    # random words as update_kernel (the gradient keeps the parameter's stream)
    from neurosim.numerics import kernels
    from neurosim.numerics.fixedpoint import FixedFormat

    rng = np.random.default_rng(0)
    fmt = FixedFormat(10, 8)
    w = rng.integers(-400, 400, size=(7, 9)).astype(np.float32)  # far from saturation
    g = rng.integers(-3000, 3000, size=w.shape).astype(np.float64)
    g[0] = 0
    key, c0 = 12345, 63
    plain = w.copy()
    want = kernels.apply_update(plain, g, 37, 12, fmt, stochastic, key, c0, ubits)
    mom, v = w.copy(), np.zeros(w.shape, np.int64)
    bases = (kernels._base(key, c0), kernels._base(9, 0), kernels._base(9, 1))
    got = kernels.apply_momentum(
        mom, v, g, 37, 12, 0, 0, 16, fmt, FixedFormat(10, 8), stochastic, bases, ubits
    )
    np.testing.assert_array_equal(mom, plain)
    assert got[:3] == want and got[4] == 0
    np.testing.assert_array_equal(v, mom - w)  # u holds the step (none saturated here)
