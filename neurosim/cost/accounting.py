"""Counts of the chip's named actions, taken from the training run's own events.

The engines hand every minibatch's error signals ``R^h`` and the messages the
rule sends (:func:`neurosim.nn.engine.hidden_errors`) to an :class:`Accountant`.
Per batch it only tallies data-dependent quantities (non-zero error
components, message bits from the packet layouts); :meth:`Accountant.actions`
then turns the tallies and the structural counts (fixed by the network shape)
into action counts per phase. Energy is *not* computed here:
:mod:`neurosim.cost.bill` multiplies these counts by the energy table of
:mod:`hw_models` in one place.

Action keys are ``(phase, action, detail)`` with phases ``forward``,
``transport``, ``feedback`` (projection of the error to hidden layers) and
``update``; ``detail`` is a tuple of widths or the name of a memory or link:

==================  ===============================  =======================
action              detail                           unit
==================  ===============================  =======================
``mac``             (a_bits, b_bits)                 multiply-accumulates
``mult``            (a_bits, b_bits)                 multiplications
``shift_add``       (bits,)                          shift + add (log errors)
``add``             (bits,)                          additions
``sram_read``       (memory,)                        bits read
``sram_write``      (memory,)                        bits written
``lut``             ()                               table lookups
``rng``             ()                               random bits
``wire``            (link,)                          bits sent over a link
``packet``          (link,)                          messages sent
==================  ===============================  =======================

Memories: ``weights`` (W^h in its tile), ``feedback`` (C^h slices),
``grad`` (the gradient accumulators of a minibatch, ``update.accumulate =
"sram"``), ``buffer`` (the minibatch's inputs and errors, ``"register"``; see
:mod:`neurosim.cost.gradients` for the three strategies), ``velocity`` (the
momentum word of every trained parameter, ``momentum > 0``: per batch and
parameter one velocity read, one multiply by mu, one add and one write). Links: ``forward``,
``skip`` (SRBP broadcast bus), ``chain`` (backward chain between layers).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from types import ModuleType, SimpleNamespace
from typing import TYPE_CHECKING

import numpy as np

from neurosim.channel import packets
from neurosim.channel.formats import FeedbackFormat, get_format
from neurosim.channel.formats.base import Projection
from neurosim.channel.label import LabelLayout
from neurosim.config import TrainConfig
from neurosim.cost import gradients
from neurosim.cost.gradients import Gradients, update_flag, velocity_bits
from neurosim.nn.network import Formats
from neurosim.nn.rules import Rule, codes_chain, projects_at_sender, trained_layers
from neurosim.numerics import counts, kernels
from neurosim.numerics.fixedpoint import block_exp_bits
from neurosim.numerics.kernels import _compiled

if TYPE_CHECKING:
    from neurosim.plan import Plan

Key = tuple[str, str, tuple]


def _tallies(cfg: TrainConfig) -> ModuleType | SimpleNamespace:
    """Where a run's batch tallies come from: a fixed run has its kernels
    loaded for its engine, and the fused kernels are faster; a float run
    never loads numba: it counts with the kernels compiled ahead of time
    where ``neurosim kernels build`` built them (they load without numba),
    else, and for any call they do not take, with their NumPy twins
    (:mod:`neurosim.numerics.counts`; the same integers)."""
    if cfg.mode != "float":
        return kernels
    path = _compiled.loaded_path()
    tallies = _FLOAT_TALLIES.get(path)
    if tallies is None:
        from neurosim.numerics.kernels import _lazy, sparsity  # noqa: F401 -- registers them

        found = {k.key: k for k in _lazy.REGISTRY}
        tallies = _FLOAT_TALLIES[path] = SimpleNamespace(**{
            n: _compiled.compiled_or(found[f"sparsity.{n}"], getattr(counts, n))
            for n in counts.__all__
        })  # fmt: skip
    return tallies


#: a float run's tallies (:func:`_tallies`), by the compiled library in use
_FLOAT_TALLIES: dict = {}


@dataclass(frozen=True)
class MessageSpec:
    """One error message a sample sends.

    Attributes
    ----------
    name : str
        ``skip`` or ``chain{h}`` (from layer h+1 down to layer h, 1-based).
    link : str
        ``skip`` or ``chain``.
    layout : packets.PacketLayout or LabelLayout
        Its bit layout.
    """

    name: str
    link: str
    layout: packets.PacketLayout | LabelLayout


def message_specs(
    cfg: TrainConfig,
    rule: Rule,
    sizes: list[int],
    n_tiles: int | None = None,
    formats: Formats | None = None,
) -> list[MessageSpec]:
    """The messages of one training sample under ``rule``.

    Source and destination fields address a chip of ``n_tiles`` tiles, with
    the all-ones address reserved for broadcast: ``ceil(log2(n_tiles + 1))``
    bits (one tile per layer when ``n_tiles`` is not given).

    SRBP-type rules send ``R^L`` once on the skip bus (DRTP the class label,
    :class:`~neurosim.channel.label.LabelLayout`); RBP-type rules send
    ``R^{h+1}`` down the chain; BP sends the projection ``(W^{h+1})^T R^{h+1}``
    (computed where ``W^{h+1}`` lives) as linear error words; SBP sends its
    log-quantized chain signal. With ``error_scale = "block"`` every
    log-coded message's header also carries its shared exponent,
    ``block_exp_bits(error_word_bits)`` bits (linear BP words carry none).
    A log code has the width of the layer whose vector it carries
    (``error_bits[h - 1]`` for an ``N_h``-component message): ``R^L`` the
    top's, RBP's ``R^{h+1}`` its sender's, ``B^h`` its receiver's.
    ``formats``: the run's (default: from ``cfg``).
    """
    if not rule.trains_hidden:
        return []
    fm = formats or Formats.from_config(cfg)
    L = len(sizes) - 1
    log = bool(cfg.error_bits)
    code = cfg.per_layer("error_bits")  # a message's code: its vector's layer's width
    n_tiles = n_tiles or L
    addr = max(1, math.ceil(math.log2(n_tiles + 1)))

    # block-scaled log messages carry their shared exponent in the header
    exp_bits = block_exp_bits(fm.error.bits) if log and cfg.error_scale == "block" else 0

    def layout(n: int, logc: bool, h: int) -> packets.PacketLayout:
        """A message of ``n`` components of layer ``h``'s vector (1-based)."""
        return packets.PacketLayout(
            value_bits=code[h - 1] if logc else fm.error.bits,
            n=n,
            src_bits=addr,
            dst_bits=addr,
            len_bits=max(1, n.bit_length()),
            kind=cfg.packets,
            encoding="log" if logc else "linear",
            exp_bits=exp_bits if logc else 0,
        )

    if rule.source == "target":  # DRTP: the class label, no header
        return [MessageSpec("skip", "skip", LabelLayout(sizes[L]))]
    if rule.source == "top":
        return [MessageSpec("skip", "skip", layout(sizes[L], log, L))]  # R^L: the top's code
    out = []
    for h in range(L - 1, 0, -1):
        if rule.matrix == "C" and not projects_at_sender(rule, cfg):  # R^{h+1}: sender's code
            n, logc, at = sizes[h + 1], log, h + 1
        elif rule.source == "next":  # BP, RBP coding B^h: the projection (coded before f')
            n, logc, at = sizes[h], log and cfg.error_coding == "before_derivative", h
        else:  # SBP: B^h, the receiver's code
            n, logc, at = sizes[h], log, h
        out.append(MessageSpec(f"chain{h}", "chain", layout(n, logc, at)))
    return out


