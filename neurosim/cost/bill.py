"""The chip's bill for a run: energy, cycles, traffic, memory and area.

This is the one place where action counts meet the energy table: every
``(phase, action, detail)`` count from :class:`neurosim.cost.accounting.Accountant`
is priced by the chip part that performs the action (:mod:`hw_models.parts`),
from the energy table of :mod:`hw_models.energy` at the chip's node and the
run's widths. Cycles come from the timing model of :mod:`hw_models.timing`,
driven by the run's actual message sizes; memory and tiles from
:mod:`hw_models.mapping`. Everything about the run (rule, formats, sizes,
conv blocks, chip) is read from its :class:`~neurosim.plan.Plan`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import numpy as np

from hw_models import area, parts, power, timing
from hw_models.chip import Chip
from hw_models.energy import EnergyTable
from hw_models.mapping import Mapping
from neurosim.cost import dram
from neurosim.cost.accounting import (
    Accountant,
    channel_format,
    message_tuple_arrays,
    velocity_memory_bits,
)
from neurosim.cost.gradients import grad_bits, gradient_products
from neurosim.plan import Plan

PHASES = ("forward", "transport", "feedback", "update", "dram")


def pricing(plan: Plan, table: EnergyTable | None = None) -> parts.Pricing:
    """What the chip's parts need to price the actions of ``plan``'s run.

    Parameters
    ----------
    plan : Plan
        The run (its chip must be set).
    table : EnergyTable, optional
        The energy table; default the chip's (:meth:`Chip.energy_table`). A
        chip with an Accelergy ERT (``accelergy_ert``) prices from the ERT first.
    """
    chip = _chip(plan)
    widths = parts.Widths(
        acc_bits=plan.cfg.acc_bits,
        lut_in_bits=plan.formats.lut.bits,
        act_bits=plan.formats.lut_entry_bits,  # every tile's LUT: the widest entry
    )
    table = chip.energy_table() if table is None else table
    return parts.Pricing(table, chip, widths, ert=chip.ert())


def unit_energy_pj(key: tuple, plan: Plan, table: EnergyTable | None = None) -> float:
    """Energy of one unit of an action key ``(phase, action, detail)``, pJ, at
    the chip's node (priced by the part that performs the action)."""
    return parts.unit_energy_pj(key, pricing(plan, table))


def key_name(key: tuple) -> str:
    """``forward.mac.16x8``-style name of an action key."""
    phase, action, detail = key
    tail = "x".join(str(d) for d in detail)
    return f"{phase}.{action}" + (f".{tail}" if tail else "")


def _chip(plan: Plan) -> Chip:
    if plan.chip is None:
        raise ValueError("the run's plan has no chip to price it on")
    return plan.chip


def learning_shape(plan: Plan) -> area.LearningShape:
    """What the run's learning hardware is built for (:mod:`hw_models.area`):
    the projection datapath of its feedback format (none for DRTP's column
    select or a rule without ``C^h``), its word widths and label logic."""
    cfg, rule, fm = plan.cfg, plan.rule, plan.formats
    if rule.matrix != "C" or not rule.trains_hidden or rule.source == "target":
        datapath = "none"
    else:
        datapath = area.FORMAT_DATAPATH.get(channel_format(cfg, rule).name, "multiplier")
    upd = plan.chip.update if plan.chip is not None else None
    g = grad_bits(upd.accumulate if upd else "sram", cfg.acc_bits, fm.error.bits,
                  max(fm.inp.bits, fm.lut_entry_bits))  # fmt: skip
    return area.LearningShape(
        # built for the widest C^h of any hidden layer
        projection=datapath, feedback_bits=max(f.bits for f in fm.feedbacks[:-1] or fm.feedbacks),
        # the datapath is built for the widest code of any layer
        error_bits=max(cfg.per_layer("error_bits")) or fm.error.bits, acc_bits=cfg.acc_bits,
        lr_frac=cfg.lr_frac, act_bits=fm.lut_entry_bits, classes=plan.sizes[-1],
        target=rule.source == "target", rank=cfg.rank or 1, n_src=plan.sizes[-1],
        grad_bits=g, lr_shift=bool(upd and upd.lr_shift),
    )  # fmt: skip


