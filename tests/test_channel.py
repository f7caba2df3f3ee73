"""Learning-channel switches: freeze, update modes, resampled and
sign-concordant feedback, channel dropout, per-synapse feedback.

Each is checked bit for bit against the integer reference in fixed mode and
against its formula in float mode.
"""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.config import TrainConfig
from neurosim.errors import ConfigError
from neurosim.experiments.sweep import point_id
from neurosim.golden.reference import ReferenceEngine
from neurosim.nn.engine import FixedEngine, FloatEngine, channel_keep
from neurosim.nn.network import deriv_float
from neurosim.nn.rules import RULES, trained_layers
from neurosim.plan import make_plan
from tests.test_engine import N_IN, N_OUT, B, _batches, _run_both


def test_trained_layers_table() -> None:
    assert trained_layers(RULES["srbp"], 4) == [0, 1, 2, 3]
    assert trained_layers(RULES["srbp"], 4, (4,)) == [0, 1, 2]
    assert trained_layers(RULES["bp"], 4, (1, 3)) == [1, 3]
    assert trained_layers(RULES["top-only"], 4) == [3]
    assert trained_layers(RULES["top-only"], 4, (4,)) == []


@pytest.mark.parametrize("mode", ["fixed", "float"])
def test_frozen_layers_never_change(mode: str) -> None:
    cfg = TrainConfig(mode=mode, rule="srbp", hidden=(12, 9), batch=B, freeze=(1, 3)).validate()
    eng = (FixedEngine if mode == "fixed" else FloatEngine)(make_plan(cfg, N_IN, N_OUT))
    before = [np.array(w, copy=True) for w in eng.W]
    for x, t in _batches(2, 3):
        eng.train_batch(x, t)
    assert np.array_equal(before[0], eng.W[0]) and np.array_equal(before[2], eng.W[2])
    assert not np.array_equal(before[1], eng.W[1])
    assert "changed:W^1" not in eng.counts and "changed:W^3" not in eng.counts


def _float_step(**kw):
    cfg = TrainConfig(rule="srbp", hidden=(12, 9), batch=B, **kw).validate()
    eng = FloatEngine(make_plan(cfg, N_IN, N_OUT))
    x, t = next(_batches(3, 1))
    W0 = [w.copy() for w in eng.W]
    A, S, out = eng.forward(x)
    r = t - out
    eng.train_batch(x, t)
    g1 = (deriv_float("tanh", S[0], A[1]) * (r @ eng.C[0].T)).T @ A[0]  # full dW^1 / scale
    return eng, W0, g1, np.float32(cfg.lr / B)


def test_float_update_modes_follow_their_formulas() -> None:
    eng, W0, g, scale = _float_step(update_mode="magnitude")
    np.testing.assert_allclose(eng.W[0] - W0[0], np.abs(g * scale), rtol=1e-4, atol=1e-7)
    assert np.all(eng.W[0] - W0[0] >= 0)
    # the top layer keeps its signed update
    assert np.any(eng.W[2] - W0[2] < 0)
    eng, W0, g, scale = _float_step(update_mode="sign")
    d = eng.W[0] - W0[0]
    top = 2.0 ** np.ceil(np.log2(np.abs(g * scale).max()))
    np.testing.assert_allclose(np.abs(d[g != 0]), top, rtol=1e-5)
    assert np.array_equal(np.sign(d), np.sign(g))


def test_concordant_feedback_takes_forward_signs() -> None:
    for mode in ("float", "fixed"):
        cfg = TrainConfig(mode=mode, rule="rbp", hidden=(12, 9), batch=B,
                          feedback_sign="concordant").validate()  # fmt: skip
        eng = (FixedEngine if mode == "fixed" else FloatEngine)(make_plan(cfg, N_IN, N_OUT))
        mags = [np.abs(c).copy() for c in eng.C]
        for x, t in _batches(4, 2):
            eng.train_batch(x, t)
        for i, c in enumerate(eng.C):
            # C^h was set from the weights of the step that used it
            assert np.array_equal(np.abs(c)[np.sign(c) != 0], mags[i][np.sign(c) != 0])
            agree = np.sign(c) == np.sign(eng.W[i + 1].T)
            assert agree.mean() > 0.95, mode  # a few weights changed sign since


def test_resampled_feedback_differs_every_step_and_is_seeded() -> None:
    cfg = TrainConfig(rule="srbp", hidden=(12, 9), batch=B, feedback_resample=True).validate()
    eng = FloatEngine(make_plan(cfg, N_IN, N_OUT))
    seen = []
    for x, t in _batches(5, 3):
        eng.train_batch(x, t)
        seen.append(eng.C[0].copy())
    assert not np.array_equal(seen[0], seen[1]) and not np.array_equal(seen[1], seen[2])
    again = FloatEngine(make_plan(cfg, N_IN, N_OUT))
    for x, t in _batches(5, 3):
        again.train_batch(x, t)
    assert np.array_equal(again.C[0], seen[2])
    # zero mean: the draws' entries average near 0
    assert abs(float(np.mean(seen))) < 0.05