def observe_layer_inputs(self: Accountant, R: list, inputs: list) -> None:
    """Tally one minibatch's layer inputs ``O^{h-1}`` (``inputs[i]``,
    ``(B, N_i)``, beside ``R[i]``): the non-zero inputs and the gradient
    products whose error and input are both non-zero, ``sum_s nnz(R_s^h)
    nnz(O_s^{h-1})`` (what ``update.input_skip`` works)."""
    tally = _tallies(self.cfg).input_tally
    for i, a in enumerate(inputs):
        if i < len(R) and R[i] is not None:
            n_in, n_pairs = tally(a, R[i])
            self.skips["in", i] += int(n_in)
            self.skips["in_R", i] += int(n_pairs)


def message_tuple_arrays(self: Accountant) -> tuple[np.ndarray, np.ndarray] | None:
    """The samples' tuples of message sizes as arrays: ``(bits, samples)``.

    ``bits`` (int64, ``(T, len(specs))``) holds each counted tuple's message
    sizes in bits, ``samples`` (int64, ``(T,)``) how many samples had it,
    in the order :attr:`Accountant.msg_tuples` meets them (a tuple may
    repeat: distinct counts of non-zero components can cost the same bits).
    None when the tuples are counted as such (codes beyond int64).
    """
    if self._n_codes >= 1 << 62:
        return None
    if self._hist.size:
        codes = np.flatnonzero(self._hist)
        samples = self._hist[codes]
    else:
        n = len(self._code_counts)
        codes = np.fromiter(self._code_counts.keys(), dtype=np.int64, count=n)
        samples = np.fromiter(self._code_counts.values(), dtype=np.int64, count=n)
    cols = []
    rest = codes.astype(np.int64)
    for table, radix in zip(reversed(self._bits_of), reversed(self._radix), strict=True):
        cols.append(table[rest % radix])  # mixed-radix digits, last spec first
        rest = rest // radix
    bits = np.stack(cols[::-1], axis=1) if cols else np.zeros((codes.size, 0), np.int64)
    return bits.astype(np.int64), samples.astype(np.int64)


