"""Throughput, latency, utilisation and bottleneck of a minibatch schedule.

Definitions
-----------
*Busy cycles* of a resource: the cycles an op occupies it over the batch
schedule (the sum of the durations of the ops that need it, as their
``resource`` or in their ``holds``). The tiles' SRAM ports (``sramW``,
``sramG``, ``sramC``; :mod:`hw_models.timing.graph`, *SRAM ports*) are
scheduled resources like the others: an op holds its port for its whole
duration and waits for it when another op holds it.

*Utilisation* of a class (``mac``, ``skip``, ``chain``, ``forward``,
``sram``, and also ``lut``, ``update``): busy cycles of the busiest resource
of the class divided by the batch makespan (0 when the class has no
resource); ``sram`` is the busiest port. The *bottleneck* is the busiest
resource overall, ports included (ties: the smallest name, so a MAC array
before the port it reads through).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from hw_models.timing.arbiter import (
    Arbitrated,
    chained,
    chained_spans,
    link_policies,
    schedule_arbitrated,
    schedule_chained,
)
from hw_models.timing.batch import build_batch_graph, busy_cycles
from hw_models.timing.conv import CONV_BACKWARD
from hw_models.timing.graph import (
    build_inference_graph,
    build_sample_graph,
    dense_msg_bits,
    resolve_msg_bits,
)
from hw_models.timing.model import ChipTiming, LayerTiming, Op, ProjectionWork, ceil_div
from hw_models.timing.options import GraphOptions

CLASSES = {"mac": "mac", "skip": "skip", "chain": "chain", "forward": "fwd", "sram": "sram",
           "lut": "lut", "update": "upd"}  # fmt: skip


@dataclass(frozen=True)
class BatchTiming:
    """A scheduled minibatch.

    Attributes
    ----------
    makespan : int
        Cycles from the first sample's start to the last op of the batch.
    samples : int
        Samples in the batch (``B``).
    update : int
        Cycles of the batch-end ops scheduled alone (0 with ``"online"``).
    busy : dict
        Resource -> busy cycles over the batch (SRAM ports included).
    """

    makespan: int
    samples: int
    update: int
    busy: dict[str, int]

    def utilization(self) -> dict[str, float]:
        """Busy fraction of the busiest resource of each class (see the module)."""
        out = {}
        for cls, prefix in CLASSES.items():
            most = max((b for r, b in self.busy.items() if r.startswith(prefix)), default=0)
            out[cls] = most / self.makespan if self.makespan else 0.0
        return out

    def bottleneck(self) -> str:
        """The busiest scheduled resource, SRAM ports included (ties: the
        smallest name); '' for an empty batch."""
        return min(self.busy, key=lambda r: (-self.busy[r], r), default="")


def _phase_makespan(ops: Sequence[Op]) -> int:
    """Makespan of the batch-end ops alone (their dependencies on samples dropped)."""
    first = next(
        (i for i, op in enumerate(ops) if ":" not in op.name and op.resource != "barrier"),
        len(ops),
    )
    tail = [
        op._replace(deps=tuple(d - first for d in op.deps if d >= first)) for op in ops[first:]
    ]
    return max((f for _, f in schedule_arbitrated(tail)), default=0)


def batch_timing(
    layers: Sequence[LayerTiming],
    chip: ChipTiming,
    rule: object,
    msgs: Sequence[Mapping[str, int] | None],
    proj: Mapping[int, ProjectionWork] | None = None,
    opts: GraphOptions | None = None,
    pipeline: bool = False,
) -> BatchTiming:
    """Schedule a minibatch (:func:`~hw_models.timing.batch.build_batch_graph`)
    with the arbitrated FAST scheduler and the links' arbitration of ``opts``."""
    opts = opts or GraphOptions()
    ops = build_batch_graph(layers, chip, rule, msgs, proj, opts, pipeline)
    times = schedule_arbitrated(ops, link_policies(opts.arbitration))
    busy = dict(busy_cycles(op for op in ops if op.duration))
    span = max((f for _, f in times), default=0)
    return BatchTiming(span, len(msgs), _phase_makespan(ops), busy)