def _timing_inputs(plan: Plan) -> tuple[list[timing.LayerTiming], timing.ChipTiming]:
    chip, fm = _chip(plan), plan.formats
    layers = timing.tiles_for_network(list(plan.sizes), chip.tile.rows, chip.tile.cols)
    # the default message size (conv blocks: one width); dense messages come
    # sized from the accounting's layouts, each at its layer's code
    value_bits = plan.cfg.per_layer("error_bits")[-1] or fm.error.bits
    ct = timing.ChipTiming(
        macs_per_cycle=chip.tile.macs_per_cycle,
        lut_per_cycle=chip.tile.lut_lookups_per_cycle,
        update_per_cycle=chip.tile.update_per_cycle,
        fwd_width_bits=chip.link("forward").width_bits,
        skip_width_bits=chip.link("skip").width_bits,
        chain_width_bits=chip.link("chain").width_bits,
        act_bits=fm.acts[0].bits,  # conv blocks' pooled maps (one width with conv)
        psum_bits=plan.cfg.acc_bits,
        error_bits_per_component=value_bits,
        layer_act_bits=tuple(a.bits for a in fm.hidden_acts),  # each O^h at its own width
    )
    return layers, ct


def projection_work(plan: Plan) -> dict[int, timing.ProjectionWork]:
    """Operations of a tile's projection through each ``C^h`` (``h`` 1-based),
    as the run's format does it (:func:`channel_format`; a chip that
    regenerates ``C^h`` runs the same datapath); empty for rules without a
    learning channel. DRTP's is its column select
    (:meth:`~neurosim.channel.formats.FeedbackFormat.select_work`)."""
    if plan.rule.matrix != "C" or not plan.rule.trains_hidden:
        return {}
    fmt, cfg = channel_format(plan.cfg, plan.rule), plan.cfg
    # DRTP selects the label's column of C^h instead of a product
    work = fmt.select_work if plan.rule.source == "target" else fmt.projection_work
    out = {}
    for h, shape in enumerate(plan.feedback_shapes, start=1):
        if shape is not None:
            per_row, per_tile = work(shape[1], cfg.feedback_n, cfg.rank)
            out[h] = timing.ProjectionWork(per_row, per_tile)
    return out


def _graph_options(plan: Plan, acct: Accountant) -> timing.GraphOptions:
    """The chip's gradient strategy, zero skipping, tiles, arbitration and stored
    ``C^h`` (its SRAM port), and the run's trained layers and mean non-zero
    error counts, as graph options; the conv blocks with their mean work per sample
    (:meth:`~neurosim.cost.conv_accounting.ConvAccountant.block_timing`)."""
    chip, rule, L = _chip(plan), plan.rule, len(plan.sizes) - 1
    n = acct.samples
    skip = chip.update.zero_skip and n > 0
    # zero skipping: the mean non-zero error components of each layer per sample
    nnz = {i + 1: acct.nnz_R[i] / n for i in range(L)} if skip else None
    dc = None
    if rule.adaptive and rule.trains_hidden:  # dC^h multiplies the source's non-zeros
        src = (lambda i: acct.nnz_msg["skip"]) if rule.source == "top" else (
            lambda i: acct.nnz_R[i + 1])
        dc = {i + 1: src(i) / n for i in range(L - 1)} if skip else {}
    # input skipping: the mean products per sample (as neurosim.cost.gradients
    # counts them); zero update codes skipped: the mean words changed
    prods = words = None
    if chip.update.input_skip and n > 0:
        prods = {i + 1: gradient_products(acct, i, 0) / n for i in acct.trained_layers()}
    if chip.update.zero_update_skip and n > 0 and not plan.cfg.momentum:
        words = {
            i + 1: min(acct.skips["changed", i], gradient_products(acct, i, acct.sizes[i]
                       * acct.grads.work(acct.nnz_R[i], acct.sizes[i + 1]))) / n
            for i in acct.trained_layers()
        }  # fmt: skip
    conv = acct.block_timing(chip.tile.rows, chip.tile.cols, chip.update.zero_skip) if (
        plan.blocks) else ()  # fmt: skip
    return timing.GraphOptions(
        conv=tuple(conv),
        trained=tuple(i + 1 for i in acct.trained_layers()),
        accumulate=chip.update.accumulate,
        grad_nnz=nnz,
        dc_nnz=dc,
        n_tiles=chip.n_tiles,
        arbitration={k: chip.link(k).arbitration for k in ("forward", "skip", "chain")},
        feedback_sram=not plan.storage.regenerated,  # regenerated C^h: no port to read
        grad_products=prods,
        update_words=words,
    )