@dataclass
class Accountant:
    """Tallies data-dependent events batch by batch.

    Parameters
    ----------
    cfg : TrainConfig
    rule : Rule
    sizes : list of int
        ``[N_0 .. N_L]``.
    col_blocks : list of int, optional
        Tiles along the input dimension per layer (partial sums travel on the
        forward link between them); 1 each when not given.
    n_tiles : int, optional
        Tiles of the chip (sets the packets' address widths).
    regenerated : bool
        C^h is regenerated by a per-tile PRNG instead of being stored: each
        entry used costs random bits instead of an SRAM read.
    plan : Plan, optional
        The run resolved (:func:`neurosim.plan.make_plan`): its formats are
        used, not re-derived from ``cfg``. :meth:`from_plan` builds one.
    feedback_nnz : list of int, optional
        Actual non-zeros of each drawn ``C^h`` (``h = 1 .. L-1``); the sparse and
        ternary projections use them, else the expected ``feedback_n`` per row.
    accumulate : str, optional
        Gradient strategy (:mod:`neurosim.cost.gradients`): ``sram``, ``register``
        or ``online``; default the chip's ``update.accumulate`` (else ``sram``).
    zero_skip : bool, optional
        A zero error component skips its gradient work and its projection
        work; default the chip's ``update.zero_skip`` (True without a chip).

    How a projection through ``C^h`` is priced is the feedback format's
    (:meth:`neurosim.channel.formats.FeedbackFormat.project`).

    Every tile keeps the C^h rows of its output neurons, so a hidden layer
    cut into ``col_blocks`` tiles per row projects the error in each of them
    (no intra-layer error traffic; the memory is replicated to match, see
    :func:`neurosim.cost.placement.chip_mapping`).
    """

    cfg: TrainConfig
    rule: Rule
    sizes: list[int]
    col_blocks: list[int] | None = None
    samples: int = 0
    batches: int = 0
    nnz_R: Counter = field(default_factory=Counter)
    nnz_msg: Counter = field(default_factory=Counter)
    nnz_src: Counter = field(default_factory=Counter)
    src_components: Counter = field(default_factory=Counter)
    regenerated: bool = False
    n_tiles: int | None = None
    msg_bits: Counter = field(default_factory=Counter)
    specs: list[MessageSpec] = field(default_factory=list)
    plan: Plan | None = None
    feedback_nnz: list[int] | None = None
    accumulate: str | None = None
    zero_skip: bool | None = None
    skips: Counter = field(default_factory=Counter)  # ("in" | "in_R" | "changed", layer)
    observe_inputs = observe_layer_inputs

    @classmethod
    def from_plan(cls, plan: Plan, **kwargs) -> Accountant:
        """An accountant of the run ``plan`` (``kwargs``: the other fields)."""
        return cls(plan.cfg, plan.rule, list(plan.sizes), plan=plan, **kwargs)

    def __post_init__(self) -> None:
        self.formats = self.plan.formats if self.plan else Formats.from_config(self.cfg)
        # the chip's gradient strategy (sram and zero skipping without a chip)
        update = self.plan.chip.update if self.plan and self.plan.chip else None
        if self.accumulate is None:
            self.accumulate = update.accumulate if update else "sram"
        if self.zero_skip is None:
            self.zero_skip = update.zero_skip if update else True
        self.feedback: FeedbackFormat = channel_format(self.cfg, self.rule)
        self.specs = message_specs(self.cfg, self.rule, self.sizes, self.n_tiles, self.formats)
        self._by_name = {s.name: s for s in self.specs}
        # bits of each message by its number of non-zero components, and a
        # mixed-radix code of a sample's tuple of non-zero counts: a batch's
        # message sizes become one histogram update, not a Python loop
        self._bits_of = [
            np.asarray(packets.message_bits(s.layout, np.arange(s.layout.n + 1)), dtype=np.int64)
            for s in self.specs
        ]
        self._radix = [s.layout.n + 1 for s in self.specs]
        self._n_codes = math.prod(self._radix)
        self._hist = np.zeros(self._n_codes if self._n_codes <= 1 << 16 else 0, dtype=np.int64)
        self._code_counts: Counter = Counter()  # for wide tuples: code -> samples
        self._tuple_counts: Counter = Counter()  # beyond int64 codes: bits tuple -> samples

    def observe(self, R: list, messages: dict[str, np.ndarray], sources: dict) -> None:
        """Tally one minibatch: error signals, messages sent, projected sources."""
        self.batches += 1
        self.samples += R[-1].shape[0]
        tallies = _tallies(self.cfg)
        for i, r in enumerate(R):
            if r is not None:
                self.nnz_R[i] += int(tallies.nonzero(r))
        seen: dict[int, int] = {}  # SRBP projects one R^L for every layer: count it once
        for i, src in sources.items():
            if id(src) not in seen:
                seen[id(src)] = int(tallies.nonzero(src))
            self.nnz_src[i] += seen[id(src)]
            self.src_components[i] += int(src.size)
        if not messages:
            return
        if self._n_codes >= 1 << 62:  # codes would overflow int64: count tuples
            cols = []
            for s in self.specs:
                nnz = tallies.nonzero_rows(messages[s.name])
                bits = self._bits_of[len(cols)][nnz]
                self.nnz_msg[s.name] += int(nnz.sum())
                self.msg_bits[s.name] += int(bits.sum())
                cols.append(bits)
            self._tuple_counts.update(zip(*(c.tolist() for c in cols), strict=True))
            return
        code = np.zeros(R[-1].shape[0], dtype=np.int64)
        for s, table, radix in zip(self.specs, self._bits_of, self._radix, strict=True):
            nnz, bits = tallies.message_tally(messages[s.name], table, radix, code)
            self.nnz_msg[s.name] += nnz
            self.msg_bits[s.name] += bits
        if self._hist.size:
            self._hist += np.bincount(code, minlength=self._hist.size)
        else:
            # sorted: new codes enter the counter in increasing order, as
            # np.unique's would (a few us a step less for 64 codes)
            self._code_counts.update(sorted(code.tolist()))

    @property
    def msg_tuples(self) -> Counter:
        """Samples per tuple of message sizes (bits, in the order of ``specs``).

        Few distinct tuples occur: the timing model prices each once.
        """
        arrays = message_tuple_arrays(self)
        if arrays is None:
            return Counter(self._tuple_counts)
        out: Counter = Counter()
        bits, samples = arrays
        for tup, count in zip(map(tuple, bits.tolist()), samples.tolist(), strict=True):
            out[tup] += count
        return out

    # ------------------------------------------------------------------
    def trained_layers(self) -> list[int]:
        """The dense layers the run updates (rule and ``freeze``)."""
        return trained_layers(self.rule, len(self.sizes) - 1, self.cfg.freeze)

    def forward_per_sample(self) -> Counter:
        """Forward-phase action counts of one sample (also one inference)."""
        cfg, sizes, fm = self.cfg, self.sizes, self.formats
        L = len(sizes) - 1
        c: Counter = Counter()
        for i in range(L):
            n_in, n_out = sizes[i], sizes[i + 1]
            a_bits, w_bits = fm.src(i).bits, fm.weights[i].bits  # the layer's own widths
            c["forward", "mac", (w_bits, a_bits)] += n_out * n_in
            c["forward", "sram_read", ("weights",)] += n_out * n_in * w_bits
            if cfg.bias:  # b^h read once per neuron, the accumulator's start value
                c["forward", "sram_read", ("weights",)] += n_out * w_bits
                c["forward", "add", (cfg.acc_bits,)] += n_out
            cb = self.col_blocks[i] if self.col_blocks else 1
            if cb > 1:
                c["forward", "wire", ("forward",)] += (cb - 1) * n_out * cfg.acc_bits
            if i < L - 1:
                c["forward", "lut", ()] += 2 * n_out  # f and f'
                c["forward", "wire", ("forward",)] += n_out * fm.acts[i].bits  # O^{i+1}
            elif cfg.output == "sigmoid":
                c["forward", "lut", ()] += n_out
            elif cfg.output == "softmax":
                c["forward", "lut", ()] += n_out  # exp table
                c["forward", "add", (fm.exp.bits,)] += n_out  # the sum
                # one restoring division per output: out_bits add/subtract steps
                c["forward", "add", (fm.exp.bits,)] += n_out * fm.out.bits
        return c

    def actions(self, engine_counts: dict[str, int]) -> Counter:
        """Action counts of the whole run (all phases, summed over samples).

        Parameters
        ----------
        engine_counts : dict
            The engine's event counts (``changed:W^h``, ``rng_bits``, ...).
        """
        c: Counter = Counter()
        for k, v in self.forward_per_sample().items():
            c[k] += v * self.samples
        # transport: the messages, bit for bit from their layouts
        for s in self.specs:
            c["transport", "wire", (s.link,)] += self.msg_bits[s.name]
            c["transport", "packet", (s.link,)] += self.samples
        if self.rule.trains_hidden:
            for i in range(len(self.sizes) - 2):
                self._feedback_layer(c, i)
        gradients.dense_updates(self, c, engine_counts)
        if self.rule.adaptive:
            gradients.adaptive_updates(self, c, engine_counts)
        for key in ("rng_bits", "rng_bits:velocity", "rng_bits:update_code"):
            c["update", "rng", ()] += engine_counts.get(key, 0)  # rounding, momentum, codes
        c["feedback", "rng", ()] += engine_counts.get("rng_bits:channel", 0)  # dropout masks
        # stochastic rounding of log-coded error messages (error_rounding)
        c["feedback", "rng", ()] += engine_counts.get("rng_bits:error", 0)
        if self.regenerated:  # PRNG-regenerated feedback: every entry read is a fresh draw
            get_format("prng").regenerate(c)
        return c

    def _n_src(self, i: int) -> int:
        """Columns of ``C^{i+1}``: ``N_L`` (top source) or ``N_{i+2}``."""
        L = len(self.sizes) - 1
        return self.sizes[L] if self.rule.skip else self.sizes[i + 2]

    def _feedback_layer(self, c: Counter, i: int) -> None:
        """Carry the error to hidden layer ``i + 1``: the projection (through
        ``C^h`` in the run's format, or ``W^T``), ``f'`` and the log encoder."""
        cfg, fm, sizes = self.cfg, self.formats, self.sizes
        log = bool(cfg.error_bits)
        ew, n_i = fm.error.bits, sizes[i + 1]
        nnz_src = self._src_work(i)
        gradients.rescale_mults(c, cfg, ew, n_i * self.samples)
        if self.rule.source == "target":  # DRTP: the label's column, no product
            return target_layer(self, c, i)
        if self.rule.matrix == "C":
            fmt = self.feedback
            p = channel_projection(self, i)
            # RBP coding B^h projects R^{h+1} where it lives: a full word
            # unless it is a code (R^L with top_error = "coded")
            L = len(sizes) - 1
            src_log = (gradients.error_is_code(cfg, L, i + 1)
                       if projects_at_sender(self.rule, cfg) else log)  # fmt: skip
            fmt.project(c, p, fm.feedbacks[i].bits, ew, src_log)  # C^{i+1} at its width
            if cfg.feedback_sign == "concordant":  # the sign bit of W^{h+1}
                c["feedback", "sram_read", ("weights",)] += fmt.projection_ops(p)
            resampled(self, c, i)
        else:
            ops = n_i * nnz_src
            wb = fm.weights[i + 1].bits  # the transposed read of W^{h+1}
            # the transposed read multiplies R^{h+1}: a shift-add for a log
            # code (SBP's chain signal is one below the top)
            L = len(sizes) - 1
            src_log = log if self.rule.source == "next_raw" and i < L - 2 else (
                gradients.error_is_code(cfg, L, i + 1))  # fmt: skip
            c["feedback", "shift_add" if src_log else "mac",
              (wb,) if src_log else (wb, ew)] += ops  # fmt: skip
            c["feedback", "sram_read", ("weights",)] += ops * wb
        if not cfg.no_derivative:
            c["feedback", "mult", (fm.derivs[i].bits, ew)] += n_i * self.samples
        if log:
            self._encoders(c, n_i, codes_chain(self.rule, cfg))  # R^h's (B^h's before f')

    def _encoders(self, c: Counter, n: int, chain: bool = False) -> None:
        """Log encoders of ``n`` components per sample (``chain``: chain words)."""
        ew = self.formats.error.bits
        c["feedback", "add", (ew,)] += n * self.samples
        if chain and self.cfg.error_sign_scale == "rms":  # sum of squares for the exponent
            c["feedback", "mult", (ew, ew)] += n * self.samples
            c["feedback", "add", (2 * ew,)] += n * self.samples
        elif self.cfg.error_scale == "block":  # the running max for the exponent
            c["feedback", "add", (ew,)] += n * self.samples

    def _write_back(
        self, c: Counter, n: int, bits: int, changed: int, memory: str = "weights"
    ) -> None:
        """The minibatch write-back of ``n`` parameters (``sram`` strategy:
        the conv blocks', :mod:`neurosim.cost.conv_accounting`)."""
        self.grads.apply(c, n, bits, changed, 0, memory)

    @property
    def grads(self) -> Gradients:
        """The run's gradient strategy (:mod:`neurosim.cost.gradients`)."""
        cfg, flag = self.cfg, update_flag
        return Gradients(
            self.accumulate, self.zero_skip, cfg.acc_bits, cfg.lr_frac, self.samples, self.batches,
            bool(cfg.momentum), flag(self, "zero_update_skip"), flag(self, "lr_shift"),
        )  # fmt: skip

    def _src_work(self, i: int) -> int:
        """Source components of the projection to hidden layer ``i + 1`` that do
        work: the non-zero ones with ``zero_skip`` or a label (DRTP), else all."""
        skip = self.zero_skip or self.rule.source == "target"
        return self.nnz_src[i] if skip else self._n_src_components(i)

    def _n_src_components(self, i: int) -> int:
        """Components of the error projected to hidden layer ``i + 1``, all samples."""
        return self.src_components[i]

    def _velocity(self, c: Counter, n: int, bits: int) -> None:
        """Momentum (``momentum > 0``): per batch and parameter, read the
        velocity, multiply it by mu (the ``lr_frac``-bit register), add the
        step and write it back (every word: the velocity of a parameter with
        no step still decays)."""
        if not self.cfg.momentum:
            return
        b = self.batches
        c["update", "sram_read", ("velocity",)] += n * bits * b
        c["update", "mult", (bits, self.cfg.lr_frac)] += n * b
        c["update", "add", (bits,)] += n * b
        c["update", "sram_write", ("velocity",)] += n * bits * b


