"""The error unit: projection, ``f'``, rounding, saturation and the log coder.

An error message is one sample's error vector of one layer (with conv
blocks, one sample's error map). The unit projects the error that reaches a
layer through ``(W^{h+1})^T`` or ``C^h`` (:meth:`ErrorUnit.project`),
multiplies by the ``f'`` codes, rounds half to even onto the error word,
saturates, and log-codes the message (``error_bits``): every component with
the fixed alpha, or the whole message with one shared exponent
(``error_scale = "block"``); nearest, or stochastic with the words of the
stream ``"error_rounding"`` of the message's tile (counter layout in
:mod:`neurosim.nn.draws`), counted as ``rng_bits:error``. The golden
reference is :mod:`neurosim.golden.error`.
"""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace
from typing import Any

import numpy as np

from neurosim.errors import ConfigError
from neurosim.nn.draws import error_counter
from neurosim.nn.fixed.memory import DenseMemory
from neurosim.nn.network import Formats
from neurosim.nn.rules import projects_at_sender
from neurosim.numerics import kernels, streams
from neurosim.numerics.fixedpoint import LogQuantizer
from neurosim.numerics.kernels import imac
from neurosim.plan import Plan


class ChainMac:
    """The error unit's projections (``W^T`` of BP and SBP, ``C^h`` of RBP,
    the skip channel's stacked ``C^h``) in the VNNI kernels
    (:mod:`neurosim.numerics.kernels.imac`).

    Parameters
    ----------
    lib : module or None
        The compiled library (None: every :meth:`product` is None).
    ws : Workspace
        Where the products go.
    """

    def __init__(self, lib: Any, ws: Any) -> None:
        self.lib, self.ws = lib, ws
        self.packed: dict[tuple, Any] = {}  # int8 operands, by shape (imac.grad_into's)
        self.planes: dict[tuple, Any] = {}  # 16-bit operands' byte planes, by shape

    def product(
        self, name: str, src: np.ndarray, m: np.ndarray, wf: Any, rmax: float, rq: float
    ) -> np.ndarray | None:
        """``src @ m`` in the workspace array ``name`` (``m`` codes within
        ``wf.qmin .. wf.qmax``, ``|m| <= wf.max_abs``), or None where the
        kernels do not apply: the errors (multiples of ``rq``, ``|src / rq| <=
        127``) as offset bytes, the codes of ``m`` as int8
        (:func:`~neurosim.numerics.kernels.imac.grad_into`, the update unit's
        product) or (16-bit) two byte planes; exact int32 sums in units of
        ``rq`` (below 2**24 for int8 codes, 2**53 for planes, as the float
        path's bounds), scaled back by ``rq``: the float path's values
        (float32 for int8 codes, else float64)."""
        lib = self.lib
        if (lib is None or rmax / rq > 127 or src.dtype != np.float32 or m.dtype != np.float32
                or not (src.strides[1] == 4 or src.strides[0] == 4)):  # fmt: skip
            return None
        k, n = m.shape
        bound = kernels.partial_sum_bound(src, rmax, wf.max_abs, quantum=rq)
        if imac.applies(-128, 127, wf.qmin, wf.qmax, k) is not None:
            if bound >= kernels.F32_EXACT:
                return None
            out = self.ws.get(name, (src.shape[0], n), np.float32)
            return imac.grad_into(lib, src, m, wf, "a", rq, self.packed, out)
        if imac.applies16(-127, 127, wf.qmin, wf.qmax, k) is None or bound >= kernels.F64_EXACT:
            return None
        pw = self.planes.get(m.shape)
        if pw is None:
            pw = self.planes[m.shape] = imac.PackedWeights16(k, n)
        pw.pack(lib, m)
        out = self.ws.get(name + ".64", (src.shape[0], n), np.float64)
        imac.product16_into(lib, src, pw, 128, out, 1.0 / rq)
        out *= rq  # a power of two: exact
        return out


