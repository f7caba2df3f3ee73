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
from hw_models.timing.model import ChipTiming, LayerTiming, Op, ProjectionWork
from hw_models.timing.options import GraphOptions
from neurosim.errors import ConfigError

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
    same numbers computed once where they can be (:func:`sample_timing_table`,
    which takes the tuples as an array)."""
    opts = opts or GraphOptions()
    infer = build_inference_graph(layers, chip, opts)
    inference = max((f for _, f in schedule_arbitrated(infer, link_policies(opts.arbitration))),
                    default=0)  # fmt: skip
    each = None
    if msg_bits and not opts.conv:
        dense = dense_msg_bits(layers, chip, rule)
        keys = sorted(dense)
        table = np.asarray([[resolve_msg_bits(b, dense, len(layers))[k] for k in keys]
                            for b in msg_bits], dtype=np.int64).reshape(len(msg_bits), len(keys))
        spans = _shared_graph_spans(layers, chip, rule, keys, table, proj, opts, len(infer))
        if spans is not None:
            each = list(zip(spans[0].tolist(), spans[1].tolist(), strict=True))
    if each is None:
        each = _each_built(layers, chip, rule, msg_bits, proj, opts, len(infer))
    return [{"train": t, "forward": f, "backward": t - f, "inference": inference}
            for t, f in each]  # fmt: skip


def sample_timing_table(
    layers: Sequence[LayerTiming],
    chip: ChipTiming,
    rule: object,
    names: Sequence[str],
    bits: np.ndarray,
    proj: Mapping[int, ProjectionWork] | None = None,
    opts: GraphOptions | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`sample_timing` of many tuples of message sizes given as an array.

    A run's histogram of message sizes has thousands of tuples (RBP's four
    chain messages at 4 bits: 4,243 on mnist5k in ten epochs). The inference
    graph, which no message changes, is scheduled once. A message's size sets
    only the duration of its link op (``skip`` or ``chain{h}``:
    ``ceil(bits / width)``), so the dense layers' sample graph is built once
    and each distinct tuple of link durations scheduled on it: all at once
    by longest paths when its resources are
    :func:`~hw_models.timing.arbiter.chained` (nothing competes: every op
    starts when its last dependency finishes), else by the arbiter, the graph
    prepared once (:meth:`~hw_models.timing.arbiter.Arbitrated.run_many`).
    The shared graph is checked against a fresh build for the first and the
    last tuple; conv blocks, or a graph the check refuses, build each
    tuple's graph anew.

    Parameters
    ----------
    names : sequence of str
        The messages of ``bits``' columns (``skip``, ``chain{h}``); a message
        the rule sends and ``names`` lacks is dense (:func:`dense_msg_bits`).
    bits : ndarray of int, shape (K, len(names))
        Row ``k``: the message sizes (bits, >= 0) of tuple ``k``.

    Returns
    -------
    train, forward : ndarray of int64, shape (K,)
        Each tuple's sample latency and the finish of its forward phase
        (cycles); ``backward`` is their difference.
    inference : int
        Cycles of the forward-only graph.
    """
    opts = opts or GraphOptions()
    bits = np.asarray(bits)
    if bits.ndim != 2 or bits.shape[1] != len(names):
        raise ConfigError("bits", bits.shape, f"a (K, {len(names)}) array, a column per name")
    infer = build_inference_graph(layers, chip, opts)
    inference = max((f for _, f in schedule_arbitrated(infer, link_policies(opts.arbitration))),
                    default=0)  # fmt: skip
    rows = [dict(zip(names, r, strict=True)) for r in (bits[:1].tolist() + bits[-1:].tolist())]
    dense = dense_msg_bits(layers, chip, rule)
    for r in rows:  # unknown names and bad sizes raise here
        resolve_msg_bits(r, dense, len(layers))
    if bits.size and (bits.dtype.kind not in "iu" or bits.min() < 0):
        raise ConfigError("bits", bits.dtype, "integers >= 0")
    spans = None
    if bits.shape[0] and not opts.conv:
        keys = sorted(dense)
        table = np.empty((bits.shape[0], len(keys)), dtype=np.int64)
        for j, k in enumerate(keys):
            table[:, j] = bits[:, list(names).index(k)] if k in names else dense[k]
        spans = _shared_graph_spans(layers, chip, rule, keys, table, proj, opts, len(infer))
    if spans is None:
        msgs = [dict(zip(names, r, strict=True)) for r in bits.tolist()]
        each = _each_built(layers, chip, rule, msgs, proj, opts, len(infer))
        spans = tuple(np.asarray([e[j] for e in each], dtype=np.int64) for j in (0, 1))
    return spans[0], spans[1], inference


def _each_built(layers, chip, rule, msg_bits, proj, opts, n_fwd) -> list[tuple[int, int]]:
    """``[(train, forward)]`` per tuple, each tuple's graph built anew (the
    arbiter, or one pass when chained, once per distinct graph)."""
    pol = link_policies(opts.arbitration)
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
    return each


def _shared_graph_spans(layers, chip, rule, keys, table, proj, opts, n_fwd):
    """``(train, forward)`` arrays, one entry per row of ``table`` (the sizes
    of the messages ``keys``, the rule's dense ones, in bits), from one graph
    whose link ops take each row's durations; None where the shared graph
    does not apply."""
    head = dict(zip(keys, table[0].tolist(), strict=True))
    first = build_sample_graph(layers, chip, rule, head, proj, opts)
    index = {op.name: i for i, op in enumerate(first)}
    if not set(keys) <= set(index):
        return None
    width = np.asarray([chip.skip_width_bits if k == "skip" else chip.chain_width_bits
                        for k in keys], dtype=np.int64)  # fmt: skip
    at = [index[k] for k in keys]
    dur = np.asarray([op.duration for op in first], dtype=np.int64)
    links = -(-table // width)  # each message's link cycles
    for row in (0, -1):  # the shared graph is what a build gives
        ops = list(first)
        for i, d in zip(at, links[row].tolist(), strict=True):
            ops[i] = ops[i]._replace(duration=d)
        bits = dict(zip(keys, table[row].tolist(), strict=True))
        if ops != build_sample_graph(layers, chip, rule, bits, proj, opts):
            return None
    distinct, inverse = np.unique(links, axis=0, return_inverse=True)
    durations = np.tile(dur, (distinct.shape[0], 1))
    durations[:, at] = distinct
    if chained(first):  # every distinct tuple's longest paths at once (a NumPy vector per op)
        span, fwd = chained_spans([op.deps for op in first], durations, n_fwd)
    else:  # the arbiter on every distinct tuple, the graph prepared once
        finish = Arbitrated(first, link_policies(opts.arbitration)).run_many(durations)[1]
        span = finish.max(axis=1, initial=0)
        fwd = finish[:, :n_fwd].max(axis=1, initial=0)
    inverse = inverse.reshape(-1)
    return span[inverse], fwd[inverse]


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
