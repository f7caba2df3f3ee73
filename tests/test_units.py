"""The fixed engine's units by table: the update unit's rounding, saturation,
update modes and momentum by hand, and the error unit's log coder, each
against its golden reference too."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from neurosim.config import TrainConfig
from neurosim.golden.error import RefErrorUnit
from neurosim.golden.update import RefUpdateUnit
from neurosim.nn.fixed import FixedEngine
from neurosim.numerics.fixedpoint import FixedFormat
from neurosim.plan import make_plan

W8 = FixedFormat(8, 4)  # codes -128 .. 127


def _unit(**kw) -> tuple:
    """An engine's update unit (nearest rounding) and its config."""
    cfg = TrainConfig(mode="fixed", hidden=(2,), batch=1, rounding="nearest", **kw).validate()
    eng = FixedEngine(make_plan(cfg, 3, 2))
    eng.counts.clear()
    return eng.upd, cfg, eng.counts


def _ref_update(cfg, p, g, mult, shift, mode, steps=1, v0=None):
    counts: Counter = Counter()
    ref = RefUpdateUnit(cfg, counts)
    w = [[int(v) for v in p]]
    if v0 is not None:
        ref.V["W^1"] = [list(v0)]
    k = 1 if mode == "sign" else cfg.update_bits
    ga = np.array([[abs(v) if mode == "magnitude" else v for v in g]], dtype=object)
    for step in range(steps):
        ref.update(w, ga, mult, shift, W8, 0, "W^1", k, step)
    return w[0], counts, ref.V.get("W^1", [[]])[0]


# p, g, mult, shift, mode, update_bits -> new p, saturations, changed
UPDATES = [
    # round half to even: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -1.5 -> -2
    ([0, 0, 0, 0], [1, 3, 5, -3], 1, 1, "full", 0, [0, 2, 2, -2], 0, 3),
    # the multiplier first: 3 * 3 / 4 = 2.25 -> 2
    ([10], [3], 3, 2, "full", 0, [12], 0, 1),
    # saturation at both ends of Q8
    ([126, -127], [8, -8], 1, 2, "full", 0, [127, -128], 2, 2),
    # an entry already at the end does not change
    ([127], [16], 1, 2, "full", 0, [127], 1, 0),
    # sign: sign times the smallest power of two >= max |d| (8 >= 6)
    ([0, 0, 0, 0], [3, -1, 0, 6], 1, 0, "sign", 0, [8, -8, 0, 8], 0, 3),
    # magnitude: |g|
    ([0, 0], [-3, 2], 1, 0, "magnitude", 0, [3, 2], 0, 2),
    # 3-bit log quantizer over the array: levels 0, 2, 4, 8 (top 3, emax 2);
    # thresholds ceil(2**0.5) = 2, ceil(2**1.5) = 3, ceil(2**2.5) = 6
    ([0, 0, 0, 0, 0], [1, 2, 3, 5, 8], 1, 0, "full", 3, [0, 2, 4, 4, 8], 0, 4),
]


@pytest.mark.parametrize("p, g, mult, shift, mode, ubits, new, sat, changed", UPDATES)
def test_update_unit_by_hand(p, g, mult, shift, mode, ubits, new, sat, changed) -> None:
    upd, cfg, counts = _unit(update_bits=ubits)
    w = np.array([p], np.float32)
    upd.apply("W^1", "W0", w, np.array([g], np.float64), mult, shift, W8, 0, 0, mode)
    assert w[0].tolist() == new
    assert counts["sat:W^1"] == sat and counts["changed:W^1"] == changed
    assert counts["rng_bits"] == 0  # nearest rounding draws nothing
    rw, rc, _ = _ref_update(cfg, p, g, mult, shift, mode)
    assert rw == new and rc["sat:W^1"] == sat and rc["changed:W^1"] == changed


# mu = 0.5, velocity 2 bits finer than the weight (extra = 2), shift 2: the
# gradient lands on the velocity's LSB unshifted (d = g).
# step 1: u = 4, w += round(4 / 4) = 1; step 2: u = round(4 / 2) + 4 = 6,
# w += round(6 / 4 = 1.5) = 2; step 3: u = 3 + 4 = 7, w += round(1.75) = 2.
# Large steps: u = 400, w += 100; then u = 200 + 400 -> 511 (saturates),
# w += round(511 / 4) = 128 -> 127 (saturates).
MOMENTUM = [
    ([0], [4], 3, [5], [7], 0, 0),
    ([0], [400], 2, [127], [511], 1, 1),
]


