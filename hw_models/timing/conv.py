"""The ops of the convolutional blocks in a sample's graph (before the dense layers).

The ops, their durations and dependencies are stated in
:mod:`hw_models.timing.graph` (section *Conv blocks*); this module holds a
block's inputs (:class:`BlockTiming`) and the code that appends its ops.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hw_models.timing.model import (
    ChipTiming,
    LayerTiming,
    RuleTiming,
    ceil_div,
    check_int,
    tiles_for_layer,
)
from neurosim.errors import ConfigError

_EPS = 1e-9  # float slack for ceil() of mean (data-dependent) work
CONV_BACKWARD = re.compile(r"(?:s\d+:)?(?:(?:bproj|bwt|chain|grad)K\d+|bwt1\.)")
"""Names of the blocks' backward ops (``bwt1.*`` only exists for them)."""


def work_cycles(ops: float, per_cycle: int) -> int:
    """``ceil(ops / per_cycle)`` of a possibly fractional (mean) amount of work."""
    return max(0, -int(-(ops / per_cycle - _EPS) // 1))


@dataclass(frozen=True)
class BlockTiming:
    """One conv block ``conv F filters -> f -> max-pool`` as the timing model sees it.

    Attributes
    ----------
    kernel : LayerTiming
        ``K^b`` (``F x K*K*C``: ``n_out = F``, ``n_in = fan_in``) cut into tiles.
    positions : int
        Conv positions ``H * W`` (every tile runs its block of ``K^b`` at each).
    n_pool : int
        Pooled outputs of one sample, ``H_out * W_out * F``.
    pool_ops : int
        Max-pool comparisons of one sample, ``(P*P - 1) * n_pool``.
    proj_ops : float, optional
        Mean operations per sample of the projection of the error into the
        block (``ConvAccountant.conv_feedback_ops`` over the samples). None:
        dense (every source component non-zero).
    grad_ops : float, optional
        Mean gradient multiply-accumulates per sample (``nnz(R_b) * fan_in``
        with zero skipping). None: dense, ``n_conv * fan_in``.
    trained : bool
        False for a frozen block: no gradient work, no write-back.
    msg_bits : int, optional
        Bits per sample of the block's message on its chain link (RBP, BP).
        None: dense, ``n * error_bits_per_component`` (see ``graph``).
    """

    kernel: LayerTiming
    positions: int
    n_pool: int
    pool_ops: int
    proj_ops: float | None = None
    grad_ops: float | None = None
    trained: bool = True
    msg_bits: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kernel, LayerTiming):
            raise ConfigError("block.kernel", self.kernel, "a LayerTiming")
        for name, low in (("positions", 1), ("n_pool", 1), ("pool_ops", 0)):
            object.__setattr__(self, name, check_int(f"block.{name}", getattr(self, name), low))
        for name in ("proj_ops", "grad_ops"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, int | float) and v >= 0):
                raise ConfigError(f"block.{name}", v, "a number >= 0, or None (dense)")
        if self.msg_bits is not None:
            object.__setattr__(self, "msg_bits", check_int("block.msg_bits", self.msg_bits, 0))

    @property
    def filters(self) -> int:
        """``F``."""
        return self.kernel.n_out

    @property
    def fan_in(self) -> int:
        """``K * K * C``."""
        return self.kernel.n_in

    @property
    def n_conv(self) -> int:
        """Conv outputs of one sample, ``H * W * F``."""
        return self.positions * self.filters

    def share(self, t: int) -> float:
        """Tile ``t``'s share of the block's synapses, ``rows*cols / (F*fan_in)``."""
        tw = self.kernel.tiles[t]
        return tw.rows * tw.cols / (self.filters * self.fan_in)


def block_timing(
    filters: int, fan_in: int, positions: int, n_pool: int, pool_ops: int, rows: int, cols: int,
    **work: Any,
) -> BlockTiming:  # fmt: skip
    """A :class:`BlockTiming` whose kernel is cut into ``rows x cols`` tiles
    (:func:`~hw_models.timing.model.tiles_for_layer`); ``work``: the optional fields."""
    return BlockTiming(tiles_for_layer(filters, fan_in, rows, cols), positions, n_pool, pool_ops,
                       **work)  # fmt: skip


