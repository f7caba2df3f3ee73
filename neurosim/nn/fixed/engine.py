"""The chip's bit-exact integer training step, wired from its units.

:class:`FixedEngine` holds the dense layers' parameter memories
(:class:`~neurosim.nn.fixed.memory.DenseMemory`) and passes each minibatch
through the forward unit, the error unit (following the rule table through
:func:`neurosim.nn.base.hidden_errors`) and the update unit. Every tensor
holds exact integers in float32/float64 arrays; it agrees bit for bit with
:mod:`neurosim.golden.reference`.
"""

from __future__ import annotations

import numpy as np

from neurosim.nn.base import Engine, InputCodes, code_dtype, hidden_errors
from neurosim.nn.draws import RESCALE_FRAC, rescale_register
from neurosim.nn.fixed.error import ErrorUnit
from neurosim.nn.fixed.forward import ForwardUnit
from neurosim.nn.fixed.memory import DenseMemory
from neurosim.nn.fixed.update import UpdateUnit
from neurosim.nn.network import Formats
from neurosim.numerics import kernels
from neurosim.numerics.fixedpoint import saturate
from neurosim.plan import Plan


class FixedEngine(Engine):
    """The chip's bit-exact integer training step.

    Parameters
    ----------
    plan : Plan
        The run, resolved once.

    Attributes
    ----------
    fm : Formats
        Every tensor's fixed-point format (of the dense part).
    mem : DenseMemory
        ``W``, ``b``, ``C`` codes (also as the attributes ``W``, ``b``, ``C``):
        float32 arrays holding integers. With ``bias`` every accumulator of
        layer h starts at ``b_code * 2**src.frac``.
    fwd : ForwardUnit
    err : ErrorUnit
    upd : UpdateUnit
    """

    def __init__(self, plan: Plan) -> None:
        super().__init__(plan)
        cfg = plan.cfg
        self.fm = fm = self._formats(plan)
        self._ws = kernels.Workspace()
        self.mem = DenseMemory(plan, fm, self.counts)
        self.W, self.b, self.C = self.mem.W, self.mem.b, self.mem.C
        self.fwd = ForwardUnit(fm, cfg.act, cfg.output, cfg.acc_bits, self.mem, self.counts)
        self.luts, self.layer_luts = self.fwd.luts, self.fwd.layer_luts
        self.err = ErrorUnit(plan, fm, self.mem, self.counts, self._ws, self._fan_ins())
        self.upd = UpdateUnit(plan, fm, self.counts, self._ws, self.err.r_max, self.err.r_q)
        self.upd.add_dense(self.mem, self.rule.adaptive)
        self._cols = None
        self._D: list = []

    def _formats(self, plan: Plan) -> Formats:
        """The dense part's formats (the conv engine reads its pooled map as
        activations)."""
        return plan.formats

    def _fan_ins(self) -> list[int]:
        """Bounds on the number of terms of the error unit's input sums."""
        return list(self.sizes)

    def lr_register(self, batch: int) -> int:
        """The update unit's multiplier ``round(lr / batch * 2**lr_frac)``."""
        return self.upd.register(self.lr, batch)

    def quantize_input(self, x: np.ndarray, ws: kernels.Workspace | None = None) -> np.ndarray:
        """Input codes ``O^0`` (float32 holding integers); in ``ws`` if given."""
        return self.fwd.quantize_input(x, ws)

    def forward(
        self, a0: np.ndarray, count: bool = True, ws: kernels.Workspace | None = None,
        cols: tuple | None = None,
    ) -> tuple[list, list]:  # fmt: skip
        """Integer forward pass (:meth:`ForwardUnit.forward`): codes ``O^0..O^L``
        and the hidden layers' ``f'`` codes."""
        return self.fwd.forward(a0, count, ws, cols)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Output ``O^L`` as real values (no counts), shape ``(B, N_L)``."""
        A, _ = self.forward(self.quantize_input(x), count=False)
        return self.fm.out.to_real(A[-1])

    def output_error(self, out: np.ndarray, t: np.ndarray) -> np.ndarray:
        """``R^L = T - O^L`` in the error word, log-quantized if configured."""
        return self.err.output_error(out, t, self.step_index)

    def feedback_codes(self, draw: int) -> list[np.ndarray]:
        """C^h codes of a ``feedback_resample`` draw (``sat:C^h:resample``)."""
        return self.mem.feedback_codes(draw)

    def input_codes(self, x: np.ndarray) -> InputCodes | None:
        """``O^0`` codes of every row of ``x`` (float32, 2-D), with each row's
        saturations and sum of ``|O^0|``
        (:func:`kernels.quantize_rows_kernel`): a minibatch's rows
        (:meth:`InputCodes.batch`) are what :meth:`quantize_input` makes of
        them. Quantizing once and gathering narrow codes per step costs less
        than gathering and quantizing float rows every step."""
        if type(x) is not np.ndarray or x.dtype != np.float32 or x.ndim != 2:
            return None  # e.g. a memory-mapped cache: the rows are copied per batch
        f = self.fm.inp
        n = x.shape[0]
        dtype = code_dtype(f.qmin, f.qmax)
        codes = InputCodes(np.empty(x.shape, dtype), np.empty(n, np.int64), np.empty(n))
        kernels.quantize_rows_kernel(x, f.frac, f.qmin, f.qmax, codes.codes, codes.sat,
                                     codes.rowsum)  # fmt: skip
        return codes

    def train_batch(
        self, x: np.ndarray | None, t: np.ndarray, codes: tuple | None = None
    ) -> np.ndarray:
        """One minibatch step on the chip; returns ``O^L`` (real) before the update.

        ``codes``: the minibatch's ``(O^0, saturations, row-sum bound)`` from
        :meth:`InputCodes.batch`, in place of quantizing ``x`` (then unused).
        """
        ws = self._ws
        if codes is None:
            a0 = self.quantize_input(x, ws)
        else:
            a0, nsat, self.fwd.rowsum0 = codes
            self.counts["sat:O^0"] += nsat
        self._cols = self.fwd.input_columns(a0, ws)
        A, self._D = self.forward(a0, ws=ws, cols=self._cols)
        self.mem.channel_step(self.step_index)
        r_top, msg_top = self.err.output_errors(A[-1], t, self.step_index)
        R, msgs, srcs = hidden_errors(self.rule, self.L, r_top, self, msg_top)
        if self.accountant is not None:
            self.accountant.observe(R, msgs, srcs)
            self.accountant.observe_inputs(R, A[:-1])
        self._apply_updates(A, R, a0.shape[0], srcs)
        self.step_index += 1
        return self.fm.out.to_real(A[-1])

    def _apply_updates(self, A: list, R: list, batch: int, srcs: dict | None = None) -> None:
        """The dense layers' updates (trained layers, then the adaptive C^h,
        with the message that reached each ``C^h``: ``srcs``)."""
        mult, step, upd = self.lr_register(batch), self.step_index, self.upd
        for i in self.trained_layers():
            upd.dense_layer(self.mem, i, A[i], R[i], mult, self.hidden_update_mode(i), step,
                            self._cols, self.fwd.rows0)  # fmt: skip
        if self.rule.adaptive:
            for i in range(self.L - 1):
                src = R[self.L - 1] if self.rule.source == "top" else R[i + 1]
                upd.feedback(i, self.C[i], A[i + 1], src if srcs is None else srcs[i], mult,
                             step)  # fmt: skip

    # the error path's operations for hidden_errors
    def project(self, i: int, src: np.ndarray) -> np.ndarray:
        """``src`` carried to hidden layer ``i`` (:meth:`ErrorUnit.project`)."""
        return self.err.project(i, src)

    def carry(self, i: int, p: np.ndarray, log: bool) -> np.ndarray:
        """A projection rounded into the error word sent down the chain."""
        return self.err.carry(i, p, log, self.step_index)

    def finish(self, i: int, p: np.ndarray) -> np.ndarray:
        """Layer ``i``'s quantized ``R`` from what it holds."""
        return self.err.finish(i, p, self._D[i], self.step_index)

    def rescale(self, i: int, r: np.ndarray) -> np.ndarray:
        """Inverted dropout on the chip: every component of message source
        ``i``'s ``R`` (error-word codes, dropped ones already 0) times the
        register ``G`` (UQ9.10, :func:`neurosim.nn.draws.rescale_register`),
        rounded half to even from 10 fraction bits back onto the error word,
        saturated (counted as ``sat:R^h``, conv ``sat:RK^b``); in place."""
        g = rescale_register(self.cfg.channel_dropout)
        v = r.astype(np.int64) * g
        q = v >> RESCALE_FRAC  # floor, also for negative products
        rem = v - (q << RESCALE_FRAC)
        half = 1 << (RESCALE_FRAC - 1)
        q += (rem > half) | ((rem == half) & (q & 1 == 1))
        name = f"sat:R^{i + 1}" if i < self.L else f"sat:RK^{i - self.L + 1}"
        out, n = saturate(q.astype(np.float64), self.fm.error)
        self.counts[name] += n
        r[...] = out
        return r