@pytest.mark.parametrize("p, g, steps, new, v, sat, sat_v", MOMENTUM)
def test_momentum_by_hand(p, g, steps, new, v, sat, sat_v) -> None:
    upd, cfg, counts = _unit(weight_bits=8, weight_int_bits=3, velocity_bits=10, momentum=0.5)
    w = np.array([p], np.float32)
    upd.V["W0"] = np.zeros(w.shape, np.int64)
    for step in range(steps):
        upd.apply("W^1", "W0", w, np.array([g], np.float64), 1, 2, W8, 0, step)
    assert w[0].tolist() == new and upd.V["W0"][0].tolist() == v
    assert counts["sat:W^1"] == sat and counts["sat:vW^1"] == sat_v
    rw, rc, rv = _ref_update(cfg, p, g, 1, 2, "full", steps)
    assert rw == new and rv == v and rc["sat:vW^1"] == sat_v


# error word Q16.12, 3-bit log codes with alpha 1: top 12, emax 2, levels
# 2**10, 2**11, 2**12; thresholds ceil(2**9.5) = 725, ceil(2**10.5) = 1449,
# ceil(2**11.5) = 2897
LOG_CODES = [
    (0, 0), (724, 0), (725, 1024), (1448, 1024), (1449, 2048), (2896, 2048),
    (2897, 4096), (30000, 4096), (-725, -1024), (-1449, -2048), (-2897, -4096),
]


def test_error_unit_log_coder_table() -> None:
    cfg = TrainConfig(mode="fixed", hidden=(2,), batch=1, error_bits=3).validate()
    eng = FixedEngine(make_plan(cfg, 3, 2))
    err = eng.err
    assert (err.lq.top, err.lq.emax) == (12, 2)
    p = np.array([[v for v, _ in LOG_CODES]], np.float32)
    out = err.error(p, None, 0, "sat:R^1", 0)
    assert out[0].tolist() == [c for _, c in LOG_CODES]
    ref = RefErrorUnit(cfg, eng.fm, Counter(), [0])
    assert ref.code([v for v, _ in LOG_CODES], 0, 0, 0, 0) == [c for _, c in LOG_CODES]


def test_error_unit_rounds_and_saturates_before_coding() -> None:
    cfg = TrainConfig(mode="fixed", hidden=(2,), batch=1).validate()  # linear error word
    eng = FixedEngine(make_plan(cfg, 3, 2))
    e = eng.fm.error
    # 3 fraction bits dropped, half to even; then the Q16 word saturates
    p = np.array([[4, 12, -12, 8 * (e.qmax + 5), -8 * (e.qmax + 9)]], np.float64)
    out = eng.err.error(p, None, 3, "sat:R^1", 0)
    assert out[0].tolist() == [0, 2, -2, e.qmax, e.qmin]
    assert eng.counts["sat:R^1"] == 2
    ref = RefErrorUnit(cfg, eng.fm, Counter(), [0])
    assert [ref.value(int(v), None, e.frac + 3, "s") for v in p[0]] == out[0].tolist()


# error_coding = "before_derivative", SRBP, 3-bit codes (alpha 1, Q16.12 word),
# f' codes UQ8.7: B^h (7 feedback fraction bits above the word) rounded onto
# the word and coded, then R^h = round_half_even(Q(B^h) * f' / 2**7), not
# coded again. B word, f' code -> Q(B) -> R^h
BEFORE_DERIVATIVE = [
    (725, 128, 1024, 1024),  # f' = 1
    (1448, 64, 1024, 512),  # f' = 1/2: no longer a power of two below
    (2897, 96, 4096, 3072),  # f' = 3/4
    (-1449, 32, -2048, -512),
    (724, 128, 0, 0),  # below the lowest level: zero whatever f'
    (30000, 1, 4096, 32),  # a saturated unit's tiny f' stays a brake
    (1024, 3, 1024, 24),
    (725, 0, 1024, 0),
]