def sample_timing(
    layers: Sequence[LayerTiming],
    chip: ChipTiming,
    rule: object,
    msg_bits: Mapping[str, int] | None = None,
    proj: Mapping[int, ProjectionWork] | None = None,
    opts: GraphOptions | None = None,
) -> dict[str, int]:
    """Cycles of one sample alone, arbitrated scheduler.

    Returns
    -------
    dict
        ``train``: makespan of the sample's graph (its last gradient op, or its
        online weight update: the latency of a sample); ``forward``: finish of
        its forward phase; ``backward``: ``train - forward``; ``inference``:
        makespan of the forward-only graph.
    """
    opts = opts or GraphOptions()
    pol = link_policies(opts.arbitration)
    ops = build_sample_graph(layers, chip, rule, msg_bits, proj, opts)
    infer = build_inference_graph(layers, chip, opts)
    times = schedule_arbitrated(ops, pol)
    train = max((f for _, f in times), default=0)
    forward = max((f for _, f in times[: len(infer)]), default=0)
    inference = max((f for _, f in schedule_arbitrated(infer, pol)), default=0)
    return {"train": train, "forward": forward, "backward": train - forward,
            "inference": inference}  # fmt: skip


def sample_timings(
    layers: Sequence[LayerTiming],
    chip: ChipTiming,
    rule: object,
    msg_bits: Sequence[Mapping[str, int] | None],
    proj: Mapping[int, ProjectionWork] | None = None,
    opts: GraphOptions | None = None,
) -> list[dict[str, int]]:
    """:func:`sample_timing` of every message-size tuple in ``msg_bits``, the
    same numbers computed once where they can be.

    A run's histogram of message sizes has thousands of tuples (RBP's four
    chain messages at 4 bits: 1,859 on mnist5k in two epochs). The inference
    graph, which no message changes, is scheduled once. A message's size sets
    only the duration of its link op (``skip`` or ``chain{h}``:
    ``ceil(bits / width)``), so the dense layers' sample graph is built once;
    when its resources are :func:`~hw_models.timing.arbiter.chained` (nothing
    competes: every op starts when its last dependency finishes) each tuple
    is one longest-path pass over it with its own link durations, else each
    distinct tuple goes to the arbiter, the graph's resources and policies
    prepared once. The shared graph is checked against a fresh build for the
    first and the last tuple.
    """
    opts = opts or GraphOptions()
    pol = link_policies(opts.arbitration)
    infer = build_inference_graph(layers, chip, opts)
    inference = max((f for _, f in schedule_arbitrated(infer, pol)), default=0)
    n_fwd = len(infer)
    each = _by_link_durations(layers, chip, rule, msg_bits, proj, opts, n_fwd)
    if each is None:  # rebuild per tuple: arbiter (or one pass) per distinct graph
        done: dict[tuple[Op, ...], tuple[int, int]] = {}
        each = []
        for bits in msg_bits:
            ops = tuple(build_sample_graph(layers, chip, rule, bits, proj, opts))
            if ops not in done:
                times = schedule_chained(ops) if chained(ops) else schedule_arbitrated(ops, pol)
                done[ops] = (
                    max((f for _, f in times), default=0),
                    max((f for _, f in times[:n_fwd]), default=0),
                )
            each.append(done[ops])
    return [{"train": t, "forward": f, "backward": t - f, "inference": inference}
            for t, f in each]  # fmt: skip


