"""Tests of ops that hold several resources (the tiles' SRAM ports): FAST =
GOLDEN on random multi-resource graphs, no deadlock, the grant by age across
resources, and the ports of the real graphs."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hw_models.timing import (
    ChipTiming,
    GoldenArbiter,
    GoldenStepper,
    GraphOptions,
    Op,
    RuleTiming,
    batch_timing,
    build_batch_graph,
    build_sample_graph,
    link_policies,
    sample_timing,
    schedule,
    schedule_arbitrated,
    tiles_for_network,
)
from neurosim.errors import ConfigError

SRBP = RuleTiming(True, "top", "C")
RBP = RuleTiming(True, "next", "C")
BP = RuleTiming(True, "next", "W")
TOP = RuleTiming(False, "top", "C")
TINY = tiles_for_network([4, 3, 2], 16, 16)
CHIP = ChipTiming(2, 1, 4, 8, 4, 2, 8, 16, 4)


def both(ops, policies=None):
    fast = schedule_arbitrated(ops, policies)
    assert GoldenArbiter(ops, policies, 10**6).run() == fast
    return fast


def check_exclusive(ops, times) -> None:
    """Dependencies respected; no two ops hold a resource in the same cycle."""
    held: dict[str, list[tuple[int, int]]] = {}
    for op, (s, f) in zip(ops, times, strict=True):
        assert f == s + op.duration and all(times[d][1] <= s for d in op.deps)
        if op.duration:
            for r in op.resources:
                held.setdefault(r, []).append((s, f))
    for spans in held.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


@st.composite
def multi_graphs(draw):
    """Ops on 'oldest' units and ports (``sram*``) that may hold up to three of
    them, and single-resource ops on links of any policy."""
    n = draw(st.integers(0, 18))
    units = [f"u{k}" for k in range(draw(st.integers(1, 3)))]
    ports = [f"sram{k}" for k in range(draw(st.integers(1, 3)))]
    links = [f"l{k}" for k in range(draw(st.integers(0, 2)))]
    ops = []
    for i in range(n):
        deps = draw(st.lists(st.integers(0, i - 1), max_size=3, unique=True)) if i else []
        dur, sender = draw(st.integers(0, 6)), draw(st.integers(0, 3))
        if links and draw(st.integers(0, 3)) == 0:
            res, holds = draw(st.sampled_from(links)), ()
        else:
            pool = draw(st.permutations(units + ports))
            k = draw(st.integers(1, min(3, len(pool))))
            res, holds = pool[0], tuple(pool[1:k])
        ops.append(Op(f"o{i}", res, dur, tuple(sorted(deps)), sender, holds))
    pols = {r: draw(st.sampled_from(["round_robin", "fixed_priority"])) for r in links}
    return ops, pols


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(multi_graphs())
def test_fast_equals_golden_with_multi_resource_ops(case):
    ops, pols = case
    times = both(ops, pols)
    check_exclusive(ops, times)
    # no deadlock, no idle cycle: until the makespan some op runs in every cycle
    # (a ready op whose resources are free always starts), so the makespan is
    # at most the sum of the durations
    assert max((f for _, f in times), default=0) <= sum(op.duration for op in ops)


@settings(max_examples=300, deadline=None)
@given(multi_graphs())
def test_in_order_fast_equals_golden_with_multi_resource_ops(case):
    ops, _ = case
    fast = schedule(ops)
    check_exclusive(ops, fast)
    assert GoldenStepper(ops, 10**6).run() == fast


@settings(max_examples=200, deadline=None)
@given(multi_graphs(), st.data())
def test_a_prepared_graph_under_other_durations_is_that_graph_scheduled(case, data):
    """Arbitrated(ops).run(durations) is the golden arbiter's schedule of the
    same ops carrying those durations, run after run on one prepared graph."""
    from hw_models.timing.arbiter import Arbitrated

    ops, pols = case
    graph = Arbitrated(ops, pols)
    for _ in range(3):
        dur = data.draw(st.lists(st.integers(0, 6), min_size=len(ops), max_size=len(ops)))
        patched = [op._replace(duration=d) for op, d in zip(ops, dur, strict=True)]
        assert graph.run(dur) == GoldenArbiter(patched, pols, 10**6).run()
    with pytest.raises(ConfigError, match="durations"):
        graph.run([1] * (len(ops) + 1))


def test_grant_by_age_across_resources():
    # X keeps the port busy until 2; at 2 the unit's B (needs the port) is
    # older than C (unit only): B starts first; D (port only) is older than C
    # but its port is taken by B, so it waits; C waits for the unit.
    ops = [
        Op("X", "sram0", 2),
        Op("B", "u0", 3, (), 0, ("sram0",)),
        Op("D", "sram0", 1, (0,)),
        Op("C", "u0", 1),
    ]
    # cycle 0: X (older) takes the port, so B cannot start and the unit starts C
    assert both(ops) == [(0, 2), (2, 5), (5, 6), (0, 1)]
    # an op needing two units and a port waits for all three, then takes them at once
    ops = [Op("A", "u0", 4), Op("P", "sram0", 2), Op("M", "u1", 3, (), 0, ("u0", "sram0")),
           Op("N", "u1", 1)]  # fmt: skip
    assert both(ops) == [(0, 4), (0, 2), (4, 7), (0, 1)]


def test_a_link_in_holds_is_rejected():
    ops = [Op("A", "u0", 1, (), 0, ("fwd1",))]
    with pytest.raises(ConfigError):
        schedule_arbitrated(ops, link_policies({}))
    with pytest.raises(ConfigError):
        GoldenArbiter(ops, link_policies({}), 10)
    with pytest.raises(ConfigError):
        schedule_arbitrated([Op("A", "u0", 1, (), 0, ("u0",))])


# ------------------------------------------------------------------ the ports of the graphs


def _holds(ops) -> dict[str, tuple[str, ...]]:
    return {op.name: op.holds for op in ops}


def test_which_op_holds_which_port():
    opts = GraphOptions(dc_nnz={1: 1.0})
    ops = build_batch_graph(TINY, CHIP, SRBP, [None], None, opts)
    h = _holds(ops)
    assert h["s0:fmac1.0"] == ("sramW1.0",)
    assert h["s0:bproj1.0"] == ("sramC1.0",)
    assert h["s0:grad1.0"] == h["s0:dc1.0"] == ("sramG1.0",)
    assert h["upd1.0"] == ("sramG1.0", "sramW1.0")
    assert h["dcw1.0"] == ("sramC1.0", "sramG1.0")
    assert h["s0:flut1"] == h["s0:skip"] == ()
    online = _holds(build_sample_graph(TINY, CHIP, SRBP, opts=GraphOptions(
        accumulate="online", dc_nnz={}, feedback_sram=False)))  # fmt: skip
    assert online["grad1.0"] == online["dc1.0"] == online["bproj1.0"] == ()  # no G, no C
    assert online["wupd1.0"] == ("sramW1.0",) and online["dcw1.0"] == ()
    reg = _holds(build_batch_graph(TINY, CHIP, SRBP, [None], None,
                                   GraphOptions(accumulate="register")))  # fmt: skip
    assert reg["gsum1.0"] == () and reg["upd1.0"] == ("sramW1.0",)
    bp = _holds(build_sample_graph(TINY, CHIP, BP))
    assert bp["bwt2.0"] == ("sramW2.0",)
    shared = _holds(build_sample_graph(TINY, CHIP, BP, opts=GraphOptions(n_tiles=1)))
    assert shared["fmac2.0"] == ("sramW@0",)
    assert all(not op.holds for op in build_sample_graph(
        TINY, CHIP, SRBP, opts=GraphOptions(ports=False)))  # fmt: skip


@pytest.mark.parametrize("rule", [SRBP, RBP, BP, TOP])
@pytest.mark.parametrize("accumulate", ["sram", "register", "online"])
def test_ports_never_delay_one_sample_alone(rule, accumulate):
    # within one sample every port user of a tile is ordered by its
    # dependencies or by the MAC array: the ports add no wait
    for layers in (TINY, tiles_for_network([20, 9, 7, 5, 3], 4, 6)):
        for dc in (None, {h: 1.5 for h in range(1, len(layers))}):
            with_ports = GraphOptions(accumulate=accumulate, dc_nnz=dc)
            without = GraphOptions(accumulate=accumulate, dc_nnz=dc, ports=False)
            a = sample_timing(layers, CHIP, rule, opts=with_ports)
            assert a == sample_timing(layers, CHIP, rule, opts=without)
            ops = build_sample_graph(layers, CHIP, rule, opts=with_ports)
            assert both(ops, link_policies({})) == schedule(ops)


def test_write_back_waits_for_the_port_and_the_old_weights_reads():
    # sram: the batch-end upd (upd unit, ports G and W) of the dC tile waits
    # for the last sample's dc (MAC array, port G), which is older
    opts = GraphOptions(dc_nnz={1: 1.0})
    ops = build_batch_graph(TINY, CHIP, SRBP, [None, None], None, opts, True)
    t = dict(zip((op.name for op in ops), both(ops, link_policies({})), strict=True))
    assert t["s1:grad1.0"][1] == t["s1:dc1.0"][0]  # dc right after the last grad
    assert t["upd1.0"][0] == t["s1:dc1.0"][1]  # upd ready at the same cycle, waits for G
    # BP pipelined: the write-back of W^h waits for every sample's transposed read
    ops = build_batch_graph(tiles_for_network([4, 3, 3, 2], 16, 16), CHIP, BP, [None] * 2,
                            None, GraphOptions(), True)  # fmt: skip
    t = dict(zip((op.name for op in ops), both(ops, link_policies({})), strict=True))
    for h in (2, 3):
        assert t[f"upd{h}.0"][0] >= t[f"s1:bwt{h}.0"][1]


def test_utilisation_counts_the_busiest_port():
    opts = GraphOptions(accumulate="online")
    bt = batch_timing(TINY, CHIP, TOP, [None, None], None, opts, True)
    # sramW2.0: 2 x (fmac2 3 + wupd2 2); sramW1.0: 2 x fmac1 6
    assert bt.busy["sramW2.0"] == 10 and bt.busy["sramW1.0"] == 12
    assert "sramG2.0" not in bt.busy  # online: no gradient SRAM
    assert bt.utilization()["sram"] == pytest.approx(12 / bt.makespan)