def resampled(acct: Accountant, c: Counter, i: int) -> None:
    """``feedback_resample``: a fresh ``C^{i+1}`` drawn and stored per minibatch."""
    if acct.cfg.feedback_resample:
        bits = acct.feedback.read_bits(acct.formats.feedbacks[i].bits)
        drawn = acct.sizes[i + 1] * acct._n_src(i) * bits * acct.batches
        c["feedback", "rng", ()] += drawn
        c["feedback", "sram_write", ("feedback",)] += drawn


def target_layer(acct: Accountant, c: Counter, i: int) -> None:
    """DRTP's error at hidden layer ``i + 1``: the label's column of
    ``C^{i+1}`` (the format's column select, no product), ``f'`` times the
    selected entry (a ``mult`` of the ``f'`` code and the ``C^h`` word) and
    the log encoders of ``R^h``."""
    cfg, fm, n_i = acct.cfg, acct.formats, acct.sizes[i + 1]
    fb = fm.feedbacks[i].bits  # C^{i+1}'s width
    acct.feedback.select(c, channel_projection(acct, i), fb)
    resampled(acct, c, i)
    if not cfg.no_derivative:
        c["feedback", "mult", (fm.derivs[i].bits, fb)] += n_i * acct.samples
    if cfg.error_bits:
        acct._encoders(c, n_i)


