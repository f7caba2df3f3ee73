"""Chip events of the convolutional blocks (see :mod:`neurosim.nn.conv`).

:class:`ConvAccountant` extends :class:`~neurosim.cost.accounting.Accountant`
(which counts the dense layers) with the blocks' events, in the same
``(phase, action, detail)`` keys, so the energy, inference energy and bus
figures of :func:`neurosim.cost.bill.hardware_report` include them.

The tile model of a block (stated, not measured):

* its kernel matrix ``K^b`` (``F x K*K*C``) is cut into tiles like a dense
  weight matrix; each tile reads its synapses **once per sample** and holds
  them in the MAC array while the window slides over the ``H x W``
  positions (weight-stationary), so weight-memory reads are
  ``F * K*K*C * weight_bits`` per sample while MACs are
  ``H * W * F * K*K*C``; input-buffer reads are not priced (nor are they
  for the dense layers);
* the activation unit does two lookups (f and f') per conv output; the
  max-pool does ``P*P - 1`` comparisons (adds of ``act_bits``) per pooled
  output, and only pooled outputs travel on the forward link;
* the error at the pooled map is projected as in the module table of
  :mod:`neurosim.nn.conv`: a dense ``C_b`` or ``(W^1)^T`` costs
  ``n_pool * nnz(source)`` multiply-accumulates (shift-adds for log-coded
  errors); a transposed convolution costs ``nnz(R_{b+1}) * K*K*C`` (each
  non-zero error times its kernel column; windows cut by the border are
  counted whole, an upper bound); routing to the argmax adds one addition
  per pooled output; ``f'`` is one multiplication per conv output;
* the update accumulates ``nnz(R_b) * K*K*C`` gradient terms per sample and
  writes the kernel back once per minibatch (changed words only); frozen
  blocks (``freeze``) accumulate and write nothing;
* with ``bias``: each filter's bias (``F`` words in the weight format, with
  the block's first tile; memory ``bias``) is read once per sample with the
  kernel and is each accumulator's start value (one add per conv output);
  its gradient adds each non-zero component of ``R_b`` (one add, a grad read
  and write), and the ``F`` words are written back once per minibatch
  (changed words only);
* with ``momentum``: each kernel weight (and filter bias) of a trained
  block keeps a ``velocity_bits`` word in its tile (memory ``velocity``);
  per minibatch and word one velocity read, one multiply by mu, one add and
  one write, as the dense layers' (:meth:`Accountant._velocity`); the
  velocity's random bits come from the engine's ``rng_bits:velocity``.

Messages: SRBP's ``R^L`` reaches the blocks on the same skip broadcast as
the dense layers (no extra bits). RBP sends ``R^1`` (``R^L`` without dense
hidden layers) to the last block and ``R_{b+1}`` (the whole error map) from
block b+1 to block b; BP sends the projection at the pooled map as linear
error words. They are laid out as :mod:`neurosim.channel.packets` messages on the
``chain`` link; with ``error_scale = "block"`` a log-coded message (one
sample's error map of one block) carries its shared exponent in the header
and the error unit keeps a running max (one add per conv output) to find it.
Stochastic error rounding's random bits come from the engine's
``rng_bits:error`` count, blocks included.

Cycles: the blocks are ops of the timing graph (:mod:`hw_models.timing.graph`,
*Conv blocks*), scheduled with the dense layers; :meth:`ConvAccountant.block_timing`
gives the graph each block's tiles and the run's mean data-dependent work per
sample (projection operations, gradient MACs, message bits).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from hw_models import timing
from neurosim.channel import packets
from neurosim.channel.formats import get_format
from neurosim.channel.formats.base import dense_macs
from neurosim.cost import gradients
from neurosim.cost.accounting import Accountant, _tallies
from neurosim.nn.conv import ConvBlock
from neurosim.nn.rules import split_freeze, trained_layers
from neurosim.numerics.fixedpoint import block_exp_bits

if TYPE_CHECKING:
    from neurosim.plan import Plan


@dataclass
class ConvAccountant(Accountant):
    """:class:`~neurosim.cost.accounting.Accountant` plus the conv blocks' events.

    Parameters
    ----------
    blocks : list of ConvBlock
        The network's blocks (geometry); ``sizes`` are the dense part's.
    """

    blocks: list[ConvBlock] = field(default_factory=list)
    nnz_RK: Counter = field(default_factory=Counter)
    nnz_conv_src: Counter = field(default_factory=Counter)
    conv_msg_bits: Counter = field(default_factory=Counter)
    conv_msg_nnz: Counter = field(default_factory=Counter)

    @classmethod
    def from_plan(cls, plan: Plan, **kwargs) -> ConvAccountant:
        """An accountant of the run ``plan``, its conv blocks included."""
        return cls(plan.cfg, plan.rule, list(plan.sizes), plan=plan, blocks=list(plan.blocks),
                   **kwargs)  # fmt: skip

    def __post_init__(self) -> None:
        super().__post_init__()
        self.conv_layouts = self._conv_layouts()

    def _conv_layouts(self) -> dict[str, packets.PacketLayout]:
        cfg, rule = self.cfg, self.rule
        if not rule.trains_hidden or rule.source == "top":
            return {}
        fm = self.formats
        addr = max(1, math.ceil(math.log2((self.n_tiles or len(self.sizes)) + 1)))
        out = {}
        nb = len(self.blocks)
        block = cfg.error_scale == "block"
        for b, blk in enumerate(self.blocks):
            if rule.matrix == "W":
                n, log = blk.n_pool, False
            else:
                n = self.sizes[1] if b == nb - 1 else self.blocks[b + 1].n_conv
                log = bool(cfg.error_bits)
            out[f"conv{b + 1}"] = packets.PacketLayout(
                value_bits=cfg.error_bits if log else fm.error.bits, n=n, src_bits=addr,
                dst_bits=addr, len_bits=max(1, n.bit_length()), kind=cfg.packets,
                encoding="log" if log else "linear",
                exp_bits=block_exp_bits(fm.error.bits) if log and block else 0,
            )  # fmt: skip
        return out

    def observe_conv(self, R: list, Rc: list, messages: dict[str, np.ndarray]) -> None:
        """Tally one minibatch of the blocks: their errors ``Rc``, the
        sources projected for them (from the dense ``R``) and the messages."""
        nb = len(self.blocks)
        tallies = _tallies(self.cfg)  # a float run's never load numba
        for b, r in enumerate(Rc):
            if r is None:
                continue
            self.nnz_RK[b] += int(tallies.nonzero(r))
            if self.rule.source == "top":
                src = R[-1]
            elif b == nb - 1:
                src = R[0]
            else:
                src = Rc[b + 1]
            self.nnz_conv_src[b] += int(tallies.nonzero(src))
        for name, m in messages.items():
            nnz = tallies.nonzero_rows(np.ascontiguousarray(m))
            self.conv_msg_nnz[name] += int(nnz.sum())
            bits = packets.message_bits(self.conv_layouts[name], nnz)
            self.conv_msg_bits[name] += int(np.sum(bits))

    # ------------------------------------------------------------------
    def trained_layers(self) -> list[int]:
        """The dense layers the run updates (``freeze`` numbers the blocks first)."""
        _, dense = split_freeze(self.cfg.freeze, len(self.blocks))
        return trained_layers(self.rule, len(self.sizes) - 1, dense)

    def trained_blocks(self) -> list[int]:
        """The blocks (0-based) the run updates."""
        if not self.rule.trains_hidden:
            return []
        frozen, _ = split_freeze(self.cfg.freeze, len(self.blocks))
        return [b for b in range(len(self.blocks)) if b not in frozen]

    def forward_per_sample(self) -> Counter:
        """Forward-phase action counts of one sample, blocks included."""
        c = super().forward_per_sample()
        cfg, fm = self.cfg, self.formats
        for b, blk in enumerate(self.blocks):
            a_bits = fm.inp.bits if b == 0 else fm.act.bits
            c["forward", "mac", (fm.weight.bits, a_bits)] += blk.n_conv * blk.fan_in
            c["forward", "sram_read", ("weights",)] += blk.filters * blk.fan_in * fm.weight.bits
            if cfg.bias:  # read with the kernel, added where each accumulator starts
                c["forward", "sram_read", ("weights",)] += blk.filters * fm.weight.bits
                c["forward", "add", (cfg.acc_bits,)] += blk.n_conv
            c["forward", "lut", ()] += 2 * blk.n_conv
            c["forward", "add", (fm.act.bits,)] += (blk.pool * blk.pool - 1) * blk.n_pool
            c["forward", "wire", ("forward",)] += blk.n_pool * fm.act.bits
        return c

    def conv_feedback_ops(self) -> list[int]:
        """Projection operations of each block over the run (see the module doc)."""
        nb = len(self.blocks)
        out = []
        for b, blk in enumerate(self.blocks):
            dense_src = self.rule.source == "top" or b == nb - 1
            per = blk.n_pool if dense_src else self.blocks[b + 1].fan_in
            out.append(per * self.nnz_conv_src[b])
        return out

    def actions(self, engine_counts: dict[str, int]) -> Counter:
        """Action counts of the whole run, blocks included."""
        c = super().actions(engine_counts)
        cfg, rule = self.cfg, self.rule
        if not rule.trains_hidden:
            return c
        fm = self.formats
        log = bool(cfg.error_bits)
        ew, g = fm.error.bits, cfg.acc_bits
        w_rule = rule.matrix == "W"
        m_bits = fm.weight.bits if w_rule else fm.feedback.bits
        trained = self.trained_blocks()
        for bits in self.conv_msg_bits.values():
            c["transport", "wire", ("chain",)] += bits
            c["transport", "packet", ("chain",)] += self.samples
        for b, (blk, ops) in enumerate(zip(self.blocks, self.conv_feedback_ops(), strict=True)):
            if w_rule:
                c["feedback", "shift_add" if log else "mac",
                  (m_bits,) if log else (m_bits, ew)] += ops  # fmt: skip
                c["feedback", "sram_read", ("weights",)] += ops * m_bits
            else:  # C_b is dense (conv blocks take no other format): a MAC per entry
                dense_macs(c, ops, m_bits, ew, log)
            c["feedback", "add", (ew,)] += blk.n_pool * self.samples  # routing to the argmax
            if not cfg.no_derivative:
                c["feedback", "mult", (fm.deriv.bits, ew)] += blk.n_conv * self.samples
            gradients.rescale_mults(c, cfg, ew, blk.n_conv * self.samples)
            if log:
                c["feedback", "add", (ew,)] += blk.n_conv * self.samples  # log encoder
                if cfg.error_scale == "block":  # the running max for the exponent
                    c["feedback", "add", (ew,)] += blk.n_conv * self.samples
            if b not in trained:
                continue
            a_bits = fm.inp.bits if b == 0 else fm.act.bits
            upd = self.nnz_RK[b] * blk.fan_in
            if log:
                c["update", "shift_add", (g,)] += upd
            else:
                c["update", "mac", (ew, a_bits)] += upd
            c["update", "sram_read", ("grad",)] += upd * g
            c["update", "sram_write", ("grad",)] += upd * g
            self._write_back(c, blk.filters * blk.fan_in, fm.weight.bits,
                             engine_counts.get(f"changed:K^{b + 1}", 0))  # fmt: skip
            self._velocity(c, blk.filters * blk.fan_in, cfg.velocity_bits)  # momentum
            if cfg.bias:  # one add per non-zero component of R_b, one word per filter
                c["update", "add", (g,)] += self.nnz_RK[b]
                c["update", "sram_read", ("grad",)] += self.nnz_RK[b] * g
                c["update", "sram_write", ("grad",)] += self.nnz_RK[b] * g
                self._write_back(c, blk.filters, fm.weight.bits,
                                 engine_counts.get(f"changed:bK^{b + 1}", 0))  # fmt: skip
                self._velocity(c, blk.filters, cfg.velocity_bits)
        if self.regenerated:  # the blocks' C_b reads too become PRNG draws
            get_format("prng").regenerate(c)
        return c

    # ------------------------------------------------------------------
    def block_tiles(self, rows: int, cols: int) -> list[int]:
        """Tiles of each block's kernel matrix on ``rows x cols`` tiles."""
        return [-(-blk.filters // rows) * -(-blk.fan_in // cols) for blk in self.blocks]

    def block_timing(self, rows: int, cols: int, zero_skip: bool) -> list[timing.BlockTiming]:
        """Each block as the timing graph sees it, on ``rows x cols`` tiles.

        The data-dependent work is the run's mean per sample (the totals over
        ``samples``), as the dense layers' zero skipping uses: the projection
        into the block (:meth:`conv_feedback_ops`), the gradient MACs
        (``nnz(R_b) * fan_in`` with ``zero_skip``, else every conv output's
        ``n_conv * fan_in``; frozen blocks none) and the bits of the block's
        chain message (rounded up).
        """
        n = max(1, self.samples)
        trained = self.trained_blocks()
        hidden = self.rule.trains_hidden
        ops = self.conv_feedback_ops()
        out = []
        for b, blk in enumerate(self.blocks):
            bits = self.conv_msg_bits.get(f"conv{b + 1}")
            grad = self.nnz_RK[b] * blk.fan_in / n if zero_skip else None
            out.append(timing.block_timing(
                blk.filters, blk.fan_in, blk.height * blk.width, blk.n_pool,
                (blk.pool * blk.pool - 1) * blk.n_pool, rows, cols,
                proj_ops=ops[b] / n if hidden else 0.0, grad_ops=grad,
                trained=b in trained, msg_bits=None if bits is None else -(-bits // n),
            ))  # fmt: skip
        return out
