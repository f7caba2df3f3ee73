"""The arbitrated scheduler's kernel (neurosim.numerics.kernels.schedule)
against the Python event loop and the GOLDEN arbiter: random graphs with
multi-resource ops and links of every policy, many duration vectors on one
prepared graph, by hand; the array form of the per-tuple sample timings a
run's report uses refuses bad tables (the real networks' batch graphs and
sample timings: tests/test_hw_timing_batch.py)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hw_models.timing import (
    ChipTiming,
    GoldenArbiter,
    Op,
    RuleTiming,
    sample_timing_table,
    tiles_for_network,
)
from hw_models.timing.arbiter import Arbitrated, _schedule
from neurosim.errors import ConfigError
from neurosim.numerics.kernels import _lazy

LINK_POLICY = ["oldest", "round_robin", "fixed_priority"]


def kernel():
    """numba's dispatcher of the kernel (whatever this process has loaded)."""
    from neurosim.numerics.kernels import schedule  # noqa: F401 -- registers it

    return next(k for k in _lazy.REGISTRY if k.key == "schedule.arbitrate_kernel").jit()


def kernel_times(graph: Arbitrated, durations: list[list[int]]) -> list[list[tuple[int, int]]]:
    """The kernel's schedules, called directly (numba's dispatcher)."""
    table = np.asarray(durations, dtype=np.int64).reshape(len(durations), len(graph.ops))
    starts, finishes = np.empty_like(table), np.empty_like(table)
    kernel()(table, *graph.arrays(), starts, finishes)
    return [list(zip(s, f, strict=True)) for s, f in zip(starts.tolist(), finishes.tolist(),
                                                          strict=True)]  # fmt: skip


@st.composite
def graphs(draw):
    """Ops on 'oldest' units and ports that may hold up to three of them, and
    single-resource ops on links of any policy with up to four senders."""
    n = draw(st.integers(1, 22))
    units = [f"u{k}" for k in range(draw(st.integers(1, 3)))]
    ports = [f"sram{k}" for k in range(draw(st.integers(0, 2)))]
    links = [f"l{k}" for k in range(draw(st.integers(0, 3)))]
    ops = []
    for i in range(n):
        deps = draw(st.lists(st.integers(0, i - 1), max_size=3)) if i else []  # repeats too
        dur, sender = draw(st.integers(0, 6)), draw(st.integers(0, 3))
        if links and draw(st.integers(0, 2)) == 0:
            res, holds = draw(st.sampled_from(links)), ()
        else:
            pool = draw(st.permutations(units + ports))
            k = draw(st.integers(1, min(3, len(pool))))
            res, holds = pool[0], tuple(pool[1:k])
        ops.append(Op(f"o{i}", res, dur, tuple(deps), sender, holds))
    pols = {r: draw(st.sampled_from(LINK_POLICY)) for r in links}
    return ops, pols


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs(), st.data())
def test_kernel_equals_the_event_loop_and_golden(case, data):
    ops, pols = case
    graph = Arbitrated(ops, pols)
    rows = [[op.duration for op in ops]] + [
        data.draw(st.lists(st.integers(0, 9), min_size=len(ops), max_size=len(ops)))
        for _ in range(3)
    ]
    got = kernel_times(graph, rows)
    for row, times in zip(rows, got, strict=True):
        patched = [op._replace(duration=d) for op, d in zip(ops, row, strict=True)]
        assert times == _schedule(graph, row) == GoldenArbiter(patched, pols, 10**6).run()
    starts, finishes = graph.run_many(np.asarray(rows))
    assert [list(zip(s, f, strict=True)) for s, f in zip(starts.tolist(), finishes.tolist(),
                                                         strict=True)] == got  # fmt: skip


