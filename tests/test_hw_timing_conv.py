"""Conv blocks in the timing graph: hand-computed op durations, FAST = GOLDEN on
random conv geometries, and a conv run's timing record."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hw_models.timing import (
    ChipTiming,
    GoldenArbiter,
    GraphOptions,
    RuleTiming,
    block_cycles,
    block_timing,
    build_batch_graph,
    build_inference_graph,
    build_sample_graph,
    link_policies,
    sample_timing,
    schedule_arbitrated,
    tiles_for_network,
)
from neurosim.errors import ConfigError

SRBP = RuleTiming(True, "top", "C")
RBP = RuleTiming(True, "next", "C")
BP = RuleTiming(True, "next", "W")
TOP = RuleTiming(False, "top", "C")
# macs 4, lut 2, update 4, fwd 16, skip 8, chain 8 bits/cycle; act 8, psum 16, error 8 bits
CHIP = ChipTiming(4, 2, 4, 16, 8, 8, 8, 16, 8)
ROWS, COLS = 4, 8
DENSE = tiles_for_network([32, 5, 10], ROWS, COLS)  # 32 = the block's pooled map


def tiny_block(**work):
    """``c2k3p2s2`` on an 8x8x1 image: 2 filters of 3x3 (fan-in 9) at 64 positions,
    pooled 4x4x2 = 32, 3 comparisons per pooled output; K^1 (2 x 9) on 4 x 8 tiles
    is one row block of two tiles, 2 x 8 and 2 x 1."""
    return block_timing(2, 9, 64, 32, 3 * 32, ROWS, COLS, **work)


def ops_by_name(ops):
    return {op.name: op for op in ops}


def names(ops, idx):
    return sorted(ops[i].name for i in idx)


def test_forward_ops_by_hand():
    ops = build_sample_graph(DENSE, CHIP, TOP, opts=GraphOptions(conv=(tiny_block(),)))
    o = ops_by_name(ops)
    assert (o["fmacK1.0"].resource, o["fmacK1.0"].duration) == ("macK1.0", 64 * 2 * 8 // 4)
    assert o["fmacK1.1"].duration == 64 * 2 * 1 // 4
    # partial sums of the second column block: 128 conv outputs x 16 bits over 16 bits/cycle
    assert (o["psumK1"].resource, o["psumK1"].duration) == ("fwdK1", 128)
    # f, f' of 128 conv outputs and 96 pool comparisons at 2 per cycle
    assert (o["flutK1"].resource, o["flutK1"].duration) == ("lutK1", 112)
    # the pooled map (32 x 8 bits) into the first dense layer, sender 1 of fwd1
    assert (o["factK1"].resource, o["factK1"].duration, o["factK1"].sender) == ("fwd1", 16, 1)
    assert names(ops, o["fmac1.0"].deps) == ["factK1"]
    assert ops[0].name == "fmacK1.0" and not ops[0].deps
    # the inference graph is the training graph's first ops
    infer = build_inference_graph(DENSE, CHIP, GraphOptions(conv=(tiny_block(),)))
    assert ops[: len(infer)] == infer


def test_srbp_projection_and_gradients_by_hand():
    opts = GraphOptions(conv=(tiny_block(proj_ops=20.0, grad_ops=45.0),))
    ops = build_sample_graph(DENSE, CHIP, SRBP, opts=opts)
    o = ops_by_name(ops)
    # the mean work spread over the tiles by their synapses: 16/18 and 2/18
    assert o["bprojK1.0"].duration == 5  # ceil(20 * 16/18 / 4)
    assert o["bprojK1.1"].duration == 1  # ceil(20 * 2/18 / 4)
    assert names(ops, o["bprojK1.0"].deps) == ["skip"]
    assert o["gradK1.0"].duration == 10  # 45 * 16/18 / 4
    assert o["gradK1.1"].duration == 2  # ceil(45 * 2/18 / 4)
    assert names(ops, o["gradK1.1"].deps) == ["bprojK1.0", "bprojK1.1", "fmacK1.1"]
    # without zero skipping every conv output's error: 128 x 9 MACs
    dense = ops_by_name(build_sample_graph(DENSE, CHIP, SRBP,
                                           opts=GraphOptions(conv=(tiny_block(),))))  # fmt: skip
    assert (dense["gradK1.0"].duration, dense["gradK1.1"].duration) == (256, 32)
    # a frozen block projects (the engine does) but does no gradient work
    frozen = ops_by_name(build_sample_graph(
        DENSE, CHIP, SRBP, opts=GraphOptions(conv=(tiny_block(trained=False),))))  # fmt: skip
    assert "bprojK1.0" in frozen and not any(n.startswith("gradK") for n in frozen)


def test_srbp_without_dense_hidden_layers_still_sends_skip():
    dense = tiles_for_network([32, 10], ROWS, COLS)
    ops = build_sample_graph(dense, CHIP, SRBP, opts=GraphOptions(conv=(tiny_block(),)))
    o = ops_by_name(ops)
    assert o["skip"].duration == 10 * 8 // 8  # n_L dense components
    assert names(ops, o["skip"].deps) == ["flut1"]


def test_rbp_and_bp_by_hand():
    opts = GraphOptions(conv=(tiny_block(proj_ops=20.0, msg_bits=40),))
    ops = build_sample_graph(DENSE, CHIP, RBP, opts=opts)
    o = ops_by_name(ops)
    # R^1 leaves layer 1 (all its tiles projected) on chainK1, 40 bits at 8 per cycle
    assert (o["chainK1"].resource, o["chainK1"].duration) == ("chainK1", 5)
    assert names(ops, o["chainK1"].deps) == sorted(f"bproj1.{t}" for t in range(8))
    assert names(ops, o["bprojK1.0"].deps) == ["chainK1"]
    # BP: the transposed read of W^1 where it lives, then the pooled map's error down
    ops = build_sample_graph(DENSE, CHIP, BP, opts=GraphOptions(conv=(tiny_block(proj_ops=20.0),)))
    o = ops_by_name(ops)
    assert o["bwt1.0"].resource == "mac1.0"
    assert o["bwt1.0"].duration == 1  # 20 * (4*8)/(5*32) / 4
    assert names(ops, o["bwt1.0"].deps) == ["chain1"]
    assert o["chainK1"].duration == 32 * 8 // 8  # dense: n_pool linear words
    assert names(ops, o["gradK1.0"].deps) == ["chainK1", "fmacK1.0"]


def test_two_blocks_chain_through_the_blocks():
    b1 = block_timing(2, 9, 64, 32, 96, ROWS, COLS)  # 8x8x1 -> 4x4x2
    b2 = block_timing(3, 18, 16, 12, 36, ROWS, COLS)  # 4x4x2 (3x3 kernel) -> 2x2x3
    dense = tiles_for_network([12, 5, 10], ROWS, COLS)
    opts = GraphOptions(conv=(b1, b2))
    o = build_sample_graph(dense, CHIP, RBP, opts=opts)
    by = ops_by_name(o)
    assert names(o, by["fmacK2.0"].deps) == ["factK1"]
    assert by["factK1"].resource == "fwdK2" and by["factK2"].resource == "fwd1"
    # RBP: R_2 (48 components) from block 2 to block 1, projected by C_1 in block 1
    assert by["chainK1"].duration == 48
    want = sorted(f"bprojK2.{t}" for t in range(len(b2.kernel.tiles)))
    assert names(o, by["chainK1"].deps) == want
    assert by["bprojK1.0"].duration == -(-48 * 18 * 16 // 18 // 4)  # n_conv2 fan_in2 x 16/18
    # BP: the transposed convolution runs on block 2's tiles
    o = build_sample_graph(dense, CHIP, BP, opts=opts)
    by = ops_by_name(o)
    assert by["bwtK2.0"].resource == "macK2.0"
    assert names(o, by["bwtK2.0"].deps) == ["chainK2"]
    assert by["chainK1"].duration == 32  # block 1's pooled map, 32 words of 8 bits


def test_batch_end_write_back_and_shares():
    opts = GraphOptions(conv=(tiny_block(),))
    ops = build_batch_graph(DENSE, CHIP, SRBP, [None, None], opts=opts)
    o = ops_by_name(ops)
    assert (o["updK1.0"].duration, o["updK1.1"].duration) == (4, 1)  # 16 and 2 synapses
    assert names(ops, o["updK1.0"].deps) == ["end1", "s0:gradK1.0", "s1:gradK1.0"]
    c = block_cycles(DENSE, CHIP, SRBP, opts=opts)
    s = sample_timing(DENSE, CHIP, SRBP, opts=opts)
    assert c["forward"] == 256 + 128 + 112 + 16  # fmacK1.0, psum, flut, fact
    assert c["update"] == 4 and 0 < c["backward"] < s["train"]
    assert s["forward"] > c["forward"]


def test_conv_refuses_other_gradient_strategies():
    with pytest.raises(ConfigError, match="sram"):
        GraphOptions(accumulate="register", conv=(tiny_block(),))
    with pytest.raises(ConfigError):
        tiny_block(proj_ops=-1)


# ------------------------------------------------------------------ FAST = GOLDEN


@st.composite
def conv_cases(draw):
    h = draw(st.integers(3, 6))
    c = draw(st.integers(1, 2))
    blocks, n_in = [], 0
    for _ in range(draw(st.integers(1, 2))):
        f, k = draw(st.integers(1, 4)), draw(st.sampled_from([1, 3]))
        ho = (h - 2) // 2 + 1  # pool 2 stride 2
        work = {}
        if draw(st.booleans()):
            work = dict(proj_ops=draw(st.floats(0, 60)), grad_ops=draw(st.floats(0, 80)),
                        msg_bits=draw(st.integers(0, 64)), trained=draw(st.booleans()))  # fmt: skip
        rows, cols = draw(st.integers(1, 4)), draw(st.integers(2, 8))
        blocks.append((f, k * k * c, h * h, ho * ho * f, 3 * ho * ho * f, work))
        h, c, n_in = ho, f, ho * ho * f
        if h < 2:
            break
    sizes = [n_in] + draw(st.lists(st.integers(1, 6), min_size=1, max_size=2))
    rule = draw(st.sampled_from([SRBP, RBP, BP, TOP]))
    chip = ChipTiming(*(draw(st.integers(1, 8)) for _ in range(9)))
    conv = tuple(block_timing(*b[:5], rows, cols, **b[5]) for b in blocks)
    link = draw(st.sampled_from(["round_robin", "fixed_priority"]))
    opts = GraphOptions(conv=conv, n_tiles=draw(st.sampled_from([None, 2, 5])),
                        arbitration={"forward": link, "chain": link})
    layers = tiles_for_network(sizes, rows, cols)
    return layers, chip, rule, opts, draw(st.integers(1, 3)), draw(st.booleans())


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conv_cases())
def test_fast_equals_golden_on_conv_batches(case):
    layers, chip, rule, opts, n, pipeline = case
    ops = build_batch_graph(layers, chip, rule, [None] * n, opts=opts, pipeline=pipeline)
    pol = link_policies(opts.arbitration)
    fast = schedule_arbitrated(ops, pol)
    assert GoldenArbiter(ops, pol, 10**7).run() == fast
    if not pipeline:  # serial: the samples one after the other
        one = max(f for _, f in schedule_arbitrated(
            build_sample_graph(layers, chip, rule, opts=opts), pol))  # fmt: skip
        assert max(f for _, f in fast) >= n * one


# ------------------------------------------------------------------ the record


@pytest.fixture(scope="module")
def conv_runs(tmp_path_factory):
    from neurosim.config import TrainConfig
    from neurosim.data.datasets import load_dataset
    from neurosim.experiments.train import train

    d = tmp_path_factory.mktemp("chips")
    data = load_dataset("digits", seed=0)
    out = {}
    for name, body in {"serial": "", "pipe": "pipeline = true\n"}.items():
        p = d / f"{name}.toml"
        p.write_text(f'base = "small"\nname = "{name}"\n{body}')
        for rule in ("srbp", "rbp"):
            cfg = TrainConfig(data="digits", conv="c2k3p2s2", hidden=(16,), rule=rule, mode="fixed",
                              epochs=1, batch=16, chip=str(p))  # fmt: skip
            out[name, rule] = train(cfg, data)[0].to_record()["hardware"]
    return out


def test_conv_record_from_the_one_schedule(conv_runs):
    for (kind, _rule), h in conv_runs.items():
        cyc = h["cycles_per_sample"]
        assert h["samples_per_second"] == pytest.approx(h["clock_mhz"] * 1e6 / cyc["train"])
        assert all(0 <= v <= 1 for v in h["utilization"].values())
        assert h["bottleneck"]
        cc = h["conv"]["cycles_per_sample"]
        assert set(cc) == {"forward", "backward", "update"}
        assert 0 < cc["forward"] < cyc["forward"] and cc["update"] > 0
        if kind == "serial":
            assert cyc["train"] == pytest.approx(
                h["latency_cycles_per_sample"] + cyc["update"] + cyc["dram"])
    for rule in ("srbp", "rbp"):
        s, p = conv_runs["serial", rule], conv_runs["pipe", rule]
        assert p["latency_cycles_per_sample"] == s["latency_cycles_per_sample"]
        assert p["samples_per_second"] > s["samples_per_second"]