def round_and_merge(bits: np.ndarray, samples: np.ndarray, widths: list[int]) -> Counter:
    """Samples per tuple of message sizes rounded up to whole link words.

    ``bits`` (int64, ``(T, S)``) holds ``T`` tuples of ``S`` message sizes
    (bits), ``samples`` (``(T,)``) how many samples each counts, ``widths``
    each message's link width (bits). Equal rounded tuples merge, in the
    order they first occur: the same Counter, order included, as rounding
    and adding row by row.
    """
    rows, total = merged_rows(bits, samples, widths)
    return Counter(dict(zip(map(tuple, rows.tolist()), total.tolist(), strict=True)))


def merged_rows(
    bits: np.ndarray, samples: np.ndarray, widths: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`round_and_merge` as arrays: the distinct rounded tuples
    (int64, ``(T', S)``, in the order they first occur) and their samples
    (int64, ``(T',)``)."""
    w = np.asarray(widths, dtype=np.int64)
    up = -(-bits // w) * w
    if up.shape[0] == 0:
        return up.reshape(0, w.size), np.zeros(0, dtype=np.int64)
    span = up.max(axis=0, initial=0) + 1
    if w.size and np.prod(span.astype(float)) < 2.0**62:  # one int64 key per row: a 1-D unique
        strides = np.cumprod(np.r_[span[1:], 1][::-1])[::-1]
        _, first, inverse = np.unique(up @ strides, return_index=True, return_inverse=True)
    else:
        _, first, inverse = np.unique(up, axis=0, return_index=True, return_inverse=True)
    total = np.zeros(first.size, dtype=np.int64)
    np.add.at(total, inverse.ravel(), samples)
    order = np.argsort(first, kind="stable")
    return up[first[order]], total[order]


def _message_histogram(plan: Plan, acct: Accountant) -> tuple[np.ndarray, np.ndarray]:
    """Samples per tuple of message sizes, each rounded up to whole link cycles
    (samples whose messages fill the same link cycles share one schedule):
    the tuples (int64, ``(T, S)``, bits, in the order they first occur) and
    their samples (int64, ``(T,)``)."""
    chip = _chip(plan)
    widths = [chip.link(s.link).width_bits for s in acct.specs]
    arrays = message_tuple_arrays(acct)
    if arrays is not None and arrays[1].size and arrays[0].shape[1]:
        return merged_rows(*arrays, widths)
    tuples: Counter = Counter()
    for tup, count in (acct.msg_tuples or Counter({(): max(1, acct.samples)})).items():
        tuples[tuple(-(-b // w) * w for b, w in zip(tup, widths, strict=True))] += count
    rows = np.asarray(list(tuples), dtype=np.int64).reshape(len(tuples), len(widths))
    return rows, np.asarray(list(tuples.values()), dtype=np.int64)


def timing_report(plan: Plan, acct: Accountant) -> dict[str, Any]:
    """Cycles per sample, throughput, latency, utilisation and bottleneck of the run.

    One sample alone (each distinct tuple of message sizes scheduled once,
    weighted by its samples) gives ``forward``, ``backward``, ``inference``
    and the latency (its graph's makespan: forward to its last gradient or
    online weight update). ``update`` is the batch-end phase alone
    (write-back, or ``register``'s batch gradient sums), shared by the
    samples of a batch (``batches / samples``). ``train``: without
    ``chip.pipeline`` the samples run one after the other, so the mean sample
    plus its share of the update (the batch schedule's makespan per sample);
    with it, the makespan of a representative batch (``cfg.batch`` samples
    whose message sizes follow the run's histogram, largest-remainder
    apportionment, :func:`hw_models.timing.representative_batch`) divided by
    its samples: the steady state. The utilisation and bottleneck are those of
    that batch's schedule (:mod:`hw_models.timing.throughput`). Conv blocks
    are ops of the same graphs, before the dense layers.
    """
    chip = _chip(plan)
    layers, ct = _timing_inputs(plan)
    proj, opts = projection_work(plan), _graph_options(plan, acct)
    names = [s.name for s in acct.specs]
    rows, counts = _message_histogram(plan, acct)
    train, forward, inference = timing.sample_timing_table(
        layers, ct, plan.rule, names, rows, proj, opts
    )
    n = int(counts.sum())
    tot = {"train": int(train @ counts), "forward": int(forward @ counts),
           "backward": int((train - forward) @ counts), "inference": inference * n}  # fmt: skip
    size = max(1, min(plan.cfg.batch, acct.samples or 1))
    hist = Counter(dict(zip(map(tuple, rows.tolist()), counts.tolist(), strict=True)))
    msgs = [dict(zip(names, tup, strict=True)) for tup in timing.representative_batch(hist, size)]
    bt = timing.batch_timing(layers, ct, plan.rule, msgs, proj, opts, chip.pipeline)
    per = {k: tot[k] / n for k in ("forward", "backward", "inference")}
    per["update"] = bt.update * acct.batches / max(1, acct.samples)
    per["train"] = bt.makespan / size if chip.pipeline else tot["train"] / n + per["update"]
    return {"cycles_per_sample": per, "latency_cycles_per_sample": tot["train"] / n,
            "utilization": bt.utilization(), "bottleneck": bt.bottleneck()}  # fmt: skip


def hardware_report(plan: Plan, acct: Accountant, engine_counts: dict[str, int]) -> dict[str, Any]:
    """The ``hardware`` section of a run's record.

    Parameters
    ----------
    plan : Plan
        The run, resolved (its ``chip`` prices the events).
    acct : Accountant
        Tallies of the run (filled batch by batch by the engine).
    engine_counts : dict
        The engine's event counts (weight writes, random bits).

    Returns
    -------
    dict
        ``energy_pj_per_sample`` (``total``, ``by_action``, ``by_phase``),
        ``inference_energy_pj``, ``cycles_per_sample`` (``train``,
        ``inference``, and the phases), ``samples_per_second`` (steady state
        under ``chip.pipeline``), ``latency_cycles_per_sample``,
        ``utilization``, ``bottleneck`` (:func:`timing_report`), ``bus``,
        ``memory_bits``, ``area_mm2``, ``tiles`` and the chip's identity.
    """
    chip, mapping = _chip(plan), plan.mapping
    actions = acct.actions(engine_counts)
    # words each dense layer changed: the non-zero update codes the timing's
    # online write-back does with update.zero_update_skip
    for i in range(len(plan.sizes) - 1):
        acct.skips["changed", i] = engine_counts.get(f"changed:W^{i + 1}", 0)
    # off-chip traffic (neurosim.cost.dram): inputs, labels, multiplexed groups
    dram_run = dram.traffic(plan, acct)
    actions.update(dram.actions(dram_run))
    energy, per_action_counts, inference = _energy(plan, acct, actions)
    dram_bits = dram.bits_per_sample(dram_run, acct.samples)
    tr = timing_report(plan, acct)
    cyc = tr.pop("cycles_per_sample")
    cyc["dram"] = dram.cycles_per_sample(chip, dram_bits["total"])  # not overlapped
    cyc["train"] += cyc["dram"]
    conv = _conv_section(plan, acct, cyc)
    out = {
        "chip": chip.name,
        "node_nm": chip.node_nm,
        "clock_mhz": chip.clock_mhz,
        "feedback_storage": plan.storage.name,
        "update": {"accumulate": chip.update.accumulate, "zero_skip": chip.update.zero_skip},
        "pipeline": chip.pipeline,
        "energy_pj_per_sample": energy,
        "inference_energy_pj": inference,
        "cycles_per_sample": cyc,
        "samples_per_second": chip.clock_mhz * 1e6 / cyc["train"],
        **tr,  # latency_cycles_per_sample, utilization, bottleneck
        "bus": _bus(acct, actions),
        "memory_bits": _memory(plan, acct, mapping, conv),
        "area_mm2": chip.area_mm2(learning_shape(plan)),
        "tiles": {
            "used": mapping.tiles,
            "available": chip.n_tiles,
            "per_layer": [lay.tiles for lay in mapping.layers],
            "utilisation": [lay.utilisation for lay in mapping.layers],
        },
        "fits": mapping.fits,
        "violations": [f"{v.field} = {v.value!r}: {v.allowed}" for v in mapping.violations],
        "actions_per_sample": per_action_counts,
    }
    if conv:
        out["conv"] = conv
    _power_section(plan, out, dram_bits)
    return out


def _power_section(plan: Plan, out: dict[str, Any], dram_bits: dict[str, Any]) -> None:
    """Static energy and power at the run's steady state (``samples_per_second``),
    DRAM bits and the tile groups. ``energy_pj_per_sample``: ``dynamic`` is the
    sum of ``by_phase`` (actions, DRAM included); ``static`` = static power x
    the time of one training sample; ``total`` = both."""
    chip = _chip(plan)
    sp = power.static_power(chip)
    sps = out["samples_per_second"]
    e = out["energy_pj_per_sample"]
    dynamic = e["total"]
    static = sp.total_mw * 1e9 / sps  # mW = 1e9 pJ/s
    e.update(total=dynamic + static, static=static, dynamic=dynamic)
    out["power_mw"] = {
        "total": (dynamic + static) * sps * 1e-9,
        "static": sp.total_mw,
        "dynamic": dynamic * sps * 1e-9,
    }
    out["static_power_mw"] = sp.as_dict()
    out["vdd_v"] = power.supply(chip).vdd_v
    out["dram_bits_per_sample"] = dram_bits
    groups = dram.groups_needed(plan)
    out["tiles"]["groups"] = groups
    if groups > 1:  # the tile count is met by time multiplexing, not a hard limit
        out["violations"] = [
            f"{v} (time-multiplexed through DRAM in {groups} groups)"
            if v.startswith("n_tiles") else v for v in out["violations"]
        ]  # fmt: skip


def _energy(
    plan: Plan, acct: Accountant, actions: dict[tuple, int]
) -> tuple[dict[str, Any], dict[str, float], float]:
    """Training energy per sample (total, by action, by phase), the action
    counts per sample, and the inference energy per sample (pJ)."""
    price = pricing(plan)
    vscale = power.supply(price.chip).dynamic_factor  # on-chip actions only, not DRAM
    samples = max(1, acct.samples)
    by_action: dict[str, float] = defaultdict(float)
    by_phase: dict[str, float] = {p: 0.0 for p in PHASES}
    per_action_counts = {}
    for key, count in sorted(actions.items()):
        if not count:
            continue
        e = count * parts.unit_energy_pj(key, price) / samples
        if key[0] != "dram":
            e *= vscale
        if e:
            by_action[key[1]] += e
        by_phase[key[0]] += e
        per_action_counts[key_name(key)] = count / samples
    inference = vscale * sum(
        v * parts.unit_energy_pj(k, price) for k, v in acct.forward_per_sample().items()
    )
    # the input load (and a multiplexed network's forward group loads)
    for k, v in dram.actions(dram.traffic(plan, acct, training=False)).items():
        inference += v * parts.unit_energy_pj(k, price) / samples
    energy = {
        "total": sum(by_phase.values()),
        "by_action": dict(sorted(by_action.items())),
        "by_phase": by_phase,
    }
    return energy, per_action_counts, inference


def _bus(acct: Accountant, actions: dict[tuple, int]) -> dict[str, Any]:
    """Packets and bits per sample on each link, and each message's traffic."""
    samples = max(1, acct.samples)
    bus: dict[str, Any] = {"packets_per_sample": {}, "bits_per_sample": {}, "messages": {}}
    for s in acct.specs:
        bus["packets_per_sample"][s.link] = bus["packets_per_sample"].get(s.link, 0) + 1
        b = acct.msg_bits[s.name] / samples
        bus["bits_per_sample"][s.link] = bus["bits_per_sample"].get(s.link, 0.0) + b
        bus["messages"][s.name] = {
            "link": s.link, "bits_per_sample": b,
            "nonzero_per_sample": acct.nnz_msg[s.name] / samples,
            "components": s.layout.n, "kind": s.layout.kind,
        }  # fmt: skip
    for name, b in getattr(acct, "conv_msg_bits", {}).items():
        bus["packets_per_sample"]["chain"] = bus["packets_per_sample"].get("chain", 0) + 1
        bits = b / samples
        bus["bits_per_sample"]["chain"] = bus["bits_per_sample"].get("chain", 0.0) + bits
        lay = acct.conv_layouts[name]
        bus["messages"][name] = {
            "link": "chain", "bits_per_sample": bits,
            "nonzero_per_sample": acct.conv_msg_nnz[name] / samples,
            "components": lay.n, "kind": lay.kind,
        }  # fmt: skip
    fwd_bits = actions.get(("forward", "wire", ("forward",)), 0) / samples
    bus["bits_per_sample"]["forward"] = fwd_bits
    return bus


def _memory(plan: Plan, acct: Accountant, mapping: Mapping, conv: dict | None) -> dict[str, Any]:
    """Memory bits of the run on the chip: forward, feedback, the gradient
    strategy's (``grad``: accumulators of ``sram``; ``buffer``: the batch
    buffer of ``register``; 0 when the strategy has none), per tile, bias,
    velocity."""
    cfg = plan.cfg
    upd = mapping.update
    memory = {
        "forward": mapping.weight_memory_bits,
        "feedback": mapping.feedback_memory_bits,
        "grad": upd.grad if upd else 0,
        "buffer": upd.buffer if upd else 0,
        "per_tile": [
            {
                "layer": b.layer,
                "row_block": b.row_block,
                "col_block": b.col_block,
                "forward": b.weight_memory_bits,
                "feedback": b.feedback_memory_bits,
            }
            for lay in mapping.layers
            for b in lay.blocks
        ],  # fmt: skip
    }
    if upd:  # the strategy's memory of each tile, in the same order
        for t, g, buf in zip(memory["per_tile"], upd.grad_bits, upd.buffer_bits, strict=True):
            t["grad"], t["buffer"] = g, buf
    if cfg.bias:  # part of "forward": b^h sits with the first tile of its rows
        memory["bias"] = sum(
            n * w.bits for n, w in zip(plan.sizes[1:], plan.formats.weights, strict=True)
        )  # b^h at its layer's weight width
        if conv:  # one bias per filter, with the block's first tile
            memory["bias"] += conv["memory_bits"]["bias"]
    if cfg.momentum:  # one velocity word per trained parameter, next to it in its tile
        memory["velocity"] = velocity_memory_bits(
            cfg, plan.rule, list(plan.sizes), acct.trained_layers()
        )
        if conv:  # the blocks' kernels and biases, in their tiles
            memory["velocity"] += conv["memory_bits"]["velocity"]
    if conv:
        # the blocks' biases count in "forward" as the dense layers' do
        memory["forward"] += conv["memory_bits"]["forward"] + conv["memory_bits"]["bias"]
        memory["feedback"] += conv["memory_bits"]["feedback"]
        # conv blocks run on sram chips only (make_plan): an accumulator per
        # kernel weight and bias of each trained block
        memory["grad"] += cfg.acc_bits * sum(
            plan.blocks[b].filters * (plan.blocks[b].fan_in + (1 if cfg.bias else 0))
            for b in acct.trained_blocks()
        )
    return memory


def _conv_section(plan: Plan, acct: Accountant, cyc: dict) -> dict | None:
    """The conv blocks' share of the schedule, memory and tiles; None for a
    dense network. See :mod:`neurosim.cost.conv_accounting` for the model.

    The blocks are ops of the timing graph, so ``cyc`` (the run's cycles)
    already holds them; ``cycles_per_sample`` here is their part of it
    (:func:`hw_models.timing.block_cycles`): ``forward`` until the last
    block's pooled map is at the first dense layer, ``backward`` the span of
    their backward ops in one sample, ``update`` their write-back per sample
    (shared by a minibatch's samples). They overlap the dense layers' ops.
    """
    blocks, cfg, fm = plan.blocks, plan.cfg, plan.formats
    if not blocks:
        return None
    t = _chip(plan).tile
    layers, ct = _timing_inputs(plan)
    cc: dict[str, float] = dict(timing.block_cycles(
        layers, ct, plan.rule, projection_work(plan), _graph_options(plan, acct)))  # fmt: skip
    cc["update"] = cc["update"] * acct.batches / max(1, acct.samples)
    from neurosim.nn.conv import conv_feedback_shapes

    shapes = conv_feedback_shapes(cfg.rule, list(blocks), list(plan.sizes))
    return {
        "blocks": [
            {
                "filters": b.filters,
                "kernel": b.kernel,
                "pool": b.pool,
                "stride": b.stride,
                "input": [b.height, b.width, b.channels],
                "pooled": list(b.pooled),
            }
            for b in blocks
        ],  # fmt: skip
        "cycles_per_sample": cc,
        "tiles": acct.block_tiles(t.rows, t.cols),
        "memory_bits": {
            "forward": sum(b.filters * b.fan_in for b in blocks) * fm.weight.bits,
            "bias": sum(b.filters for b in blocks) * fm.weight.bits if cfg.bias else 0,
            # a chip that regenerates C^h stores no C_b either
            "feedback": 0 if plan.storage.regenerated
            else sum(r * c for r, c in (s for s in shapes if s)) * fm.feedback.bits,
            # momentum: one velocity word per weight (and bias) of each trained block
            "velocity": sum(
                blocks[b].filters * (blocks[b].fan_in + (1 if cfg.bias else 0))
                for b in acct.trained_blocks()
            ) * cfg.velocity_bits if cfg.momentum else 0,
        },
    }