def check_blocks(blocks: Sequence[BlockTiming], accumulate: str) -> None:
    for k, b in enumerate(blocks):
        if not isinstance(b, BlockTiming):
            raise ConfigError(f"conv[{k}]", b, "a BlockTiming")
    if blocks and accumulate != "sram":
        raise ConfigError("accumulate", accumulate, "sram with conv blocks (as make_plan allows)")


def dense_proj_ops(blocks: Sequence[BlockTiming], n1: int, nL: int, rule: RuleTiming) -> list:
    """The projection work of each block with every source component non-zero."""
    nb = len(blocks)
    out = []
    for k, b in enumerate(blocks, start=1):
        if rule.source == "top":
            out.append(b.n_pool * nL)
        elif k == nb:
            out.append(b.n_pool * n1)
        else:
            up = blocks[k]
            out.append(up.n_conv * up.fan_in)
    return out


def dense_block_msg_bits(blocks: Sequence[BlockTiming], n1: int, chip: ChipTiming,
                         rule: RuleTiming) -> list[int]:  # fmt: skip
    """Dense size of the message into each block (chain link; unused by SRBP)."""
    nb = len(blocks)
    out = []
    for k, b in enumerate(blocks, start=1):
        if rule.matrix == "W":
            n = b.n_pool
        else:
            n = n1 if k == nb else blocks[k].n_conv
        out.append(n * chip.error_bits_per_component)
    return out


# ------------------------------------------------------------------ the ops


def add_conv_forward(c: Any) -> None:
    """Append the blocks' forward ops (``c``: the graph builder's context)."""
    chip, nb = c.chip, len(c.opts.conv)
    for k, b in enumerate(c.opts.conv, start=1):
        prev = [f"factK{k - 1}"] if k > 1 else []
        fmacs = []
        for t, tw in enumerate(b.kernel.tiles):
            dur = ceil_div(b.positions * tw.rows * tw.cols, chip.macs_per_cycle)
            name = c.add(f"fmacK{k}.{t}", c.mac(f"K{k}", t), dur, prev)
            if k == 1:
                c.out.roots.append(name)
            fmacs.append(f"fmacK{k}.{t}")
        before_lut = fmacs
        if b.kernel.col_blocks > 1:
            bits = (b.kernel.col_blocks - 1) * b.n_conv * chip.psum_bits
            c.add(f"psumK{k}", f"fwdK{k}", ceil_div(bits, chip.fwd_width_bits), fmacs, 0)
            before_lut = [f"psumK{k}"]
        dur = ceil_div(b.n_conv + b.pool_ops, chip.lut_per_cycle)
        c.add(f"flutK{k}", f"lutK{k}", dur, before_lut)
        link = f"fwdK{k + 1}" if k < nb else "fwd1"
        dur = ceil_div(b.n_pool * chip.act_bits, chip.fwd_width_bits)
        c.add(f"factK{k}", link, dur, [f"flutK{k}"], 1)


