"""Tests of the minibatch timing: arbitrated FAST scheduler = GOLDEN arbiter,
pipelined and serial batch graphs, gradient strategies, zero skipping, shared tiles."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hw_models.timing import (
    ChipTiming,
    GoldenArbiter,
    GraphOptions,
    Op,
    ProjectionWork,
    RuleTiming,
    batch_timing,
    build_batch_graph,
    build_sample_graph,
    link_policies,
    representative_batch,
    sample_timing,
    sample_timing_table,
    sample_timings,
    schedule,
    schedule_arbitrated,
    tiles_for_network,
)
from hw_models.timing.arbiter import chained, schedule_chained
from hw_models.timing.graph import tile_suffixes
from neurosim.errors import ConfigError

SRBP = RuleTiming(True, "top", "C")
RBP = RuleTiming(True, "next", "C")
BP = RuleTiming(True, "next", "W")
SBP = RuleTiming(True, "next_raw", "W")
TOP = RuleTiming(False, "top", "C")
DRTP = RuleTiming(True, "target", "C")
RULES = [SRBP, RBP, BP, SBP, TOP, DRTP]
TINY = tiles_for_network([4, 3, 2], 16, 16)
CHIP = ChipTiming(2, 1, 4, 8, 4, 2, 8, 16, 4)
POLICY = ["oldest", "round_robin", "fixed_priority"]


def both(ops, policies=None):
    fast = schedule_arbitrated(ops, policies)
    assert GoldenArbiter(ops, policies, 10**6).run() == fast
    return fast


def span(ops, policies=None) -> int:
    return max((f for _, f in both(ops, policies)), default=0)


# ------------------------------------------------------------------ arbitration


def test_link_arbitration_by_hand():
    # four ops ready at cycle 0 on one link: senders 1, 1, 0, 0
    ops = [Op(n, "fwd1", 2, (), s) for n, s in (("A", 1), ("B", 1), ("C", 0), ("D", 0))]
    order = {
        "oldest": "ABCD",
        "fixed_priority": "CDAB",
        "round_robin": "CADB",  # pointer starts at the last sender: sender 0 first, then alternate
    }
    for pol, want in order.items():
        times = both(ops, {"fwd1": pol})
        got = "".join(op.name for _, op in sorted(zip(times, ops, strict=True)))
        assert got == want, pol


def test_ready_op_overtakes_an_unready_older_one():
    # list order would make B wait for A (A waits on the slow X); arbitration does not
    ops = [Op("X", "x", 5), Op("A", "r", 1, (0,)), Op("B", "r", 1)]
    assert both(ops) == [(0, 5), (5, 6), (0, 1)]
    assert schedule(ops) == [(0, 5), (5, 6), (6, 7)]


def test_zero_duration_ops_occupy_nothing():
    ops = [Op("A", "r", 3), Op("Z", "r", 0), Op("B", "r", 0, (0,)), Op("C", "r", 1, (2,))]
    assert both(ops) == [(0, 3), (0, 0), (3, 3), (3, 4)]


def test_unknown_policy():
    with pytest.raises(ConfigError):
        schedule_arbitrated([Op("A", "r", 1)], {"r": "lottery"})


@st.composite
def random_graphs(draw):
    n = draw(st.integers(0, 16))
    n_res = draw(st.integers(1, 4))
    ops = []
    for i in range(n):
        deps = draw(st.lists(st.integers(0, i - 1), max_size=3, unique=True)) if i else []
        res = f"r{draw(st.integers(0, n_res - 1))}"
        dur, sender = draw(st.integers(0, 6)), draw(st.integers(0, 3))
        ops.append(Op(f"o{i}", res, dur, tuple(sorted(deps)), sender))
    pols = {f"r{k}": draw(st.sampled_from(POLICY)) for k in range(n_res)}
    return ops, pols


@settings(max_examples=300, deadline=None)
@given(random_graphs())
def test_fast_equals_golden_on_random_graphs(case):
    ops, pols = case
    times = both(ops, pols)
    for op, (s, f) in zip(ops, times, strict=True):
        assert f == s + op.duration and all(times[d][1] <= s for d in op.deps)


# ------------------------------------------------------------------ real networks


@st.composite
def batch_cases(draw):
    sizes = draw(st.lists(st.integers(1, 9), min_size=2, max_size=4))
    rows, cols = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    layers = tiles_for_network(sizes, rows, cols)
    L = len(layers)
    chip = ChipTiming(*(draw(st.integers(1, 9)) for _ in range(9)))
    rule = draw(st.sampled_from(RULES))
    hidden = rule.trains_hidden and L > 1
    trained = [L] + ([h for h in range(1, L) if draw(st.booleans())] if hidden else [])
    skip = draw(st.booleans())
    nnz = {h: draw(st.floats(0, sizes[h])) for h in range(1, L + 1)} if skip else None
    dc = {h: draw(st.floats(0, 4)) for h in range(1, L)} if hidden and draw(st.booleans()) else None
    opts = GraphOptions(
        trained=tuple(trained), accumulate=draw(st.sampled_from(["sram", "register", "online"])),
        grad_nnz=nnz, dc_nnz=dc, n_tiles=draw(st.none() | st.integers(1, 5)),
        arbitration={k: draw(st.sampled_from(POLICY[1:])) for k in ("forward", "skip", "chain")},
    )  # fmt: skip
    keys = ["skip"] + [f"chain{h}" for h in range(1, L)]
    msgs = [{k: draw(st.integers(0, 40)) for k in keys} for _ in range(draw(st.integers(1, 3)))]
    proj = {h: ProjectionWork(draw(st.integers(0, 5)), draw(st.integers(0, 3)))
            for h in range(1, L) if rule.matrix == "C" and draw(st.booleans())}  # fmt: skip
    return layers, chip, rule, msgs, proj, opts, draw(st.booleans())


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch_cases())
def test_fast_equals_golden_on_batches_of_real_networks(case):
    layers, chip, rule, msgs, proj, opts, pipeline = case
    ops = build_batch_graph(layers, chip, rule, msgs, proj, opts, pipeline)
    both(ops, link_policies(opts.arbitration))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch_cases())
def test_the_scheduler_kernel_on_batches_of_real_networks(case):
    # the kernel (compiled, or numba's once loaded) = the Python event loop
    from hw_models.timing.arbiter import Arbitrated, _schedule, fast_kernel
    from neurosim.numerics.kernels import _lazy

    _lazy.materialize()
    assert fast_kernel() is not None
    layers, chip, rule, msgs, proj, opts, pipeline = case
    ops = build_batch_graph(layers, chip, rule, msgs, proj, opts, pipeline)
    graph = Arbitrated(ops, link_policies(opts.arbitration))
    row = [op.duration for op in ops]
    starts, finishes = graph.run_many(np.asarray([row]).reshape(1, len(ops)))
    assert list(zip(starts[0].tolist(), finishes[0].tolist(), strict=True)) == _schedule(graph, row)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch_cases())
def test_sample_timing_table_equals_each_sample_alone(case):
    layers, chip, rule, msgs, proj, opts, _ = case
    names = sorted(msgs[0])
    bits = np.asarray([[m[k] for k in names] for m in msgs], dtype=np.int64)
    train, forward, inference = sample_timing_table(layers, chip, rule, names, bits, proj, opts)
    want = [sample_timing(layers, chip, rule, m, proj, opts) for m in msgs]
    assert train.tolist() == [w["train"] for w in want]
    assert forward.tolist() == [w["forward"] for w in want]
    assert all(w["inference"] == inference for w in want)
    assert sample_timings(layers, chip, rule, msgs, proj, opts) == want
    # a message the columns lack is dense, as in sample_timing
    part = sample_timing_table(layers, chip, rule, names[:1], bits[:, :1], proj, opts)
    alone = [sample_timing(layers, chip, rule, {names[0]: m[names[0]]}, proj, opts) for m in msgs]
    assert part[0].tolist() == [w["train"] for w in alone]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch_cases())
def test_serial_batch_is_the_sum_of_its_samples(case):
    layers, chip, rule, msgs, proj, opts, _ = case
    bt = batch_timing(layers, chip, rule, msgs, proj, opts, pipeline=False)
    one = sum(sample_timing(layers, chip, rule, m, proj, opts)["train"] for m in msgs)
    assert bt.makespan == one + bt.update
    assert bt.makespan >= batch_timing(layers, chip, rule, msgs, proj, opts, True).makespan - (
        0 if opts.accumulate != "online" else bt.makespan)  # pipelining never loses w/o online


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch_cases())
def test_many_samples_at_once_equal_each_alone(case):
    layers, chip, rule, msgs, proj, opts, _ = case
    many = msgs + msgs[:1] + [{k: v + 1 for k, v in msgs[0].items()}]  # a repeat, a neighbour
    got = sample_timings(layers, chip, rule, many, proj, opts)
    assert got == [sample_timing(layers, chip, rule, m, proj, opts) for m in many]


def test_chained_by_hand():
    # B waits for A on the same MAC: chained; C shares the link with D but not an ancestry
    a, b = Op("A", "mac", 3, ()), Op("B", "mac", 2, (0,))
    assert chained([a, b]) and schedule_chained([a, b]) == [(0, 3), (3, 5)]
    c, d = Op("C", "link", 2, ()), Op("D", "link", 2, ())
    assert not chained([c, d])  # they compete: the arbiter decides
    # a held port counts as a resource too
    e, f = Op("E", "mac", 1, (), holds=("port",)), Op("F", "sram", 1, (), holds=("port",))
    assert not chained([e, f])


@pytest.mark.parametrize("rule", RULES)
def test_chained_sample_graphs_take_the_one_pass_schedule_of_the_arbiter(rule):
    for layers in (TINY, tiles_for_network([20, 9, 7, 5, 3], 4, 6)):
        ops = build_sample_graph(layers, CHIP, rule)
        # the random-feedback rules' sample graphs are chained; BP's and SBP's
        # (a tile's gradient and its transposed read may overlap) are not
        assert chained(ops) == (rule not in (BP, SBP))
        if chained(ops):
            assert schedule_chained(ops) == both(ops)


@pytest.mark.parametrize("rule", RULES)
def test_one_sample_arbitrated_equals_list_order(rule):
    # the default graphs list every resource's ops in an order the arbitration keeps
    for layers in (TINY, tiles_for_network([20, 9, 7, 5, 3], 4, 6)):
        ops = build_sample_graph(layers, CHIP, rule)
        assert both(ops, link_policies({})) == schedule(ops)


# ------------------------------------------------------------------ by hand (TINY, top-only)
# fmac1 6, flut1 3, fact1 3, fmac2 3, flut2 2, grad2 3, upd2 2, wupd2 2 cycles


@pytest.mark.parametrize(
    ("accumulate", "pipeline", "makespan"),
    [
        ("sram", False, 20 + 20 + 2),
        # s1: fmac1 [6,12), fact1 [15,18), fmac2 waits for s0's grad2 [17,20): [20,23),
        # flut2 [23,25), grad2 [25,28); upd2 [28,30)
        ("sram", True, 30),
        # online: s1's fmac2 waits for s0's wupd2 [20,22): [22,25), grad2 [27,30), wupd2 [30,32)
        ("online", True, 32),
        ("online", False, 22 + 22),
        # register: no grads; s1's flut2 [21,23); gsum2 2*6/2 = 6: [23,29); upd2 [29,31)
        ("register", True, 31),
        ("register", False, 17 + 17 + 6 + 2),
    ],
)
def test_tiny_batch_by_hand(accumulate, pipeline, makespan):
    opts = GraphOptions(accumulate=accumulate)
    assert span(build_batch_graph(TINY, CHIP, TOP, [None, None], None, opts, pipeline)) == makespan


def test_online_locks_bp_but_not_srbp_early_layers():
    layers = tiles_for_network([8, 8, 8, 8, 2], 8, 8)
    opts = GraphOptions(accumulate="online")
    msgs = [None] * 4
    bp = batch_timing(layers, CHIP, BP, msgs, None, opts, True).makespan
    srbp = batch_timing(layers, CHIP, SRBP, msgs, None, opts, True).makespan
    assert srbp < bp


def test_zero_skip_freeze_and_dc_work():
    ops = build_sample_graph(TINY, CHIP, SRBP, opts=GraphOptions(
        trained=(2,), grad_nnz={1: 1.5, 2: 1.0}, dc_nnz={1: 1.0}))  # fmt: skip
    d = {op.name: op.duration for op in ops}
    assert "grad1.0" not in d  # frozen
    assert d["grad2.0"] == 2  # ceil(1.0 * 2/2 rows * 3 cols / 2)
    assert d["dc1.0"] == 2  # ceil(3 rows * 1.0 / 2)
    online = build_sample_graph(TINY, CHIP, SRBP, opts=GraphOptions(
        accumulate="online", dc_nnz={}))  # fmt: skip
    d = {op.name: op.duration for op in online}
    assert d["wupd1.0"] == 3 and d["dc1.0"] == 3 and d["dcw1.0"] == 2  # 12/4, 3*2/2, 3*2/4


def test_shared_tiles():
    layers = tiles_for_network([4, 6, 6, 2], 3, 4)  # 2 + 4 + 2 blocks
    assert set(tile_suffixes(layers, None).values()) == {
        "1.0", "1.1", "2.0", "2.1", "2.2", "2.3", "3.0", "3.1"}  # fmt: skip
    assert tile_suffixes(layers, 8) == tile_suffixes(layers, None)
    sfx = tile_suffixes(layers, 3)  # block b on physical tile b mod 3
    assert [sfx[h, t] for h, t in sorted(sfx)] == ["@0", "@1", "@2", "@0", "@1", "@2", "@0", "@1"]
    ops = build_sample_graph(layers, CHIP, RBP, opts=GraphOptions(n_tiles=3))
    assert {op.resource for op in ops if op.resource.startswith("mac")} == {"mac@0", "mac@1",
                                                                           "mac@2"}  # fmt: skip
    alone = sample_timing(layers, CHIP, RBP)["train"]
    assert sample_timing(layers, CHIP, RBP, opts=GraphOptions(n_tiles=1))["train"] > alone


def test_representative_batch():
    # positions a: 1/6, 1/2, 5/6; b: 1/2 (after a's, the larger count)
    assert representative_batch({"a": 3, "b": 1}, 4) == ["a", "a", "b", "a"]
    assert representative_batch({"a": 3, "b": 1}, 2) == ["a", "a"]
    assert representative_batch({"x": 2, "y": 2}, 4) == ["x", "y", "x", "y"]
    assert sorted(representative_batch({"a": 1, "b": 1, "c": 1}, 7)) == list("aaabbcc")


def test_utilisation_and_bottleneck():
    bt = batch_timing(TINY, CHIP, TOP, [None, None], pipeline=True)
    assert bt.makespan == 30 and bt.update == 2
    u = bt.utilization()
    assert set(u) >= {"mac", "skip", "chain", "forward", "sram"}
    assert u["mac"] == pytest.approx(12 / 30)  # mac1.0: 2 x fmac1 6; mac2.0: 2 x (3 + 3)
    assert u["forward"] == pytest.approx(6 / 30)  # fwd2: 2 x fact1 3
    assert u["skip"] == 0.0 and u["chain"] == 0.0
    # ports are separate macros: sramW1.0 2 x fmac1 6 = 12; sramW2.0 2 x fmac2 3 + upd2 2 = 8;
    # sramG2.0 2 x grad2 3 + upd2 2 = 8
    assert bt.busy["sramW1.0"] == 12 and bt.busy["sramW2.0"] == bt.busy["sramG2.0"] == 8
    assert u["sram"] == pytest.approx(12 / 30)
    assert bt.bottleneck() == "mac1.0"  # ties with mac2.0 and sramW1.0: the smallest name


def test_chained_spans_equal_one_pass_per_case():
    """Many duration vectors at once: each case's makespan and first-ops
    finish equal chained_finishes on that case alone (a graph built here)."""
    from hw_models.timing.arbiter import chained_finishes, chained_spans

    rng = np.random.default_rng(7)
    for trial in range(20):
        n = int(rng.integers(1, 40))
        deps = [tuple(sorted(set(rng.integers(0, i, size=int(rng.integers(0, 4))).tolist())))
                if i else () for i in range(n)]  # fmt: skip
        table = rng.integers(0, 1000, size=(int(rng.integers(1, 9)), n)).astype(np.int64)
        n_first = int(rng.integers(0, n + 2))
        span, first = chained_spans(deps, table, n_first)
        for k in range(table.shape[0]):
            finish = chained_finishes(deps, table[k].tolist())
            assert span[k] == max(finish, default=0)
            assert first[k] == max(finish[:n_first], default=0), (trial, k, n_first)