def test_round_robin_and_fixed_priority_by_hand():
    # three senders ready at once on one link, a fourth op of sender 0 later:
    # round robin serves 0, 1, 2 then 0 again; fixed priority serves 0 twice first
    ops = [Op("a", "l", 2, (), 2), Op("b", "l", 2, (), 0), Op("c", "l", 2, (), 1),
           Op("d", "l", 2, (), 0)]  # fmt: skip
    graph = Arbitrated(ops, {"l": "round_robin"})
    assert kernel_times(graph, [[2, 2, 2, 2]])[0] == [(4, 6), (0, 2), (2, 4), (6, 8)]
    graph = Arbitrated(ops, {"l": "fixed_priority"})
    assert kernel_times(graph, [[2, 2, 2, 2]])[0] == [(6, 8), (0, 2), (4, 6), (2, 4)]
    # an op holding a unit and a port waits for both; the zero-duration op
    # finishes when its dependency does and releases its dependent at once
    ops = [Op("x", "u0", 3), Op("y", "sram0", 5), Op("z", "u0", 1, (), 0, ("sram0",)),
           Op("w", "u1", 0, (0,)), Op("v", "u1", 2, (3,))]  # fmt: skip
    assert kernel_times(Arbitrated(ops), [[3, 5, 1, 0, 2]])[0] == [
        (0, 3), (0, 5), (5, 6), (3, 3), (3, 5)]  # fmt: skip


def test_sample_timing_table_refuses_bad_tuples():
    RBP = RuleTiming(True, "next", "C")
    layers = tiles_for_network([4, 3, 2], 16, 16)
    chip = ChipTiming(2, 1, 4, 8, 4, 2, 8, 16, 4)
    ok = np.array([[8, 3]])
    sample_timing_table(layers, chip, RBP, ["skip", "chain1"], ok)
    with pytest.raises(ConfigError, match="bits"):
        sample_timing_table(layers, chip, RBP, ["skip"], ok)  # a column without a name
    with pytest.raises(ConfigError, match="msg_bits"):
        sample_timing_table(layers, chip, RBP, ["skip", "chain7"], ok)
    with pytest.raises(ConfigError, match="bits"):
        sample_timing_table(layers, chip, RBP, ["skip", "chain1"], np.array([[8, 3], [1, -1]]))
    with pytest.raises(ConfigError, match="bits"):
        sample_timing_table(layers, chip, RBP, ["skip", "chain1"], np.array([[8.0, 3.0]]))
    with pytest.raises(ConfigError, match="durations"):
        Arbitrated([Op("a", "u", 1)]).run_many(np.array([[1, 2]]))
    with pytest.raises(ConfigError, match="durations"):
        Arbitrated([Op("a", "u", 1)]).run_many(np.array([[-1]]))


def test_scheduling_alone_imports_no_numba():
    # a float run's report schedules without numba: the Python event loop,
    # or the kernel compiled ahead of time where one was built
    code = (
        "import sys\n"
        "from hw_models.timing import Op, schedule_arbitrated\n"
        "t = schedule_arbitrated([Op('a', 'u', 2), Op('b', 'u', 1, (0,))])\n"
        "assert t == [(0, 2), (2, 3)], t\n"
        "assert 'numba' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cycles_beyond_the_kernels_int64_take_the_event_loop():
    # durations summing past 2**62 would overflow the kernel's counters: the
    # event loop schedules them (Python integers), the same rule
    from hw_models.timing import schedule_arbitrated
    from hw_models.timing.arbiter import fast_kernel

    kernel()  # numba loaded: the kernel would take these
    assert fast_kernel() is not None
    big = 1 << 61
    ops = [Op("a", "u", big), Op("b", "u", big, (0,)), Op("c", "v", 3)]
    assert schedule_arbitrated(ops) == [(0, big), (big, 2 * big), (0, 3)]
    starts, finishes = Arbitrated(ops).run_many(np.array([[big, big - 1, 3], [1, 2, 3]]))
    assert finishes.tolist() == [[big, 2 * big - 1, 3], [1, 3, 3]]
    assert starts.tolist() == [[0, big, 0], [0, 1, 0]]
    assert Arbitrated(ops).run_many(np.zeros((0, 3), dtype=np.int64))[0].shape == (0, 3)