def channel_format(cfg: TrainConfig, rule: Rule) -> FeedbackFormat:
    """The format whose datapath projects the errors: the run's drawn one, or
    ``dense`` for adaptive rules (their updates turn ``C^h`` into
    ``feedback_bits`` words, written back as such)."""
    return get_format("dense" if rule.adaptive else cfg.feedback)


def channel_projection(acct: Accountant, i: int) -> Projection:
    """The run's projection of the error through ``C^{i+1}`` (as ``acct`` has
    tallied it): its rows in every tile that holds them (``col_blocks``), one
    row per synapse with ``feedback_per_synapse``."""
    cfg, sizes = acct.cfg, acct.sizes
    copies = acct.col_blocks[i] if acct.col_blocks else 1
    if cfg.feedback_per_synapse:  # one C^h row per synapse, not per neuron
        copies *= sizes[i]
    nnz = acct.feedback_nnz[i] if acct.feedback_nnz is not None else None
    return Projection(
        rows=sizes[i + 1], n_src=acct._n_src(i), nnz_src=acct._src_work(i),
        samples=acct.samples, copies=copies, n=cfg.feedback_n, rank=cfg.rank, nnz=nnz,
    )  # fmt: skip


def velocity_memory_bits(
    cfg: TrainConfig, rule: Rule, sizes: list[int], trained: list[int] | None = None
) -> int:
    """Bits of velocity memory the run's trained parameters need (0 without
    momentum): ``W^h`` (and ``b^h``) of every trained layer (``trained``,
    0-based; default from ``freeze``), adaptive ``C^h``."""
    if not cfg.momentum:
        return 0
    L = len(sizes) - 1
    n = 0
    if trained is None:
        trained = trained_layers(rule, L, cfg.freeze)
    for i in trained:
        n += sizes[i + 1] * (sizes[i] + (1 if cfg.bias else 0))
    bits = n * velocity_bits(cfg)
    if rule.adaptive:
        for i in range(L - 1):
            n_src = sizes[L] if rule.skip else sizes[i + 2]
            bits += sizes[i + 1] * n_src * velocity_bits(cfg, "C", i)
    return bits