def add_conv_transport(c: Any, error_at: dict[int, list[str]], skip_bits: int) -> dict[int, list]:
    """Append the projection of the error into every block; returns, per block
    ``k``, the (unprefixed) ops after which its error map is complete."""
    blocks, chip, rule, layers = c.opts.conv, c.chip, c.rule, c.layers
    nb, macs = len(blocks), chip.macs_per_cycle
    if not (blocks and rule.trains_hidden):
        return {}
    n1, nL = layers[0].n_out, layers[-1].n_out
    dense_proj = dense_proj_ops(blocks, n1, nL, rule)
    dense_msg = dense_block_msg_bits(blocks, n1, chip, rule)
    proj = [d if bt.proj_ops is None else bt.proj_ops
            for bt, d in zip(blocks, dense_proj, strict=True)]  # fmt: skip
    msg = [d if b.msg_bits is None else b.msg_bits for b, d in zip(blocks, dense_msg, strict=True)]
    out: dict[int, list] = {}

    def bproj(k: int, deps: list[str]) -> list[str]:
        b = blocks[k - 1]
        return [c.add(f"bprojK{k}.{t}", c.mac(f"K{k}", t),
                      work_cycles(proj[k - 1] * b.share(t), macs), deps)[len(c.p):]
                for t in range(len(b.kernel.tiles))]  # fmt: skip

    if rule.source == "top":
        if c.p + "skip" not in c.g.at:  # no dense hidden layer: the blocks alone hear R^L
            c.add("skip", "skip", ceil_div(skip_bits, chip.skip_width_bits), [f"flut{len(layers)}"])
        for k in range(nb, 0, -1):
            out[k] = bproj(k, ["skip"])
        return out
    r1 = sorted(set(error_at[1]))  # R^1 complete in layer 1
    for k in range(nb, 0, -1):
        chain = ceil_div(msg[k - 1], chip.chain_width_bits)
        if rule.matrix == "C":  # R^1 or R_{k+1} travels down, then C_k projects it
            ready = r1 if k == nb else out[k + 1]
            c.add(f"chainK{k}", f"chainK{k}", chain, ready)
            out[k] = bproj(k, [f"chainK{k}"])
            continue
        # "W": the transposed read where the weights above live, then the chain
        if k == nb:
            lay, ready, ops = layers[0], r1, proj[k - 1]
            bwts = [c.add(f"bwt1.{t}", c.mac(1, t),
                          work_cycles(ops * tw.rows * tw.cols / (lay.n_out * lay.n_in), macs),
                          ready)[len(c.p):]
                    for t, tw in enumerate(lay.tiles)]  # fmt: skip
        else:
            up, ready = blocks[k], [f"chainK{k + 1}"]
            bwts = [c.add(f"bwtK{k + 1}.{t}", c.mac(f"K{k + 1}", t),
                          work_cycles(proj[k - 1] * up.share(t), macs), ready)[len(c.p):]
                    for t in range(len(up.kernel.tiles))]  # fmt: skip
        key = 1 if k == nb else f"K{k + 1}"  # whose weights bwt read
        for t, name in enumerate(bwts):
            c.out.bwt[key, t] = c.p + name
        c.add(f"chainK{k}", f"chainK{k}", chain, bwts)
        out[k] = [f"chainK{k}"]
    return out


def add_conv_grads(c: Any, error_at: dict[int, list]) -> None:
    """Append the gradient accumulation of every trained block (``sram``)."""
    macs = c.chip.macs_per_cycle
    for k in sorted(error_at, reverse=True):
        b = c.opts.conv[k - 1]
        if not b.trained:
            continue
        ops = b.grad_ops if b.grad_ops is not None else b.n_conv * b.fan_in
        for t in range(len(b.kernel.tiles)):
            deps = [f"fmacK{k}.{t}", *error_at[k]]
            dur = work_cycles(ops * b.share(t), macs)
            c.out.cgrad[k, t] = c.add(f"gradK{k}.{t}", c.mac(f"K{k}", t), dur, deps)


def add_conv_updates(g: Any, blocks: Sequence[BlockTiming], chip: ChipTiming, sfx: dict,
                     after: list, samples: list, holds: Any) -> None:  # fmt: skip
    """Append the batch-end write-back ``updK{k}.{t}`` of the trained blocks;
    ``holds(name, resource)`` gives the SRAM ports an op holds."""
    for k, b in enumerate(blocks, start=1):
        if not (b.trained and (k, 0) in samples[0].cgrad):
            continue
        for t, tw in enumerate(b.kernel.tiles):
            dur = ceil_div(tw.rows * tw.cols, chip.update_per_cycle)
            deps = after + [s.cgrad[k, t] for s in samples]
            deps += [s.bwt[f"K{k}", t] for s in samples if (f"K{k}", t) in s.bwt]
            res = "upd" + sfx[f"K{k}", t]
            g.add(f"updK{k}.{t}", res, dur, deps, 0, holds(f"updK{k}.{t}", res))
