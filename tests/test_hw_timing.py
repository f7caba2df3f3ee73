"""Tests of hw_models.timing: op graphs, the FAST scheduler and the GOLDEN stepper."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hw_models.timing import (
    ChipTiming,
    GoldenStepper,
    LayerTiming,
    Op,
    ProjectionWork,
    RuleTiming,
    TileWork,
    TimingError,
    batch_update_cycles,
    build_inference_graph,
    build_sample_graph,
    build_update_graph,
    dense_msg_bits,
    makespan,
    sample_cycles,
    schedule,
    tiles_for_layer,
    tiles_for_network,
    trained_layers,
)
from neurosim.errors import ConfigError
from neurosim.nn.rules import RULES

SRBP = RuleTiming(True, "top", "C")
RBP = RuleTiming(True, "next", "C")
BP = RuleTiming(True, "next", "W")
SBP = RuleTiming(True, "next_raw", "W")
TOP = RuleTiming(False, "top", "C")

# Tiny net 4-3-2, one tile per layer, hand-computed below.
TINY = tiles_for_network([4, 3, 2], 16, 16)
CHIP = ChipTiming(
    macs_per_cycle=2,
    lut_per_cycle=1,
    update_per_cycle=4,
    fwd_width_bits=8,
    skip_width_bits=4,
    chain_width_bits=2,
    act_bits=8,
    psum_bits=16,
    error_bits_per_component=4,
)


def golden(ops: list[Op], max_cycles: int = 10**7) -> list[tuple[int, int]]:
    return GoldenStepper(ops, max_cycles).run()


def times_by_name(ops: list[Op]) -> dict[str, tuple[int, int]]:
    times = schedule(ops)
    assert golden(ops) == times
    return {op.name: t for op, t in zip(ops, times, strict=True)}


# ------------------------------------------------------------------ inputs


def test_tiles_for_layer_full_blocks_then_remainder():
    lay = tiles_for_layer(5, 7, 2, 3)
    assert (lay.row_blocks, lay.col_blocks, lay.n_out, lay.n_in) == (3, 3, 5, 7)
    assert [(t.rows, t.cols) for t in lay.tiles] == [
        (2, 3), (2, 3), (2, 1),
        (2, 3), (2, 3), (2, 1),
        (1, 3), (1, 3), (1, 1),
    ]  # fmt: skip


def test_layer_timing_rejects_a_bad_grid():
    with pytest.raises(ConfigError):
        LayerTiming([TileWork(2, 3)], 1, 2, 2, 3)  # wrong tile count
    with pytest.raises(ConfigError):
        LayerTiming([TileWork(2, 3), TileWork(1, 3)], 1, 2, 2, 6)  # rows differ in a row block
    with pytest.raises(ConfigError):
        LayerTiming([TileWork(2, 3)], 1, 1, 2, 4)  # does not cover n_in
    with pytest.raises(ConfigError):
        tiles_for_network([4, 3], 0, 1)
    with pytest.raises(ConfigError):
        build_sample_graph([TINY[1], TINY[0]], CHIP, BP)  # layers do not chain


def test_rule_timing_from_rule_and_validation():
    assert RuleTiming.from_rule(RULES["srbp"]) == SRBP
    assert RuleTiming.from_rule(RULES["asrbp"]) == SRBP
    assert RuleTiming.from_rule(RULES["rbp"]) == RBP
    assert RuleTiming.from_rule(RULES["bp"]) == BP
    assert RuleTiming.from_rule(RULES["sbp"]) == SBP
    assert RuleTiming.from_rule(RULES["top-only"]) == TOP
    with pytest.raises(ConfigError):
        RuleTiming(True, "top", "W")
    with pytest.raises(ConfigError):
        RuleTiming(True, "sideways", "C")
    with pytest.raises(ConfigError):
        ChipTiming(0, 1, 1, 1, 1, 1, 1, 1, 1)


def test_dense_msg_bits_and_unknown_keys():
    net = tiles_for_network([6, 5, 4, 3], 8, 8)
    assert dense_msg_bits(net, CHIP, SRBP) == {"skip": 3 * 4}
    assert dense_msg_bits(net, CHIP, RBP) == {"chain1": 4 * 4, "chain2": 3 * 4}
    assert dense_msg_bits(net, CHIP, BP) == {"chain1": 5 * 4, "chain2": 4 * 4}
    assert dense_msg_bits(net, CHIP, TOP) == {}
    with pytest.raises(ConfigError):
        build_sample_graph(net, CHIP, RBP, {"chain3": 8})
    with pytest.raises(ConfigError):
        build_sample_graph(net, CHIP, RBP, {"chain1": -1})
    # a valid key the rule does not use is ignored
    assert build_sample_graph(net, CHIP, RBP, {"skip": 999}) == build_sample_graph(net, CHIP, RBP)


# ------------------------------------------------------------------ hand-computed


FORWARD = {
    "fmac1.0": (0, 6),  # 3*4 MACs / 2
    "flut1": (6, 9),  # 3 neurons / 1
    "fact1": (9, 12),  # 3*8 bits / 8
    "fmac2.0": (12, 15),  # 2*3 / 2
    "flut2": (15, 17),  # 2 / 1
}


@pytest.mark.parametrize(
    "rule, backward, train",
    [
        (
            SRBP,
            {
                "skip": (17, 19),  # 2 comps * 4 bits / 4
                "bproj1.0": (19, 22),  # 3 rows * n_L=2 / 2
                "grad2.0": (17, 20),  # 2*3 / 2
                "grad1.0": (22, 28),  # 3*4 / 2
            },
            28,
        ),
        (
            RBP,
            {
                "chain1": (17, 21),  # n_2=2 comps * 4 bits / 2
                "bproj1.0": (21, 24),  # 3 rows * n_2=2 / 2
                "grad2.0": (17, 20),
                "grad1.0": (24, 30),
            },
            30,
        ),
        (
            BP,
            {
                "bwt2.0": (17, 20),  # 2*3 / 2
                "chain1": (20, 26),  # n_1=3 comps * 4 bits / 2
                "grad2.0": (20, 23),  # ready at 17, waits for bwt2.0 on mac2.0
                "grad1.0": (26, 32),
            },
            32,
        ),
        (TOP, {"grad2.0": (17, 20)}, 20),
    ],
    ids=["srbp", "rbp", "bp", "top-only"],
)
def test_tiny_net_hand_computed(rule, backward, train):
    ops = build_sample_graph(TINY, CHIP, rule)
    assert times_by_name(ops) == FORWARD | backward
    assert sample_cycles(TINY, CHIP, rule) == {
        "train": train,
        "forward": 17,
        "backward": train - 17,
        "inference": 17,
    }
    assert [op.name for op in build_inference_graph(TINY, CHIP)] == list(FORWARD)


def test_issue_order_of_bp():
    ops = build_sample_graph(TINY, CHIP, BP)
    assert [op.name for op in ops] == [*FORWARD, "bwt2.0", "chain1", "grad2.0", "grad1.0"]
    assert ops[-2].resource == "mac2.0" and ops[-2].deps == (3, 4)


def test_partial_sums_and_parallel_tiles():
    # n_out=3, n_in=4 in two column blocks of 2: two parallel fmacs, then psum.
    net = [tiles_for_layer(3, 4, 16, 2)]
    t = times_by_name(build_sample_graph(net, CHIP, SRBP))
    assert t == {
        "fmac1.0": (0, 3),  # 3*2 / 2
        "fmac1.1": (0, 3),
        "psum1": (3, 9),  # (2-1) * 3 * 16 bits / 8
        "flut1": (9, 12),
        "grad1.0": (12, 15),
        "grad1.1": (12, 15),
    }


def test_message_sizes_set_transfer_cycles():
    t = times_by_name(build_sample_graph(TINY, CHIP, RBP, {"chain1": 7}))
    assert t["chain1"] == (17, 21)  # ceil(7 / 2)
    t = times_by_name(build_sample_graph(TINY, CHIP, RBP, {"chain1": 0}))
    assert t["chain1"] == (17, 17)  # an all-zero event-driven message: no transfer
    assert t["bproj1.0"] == (17, 20)


@pytest.mark.parametrize("rule", [SRBP, RBP], ids=["srbp", "rbp"])
def test_projection_work_sets_the_projection_cycles(rule):
    dense = times_by_name(build_sample_graph(TINY, CHIP, rule))
    # the default is a dense C^1: 3 rows x n_src = 2 MACs; the same given explicitly
    assert times_by_name(build_sample_graph(TINY, CHIP, rule, proj={1: ProjectionWork(2)})) == dense
    start = dense["bproj1.0"][0]
    for work, cycles in (
        (ProjectionWork(1), 2),  # a sparse row of one non-zero: ceil(3 * 1 / 2)
        (ProjectionWork(0), 0),  # no non-zeros: no projection work
        (ProjectionWork(1, 4), 4),  # low rank 1, V R once per tile: ceil((3 + 4) / 2)
    ):
        t = times_by_name(build_sample_graph(TINY, CHIP, rule, proj={1: work}))
        assert t["bproj1.0"] == (start, start + cycles)
        assert t["grad1.0"] == (start + cycles, start + cycles + 6)  # 3*4 / 2, after it
    with pytest.raises(ConfigError):
        build_sample_graph(TINY, CHIP, rule, proj={2: ProjectionWork(1)})  # no C^2 here
    with pytest.raises(ConfigError):
        ProjectionWork(-1)


def test_update_graph():
    net = tiles_for_network([4, 3, 2], 2, 16)  # layer 1: tiles 2x4 and 1x4
    ops = build_update_graph(net, CHIP, [1, 2])
    assert [(op.name, op.resource, op.duration, op.deps) for op in ops] == [
        ("upd1.0", "upd1.0", 2, ()),  # 2*4 synapses / 4
        ("upd1.1", "upd1.1", 1, ()),  # remainder row: 1*4 / 4
        ("upd2.0", "upd2.0", 2, ()),  # 2*3 / 4
    ]
    assert batch_update_cycles(net, CHIP, [1, 2]) == 2
    assert batch_update_cycles(net, CHIP, trained_layers(TOP, 2)) == 2
    assert trained_layers(TOP, 2) == [2] and trained_layers(BP, 2) == [1, 2]
    with pytest.raises(ConfigError):
        build_update_graph(net, CHIP, [3])


# ------------------------------------------------------------------ semantics


def test_in_order_issue_makes_a_ready_op_wait():
    ops = [
        Op("long", "a", 5),
        Op("blocked", "r", 2, (0,)),
        Op("ready", "r", 1),  # no deps, but queued behind "blocked" on r
        Op("other", "s", 1),
    ]
    expected = [(0, 5), (5, 7), (7, 8), (0, 1)]
    assert schedule(ops) == expected
    assert golden(ops) == expected


def test_zero_duration_ops():
    ops = [
        Op("a", "r", 0),
        Op("b", "r", 3, (0,)),
        Op("c", "s", 0, (1,)),
        Op("d", "s", 2, (2,)),
        Op("e", "t", 0, (3,)),
        Op("f", "t", 0, (4,)),
        Op("g", "u", 0),
    ]
    expected = [(0, 0), (0, 3), (3, 3), (3, 5), (5, 5), (5, 5), (0, 0)]
    assert schedule(ops) == expected
    assert golden(ops) == expected
    assert makespan(expected) == 5
    zeros = [Op("x", "r", 0), Op("y", "s", 0, (0,))]
    assert schedule(zeros) == golden(zeros, 0) == [(0, 0), (0, 0)]
    assert schedule([]) == golden([]) == [] and makespan([]) == 0


def test_max_cycles_guard():
    ops = build_sample_graph(TINY, CHIP, BP)
    assert GoldenStepper(ops, 32).run() == schedule(ops)
    with pytest.raises(TimingError):
        GoldenStepper(ops, 31).run()
    stepper = GoldenStepper([Op("x", "r", 3)], 10)
    stepper.step()
    assert (stepper.cycle, stepper.done) == (1, False)


def test_ops_must_be_topological():
    with pytest.raises(ConfigError):
        schedule([Op("a", "r", 1, (1,)), Op("b", "r", 1)])
    with pytest.raises(ConfigError):
        GoldenStepper([Op("a", "r", 1, (0,))], 10)
    with pytest.raises(ConfigError):
        schedule([Op("a", "r", -1)])


# ------------------------------------------------------------------ FAST == GOLDEN


@st.composite
def cases(draw):
    L = draw(st.integers(1, 4))
    sizes = draw(st.lists(st.integers(1, 40), min_size=L + 1, max_size=L + 1))
    layers = [
        tiles_for_layer(sizes[h], sizes[h - 1], draw(st.integers(1, 16)), draw(st.integers(1, 16)))
        for h in range(1, L + 1)
    ]
    w = st.integers(1, 64)
    chip = ChipTiming(
        macs_per_cycle=draw(st.integers(1, 8)),
        lut_per_cycle=draw(st.integers(1, 8)),
        update_per_cycle=draw(st.integers(1, 8)),
        fwd_width_bits=draw(w),
        skip_width_bits=draw(w),
        chain_width_bits=draw(w),
        act_bits=draw(st.integers(1, 16)),
        psum_bits=draw(st.integers(1, 32)),
        error_bits_per_component=draw(st.integers(1, 8)),
    )
    rule = draw(st.sampled_from([SRBP, RBP, BP, SBP, TOP, RuleTiming(False, "next", "W")]))
    keys = ["skip"] + [f"chain{h}" for h in range(1, L)]
    msg_bits = draw(st.dictionaries(st.sampled_from(keys), st.integers(0, 2000)))
    # the learning channel's format: a tile's projection ops per row and per tile
    work = st.builds(ProjectionWork, st.integers(0, 40), st.integers(0, 100))
    proj = draw(st.dictionaries(st.integers(1, L - 1), work)) if L > 1 else {}
    return layers, chip, rule, msg_bits, proj


def check_schedule(ops: list[Op], times: list[tuple[int, int]]) -> None:
    """Deps respected, each resource serves in list order without overlap."""
    last: dict[str, int] = {}
    for op, (s, f) in zip(ops, times, strict=True):
        assert f == s + op.duration
        assert all(times[d][1] <= s for d in op.deps)
        assert last.get(op.resource, 0) <= s
        last[op.resource] = f


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_fast_equals_golden(case):
    layers, chip, rule, msg_bits, proj = case
    train = build_sample_graph(layers, chip, rule, msg_bits, proj)
    infer = build_inference_graph(layers, chip)
    update = build_update_graph(layers, chip, trained_layers(rule, len(layers)))
    for ops in (train, infer, update):
        fast = schedule(ops)
        check_schedule(ops, fast)
        assert GoldenStepper(ops, makespan(fast)).run() == fast
    assert train[: len(infer)] == infer
    cyc = sample_cycles(layers, chip, rule, msg_bits, proj)
    assert cyc["inference"] == cyc["forward"] <= cyc["train"]
    assert cyc["train"] == makespan(schedule(train))


# ------------------------------------------------------------------ rules compared


def test_srbp_backward_beats_rbp_with_three_hidden_layers():
    net = tiles_for_network([20, 16, 16, 16, 4], 8, 8)
    srbp, rbp = sample_cycles(net, CHIP, SRBP), sample_cycles(net, CHIP, RBP)
    assert srbp["forward"] == rbp["forward"]
    assert srbp["backward"] < rbp["backward"]
    assert srbp["backward"] < sample_cycles(net, CHIP, BP)["backward"]


def test_deeper_chains_grow_rbp_but_not_srbp():
    srbp, rbp, bp = [], [], []
    for hidden in range(1, 7):
        net = tiles_for_network([16] * (hidden + 1) + [4], 8, 8)
        srbp.append(sample_cycles(net, CHIP, SRBP)["backward"])
        rbp.append(sample_cycles(net, CHIP, RBP)["backward"])
        bp.append(sample_cycles(net, CHIP, BP)["backward"])
    assert len(set(srbp)) == 1
    assert all(a < b for a, b in zip(rbp, rbp[1:], strict=False))
    assert all(a < b for a, b in zip(bp, bp[1:], strict=False))
