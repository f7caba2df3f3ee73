"""How a tile gathers gradients and applies them: the chip's ``update`` choice.

:class:`Gradients` adds the update-phase actions of one trained parameter
array (``W^h``, ``b^h`` or an adaptive ``C^h``) to an action counter, as the
chip's ``update.accumulate`` does it. A *gradient product* is one error
component times one operand word (``R^h_j a^{h-1}_k`` for ``W^h``;
``O^h_i R^src_j`` for ``dC^h``; a bias has no operand: its "product" is the
error component itself). ``work`` is how many error components do gradient
work over the run: the non-zero ones with ``update.zero_skip = true``, every
component of every sample (``n_err * samples``) without it; the products are
``work * n_opd``.

``sram`` (the minibatch in a gradient SRAM)
    Per product a MAC (a ``shift_add`` of ``acc_bits`` when the error is a
    log code, :func:`error_is_code`; an ``add`` of ``acc_bits`` for a bias)
    and a read-modify-write of one ``acc_bits`` word in the ``grad`` memory.
    Per batch and parameter the write-back: read and clear the accumulator,
    multiply by the learning rate (``mult`` of ``acc_bits x lr_frac``), read
    the parameter, add, write the words that changed.

``register`` (the minibatch in a batch buffer, summed in the accumulators)
    Per sample the tile writes the layer's inputs and errors into its
    ``buffer`` memory (:meth:`Gradients.buffer`). At the end of the batch the
    update unit sweeps the synapses row by row: it reads each error word once
    per row and sample (held in a register while the row's synapses are
    summed) and one operand word per product; the sum over the batch stays in
    the MAC's accumulator register (its add is the MAC's own), so there is no
    gradient-SRAM traffic. A bias sums the row's error words already read
    (one ``add`` of ``acc_bits`` per working component, no read). Then the
    write-back as ``sram`` without the accumulator read and clear.

``online`` (``batch = 1``: every sample writes the weights)
    Per product the MAC, the learning-rate ``mult``, a read of the parameter
    word, an add, and a write of the words that change; no gradient memory,
    no write-back. With momentum every parameter moves every sample (its
    velocity decays): the parameter read and add are then per sample and
    parameter, the velocity's own read-modify-write as for a batch.

The learning-rate scaling takes the gradient ``G`` as wide as it is
(:func:`grad_bits`): the ``acc_bits`` accumulator word of ``sram`` and
``register``; for ``online`` one product, ``error word + operand word`` bits
(a bias: the error word), at most ``acc_bits``, since no accumulator sits
between the MAC and the multiplier. It is a ``mult`` of ``G x lr_frac``, or
with the chip's ``update.lr_shift`` (a power-of-two learning rate) a
``shift`` of ``G``'s width.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from neurosim.nn.draws import RESCALE_BITS


@dataclass(frozen=True)
class Gradients:
    """The update-phase pricing of one run under one gradient strategy.

    Attributes
    ----------
    accumulate : str
        ``sram``, ``register`` or ``online`` (the chip's ``update.accumulate``).
    zero_skip : bool
        A zero error component skips its gradient work.
    acc_bits : int
        Accumulator word, bits.
    lr_frac : int
        Fraction bits of the learning-rate register.
    samples, batches : int
        Samples and minibatches of the run.
    momentum : bool
        The run has a velocity per parameter.
    zero_update_skip : bool
        Only the words whose update code is non-zero (counted as changed)
        are read and added to (the chip's ``update.zero_update_skip``).
    """

    accumulate: str = "sram"
    zero_skip: bool = True
    acc_bits: int = 32
    lr_frac: int = 16
    samples: int = 0
    batches: int = 0
    momentum: bool = False
    zero_update_skip: bool = False
    lr_shift: bool = False

    def scale(self, c: Counter, n: int, bits: int) -> None:
        """``n`` learning-rate scalings of a ``bits``-wide gradient (at most
        ``acc_bits``): a ``mult`` by the ``lr_frac`` register, or a ``shift``
        (``lr_shift``)."""
        bits = min(bits, self.acc_bits)
        if self.lr_shift:
            c["update", "shift", (bits,)] += n
        else:
            c["update", "mult", (bits, self.lr_frac)] += n

    def work(self, nnz: int, n_err: int) -> int:
        """Error components doing gradient work over the run: ``nnz`` (the
        non-zero ones) with zero skipping, else ``n_err * samples``."""
        return nnz if self.zero_skip else n_err * self.samples

    def products(
        self, c: Counter, ops: int, action: str, detail: tuple, opd_bits: int, prod_bits: int
    ) -> None:
        """``ops`` gradient products (``action``/``detail``: the MAC, shift-add
        or add that forms one) and their accumulation traffic; ``opd_bits``:
        the operand word the ``register`` strategy reads from its buffer per
        product (0: none, a bias); ``prod_bits``: the width of one product
        (what ``online`` scales)."""
        g = self.acc_bits
        c["update", action, detail] += ops
        if self.accumulate == "sram":
            c["update", "sram_read", ("grad",)] += ops * g
            c["update", "sram_write", ("grad",)] += ops * g
        elif self.accumulate == "register":
            c["update", "sram_read", ("buffer",)] += ops * opd_bits
        else:  # online: the product times the learning rate, now
            self.scale(c, ops, prod_bits)

    def bias_sums(self, c: Counter, work: int, error_bits: int) -> None:
        """A bias's gradient: per working error component one ``add`` of
        ``acc_bits`` into its accumulator (``sram``: with the ``grad``
        read-modify-write; ``register``: of the error word already read for
        the row), or (``online``, nothing to sum) the learning-rate scaling of
        the ``error_bits`` error word."""
        if self.accumulate == "online":
            self.scale(c, work, error_bits)
        else:
            self.products(c, work, "add", (self.acc_bits,), 0, error_bits)

    def buffer(self, c: Counter, write_bits: int, read_bits: int) -> None:
        """``register`` only: ``write_bits`` written into the batch buffer over
        the run (inputs and errors, per sample) and ``read_bits`` of error
        words read back (one per row and sample)."""
        if self.accumulate == "register":
            c["update", "sram_write", ("buffer",)] += write_bits
            c["update", "sram_read", ("buffer",)] += read_bits

    def apply(
        self, c: Counter, n: int, bits: int, changed: int, ops: int, memory: str = "weights"
    ) -> None:
        """Apply the gradients to ``n`` parameters of ``bits`` in ``memory``
        (``changed``: words written over the run; ``ops``: the products,
        which ``online`` applies one by one)."""
        g, b = self.acc_bits, self.batches
        if self.accumulate == "online":
            touched = n * b if self.momentum else ops
            if self.zero_update_skip and not self.momentum:
                touched = min(touched, changed)  # a zero code touches no word
            c["update", "sram_read", (memory,)] += touched * bits
            c["update", "add", (bits,)] += touched
            c["update", "sram_write", (memory,)] += changed * bits
            return
        if self.accumulate == "sram":
            c["update", "sram_read", ("grad",)] += n * g * b
            c["update", "sram_write", ("grad",)] += n * g * b  # clear for the next batch
        self.scale(c, n * b, g)
        # the weight is read and added to for every parameter and batch, or
        # (zero_update_skip) only where the code is non-zero
        touched = min(n * b, changed) if self.zero_update_skip and not self.momentum else n * b
        c["update", "sram_read", (memory,)] += touched * bits
        c["update", "add", (bits,)] += touched
        c["update", "sram_write", (memory,)] += changed * bits  # only changed words


def grad_bits(accumulate: str, acc_bits: int, error_bits: int, operand_bits: int) -> int:
    """Width of the gradient ``G`` the update unit scales by the learning
    rate, bits: the ``acc_bits`` accumulator word (``sram``, ``register``),
    or for ``online`` one product of an ``error_bits`` error word and an
    ``operand_bits`` operand, at most ``acc_bits``."""
    if accumulate == "online":
        return min(acc_bits, error_bits + operand_bits)
    return acc_bits


def velocity_bits(cfg: Any, kind: str = "W", i: int = 0) -> int:
    """Width of a velocity word: ``velocity_bits`` for weights and biases,
    ``feedback_bits + velocity_bits - weight_bits`` for adaptive ``C^h``
    (``C^{i+1}``'s own ``feedback_bits``, 0-based ``i``)."""
    if kind == "C":
        fb = cfg.per_layer("feedback_bits")[i]
        return fb + cfg.velocity_bits - cfg.per_layer("weight_bits")[0]
    return cfg.velocity_bits


def error_code_bits(acct: Any, i: int = -1) -> int:
    """Bits of an error word of dense layer ``i`` (0-based; default the
    output layer) as a tile keeps it: its log code (``error_bits[i]``), else
    the linear error word."""
    return acct.cfg.per_layer("error_bits")[i] or acct.formats.error.bits


def error_is_code(cfg: Any, L: int, i: int) -> bool:
    """Whether layer ``i``'s ``R`` (0-based; ``L - 1`` is the output layer) is
    a log code, a signed power of two that the update unit and BP's
    transposed read multiply with a shift-add. It is not without
    ``error_bits``, for the output layer with ``top_error = "full"`` (its own
    error word), and for hidden layers with ``error_coding =
    "before_derivative"`` (``f' * Q(B^h)``, a full error word): those
    products take a real multiplier (``mac`` of the error word's width)."""
    if not cfg.error_bits:
        return False
    if i == L - 1:
        return cfg.top_error == "coded"
    return cfg.error_coding == "after_derivative"


def rescale_mults(c: Counter, cfg: Any, error_bits: int, n: int) -> None:
    """Inverted channel dropout (``channel_dropout_rescale``): ``n`` products
    of an error word (``error_bits`` wide) by the 19-bit register ``G``, one
    per component of each dropped message (a dropped one multiplies its zero);
    none without dropout."""
    if cfg.channel_dropout and cfg.channel_dropout_rescale:
        c["feedback", "mult", (error_bits, RESCALE_BITS)] += n


def _blocks(acct: Any, i: int) -> tuple[int, int]:
    """(row blocks, column blocks) of layer ``i + 1``'s tiles (1, 1 without a mapping)."""
    cb = acct.col_blocks[i] if acct.col_blocks else 1
    mapping = acct.plan.mapping if acct.plan is not None else None
    return (mapping.layers[i].row_blocks if mapping is not None else 1), cb


def update_flag(acct: Any, name: str) -> bool:
    """The chip's ``update.<name>`` switch of ``acct``'s run (False without a chip)."""
    chip = acct.plan.chip if acct.plan is not None else None
    return bool(getattr(chip.update, name)) if chip is not None else False


def gradient_products(acct: Any, i: int, dense: int) -> int:
    """Gradient products of dense layer ``i`` (0-based) over the run: ``dense``
    (every input's synapse of each working error component), or with the
    chip's ``update.input_skip`` only the synapses whose input is non-zero:
    ``sum_s nnz(R_s) nnz(O_s)`` with zero skipping, ``N_out sum_s nnz(O_s)``
    without."""
    if not update_flag(acct, "input_skip"):
        return dense
    if acct.zero_skip:
        return acct.skips["in_R", i]
    return acct.sizes[i + 1] * acct.skips["in", i]


def dense_updates(acct: Any, c: Counter, engine_counts: dict[str, int]) -> None:
    """Add the update-phase actions of the trained dense layers of ``acct``
    (a :class:`neurosim.cost.accounting.Accountant`) to ``c``, gathered and
    applied as its strategy (:attr:`Accountant.grads`) says."""
    cfg, fm, sizes, gr = acct.cfg, acct.formats, acct.sizes, acct.grads
    ew, g = fm.error.bits, cfg.acc_bits
    for i in acct.trained_layers():
        log = error_is_code(cfg, len(sizes) - 1, i)
        code = error_code_bits(acct, i) if log else ew  # the error word as the tile keeps it
        n_in, n_out = sizes[i], sizes[i + 1]
        a_bits = fm.src(i).bits  # the layer's input at its own width
        work = gr.work(acct.nnz_R[i], n_out)
        ops = gradient_products(acct, i, work * n_in)
        product = ("shift_add", (g,)) if log else ("mac", (ew, a_bits))
        gr.products(c, ops, *product, a_bits, ew + a_bits)
        # register: per sample each tile of a row block writes its columns'
        # inputs and each of a row's tiles its rows' errors; a row's tiles
        # each read the row's error words once per sample
        rb, cb = _blocks(acct, i)
        gr.buffer(
            c, (rb * n_in * a_bits + cb * n_out * code) * acct.samples,
            cb * n_out * code * acct.samples,
        )  # fmt: skip
        changed = engine_counts.get(f"changed:W^{i + 1}", 0)
        gr.apply(c, n_out * n_in, fm.weights[i].bits, changed, ops)  # layer's own width
        acct._velocity(c, n_out * n_in, cfg.velocity_bits)
        if cfg.bias:  # b^h: its gradient adds R^h, one add per working component
            gr.bias_sums(c, work, ew)
            changed = engine_counts.get(f"changed:b^{i + 1}", 0)
            gr.apply(c, n_out, fm.weights[i].bits, changed, work)
            acct._velocity(c, n_out, cfg.velocity_bits)


def adaptive_updates(acct: Any, c: Counter, engine_counts: dict[str, int]) -> None:
    """Adaptive rules of ``acct``: the ``C^h`` updates, ``dC^h = O^h
    (R^src)^T``, gathered and applied as the weights' are."""
    cfg, fm, sizes, gr = acct.cfg, acct.formats, acct.sizes, acct.grads
    log = bool(cfg.error_bits)
    ew, g = fm.error.bits, cfg.acc_bits
    for i in range(len(sizes) - 2):
        n_src, n_i = acct._n_src(i), sizes[i + 1]
        # the source error that reached C^h: R^L (skip) or R^{h+1}, at its layer's code
        code = error_code_bits(acct, -1 if acct.rule.skip else i + 1)
        nnz = acct.nnz_msg["skip"] if acct.rule.source == "top" else acct.nnz_R[i + 1]
        ops = gr.work(nnz, n_src) * n_i
        a_bits = fm.acts[i].bits  # O^{i+1} at its own width
        product = ("shift_add", (g,)) if log else ("mac", (ew, a_bits))
        gr.products(c, ops, *product, a_bits, ew + a_bits)
        # register: O^h of the slice's rows and the source error, per sample
        per_sample = n_i * a_bits + n_src * code
        gr.buffer(c, per_sample * acct.samples, n_src * code * acct.samples)
        changed = engine_counts.get(f"changed:C^{i + 1}", 0)
        gr.apply(c, n_i * n_src, fm.feedbacks[i].bits, changed, ops, memory="feedback")
        acct._velocity(c, n_i * n_src, velocity_bits(cfg, "C", i))