def _by_link_durations(layers, chip, rule, msg_bits, proj, opts, n_fwd):
    """``[(train, forward)]`` per tuple from one graph whose link ops take each
    tuple's durations: one NumPy longest-path pass over every distinct tuple
    when the graph is chained, else the arbiter per distinct tuple on the
    graph prepared once (:class:`~hw_models.timing.arbiter.Arbitrated`);
    None where the shared graph does not apply."""
    if not msg_bits or opts.conv:
        return None
    first = build_sample_graph(layers, chip, rule, msg_bits[0], proj, opts)
    dense = dense_msg_bits(layers, chip, rule)
    width = {k: chip.skip_width_bits if k == "skip" else chip.chain_width_bits for k in dense}
    index = {op.name: i for i, op in enumerate(first)}
    if not set(dense) <= set(index):
        return None
    links = [(index[k], k, width[k]) for k in sorted(dense)]
    deps = [op.deps for op in first]
    dur = [op.duration for op in first]

    def durations(bits) -> tuple[int, ...]:
        b = resolve_msg_bits(bits, dense, len(layers))
        return tuple(ceil_div(b[k], w) for _, k, w in links)

    def patched(key: tuple[int, ...]) -> list[Op]:
        ops = list(first)
        for (i, _, _), d in zip(links, key, strict=True):
            ops[i] = ops[i]._replace(duration=d)
        return ops

    for bits in (msg_bits[0], msg_bits[-1]):  # the shared graph is what a build gives
        if patched(durations(bits)) != build_sample_graph(layers, chip, rule, bits, proj, opts):
            return None
    keys = [durations(bits) for bits in msg_bits]
    distinct = list(dict.fromkeys(keys))
    if chained(first):  # every distinct tuple's longest paths at once (a NumPy vector per op)
        table = np.tile(np.asarray(dur, dtype=np.int64), (len(distinct), 1))
        table[:, [i for i, _, _ in links]] = np.asarray(distinct, dtype=np.int64)
        span, fwd = chained_spans(deps, table, n_fwd)
        done = {key: (int(s), int(f)) for key, s, f in zip(distinct, span, fwd, strict=True)}
    else:  # the arbiter per distinct tuple, on the graph prepared once
        graph = Arbitrated(first, link_policies(opts.arbitration))
        done = {}
        for key in distinct:
            for (i, _, _), d in zip(links, key, strict=True):
                dur[i] = d
            times = graph.run(dur)
            done[key] = (max((f for _, f in times), default=0),
                         max((f for _, f in times[:n_fwd]), default=0))  # fmt: skip
    return [done[key] for key in keys]


def block_cycles(
    layers: Sequence[LayerTiming],
    chip: ChipTiming,
    rule: object,
    proj: Mapping[int, ProjectionWork] | None = None,
    opts: GraphOptions | None = None,
) -> dict[str, int]:
    """The conv blocks' part of the schedule (zeros without blocks).

    ``forward``: the cycle at which the last block's pooled map has reached
    the first dense layer, one sample alone; ``backward``: from the first
    start to the last finish of the blocks' backward ops (projections,
    transposed reads, chain transfers into the blocks, gradients) in that
    sample, dense messages on the dense layers' links; ``update``: the blocks'
    write-back ops alone (once per minibatch). These overlap the dense layers'
    ops: they are shares of the one schedule, not terms to add.
    """
    opts = opts or GraphOptions()
    nb = len(opts.conv)
    if not nb:
        return {"forward": 0, "backward": 0, "update": 0}
    pol = link_policies(opts.arbitration)
    ops = build_batch_graph(layers, chip, rule, [None], proj, opts)
    times = dict(zip((op.name for op in ops), schedule_arbitrated(ops, pol), strict=True))
    back = [t for name, t in times.items() if CONV_BACKWARD.match(name)]
    upd = [op._replace(deps=()) for op in ops if op.name.startswith("updK")]
    return {
        "forward": times[f"s0:factK{nb}"][1],
        "backward": max(f for _, f in back) - min(s for s, _ in back) if back else 0,
        "update": max((f for _, f in schedule_arbitrated(upd)), default=0),
    }