def test_channel_keep_rate_and_determinism() -> None:
    cfg = TrainConfig(channel_dropout=0.25)
    k = channel_keep(cfg, 3, 1, (200, 100))
    assert k.dtype == bool and k.shape == (200, 100)
    assert abs(k.mean() - 0.75) < 0.01  # u >= 64 of 256
    assert np.array_equal(k, channel_keep(cfg, 3, 1, (200, 100)))
    assert not np.array_equal(k, channel_keep(cfg, 4, 1, (200, 100)))


def test_dropout_zeroes_hidden_errors_and_counts_bits() -> None:
    fast, ref = _run_both(steps=2, rule="srbp", channel_dropout=0.5)
    # 3 hidden layers (12, 9, 7), B = 5, 2 steps, 8 bits each
    assert fast.counts["rng_bits:channel"] == 8 * B * (12 + 9 + 7) * 2
    cfg = TrainConfig(rule="srbp", hidden=(12, 9), batch=B, channel_dropout=0.5).validate()
    eng = FloatEngine(make_plan(cfg, N_IN, N_OUT))
    x, t = next(_batches(3, 1))
    keep0 = channel_keep(cfg, 0, 0, (B, 12))
    W0 = eng.W[0].copy()
    eng.train_batch(x, t)
    # a neuron whose error was dropped for the whole batch keeps its weights
    dead = ~keep0.any(axis=0)
    if dead.any():
        assert np.array_equal(eng.W[0][dead], W0[dead])


def test_per_synapse_feedback_formula() -> None:
    cfg = TrainConfig(rule="srbp", hidden=(6, 5), batch=B, feedback_per_synapse=True).validate()
    eng = FloatEngine(make_plan(cfg, N_IN, N_OUT))
    assert eng.C3[0].shape == (6, N_IN, N_OUT) and eng.C3[1].shape == (5, 6, N_OUT)
    x, t = next(_batches(6, 1))
    A, S, out = eng.forward(x)
    W0 = eng.W[0].copy()
    eng.train_batch(x, t)
    r = t - out
    d = deriv_float("tanh", S[0], A[1])
    want = np.zeros_like(W0, dtype=np.float64)
    for i in range(6):
        for j in range(N_IN):
            want[i, j] = np.sum(d[:, i] * (r @ eng.C3[0][i, j]) * A[0][:, j])
    np.testing.assert_allclose((eng.W[0] - W0) / np.float32(cfg.lr / B), want,
                               rtol=2e-3, atol=2e-5)  # fmt: skip


@pytest.mark.parametrize(
    "kw, field",
    [
        (dict(freeze=(6,)), "freeze[0]"),
        (dict(freeze=(2, 2)), "freeze"),
        (dict(update_mode="abs"), "update_mode"),
        (dict(feedback_sign="same"), "feedback_sign"),
        (dict(feedback_sign="concordant", rule="srbp"), "feedback_sign"),
        (dict(channel_dropout=1.0), "channel_dropout"),
        (dict(channel_dropout=0.5, rule="top-only"), "channel_dropout"),
        (dict(feedback_resample=True, rule="bp"), "feedback_resample"),
        (dict(feedback_resample=True, rule="arbp"), "feedback_resample"),
        (dict(feedback_per_synapse=True, rule="rbp"), "feedback_per_synapse"),
        (dict(feedback_per_synapse=True, mode="fixed"), "feedback_per_synapse"),
    ],
)
def test_bad_switches_name_the_field(kw: dict, field: str) -> None:
    with pytest.raises(ConfigError) as e:
        TrainConfig(hidden=(8, 8, 8, 8), **kw).validate()
    assert e.value.field == field


def test_new_fields_at_neutral_values_keep_point_ids() -> None:
    # the id of a default config, as stores before these fields computed it
    cfg = TrainConfig().validate()
    assert point_id(cfg) == point_id(TrainConfig(freeze=(), update_mode="full"))
    assert point_id(cfg) != point_id(TrainConfig(freeze=(5,)))


def test_reference_is_independent_of_the_fast_engines_state() -> None:
    cfg = TrainConfig(mode="fixed", rule="rbp", hidden=(12, 9, 7), batch=B,
                      feedback_resample=True).validate()  # fmt: skip
    fast = FixedEngine(make_plan(cfg, N_IN, N_OUT))
    ref = ReferenceEngine(fast)
    for x, t in _batches(1, 2):
        ref.train_batch(x, t)
    assert "sat:C^1:resample" not in fast.counts or fast.counts["sat:C^1:resample"] == 0


def test_per_synapse_feedback_memory_is_counted() -> None:
    from neurosim.api import make_config, run

    bits = []
    for ps in (False, True):
        cfg = make_config(rule="srbp", data="digits", hidden=(16, 16), epochs=1,
                          feedback_per_synapse=ps)  # fmt: skip
        bits.append(run(cfg).hardware["memory_bits"]["feedback"])
    # 8-bit entries; C^1, C^2 are (16, 10) per neuron, or one 10-row per synapse
    assert bits == [8 * (16 * 10 + 16 * 10), 8 * (16 * 64 * 10 + 16 * 16 * 10)]
