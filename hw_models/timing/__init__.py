"""Cycle-level timing of the tiled chip: resources, operation graphs, schedulers.

One training sample on the chip is a graph of operations (:class:`Op`); a
minibatch is ``B`` such graphs and the batch-end update
(:func:`build_batch_graph`), pipelined or not. Each operation occupies a
*resource* (a tile's MAC array, a layer's activation unit, a link) for a
whole number of cycles, and may hold further resources for the same cycles
(:attr:`Op.holds`: the SRAM port a MAC array or an update unit reads and
writes its arrays through). Two pairs of schedulers, each pair tested equal:

* arbitrated (what runs use; semantics in :mod:`hw_models.timing.arbiter`):
  an op starts when all its resources are free and it wins their
  arbitration: links serve the ready op their policy picks (the chip's
  ``round_robin`` or ``fixed_priority``), and the other resources (units and
  ports) are granted by age across all of them, the oldest ready op whose
  resources are all free first; deadlock-free, since an op takes all its
  resources in one cycle or none.
  FAST :func:`schedule_arbitrated` (event driven), GOLDEN
  :class:`GoldenArbiter` (cycle by cycle);
* in-order (below): FAST :func:`schedule` (one pass, closed form), GOLDEN
  :class:`GoldenStepper` (cycle by cycle, ``max_cycles`` guard). On the
  single-sample graphs both rules give the same schedule.

In-order semantics
------------------
An op list is given in a topological order: every dependency of op ``i`` has
an index smaller than ``i``. That order is also the **issue order**.

1. Each resource serves its ops strictly in list order: in-order issue,
   non-preemptive, one op at a time. An op never overtakes an earlier op of
   the same resource, even when it is ready and the earlier one is not. An op
   with ``holds`` is in the queue of each of its resources and occupies all
   of them.
2. An op that starts at cycle ``s`` with duration ``d > 0`` occupies its
   resource during cycles ``s .. s+d-1`` and is *finished at* ``s + d``. An op
   of duration 0 finishes at its start cycle and occupies nothing.
3. An op may start at cycle ``c`` when every dependency is finished at some
   cycle ``<= c`` and every earlier op of each of its resources is finished
   at some cycle ``<= c``; it starts at the first such cycle (cycles count
   from 0). So ``start = max(0, finish of each dep, finish of the previous op
   on each of its resources)`` and ``finish = start + duration``.
   Zero-duration ops can therefore chain within one cycle. No deadlock: the
   list order is one total order that every queue follows.
4. The makespan is the largest finish (0 for an empty list).

Modules
-------
:mod:`hw_models.timing.model`
    The inputs (:class:`TileWork`, :class:`LayerTiming`, :class:`ChipTiming`,
    :class:`RuleTiming`, :class:`ProjectionWork`) and the op of a graph
    (:class:`Op`).
:mod:`hw_models.timing.graph`
    The resources (SRAM ports included) and the op graphs of a sample and of
    a minibatch update.
:mod:`hw_models.timing.conv`
    The conv blocks' inputs (:class:`BlockTiming`) and their ops.
:mod:`hw_models.timing.scheduler`
    The FAST scheduler and the cycle counts of a sample and an update.
:mod:`hw_models.timing.golden`
    The GOLDEN cycle steppers (in-order and arbitrated).
:mod:`hw_models.timing.options`
    :class:`GraphOptions`: gradient strategy, zero skipping, trained layers,
    ``dC^h`` work, shared tiles, link arbitration.
:mod:`hw_models.timing.arbiter`
    The arbitrated FAST scheduler and its semantics.
:mod:`hw_models.timing.batch`
    The minibatch graph and the representative batch.
:mod:`hw_models.timing.throughput`
    Batch makespan, utilisation, bottleneck; one sample alone.
"""

from hw_models.timing.arbiter import link_policies, schedule_arbitrated
from hw_models.timing.batch import build_batch_graph, representative_batch
from hw_models.timing.conv import BlockTiming, block_timing
from hw_models.timing.golden import GoldenArbiter, GoldenStepper
from hw_models.timing.graph import (
    build_inference_graph,
    build_sample_graph,
    build_update_graph,
    dense_msg_bits,
)
from hw_models.timing.model import (
    ChipTiming,
    LayerTiming,
    Op,
    ProjectionWork,
    RuleTiming,
    TileWork,
    TimingError,
    tiles_for_layer,
    tiles_for_network,
    trained_layers,
)
from hw_models.timing.options import GraphOptions
from hw_models.timing.scheduler import batch_update_cycles, makespan, sample_cycles, schedule
from hw_models.timing.throughput import (
    BatchTiming,
    batch_timing,
    block_cycles,
    sample_timing,
    sample_timing_table,
    sample_timings,
)

__all__ = [
    "BatchTiming",
    "BlockTiming",
    "block_cycles",
    "block_timing",
    "GoldenArbiter",
    "GraphOptions",
    "batch_timing",
    "build_batch_graph",
    "link_policies",
    "representative_batch",
    "sample_timing",
    "sample_timing_table",
    "sample_timings",
    "schedule_arbitrated",
    "ChipTiming",
    "GoldenStepper",
    "LayerTiming",
    "Op",
    "ProjectionWork",
    "RuleTiming",
    "TileWork",
    "TimingError",
    "batch_update_cycles",
    "build_inference_graph",
    "build_sample_graph",
    "build_update_graph",
    "dense_msg_bits",
    "makespan",
    "sample_cycles",
    "schedule",
    "tiles_for_layer",
    "tiles_for_network",
    "trained_layers",
]
