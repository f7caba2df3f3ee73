"""The graph of a minibatch: ``B`` training samples and the batch-end update.

Samples ``k = 0 .. B-1`` are the graph of
:func:`~hw_models.timing.graph.build_sample_graph` each, names prefixed
``s{k}:``, listed oldest first (list index = age for the arbitration of
:mod:`hw_models.timing.arbiter`). Then the batch-end ops, unprefixed:

* ``accumulate = "sram"``: ``upd{h}.{t}`` on the update unit,
  ``ceil(rows*cols / update_per_cycle)``, after ``grad{h}.{t}`` of every sample
  (and, for every ``upd``, after the samples' transposed reads ``bwt{h}.{t}``
  of the weights it overwrites);
* ``"register"``: ``gsum{h}.{t}`` on the MAC array, ``B`` times the tile's
  gradient work, after the layer's error reached the tile in every sample;
  then ``upd{h}.{t}`` after it;
* ``"online"``: none (every sample wrote its own update, ``wupd``);
* with ``dC^h`` work and not ``"online"``: ``dcw{h}.{t}`` on the update unit,
  ``ceil(rows * n_src / update_per_cycle)``, after ``dc{h}.{t}`` of every sample;
* conv blocks (``"sram"`` only): ``updK{k}.{t}`` on the tile's update unit,
  ``ceil(rows*cols / update_per_cycle)``, after ``gradK{k}.{t}`` of every
  sample, for every trained block.

``pipeline = False``: a zero-duration barrier ``end{k}`` (resource ``barrier``)
follows every op of sample ``k``; sample ``k+1``'s first ops and (after the
last sample) the batch-end ops wait for it, so the makespan is the sum of the
samples' makespans plus the batch-end phase's.

``pipeline = True``: no barriers; the samples stream through the tiles as the
dependencies and the arbitration allow. With ``"online"`` the weights change
every sample: sample ``k+1``'s ``fmac{h}.{t}`` waits for sample ``k``'s
``wupd{h}.{t}`` (and its ``bproj{h}.{t}`` for ``dcw{h}.{t}``), which is BP's
backward locking: SRBP's early layers update as soon as ``R^L`` arrives.
Everything else a sample needs (activations, errors) is assumed buffered.
The next batch's forward pass waits for this batch's update (one batch is
scheduled; the steady state is its makespan per sample).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from hw_models.timing.conv import add_conv_updates
from hw_models.timing.graph import (
    Graph,
    SampleOps,
    add_sample,
    check_proj,
    dense_msg_bits,
    grad_products,
    port_holds,
    resolve_msg_bits,
    tile_suffixes,
    work_cycles,
)
from hw_models.timing.model import (
    ChipTiming,
    LayerTiming,
    Op,
    ProjectionWork,
    as_rule,
    ceil_div,
    check_layers,
    trained_layers,
)
from hw_models.timing.options import GraphOptions
from neurosim.errors import ConfigError


def _prefixed(out: SampleOps, p: str) -> SampleOps:
    """The names of ``out`` (a template sample's) with the prefix ``p``."""
    def d(m: dict) -> dict:
        return {k: p + v for k, v in m.items()}

    return SampleOps(
        roots=[p + r for r in out.roots], fmac=d(out.fmac), bproj=d(out.bproj), bwt=d(out.bwt),
        error_at={h: [p + v for v in vs] for h, vs in out.error_at.items()},
        grad=d(out.grad), wupd=d(out.wupd), dc=d(out.dc), dcw=d(out.dcw), cgrad=d(out.cgrad),
    )  # fmt: skip


def _sample_extra(
    prev: SampleOps | None, barrier: str | None, pipeline: bool, online: bool
) -> dict[str, list[str]]:
    """Extra dependencies (full names) of the next sample's ops (template names)."""
    if prev is None:
        return {}
    extra: dict[str, list[str]] = {}
    if not pipeline:
        for root in prev.roots:
            extra[root.split(":", 1)[1]] = [barrier]  # type: ignore[list-item]
        return extra
    if online:
        for (h, t), w in prev.wupd.items():
            extra.setdefault(f"fmac{h}.{t}", []).append(w)
        for (h, t), w in prev.dcw.items():
            extra.setdefault(f"bproj{h}.{t}", []).append(w)
    return extra


def build_batch_graph(
    layers: Sequence[LayerTiming],
    chip: ChipTiming,
    rule: object,
    msgs: Sequence[Mapping[str, int] | None],
    proj: Mapping[int, ProjectionWork] | None = None,
    opts: GraphOptions | None = None,
    pipeline: bool = False,
) -> list[Op]:
    """The op graph of a minibatch of ``len(msgs)`` samples (see the module).

    One sample's graph is built once and copied for every sample (names
    prefixed, dependencies shifted, message durations from the sample's sizes).

    Parameters
    ----------
    layers, chip, rule, proj, opts
        As for :func:`~hw_models.timing.graph.build_sample_graph`.
    msgs : sequence of mapping or None
        Message sizes (bits) of each sample, oldest first; None is dense.
    pipeline : bool
        Samples stream through the tiles (True) or run one after the other.

    Returns
    -------
    list of Op
        Topological; samples oldest first, then the batch-end ops.
    """
    layers = check_layers(layers)
    rule = as_rule(rule)
    opts = opts or GraphOptions()
    L = len(layers)
    if not msgs:
        raise ConfigError("msgs", list(msgs), "at least one sample")
    dense = dense_msg_bits(layers, chip, rule, bool(opts.conv))
    proj = check_proj(proj, L)
    tmpl = Graph()
    out0 = add_sample(tmpl, layers, chip, rule, dense, proj, opts)
    width = {"skip": chip.skip_width_bits} | {f"chain{h}": chip.chain_width_bits for h in range(L)}
    links = [(tmpl.at[k], k, w) for k, w in width.items() if k in tmpl.at]
    g = Graph()
    samples: list[SampleOps] = []
    barrier = None
    for k, m in enumerate(msgs):
        prev = samples[-1] if samples else None
        extra = _sample_extra(prev, barrier, pipeline, opts.accumulate == "online")
        more = {tmpl.at[n]: tuple(g.at[d] for d in ds) for n, ds in extra.items()}
        bits = resolve_msg_bits(m, dense, L)
        dur = {j: ceil_div(bits[key], w) for j, key, w in links}
        off, p = len(g.ops), f"s{k}:"
        g.ops += [
            Op(p + name, res, dur.get(j, d0), tuple([d + off for d in deps]) + more.get(j, ()),
               snd, holds)
            for j, (name, res, d0, deps, snd, holds) in enumerate(tmpl.ops)
        ]
        g.at.update((p + name, j + off) for name, j in tmpl.at.items())
        samples.append(_prefixed(out0, p))
        if not pipeline:
            barrier = g.add(f"end{k}", "barrier", 0, [op.name for op in g.ops[off:]])
    _add_batch_end(g, layers, chip, rule, opts, samples, barrier)
    return g.ops


def _add_batch_end(
    g: Graph,
    layers: list[LayerTiming],
    chip: ChipTiming,
    rule: object,
    opts: GraphOptions,
    samples: list[SampleOps],
    barrier: str | None,
) -> None:
    if opts.accumulate == "online":
        return
    rule = as_rule(rule)
    L, B = len(layers), len(samples)
    sfx = tile_suffixes(layers, opts.n_tiles, opts.conv)
    after = [barrier] if barrier else []
    trained = opts.trained if opts.trained is not None else trained_layers(rule, L)
    for h in sorted(trained, reverse=True):
        lay = layers[h - 1]
        for t, tw in enumerate(lay.tiles):
            if opts.accumulate == "register":
                work = grad_products(lay, h, tw.rows, tw.cols, opts)
                deps = after + [s.error_at[h][t] for s in samples]
                dur = work_cycles(B * work, chip.macs_per_cycle)
                deps = [g.add(f"gsum{h}.{t}", "mac" + sfx[h, t], dur, deps)]  # no port
            else:
                deps = after + [s.grad[h, t] for s in samples]
            # the write-back waits for every transposed read of the old weights
            deps += [s.bwt[h, t] for s in samples if (h, t) in s.bwt]
            dur = ceil_div(tw.rows * tw.cols, chip.update_per_cycle)
            res = "upd" + sfx[h, t]
            g.add(f"upd{h}.{t}", res, dur, deps, 0, port_holds("upd", res, opts))
    width = [layers[0].n_in] + [lay.n_out for lay in layers]
    for (h, t) in samples[0].dc:
        n_src = width[L] if rule.source == "top" else width[h + 1]
        dur = ceil_div(layers[h - 1].tiles[t].rows * n_src, chip.update_per_cycle)
        res = "upd" + sfx[h, t]
        g.add(f"dcw{h}.{t}", res, dur, after + [s.dc[h, t] for s in samples], 0,
              port_holds("dcw", res, opts))  # fmt: skip
    add_conv_updates(g, opts.conv, chip, sfx, after, samples,
                     lambda name, res: port_holds(name, res, opts))


def representative_batch(hist: Mapping[tuple, int], size: int) -> list[tuple]:
    """``size`` samples whose keys follow the histogram ``hist`` (key -> count).

    Largest-remainder apportionment: key ``k`` gets ``floor(size * c_k / n)``
    samples, and the leftover samples go to the largest remainders (ties: the
    larger count, then the smaller key). The samples are then interleaved
    smoothly: the ``j``-th of ``m`` copies of a key sits at position
    ``(j + 1/2) / m`` of the batch, and the batch is sorted by position (ties:
    the key order above), so no run of equal keys is artificially long.
    """
    if size < 1:
        raise ConfigError("batch size", size, "an integer >= 1")
    items = [(k, c) for k, c in hist.items() if c > 0]
    n = sum(c for _, c in items)
    if n == 0:
        raise ConfigError("histogram", dict(hist), "at least one sample")
    order = sorted(items, key=lambda kc: (-kc[1], kc[0]))
    share = {k: size * c // n for k, c in order}
    left = size - sum(share.values())
    by_rem = sorted(order, key=lambda kc: (-(size * kc[1] % n), -kc[1], kc[0]))
    for k, _ in by_rem[:left]:
        share[k] += 1
    rank = {k: r for r, (k, _) in enumerate(order)}
    slots = [((2 * j + 1) / (2 * m), rank[k], k) for k, m in share.items() for j in range(m)]
    return [k for _, _, k in sorted(slots)]


def busy_cycles(ops: Sequence[Op]) -> Counter:
    """Cycles each resource is occupied (the sum of the durations of the ops
    that need it, ``holds`` included)."""
    busy: Counter = Counter()
    for op in ops:
        for r in op.resources:
            busy[r] += op.duration
    return busy