def test_error_unit_codes_b_before_the_derivative() -> None:
    cfg = TrainConfig(mode="fixed", hidden=(2,), batch=1, error_bits=3, rule="srbp",
                      error_coding="before_derivative").validate()  # fmt: skip
    eng = FixedEngine(make_plan(cfg, 3, 2))
    err = eng.err
    assert (eng.fm.error.frac, eng.fm.deriv.frac, err.pfrac(0)) == (12, 7, 19)
    p = np.array([[b << 7 for b, *_ in BEFORE_DERIVATIVE]], np.float64)
    d = np.array([[f for _, f, *_ in BEFORE_DERIVATIVE]], np.float32)
    r = err.finish(0, p, d, 0)
    assert r[0].tolist() == [v for *_, v in BEFORE_DERIVATIVE]
    assert err.r_max == eng.fm.error.max_abs  # R^h is a full error word
    ref = RefErrorUnit(cfg, eng.fm, Counter(), [0])
    q = ref.code([ref.value(b << 7, None, 19, "s") for b, *_ in BEFORE_DERIVATIVE], 0, 0, 0, 0)
    assert q == [c for *_, c, _ in BEFORE_DERIVATIVE]
    assert [ref.value(v, f, 12, "s") for v, (_, f, *_) in zip(q, BEFORE_DERIVATIVE,
            strict=True)] == [v for *_, v in BEFORE_DERIVATIVE]  # fmt: skip


def test_full_top_error_trains_on_the_word_and_sends_its_code() -> None:
    cfg = TrainConfig(mode="fixed", hidden=(2,), batch=1, error_bits=1,
                      top_error="full").validate()  # fmt: skip
    eng = FixedEngine(make_plan(cfg, 3, 2))
    out = eng.fm.out
    o = np.array([[round(0.3 * 2**out.frac), round(0.7 * 2**out.frac)]], np.float32)
    t = np.array([[1.0, 0.0]], np.float32)
    word, msg = eng.err.output_errors(o, t, 0)
    e = eng.fm.error
    up = 1 << (e.frac - out.frac)  # T - O^L onto the wider error word: exact
    assert word[0].tolist() == [(2**out.frac - o[0, 0]) * up, -o[0, 1] * up]  # not a code
    assert msg[0].tolist() == [2**e.frac, -(2**e.frac)]  # 1 bit: +-alpha


# error_sign_scale = "rms": a 1-bit block code at the power of two nearest (in
# the log domain) to the message's rms, the smallest t with
# sum r^2 < n * 2**(2t + 1). row, t, by hand:
RMS_TOP = [
    ([3, -4], 2),  # rms 3.54: 2**1.5 = 2.83 <= 3.54 < 5.66
    ([1], 0),
    ([2], 1),  # rms 2 = 2**1 exactly
    ([5, 0, 0, 0], 1),  # rms 2.5 < 2.83, though the max is 5 (max scale: 8)
    ([-32768], 15),  # clipped to the word's largest exponent
    ([1, 1, 1, 1, 1, 1, 1, 1, 1, 40], 4),  # rms 12.7: 11.3 <= 12.7 < 22.6
    ([0, 0], -1),  # all-zero message
]


@pytest.mark.parametrize("row,top", RMS_TOP)
def test_rms_sign_scale_by_hand(row: list[int], top: int) -> None:
    from neurosim.numerics import kernels
    from neurosim.numerics.fixedpoint import block_log_quantize, ref_block_log_quantize

    want = [0] * len(row) if top < 0 else [-(1 << top) if v < 0 else 1 << top for v in row]
    assert ref_block_log_quantize(row, 1, 16, rms=True) == (want, top)
    q, t = block_log_quantize(np.array([row], np.float64), 1, 0, 15, 0, 0, rms=True)
    assert q[0].tolist() == want and t.tolist() == [top]
    for dt in (np.float32, np.float64):  # the fused error unit
        p = np.array([row], dtype=dt)
        out, tops = np.empty_like(p), np.empty(1, np.int64)
        kernels.error_kernel_block(p, p, False, 0, -32768, 32767, 1, 0, 15, True, out, tops,
                                   rms=True)  # fmt: skip
        assert out[0].tolist() == want and tops.tolist() == [top]


def test_rms_sign_scale_needs_a_deterministic_one_bit_block_code() -> None:
    from neurosim.errors import ConfigError

    ok = dict(error_bits=1, error_scale="block", error_sign_scale="rms")
    TrainConfig(**ok).validate()
    for bad in (dict(error_bits=2), dict(error_scale="fixed"),
                dict(error_rounding="stochastic")):  # fmt: skip
        with pytest.raises(ConfigError, match="error_sign_scale"):
            TrainConfig(**{**ok, **bad}).validate()