class ErrorUnit:
    """The fixed-point error path of every layer.

    Parameters
    ----------
    plan : Plan
    fm : Formats
        The dense part's formats.
    mem : DenseMemory
        The matrices it projects through.
    counts : Counter
        Receives ``sat:R^h``, ``sat:d^h`` and ``rng_bits:error``.
    ws : kernels.Workspace
        The engine's step arrays.
    fan_ins : list of int
        Bounds on the number of terms of the unit's input sums.

    Attributes
    ----------
    r_max : float
        Largest error magnitude (error-word codes).
    r_q : float
        A power of two dividing every error (the quantum of their products).
    e_keys : list of int
        Error-rounding key per message source (dense layer ``i``; with conv
        blocks ``L + b`` for block ``b``).
    """

    def __init__(
        self, plan: Plan, fm: Formats, mem: DenseMemory, counts: Counter,
        ws: kernels.Workspace, fan_ins: list[int],
    ) -> None:  # fmt: skip
        cfg = plan.cfg
        self.cfg, self.rule, self.fm, self.mem, self.counts, self.ws = (
            cfg, plan.rule, fm, mem, counts, ws
        )
        self.L = plan.L
        self.batch = cfg.batch
        # the code width of each layer's messages (one per dense layer h - 1)
        self.bits = cfg.per_layer("error_bits")
        self.lqs = [
            LogQuantizer(b, cfg.error_alpha_log2, fm.error.frac) if b else None
            for b in self.bits
        ]  # fmt: skip
        self.lq = self.lqs[-1]
        self.block = bool(cfg.error_bits) and cfg.error_scale == "block"
        self.stochastic = bool(cfg.error_bits) and cfg.error_rounding == "stochastic"
        self.e_keys = [streams.counter_key(cfg.seed, "error_rounding", i) for i in range(self.L)]
        self._proj: dict = {}
        if self.lq and self.block:
            # block scaling: a message's exponent may be anything from one LSB
            # to 2**(word_bits - 1), and its finest level one LSB
            self._logs = [(b, 0, np.zeros(0), np.zeros(1)) for b in self.bits]
            self.block_emaxs = [0 if b == 1 else (1 << (b - 1)) - 2 for b in self.bits]
            self.r_max = float(1 << (fm.error.bits - 1))
            self.r_q = 1.0
        elif self.lq:
            self._logs = [
                (b, q.top, *kernels.log_table(b, q.top, q.emax))
                for b, q in zip(self.bits, self.lqs, strict=True)
            ]  # fmt: skip
            # log-coded errors are +-2**l, top - emax <= l <= top: every error
            # is a multiple of the finest level of the widest code (the
            # quantum of their products)
            self.r_max = float(1 << self.lq.top)
            self.r_q = float(1 << (self.lq.top - max(q.emax for q in self.lqs)))
        else:
            self._logs = [(0, 0, np.zeros(0), np.zeros(1))] * self.L
        self.before = cfg.error_coding == "before_derivative"
        self.sender = projects_at_sender(self.rule, cfg)  # B^h made where R^{h+1} lives
        if not self.lq or self.before or cfg.top_error == "full":
            # some R^h (or R^L) is a linear error word, not a log code
            self.r_max = float(fm.error.max_abs)
            self.r_q = 1.0
        m_abs = max(w.max_abs for w in fm.weights) if self.rule.matrix == "W" else (
            fm.feedback_max_abs)  # fmt: skip
        worst = float(fm.error.max_abs) * m_abs * max(fan_ins) * max(
            d.qmax for d in fm.derivs)
        # the unit may multiply in float64; DRTP's projections are one C^h code
        # (< 2**24) times a power of two (the label's carrier), so p * f' is
        # exact in float64 whatever the bound on error words says
        self.f64_exact = worst < 2.0**53 or self.rule.source == "target"
        # the projections in the VNNI kernels; the skip channel's one product
        # there where every C^h code is int8 (the message scaled into int8 by
        # its quantum: ChainMac checks)
        self.chain_mac = ChainMac(imac.load(), ws)
        fbs = fm.feedbacks[:-1] or fm.feedbacks
        self._skip_fmt = SimpleNamespace(
            qmin=min(f.qmin for f in fbs), qmax=max(f.qmax for f in fbs),
            max_abs=fm.feedback_max_abs,
        ) if mem.C_all is not None and all(f.qmin >= -128 and f.qmax <= 127 for f in fbs) else (
            None)  # fmt: skip
        if worst >= 2.0**62:
            raise ConfigError(
                "error_word_bits",
                cfg.error_word_bits,
                "narrower error, weight or feedback words (products would exceed 62 bits)",
            )

    def error(
        self, p: np.ndarray, d: np.ndarray | None, shift: int, name: str, step: int,
        log: bool = True, layer: int = 0, kind: int = 0, buf: str | None = None,
        chain: bool = False,
    ) -> np.ndarray:  # fmt: skip
        """Fused error unit: times ``f'`` (``d``, or none), round half even by
        ``shift`` bits, saturate, log-quantize (if ``log``).

        With block scaling each row (one message) is log-quantized with its
        own exponent (:func:`kernels.error_kernel_block`). With stochastic
        rounding the log stage rounds with the words of ``layer``'s key and
        message ``kind`` in minibatch ``step``. ``chain``: a word sent down the
        chain, rms-scaled at 1 bit with ``error_sign_scale = "rms"``. ``layer``: the
        dense layer whose vector the message is (0-based), whose code width
        (``error_bits[layer]``) it takes. Saturations count as ``name``;
        the result lands in the step array ``buf`` (default ``name``).
        """
        e = self.fm.error
        out = self.ws.get(buf or name, p.shape)
        if log and self.stochastic:
            return self._stochastic(p, d, shift, name, step, layer, kind, out)
        k = min(layer, self.L - 1)  # conv sources L + b: the one width of every layer
        if log and self.block:
            tops = self.ws.get("top:" + name, (p.shape[0],), np.int64)
            self.counts[name] += kernels.error_kernel_block(
                p, p if d is None else d, d is not None, shift, e.qmin, e.qmax,
                self.bits[k], self.block_emaxs[k], e.bits - 1, self.f64_exact, out, tops,
                chain and self.cfg.error_sign_scale == "rms",
            )  # fmt: skip
            return out
        lg = self._logs[k]  # the code of layer `layer`'s messages
        bits, top, thr, levels = lg if log else (0, 0, *lg[2:])
        self.counts[name] += kernels.error_kernel(
            p, p if d is None else d, d is not None, shift, e.qmin, e.qmax, bits, top, thr,
            levels, self.f64_exact, out,
        )  # fmt: skip
        return out

    def _stochastic(self, p, d, shift, name, step, layer, kind, out) -> np.ndarray:
        k = min(layer, self.L - 1)  # conv sources L + b: the one width of every layer
        e, bits, lq = self.fm.error, self.bits[k], self.lqs[k]
        if p.shape[0] > self.batch:
            raise ValueError(
                f"a minibatch of {p.shape[0]} samples exceeds batch = {self.batch}: "
                "the error-rounding counters would repeat"
            )
        key = self.e_keys[layer]
        c0 = error_counter(step, kind, self.batch, p.shape[1])
        dd = p if d is None else d
        if self.block:
            tops = self.ws.get("top:" + name, (p.shape[0],), np.int64)
            sat, drawn = kernels.error_kernel_block_stochastic(
                p, dd, d is not None, shift, e.qmin, e.qmax, bits, self.block_emaxs[k],
                e.bits - 1, self.f64_exact, key, c0, out, tops,
            )  # fmt: skip
        else:
            sat, drawn = kernels.error_kernel_stochastic(
                p, dd, d is not None, shift, e.qmin, e.qmax, bits, lq.top,
                lq.emax, self.f64_exact, key, c0, out,
            )  # fmt: skip
        self.counts[name] += sat
        self.counts["rng_bits:error"] += drawn
        return out

    def output_error(self, out: np.ndarray, t: np.ndarray, step: int) -> np.ndarray:
        """``R^L = T - O^L`` in the error word, log-quantized if configured."""
        fm = self.fm
        r = self.ws.get("T-O", out.shape)
        np.multiply(t, np.float32(1 << fm.out.frac), out=r)
        np.subtract(r, out, out=r)  # exact: codes far below 2**24
        return self.error(
            r, None, fm.out.frac - fm.error.frac, f"sat:R^{self.L}", step, layer=self.L - 1
        )

    def output_errors(
        self, out: np.ndarray, t: np.ndarray, step: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(R^L, message)``: what the output layer trains on and the coded
        ``R^L`` it sends. With ``top_error = "full"`` ``R^L`` is the error
        word of ``T - O^L`` and the message its log code (the same code, and
        the same rounding words, as ``coded``'s ``R^L``)."""
        target = self.rule.source == "target"
        if self.cfg.top_error != "full":
            r = self.output_error(out, t, step)
            return r, self.target_message(t) if target else r
        fm, name = self.fm, f"sat:R^{self.L}"
        r = self.ws.get("T-O", out.shape)
        np.multiply(t, np.float32(1 << fm.out.frac), out=r)
        np.subtract(r, out, out=r)
        word = self.error(r, None, fm.out.frac - fm.error.frac, name, step, False,
                          buf="word:" + name)  # fmt: skip
        if target:  # DRTP sends the label: R^L is never coded for a message
            return word, self.target_message(t)
        return word, self.error(word, None, 0, name, step, layer=self.L - 1, buf="msg:" + name)

    def target_message(self, t: np.ndarray) -> np.ndarray:
        """DRTP's skip message ``-T`` (:mod:`neurosim.nn.rules`) in error-word
        units: ``-T * 2**error.frac`` (float32, exact). Only a carrier of the
        label: it never passes the error word's rounding or saturation, so
        ``C^h (-T)`` is minus the label's column of ``C^h`` whatever the
        word's range, with the fraction bits of an SRBP projection."""
        m = self.ws.get("msg:target", t.shape)
        np.multiply(t, np.float32(-(1 << self.fm.error.frac)), out=m)
        return m

    def pfrac(self, i: int) -> int:
        """Fraction bits of the projection to hidden layer ``i + 1`` (0-based
        ``i``): an error times a ``C^{i+1}`` code, or (BP, SBP) times a code of
        ``W^{i+2}``, each in its layer's own format."""
        m = self.fm.weights[i + 1] if self.rule.matrix == "W" else self.fm.feedbacks[i]
        return self.fm.error.frac + m.frac

    def product(self, a: np.ndarray, m: np.ndarray, max_m: float) -> np.ndarray:
        """Exact ``a @ m`` of errors ``a`` and codes ``m`` (a fresh array)."""
        bound = kernels.partial_sum_bound(a, self.r_max, max_m, quantum=self.r_q)
        return kernels.product(a, m, bound)

    def project(self, i: int, src: np.ndarray) -> np.ndarray:
        """``src`` carried to hidden layer ``i`` by ``W[i+1]^T`` or ``C[i]``;
        SRBP-type channels make one product for every hidden layer."""
        fm, ws, rmax, rq, mem = self.fm, self.ws, self.r_max, self.r_q, self.mem
        if self.rule.source == "target":  # -T * 2**frac: one term a row per label
            rmax = rq = float(1 << fm.error.frac)
        if mem.C_all is not None and self.rule.matrix == "C":
            if i == self.L - 2:  # first hidden layer asked: one product for all of them
                # exact integer sums; each C^h's block of columns keeps its own fraction
                ct = mem.C_all.T  # packed anew every step: adaptive C^h change
                p = None
                if self._skip_fmt is not None:
                    p = self.chain_mac.product("proj", src, ct, self._skip_fmt, rmax, rq)
                if p is None:
                    bound = kernels.partial_sum_bound(src, rmax, fm.feedback_max_abs, quantum=rq)
                    p = kernels.product_into(src, ct, ct, bound, ws, "proj")
                col = 0
                for h, c in enumerate(mem.C):
                    self._proj[h] = np.ascontiguousarray(p[:, col : col + c.shape[0]])
                    col += c.shape[0]
            return self._proj.pop(i)
        if self.rule.matrix == "W":
            m, mf = mem.W[i + 1], fm.weights[i + 1]
        else:
            m, mf = mem.C[i].T, fm.feedbacks[i]
        p = self.chain_mac.product(f"proj{i}", src, m, mf, rmax, rq)
        if p is not None:
            return p
        mmax = mf.max_abs
        bound = kernels.partial_sum_bound(src, rmax, mmax, quantum=rq)
        if bound >= kernels.F32_EXACT and self.rule.matrix == "W":
            # as the forward unit: the largest code W holds now, not the format's
            bound = kernels.partial_sum_bound(src, rmax, kernels.max_abs(m), quantum=rq)
        return kernels.product_into(src, m, m, bound, ws, f"proj{i}")

    def carry(self, i: int, p: np.ndarray, log: bool, step: int) -> np.ndarray:
        """A projection made at layer ``i+1`` rounded into the error word
        sent down the chain (log-coded if ``log``: SBP's chain signal)."""
        shift = self.pfrac(i) - self.fm.error.frac
        return self.error(p, None, shift, f"sat:d^{i + 1}", step, log, layer=i, kind=1,
                          chain=True)  # fmt: skip

    def finish(self, i: int, p: np.ndarray, d: np.ndarray, step: int) -> np.ndarray:
        """Layer ``i``'s quantized ``R`` from what it holds (``d``: its ``f'`` codes)."""
        fm = self.fm
        # projections made locally are wide sums; sent ones arrive as error words
        frac = fm.error.frac if self.sender else self.pfrac(i)
        if self.before:
            return self._finish_before(i, p, d, frac, step)
        if self.cfg.no_derivative:
            return self.error(p, None, frac - fm.error.frac, f"sat:R^{i + 1}", step, layer=i)
        shift = frac + fm.derivs[i].frac - fm.error.frac  # layer i+1's own f' format
        return self.error(p, d, shift, f"sat:R^{i + 1}", step, layer=i)

    def _finish_before(self, i: int, p: np.ndarray, d: np.ndarray, frac: int,
                       step: int) -> np.ndarray:  # fmt: skip
        """``R^h = f'(S^h) * Q(B^h)`` (``error_coding = "before_derivative"``):
        ``B^h`` coded (BP and RBP received it coded), then times the ``f'`` code,
        rounded onto the error word and saturated, not coded again."""
        fm, name = self.fm, f"sat:R^{i + 1}"
        if not self.sender:  # SRBP: B^h onto the error word, then its code
            p = self.error(p, None, frac - fm.error.frac, f"sat:d^{i + 1}", step, layer=i)
        if self.cfg.no_derivative:
            return self.error(p, None, 0, name, step, False)
        return self.error(p, d, fm.derivs[i].frac, name, step, False)
