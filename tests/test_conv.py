"""Convolutional blocks: geometry, config, BP's gradient, the rules, fixed mode."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from neurosim.config import TrainConfig
from neurosim.errors import ConfigError
from neurosim.nn.conv import (
    ConvFloatEngine,
    conv_blocks,
    flip_kernel,
    im2col,
    maxpool,
    unpool,
)
from neurosim.plan import make_plan


def test_cifar_geometry_is_32_15_7_3() -> None:
    blocks = conv_blocks("c64k5p3s2,c64k5p3s2,c64k5p3s2", (3, 32, 32))
    assert [(b.height, b.channels) for b in blocks] == [(32, 3), (15, 64), (7, 64)]
    assert blocks[-1].pooled == (3, 3) and blocks[-1].n_pool == 576
    assert [b.fan_in for b in blocks] == [75, 1600, 1600]
    fashion = conv_blocks("c64k5p3s2,c64k5p3s2,c64k5p3s2", (1, 28, 28))
    assert [b.pooled for b in fashion] == [(13, 13), (6, 6), (2, 2)]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"conv": "c64k4p3s2"}, "conv"),  # even kernel
        ({"conv": "conv64"}, "conv"),
        ({"conv": "c8k3p2s3"}, "conv"),  # stride above the pool
        ({"conv": "c8k3p3s2", "rule": "sbp"}, "rule"),
        ({"conv": "c8k3p3s2", "feedback": "binary"}, "feedback"),
        ({"conv": "c8k3p3s2", "data": "higgs"}, "conv"),
    ],
)
def test_bad_conv_configs_name_their_field(fields, field) -> None:
    with pytest.raises(ConfigError) as e:
        TrainConfig(**fields).validate()
    assert e.value.field == field


def test_blocks_that_do_not_fit_the_image_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="block 2 gets 3x3"):
        conv_blocks("c8k3p3s2,c8k3p5s2", (1, 8, 8))


def test_im2col_and_transposed_kernel_match_direct_loops() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(-5, 6, size=(2, 4, 5, 3)).astype(np.float64)
    w = rng.integers(-3, 4, size=(2, 27)).astype(np.float64)
    y = (im2col(x, 3) @ w.T).reshape(2, 4, 5, 2)
    k = w.reshape(2, 3, 3, 3)
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    direct = np.einsum("bijxyc,fxyc->bijf", np.lib.stride_tricks.sliding_window_view(
        xp, (3, 3), axis=(1, 2)).transpose(0, 1, 2, 4, 5, 3), k)  # fmt: skip
    assert np.array_equal(y, direct)
    # the transposed convolution is the adjoint: <conv(x), d> = <x, convT(d)>
    d = rng.integers(-4, 5, size=(2, 4, 5, 2)).astype(np.float64)
    dx = (im2col(d, 3) @ flip_kernel(w, 3)).reshape(x.shape)
    assert np.sum(y * d) == np.sum(x * dx)


def test_maxpool_picks_first_maximum_and_unpool_routes_there() -> None:
    o = np.array([[1, 3, 3, 0, 2], [0, 1, 2, 2, 9], [5, 5, 0, 1, 1]], dtype=np.float64)
    p, idx = maxpool(o[None, :, :, None], 3, 2)
    assert p[0, :, :, 0].tolist() == [[5, 9]]
    assert idx[0, :, :, 0].tolist() == [[6, 5]]  # (2, 0) and (1, 2): first of the ties
    back = unpool(np.array([[[[1.0], [2.0]]]]), idx, 3, 2, 3, 5, np.float64)[0, :, :, 0]
    assert back.sum() == 3 and back[2, 0] == 1 and back[1, 4] == 2


def _loss(e: ConvFloatEngine, x: np.ndarray, t: np.ndarray) -> float:
    out = e.forward(x)[2]
    return float(-(t * np.log(out)).sum())


@pytest.mark.parametrize("bias", [False, True])
def test_bp_through_conv_and_pool_is_the_numerical_gradient(bias: bool) -> None:
    cfg = TrainConfig(data="digits", conv="c3k3p3s2,c4k3p2s1", hidden=(5,), rule="bp", batch=4,
                      bias=bias)  # fmt: skip
    e = ConvFloatEngine(make_plan(cfg, 64, 10, (1, 8, 8)))
    # float64 everywhere: the step's change with lr = batch is minus the gradient
    e.K = [k.astype(np.float64) for k in e.K]
    e.W = [w.astype(np.float64) for w in e.W]
    rng = np.random.default_rng(1)
    if bias:  # away from zero, so that they matter
        e.bK = [rng.uniform(-0.3, 0.3, size=b.shape) for b in e.bK]
        e.b = [rng.uniform(-0.3, 0.3, size=b.shape) for b in e.b]
    x = rng.uniform(0, 1, size=(4, 64))
    t = np.eye(10)[[1, 4, 7, 2]]
    e.lr = 4.0

    def params() -> list:
        return e.K + e.W + ((e.bK + e.b) if bias else [])

    def put(ms: list) -> None:
        e.K, e.W = [m.copy() for m in ms[:2]], [m.copy() for m in ms[2:4]]
        if bias:
            e.bK, e.b = [m.copy() for m in ms[4:6]], [m.copy() for m in ms[6:]]

    before = [m.copy() for m in params()]
    e.train_batch(x, t)
    step = [a - b for a, b in zip(params(), before, strict=True)]
    put(before)
    eps = 1e-6
    for m, g in zip(params(), step, strict=True):
        for flat in rng.choice(m.size, size=min(6, m.size), replace=False):
            idx = np.unravel_index(flat, m.shape)
            m[idx] += eps
            up = _loss(e, x, t)
            m[idx] -= 2 * eps
            down = _loss(e, x, t)
            m[idx] += eps
            num = (up - down) / (2 * eps)
            assert -g[idx] == pytest.approx(num, rel=1e-4, abs=1e-7)


# --------------------------------------------------------------------------- #
# fixed mode: fast engine against the slow integer reference
# --------------------------------------------------------------------------- #

IMG = (2, 6, 6)
N_OUT = 4


def _fixed_pair(steps: int = 2, **kw):
    from neurosim.golden.conv_reference import ConvReferenceEngine
    from neurosim.nn.conv import ConvFixedEngine

    fields = dict(mode="fixed", data="digits", conv="c2k3p2s2,c3k3p2s1", hidden=(5,), batch=3)
    cfg = TrainConfig(**{**fields, **kw}).validate()
    fast = ConvFixedEngine(make_plan(cfg, int(np.prod(IMG)), N_OUT, IMG))
    ref = ConvReferenceEngine(fast)
    rng = np.random.default_rng(3)
    x = None
    for _ in range(steps):
        x = (rng.integers(0, 256, size=(3, int(np.prod(IMG)))) / 256).astype(np.float32)
        t = np.eye(N_OUT, dtype=np.float32)[rng.integers(0, N_OUT, size=3)]
        fast.train_batch(x, t)
        ref.train_batch(x, t)
    return fast, ref, x


def _events(counts) -> dict:
    return {k: v for k, v in counts.items() if v and not k.endswith(":init")}


def test_conv_velocities_saturate_and_count_like_the_reference() -> None:
    # velocities started at the ends of their range: mu u + d clips
    fast, ref, _ = _fixed_pair(steps=0, rule="srbp", momentum=0.99, lr=0.5, bias=True)
    rng = np.random.default_rng(5)
    names = {"K": "K", "B": "bK", "W": "W", "b": "b"}
    for name, v in fast.upd.V.items():
        vf = fast.upd.v_fmt[name[0]]
        v[...] = rng.choice([vf.qmin, vf.qmax], size=v.shape)
        ref.V[f"{names[name[0]]}^{int(name[1:]) + 1}"] = v.reshape(-1, v.shape[-1]).tolist()
    x = (rng.integers(0, 256, size=(3, int(np.prod(IMG)))) / 256).astype(np.float32)
    t = np.eye(N_OUT, dtype=np.float32)[[0, 1, 2]]
    fast.train_batch(x, t)
    ref.train_batch(x, t)
    for fl, rl in [(fast.K, ref.K), (fast.bK, ref.bK), (fast.W, ref.W)]:
        for f, r in zip(fl, rl, strict=True):
            np.testing.assert_array_equal(np.array(r, dtype=np.float64), f)
    assert _events(fast.counts) == _events(ref.counts)
    assert fast.counts["sat:vK^1"] + fast.counts["sat:vK^2"] > 0
    assert fast.counts["sat:vbK^1"] + fast.counts["sat:vbK^2"] > 0


def test_conv_momentum_keys_are_away_from_the_dense_layers() -> None:
    from neurosim.numerics.fixedpoint import derive_key
    from neurosim.numerics.streams import STREAMS

    fast, _, _ = _fixed_pair(steps=0, rule="srbp", momentum=0.9, bias=True)
    assert fast.upd.m_keys["K1"] == derive_key(fast.cfg.seed, 1001, STREAMS["momentum"].id, 0)
    assert fast.upd.m_keys["B0"] == derive_key(fast.cfg.seed, 1000, STREAMS["momentum"].id, 1)
    assert len(set(fast.upd.m_keys.values())) == len(fast.upd.m_keys)


def test_float_conv_momentum_is_mu_u_plus_step() -> None:
    import dataclasses

    mu = 0.9
    cfg = TrainConfig(data="digits", conv="c2k3p2s2,c3k3p2s1", hidden=(5,), batch=3,
                      rule="srbp", bias=True, momentum=mu).validate()  # fmt: skip
    eng = ConvFloatEngine(make_plan(cfg, int(np.prod(IMG)), N_OUT, IMG))
    plain_cfg = dataclasses.replace(cfg, momentum=0.0)
    rng = np.random.default_rng(3)
    batches = [
        ((rng.integers(0, 256, size=(3, int(np.prod(IMG)))) / 256).astype(np.float32),
         np.eye(N_OUT, dtype=np.float32)[rng.integers(0, N_OUT, size=3)])
        for _ in range(3)
    ]  # fmt: skip
    eng.train_batch(*batches[0])

    def params(e) -> dict:
        return {"K0": e.K[0], "K1": e.K[1], "bK0": e.bK[0], "bK1": e.bK[1], "W0": e.W[0],
                "W1": e.W[1], "b0": e.b[0]}  # fmt: skip

    for x, t in batches[1:]:
        plain = ConvFloatEngine(make_plan(plain_cfg, int(np.prod(IMG)), N_OUT, IMG))
        for e_attr in ("K", "bK", "W", "b"):
            for p, q in zip(getattr(plain, e_attr), getattr(eng, e_attr), strict=True):
                p[...] = q
        before = {k: v.copy() for k, v in params(eng).items()}
        u_before = {k: v.copy() for k, v in eng._vel.items()}
        plain.train_batch(x, t)
        eng.train_batch(x, t)
        for name, q in params(eng).items():
            d = params(plain)[name] - before[name]
            np.testing.assert_allclose(q - before[name], mu * u_before[name] + d, rtol=1e-4,
                                       atol=1e-6)  # fmt: skip


# --------------------------------------------------------------------------- #
# accounting
# --------------------------------------------------------------------------- #


def test_conv_event_counts_by_hand() -> None:
    from collections import Counter

    from neurosim.cost.accounting import Accountant
    from neurosim.cost.conv_accounting import ConvAccountant
    from neurosim.nn.rules import get_rule

    # one block on a 4x4x1 image: 2 filters 3x3 (fan-in 9), pool 2 stride 2 -> 2x2x2
    cfg = TrainConfig(data="digits", conv="c2k3p2s2", hidden=(), rule="srbp")
    blocks = conv_blocks(cfg.conv, (1, 4, 4))
    sizes = [8, 3]
    conv = ConvAccountant(cfg, get_rule("srbp"), sizes, blocks=blocks)
    dense = Accountant(cfg, get_rule("srbp"), sizes)
    fwd = conv.forward_per_sample()
    fwd.subtract(dense.forward_per_sample())
    assert +fwd == Counter({
        ("forward", "mac", (16, 8)): 4 * 4 * 2 * 9,  # H W F x K K C
        ("forward", "sram_read", ("weights",)): 2 * 9 * 16,  # the kernel once per sample
        ("forward", "lut", ()): 2 * 32,  # f and f' per conv output
        ("forward", "add", (8,)): 3 * 8,  # P*P - 1 comparisons per pooled output
        ("forward", "wire", ("forward",)): 8 * 8,  # pooled outputs at 8 bits
    })  # fmt: skip
    r_top = np.array([[1.0, 0, -2], [0, 0, 3]])  # 3 non-zeros
    rk = np.zeros((2 * 16, 2))
    rk[[0, 3, 7, 20, 31], [0, 1, 1, 0, 1]] = 1.0  # 5 non-zeros
    for a in (conv, dense):
        a.observe([r_top], {"skip": r_top}, {})
    conv.observe_conv([r_top], [rk], {})
    got = conv.actions({"changed:K^1": 7})
    got.subtract(dense.actions({}))
    g = cfg.acc_bits
    assert +got == Counter({
        **{k: 2 * v for k, v in (+fwd).items()},  # two samples
        ("feedback", "mac", (8, 16)): 8 * 3,  # n_pool x nnz(R^L)
        ("feedback", "sram_read", ("feedback",)): 8 * 3 * 8,
        ("feedback", "add", (16,)): 8 * 2,  # routing to the argmax
        ("feedback", "mult", (8, 16)): 32 * 2,  # f' per conv output
        ("update", "mac", (16, 8)): 5 * 9,  # nnz(R_1) x K K C
        ("update", "sram_read", ("grad",)): 5 * 9 * g + 18 * g,  # + one batch write-back
        ("update", "sram_write", ("grad",)): 5 * 9 * g + 18 * g,
        ("update", "mult", (g, cfg.lr_frac)): 18,
        ("update", "sram_read", ("weights",)): 18 * 16,
        ("update", "add", (16,)): 18,
        ("update", "sram_write", ("weights",)): 7 * 16,  # changed words only
    })  # fmt: skip
    # the timing graph's inputs (its cycles: tests/test_hw_timing_conv.py)
    (bt,) = conv.block_timing(rows=128, cols=128, zero_skip=True)
    assert (bt.positions, bt.n_pool, bt.pool_ops, bt.fan_in, bt.filters) == (16, 8, 24, 9, 2)
    assert bt.proj_ops == 24 / 2  # n_pool x nnz(R^L), mean over the two samples
    assert bt.grad_ops == 45 / 2  # nnz(R_1) x K K C
    assert bt.trained and len(bt.kernel.tiles) == 1


# --------------------------------------------------------------------------- #
# training
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("mode", ["float", "fixed"])
def test_srbp_conv_net_learns_digits(mode: str) -> None:
    from neurosim.experiments.train import train

    cfg = TrainConfig(
        data="digits", conv="c8k3p3s2", hidden=(32,), rule="srbp", mode=mode, epochs=4,
        batch=16, lr=0.2,
    )  # fmt: skip
    result, engine = train(cfg)
    assert result.test_accuracy > 0.8  # chance is 0.1
    assert sum(v for k, v in result.counts.items() if k.startswith("changed:K")) > 0 or (
        mode == "float"
    )
    rec = result.to_record()
    assert rec["config"]["conv"] == "c8k3p3s2"
    hw = rec["hardware"]
    assert hw["conv"]["blocks"][0]["pooled"] == [3, 3]
    # the block's MACs are in the bill: 8x8 positions x 8 filters x 9 taps per sample
    assert hw["actions_per_sample"]["forward.mac.16x8"] == 64 * 8 * 9 + 72 * 32 + 32 * 10
    assert hw["energy_pj_per_sample"]["total"] > 0 and hw["cycles_per_sample"]["train"] > 0


def test_cifar_conv_preset_is_the_papers_net() -> None:
    cfg = TrainConfig.from_preset("cifar-conv").validate()
    assert cfg.data == "cifar10" and cfg.hidden == (1024,) and cfg.act == "tanh"
    assert cfg.conv == "c64k5p3s2,c64k5p3s2,c64k5p3s2" and cfg.batch == 128
    fashion = ConvFloatEngine(make_plan(cfg, 784, 10, (1, 28, 28)))
    assert fashion.sizes == [256, 1024, 10] and [k.shape for k in fashion.K] == [
        (64, 25), (64, 1600), (64, 1600),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"feedback_resample": True}, "feedback_resample"),
        ({"feedback_sign": "concordant", "rule": "rbp"}, "feedback_sign"),
        ({"feedback_per_synapse": True}, "feedback_per_synapse"),
    ],
)
def test_channel_switches_the_blocks_do_not_model_are_refused(fields, field) -> None:
    with pytest.raises(ConfigError) as e:
        TrainConfig(conv="c8k3p3s2", data="digits", hidden=(16,), **fields).validate()
    assert e.value.field == field
    TrainConfig(data="digits", hidden=(16,), **fields).validate()  # fine without conv


def test_block_scaled_conv_errors_share_one_exponent_per_sample() -> None:
    # 3-bit block-scaled log errors: a sample's error map of a block takes the
    # levels a, a/2, a/4 with a = 2**ceil(log2(max |error|)) of that sample
    from neurosim.nn.engine import hidden_errors

    cfg = TrainConfig(data="digits", conv="c3k3p2s2", hidden=(6,), rule="srbp", batch=4,
                      error_bits=3, error_scale="block").validate()  # fmt: skip
    e = ConvFloatEngine(make_plan(cfg, 64, 10, (1, 8, 8)))
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 1, size=(4, 64)).astype(np.float32)
    t = np.eye(10, dtype=np.float32)[[1, 4, 7, 2]]
    A, S, out = e.forward(x)
    t[0] = out[0] + (t[0] - out[0]) / 64  # sample 0's errors 64 times smaller
    e._A, e._S, e._err_rng = A, S, None
    R, _, _ = hidden_errors(e.rule, e.L, e._q(t - out), e)
    q = e.conv_errors(R)[0][0].reshape(4, -1)
    lq, e.lq = e.lq, None
    raw = e.conv_errors(R)[0][0].reshape(4, -1)
    e.lq = lq
    tops = set()
    for qs, rs in zip(q, raw, strict=True):
        a = 2.0 ** np.ceil(np.log2(np.abs(rs).max()))
        assert set(np.abs(qs[qs != 0]).tolist()) <= {a, a / 2, a / 4}
        assert np.count_nonzero(qs) > 0
        tops.add(a)
    assert len(tops) > 1  # each sample has its own exponent


def test_stochastic_conv_errors_draw_from_their_own_streams() -> None:
    from neurosim.numerics.fixedpoint import derive_key
    from neurosim.numerics.streams import CONV_TILE, STREAMS

    fast, ref, _x = _fixed_pair(rule="srbp", error_bits=2, error_rounding="stochastic")
    # dense layers 0..L-1, then block b at L + b with the key path (CONV_KEY + b, purpose)
    assert len(set(fast.err.e_keys)) == len(fast.err.e_keys) == fast.L + len(fast.blocks)
    err_id = STREAMS["error_rounding"].id
    assert fast.err.e_keys[fast.L + 1] == derive_key(fast.cfg.seed, CONV_TILE + 1, err_id)
    assert fast.counts["rng_bits:error"] == ref.counts["rng_bits:error"] > 0


def test_block_scaled_conv_messages_carry_their_exponent() -> None:
    from neurosim.cost.conv_accounting import ConvAccountant
    from neurosim.nn.rules import get_rule
    from neurosim.numerics.fixedpoint import block_exp_bits

    blocks = conv_blocks("c2k3p2s2,c2k3p2s1", (1, 8, 8))
    for scale, exp in (("fixed", 0), ("block", block_exp_bits(16))):
        cfg = TrainConfig(data="digits", conv="c2k3p2s2,c2k3p2s1", hidden=(4,), rule="rbp",
                          error_bits=3, error_scale=scale)  # fmt: skip
        acc = ConvAccountant(cfg, get_rule("rbp"), [blocks[-1].n_pool, 4, 10], blocks=blocks)
        assert {n: lay.exp_bits for n, lay in acc.conv_layouts.items()} == {
            "conv1": exp, "conv2": exp,
        }  # fmt: skip


def test_conv_bias_costs_a_read_and_an_add_per_output() -> None:
    from collections import Counter

    from neurosim.cost.conv_accounting import ConvAccountant
    from neurosim.nn.rules import get_rule

    blocks = conv_blocks("c2k3p2s2", (1, 4, 4))
    acc = {}
    for bias in (False, True):
        cfg = TrainConfig(data="digits", conv="c2k3p2s2", hidden=(), rule="srbp", bias=bias)
        acc[bias] = ConvAccountant(cfg, get_rule("srbp"), [8, 3], blocks=blocks)
    fwd = acc[True].forward_per_sample()
    fwd.subtract(acc[False].forward_per_sample())
    g = TrainConfig().acc_bits
    assert +fwd == Counter({
        ("forward", "sram_read", ("weights",)): (2 + 3) * 16,  # bK^1 and b^1
        ("forward", "add", (g,)): 32 + 3,  # per conv output, per output neuron
    })  # fmt: skip
    rk = np.zeros((2 * 16, 2))
    rk[[0, 3, 7], [0, 1, 1]] = 1.0
    r_top = np.zeros((2, 3))
    for a in acc.values():
        a.observe([r_top], {"skip": r_top}, {})
        a.observe_conv([r_top], [rk], {})
    upd = acc[True].actions({"changed:bK^1": 2})
    upd.subtract(acc[False].actions({}))
    upd = Counter({k: v for k, v in upd.items() if k[0] == "update"})
    assert upd[("update", "add", (g,))] == 3  # one gradient add per non-zero of R_1
    assert upd[("update", "add", (16,))] == 2 + 3  # write-back of bK^1 and b^1
    assert upd[("update", "sram_write", ("weights",))] == 2 * 16  # the changed bias words


def test_freeze_numbers_the_blocks_first_and_is_bounded_by_all_layers() -> None:
    base = dict(data="digits", conv="c2k3p2s2,c3k3p2s1", hidden=(5,), rule="bp", batch=4)
    TrainConfig(**base, freeze=[4]).validate()  # 2 blocks + 2 dense layers
    with pytest.raises(ConfigError) as e:
        TrainConfig(**base, freeze=[5]).validate()
    assert e.value.field == "freeze[0]"
    cfg = TrainConfig(**base, freeze=[1, 3], bias=True).validate()
    e = ConvFloatEngine(make_plan(cfg, 64, 10, (1, 8, 8)))
    assert e.trained_blocks() == [1] and e.trained_layers() == [1]
    before = [m.copy() for m in (*e.K, *e.bK, *e.W, *e.b)]
    rng = np.random.default_rng(0)
    e.train_batch(rng.uniform(0, 1, size=(4, 64)).astype(np.float32),
                  np.eye(10, dtype=np.float32)[[1, 2, 3, 4]])  # fmt: skip
    after = [*e.K, *e.bK, *e.W, *e.b]
    same = [np.array_equal(a, b) for a, b in zip(before, after, strict=True)]
    assert same == [True, False, True, False, True, False, True, False]


def test_channel_dropout_draws_a_byte_per_conv_error_component() -> None:
    from neurosim.nn.conv import ConvFixedEngine

    fields = dict(mode="fixed", data="digits", conv="c2k3p2s2", hidden=(5,), batch=3,
                  rule="srbp")  # fmt: skip
    rng = np.random.default_rng(0)
    x = (rng.integers(0, 256, size=(3, int(np.prod(IMG)))) / 256).astype(np.float32)
    t = np.eye(N_OUT, dtype=np.float32)[[0, 1, 2]]
    bits = {}
    for p in (0.0, 0.75):
        eng = ConvFixedEngine(make_plan(TrainConfig(**fields, channel_dropout=p).validate(),
                              int(np.prod(IMG)), N_OUT, IMG))  # fmt: skip
        eng.train_batch(x, t)
        bits[p] = eng.counts["rng_bits:channel"]
    # 8 bits per component: the dense hidden layer (3 x 5) and the block's map (3 x 6*6*2)
    assert bits[0.0] == 0 and bits[0.75] == 8 * 3 * (5 + 6 * 6 * 2)


def test_float_channel_dropout_zeroes_a_fraction_of_conv_errors() -> None:
    from dataclasses import replace

    from neurosim.nn.engine import hidden_errors

    cfg = TrainConfig(data="digits", conv="c4k3p2s1", hidden=(6,), rule="srbp", batch=8,
                      channel_dropout=0.5).validate()  # fmt: skip
    e = ConvFloatEngine(make_plan(cfg, 64, 10, (1, 8, 8)))
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, size=(8, 64)).astype(np.float32)
    t = np.eye(10, dtype=np.float32)[rng.integers(0, 10, size=8)]
    A, S, out = e.forward(x)
    e._A, e._S = A, S
    R, _, _ = hidden_errors(e.rule, e.L, t - out, e)
    kept = e.conv_errors(R)[0][0]
    e.cfg = replace(cfg, channel_dropout=0.0)
    full = e.conv_errors(R)[0][0]
    nz = full != 0
    assert np.all((kept == full) | (kept == 0))
    assert 0.4 < np.count_nonzero(kept[nz]) / np.count_nonzero(nz) < 0.6


def test_conv_biases_are_in_the_memory_bill() -> None:
    from neurosim.experiments.train import train

    mem = {}
    for bias in (False, True):
        cfg = TrainConfig(data="digits", conv="c4k3p3s2", hidden=(8,), rule="srbp", epochs=1,
                          batch=32, limit=64, bias=bias)  # fmt: skip
        result, _ = train(cfg)
        mem[bias] = result.to_record()["hardware"]["memory_bits"]
    w = TrainConfig().weight_bits
    assert mem[True]["bias"] == (4 + 8 + 10) * w  # bK^1, b^1, b^2
    assert mem[True]["forward"] - mem[False]["forward"] == (4 + 8 + 10) * w


def test_conv_momentum_actions_and_memory_by_hand() -> None:
    from collections import Counter

    from neurosim.cost.conv_accounting import ConvAccountant
    from neurosim.nn.rules import get_rule

    # one block on a 4x4x1 image: 2 filters 3x3 (18 weights, 2 biases); dense 8 -> 3
    blocks = conv_blocks("c2k3p2s2", (1, 4, 4))
    sizes = [8, 3]
    got = {}
    for mu in (0.0, 0.9):
        cfg = TrainConfig(data="digits", conv="c2k3p2s2", hidden=(), rule="srbp", bias=True,
                          momentum=mu).validate()  # fmt: skip
        acc = ConvAccountant(cfg, get_rule("srbp"), sizes, blocks=blocks)
        r_top = np.array([[1.0, 0, -2], [0, 0, 3]])
        rk = np.zeros((2 * 16, 2))
        rk[[0, 3, 7], [0, 1, 1]] = 1.0
        for _ in range(2):  # two minibatches
            acc.observe([r_top], {"skip": r_top}, {})
            acc.observe_conv([r_top], [rk], {})
        got[mu] = acc.actions({"rng_bits:velocity": 40} if mu else {})
    diff = got[0.9]
    diff.subtract(got[0.0])
    v, lf = cfg.velocity_bits, cfg.lr_frac
    words = (18 + 2) + (24 + 3)  # K^1, bK^1, W^1, b^1
    assert +diff == Counter({
        ("update", "sram_read", ("velocity",)): words * v * 2,
        ("update", "sram_write", ("velocity",)): words * v * 2,
        ("update", "mult", (v, lf)): words * 2,
        ("update", "add", (v,)): words * 2,
        ("update", "rng", ()): 40,
    })  # fmt: skip


def test_conv_velocities_are_in_the_memory_bill() -> None:
    from neurosim.experiments.train import train

    cfg = TrainConfig(data="digits", conv="c4k3p3s2", hidden=(8,), rule="srbp", epochs=1,
                      batch=32, limit=64, bias=True, momentum=0.9, mode="fixed")  # fmt: skip
    mem = train(cfg)[0].to_record()["hardware"]["memory_bits"]
    # K^1: 4 x 9 weights + 4 biases; W^1: 8 x n_pool + 8; W^2: 10 x 8 + 10
    n_pool = 4 * 3 * 3  # 8x8 digits, pool 3 stride 2 -> 3x3 x 4 filters
    words = 4 * (9 + 1) + 8 * (n_pool + 1) + 10 * (8 + 1)
    assert mem["velocity"] == words * cfg.velocity_bits
    frozen = train(replace(cfg, freeze=(1,)))[0].to_record()["hardware"]["memory_bits"]
    # block 1 frozen: its kernel and biases keep no velocity
    assert mem["velocity"] - frozen["velocity"] == 4 * (9 + 1) * cfg.velocity_bits


def test_conv_gradients_that_could_pass_62_bits_are_refused() -> None:
    from neurosim.nn.conv import ConvFixedEngine
    from neurosim.nn.engine import FixedEngine

    # batch x H x W x max|R| x max|input| x 2**lr_frac: 2**(10 + 5.2 + 15 + 8 + 25) > 2**62
    kw = dict(mode="fixed", data="digits", batch=1024, lr_frac=25, rule="srbp")
    dense = TrainConfig(hidden=(5,), **kw).validate()
    FixedEngine(make_plan(dense, 72, N_OUT))  # dense: 2**57, fine
    cfg = TrainConfig(conv="c2k3p2s2", hidden=(5,), **kw).validate()
    with pytest.raises(ConfigError) as e:
        ConvFixedEngine(make_plan(cfg, int(np.prod(IMG)), N_OUT, IMG))
    assert e.value.field == "error_word_bits"
    ConvFixedEngine(make_plan(replace(cfg, batch=64), int(np.prod(IMG)), N_OUT, IMG))


def test_conv_on_a_prng_chip_regenerates_the_blocks_feedback() -> None:
    """A chip that regenerates C^h keeps no C_b either: the blocks' feedback
    reads are random bits, their feedback memory 0 (it used to price C_b
    reads from a feedback SRAM of 0 KiB and stop)."""
    from neurosim.config import TrainConfig
    from neurosim.experiments.train import train

    kw = dict(data="digits", hidden=(8,), epochs=1, conv="c4k3p3s2", rule="srbp")
    stored, _ = train(TrainConfig(**kw, chip="ref45"))
    regen, _ = train(TrainConfig(**kw, chip="ref45-prng"))
    assert regen.weights_sha256 == stored.weights_sha256  # the chip changes no value
    hs, hr = stored.hardware, regen.hardware
    assert hs["memory_bits"]["feedback"] > 0 and hr["memory_bits"]["feedback"] == 0
    assert hr["conv"]["memory_bits"]["feedback"] == 0
    read = {k: v for k, v in hr["actions_per_sample"].items() if "sram_read" in k}
    assert not any("feedback" in k for k in read)
    # every feedback bit the stored chip reads, the PRNG chip draws
    fb_read = sum(v for k, v in hs["actions_per_sample"].items()
                  if k.startswith("feedback.sram_read.feedback"))  # fmt: skip
    extra_rng = hr["actions_per_sample"].get("feedback.rng", 0) - hs["actions_per_sample"].get(
        "feedback.rng", 0
    )
    assert fb_read > 0 and extra_rng == pytest.approx(fb_read)
