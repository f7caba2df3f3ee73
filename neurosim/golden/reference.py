"""Slow, obviously-correct reference of the fixed-point training step.

One sample at a time, Python integers, explicit shifts and comparisons, every
MAC accumulated sequentially with saturation at each step. It is wired from
the units' references -- :mod:`neurosim.golden.forward`,
:mod:`neurosim.golden.error`, :mod:`neurosim.golden.update` -- and shares only
the chip's *tables* with the fast engine (formats, activation LUTs, initial
parameter codes, stream keys and draws), never its arithmetic, so a test that
runs both for several steps and compares weights, activations and event
counts bit for bit checks the fast path's exactness (BLAS in float32/float64,
fused kernels, batching).

Use it on small networks: it runs a few thousand MACs per millisecond.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from neurosim.golden.error import RefErrorUnit
from neurosim.golden.forward import RefForwardUnit
from neurosim.golden.update import RefUpdateUnit
from neurosim.nn.draws import RESCALE_FRAC, build_feedback, channel_keep, rescale_register
from neurosim.nn.rules import projects_at_sender, trained_layers
from neurosim.numerics import streams
from neurosim.numerics.fixedpoint import FixedFormat, ref_quantize, ref_shift_nearest


def codes(m) -> list:
    """A matrix of codes as rows of Python ints."""
    return [[int(v) for v in row] for row in m]


def outer(r: list[int], a: list[int]) -> np.ndarray:
    """``r a^T`` of integer lists (object array: exact Python ints)."""
    return np.outer(np.array(r, dtype=object), np.array(a, dtype=object))


class ReferenceEngine:
    """Integer reference of :class:`~neurosim.nn.fixed.FixedEngine`.

    Parameters
    ----------
    fast : FixedEngine
        A freshly built fast engine; its initial codes and tables are copied
        (as Python ints), not its state.
    """

    def __init__(self, fast) -> None:
        self.cfg, self.rule, self.fm, self.L = fast.cfg, fast.rule, fast.fm, fast.L
        cfg = self.cfg
        self.sizes = list(fast.sizes)
        self.W = [codes(w) for w in fast.W]
        # biases (weight format), or None: S^h = W^h O^{h-1} + b^h
        self.b = None if fast.b is None else [[int(v) for v in b] for b in fast.b]
        self.C = [codes(c) for c in fast.C]
        self.C_mag = [[[abs(v) for v in row] for row in c] for c in self.C]
        self.counts: Counter = Counter()
        self.step_index = 0
        self.lr = fast.lr
        self.fwd = RefForwardUnit(self.fm, cfg.output, cfg.acc_bits, fast.layer_luts,
                                  cfg.act)  # fmt: skip
        self.err = RefErrorUnit(cfg, self.fm, self.counts, self._tiles())
        self.upd = RefUpdateUnit(cfg, self.counts)
        self.V = self.upd.V  # momentum: velocity codes per parameter name ("W^1", ...)
        key = streams.counter_key
        self.w_keys = [key(cfg.seed, "weight_update", i) for i in range(self.L)]
        self.c_keys = [key(cfg.seed, "feedback_update", i) for i in range(self.L)]
        self.b_keys = [key(cfg.seed, "bias_update", i) for i in range(self.L)]

    def _tiles(self) -> list[int]:
        """Tiles of the error unit's message sources (the dense layers)."""
        return list(range(self.L))

    def _src_fmt(self, i: int) -> FixedFormat:
        """Format of what dense layer ``i`` reads (the input for ``i = 0``)."""
        return self.fm.src(i)

    def forward_sample(self, x: np.ndarray, count: bool = True) -> tuple[list, list]:
        """Forward pass of one sample: codes ``O^0..O^L`` and hidden ``f'`` codes."""
        counts = self.counts if count else Counter()
        a = self.fwd.quantize(x, self.fm.inp, counts)
        return self.fwd.sample(self.W, self.b, a, counts)

    def _keep(self, batch: int, shapes: dict) -> dict:
        """Learning-channel dropout masks of this step per message source."""
        keep = {}
        if self.cfg.channel_dropout and self.rule.trains_hidden:
            for i, n in shapes.items():
                keep[i] = channel_keep(self.cfg, self.step_index, i, (batch, n))
                self.counts["rng_bits:channel"] += 8 * keep[i].size
        return keep

    def _drop(self, row: list, keep, name: str) -> list:
        """One message through the dropout gate; with ``channel_dropout_rescale``
        each component times the register ``G`` (UQ9.10), rounded half to
        even onto the error word and saturated (counted as ``name``)."""
        row = [v if keep[j] else 0 for j, v in enumerate(row)]
        if not self.cfg.channel_dropout_rescale:
            return row
        g = rescale_register(self.cfg.channel_dropout)
        return [self.err.sat(ref_shift_nearest(v * g, RESCALE_FRAC), name) for v in row]

    def dense_errors(self, A: list, D: list, t, s: int, keep: dict) -> tuple[list, dict]:
        """``R`` of every dense layer for sample ``s`` of the batch (one
        message per layer and sample), following the rule table, and what
        each hidden layer's tile received (the source it projected)."""
        fm, rule, L, err, step = self.fm, self.rule, self.L, self.err, self.step_index
        cfg = self.cfg
        word = err.output(A[-1], t, f"sat:R^{L}")
        if rule.source == "target":
            # DRTP: the label travels, -T; R^L is coded only for the top's
            # own update. -1 as a multiple of 2**-error.frac, so the
            # projection has an SRBP projection's fraction bits
            r_top = word if cfg.top_error == "full" else err.code(word, L - 1, 0, s, step)
            msg_top = [-int(v) * (1 << fm.error.frac) for v in t]
        else:
            msg_top = err.code(word, L - 1, 0, s, step)
            r_top = word if cfg.top_error == "full" else msg_top
        before = cfg.error_coding == "before_derivative"
        sender = projects_at_sender(rule, cfg)
        R: list = [None] * L
        R[L - 1] = raw = r_top
        srcs: dict = {}
        if not rule.trains_hidden:
            return R, srcs
        for i in range(L - 2, -1, -1):
            # the projection's fraction bits: W^{i+2}'s own format (BP) or C^{i+1}'s
            m_fmt = fm.weights[i + 1] if rule.matrix == "W" else fm.feedbacks[i]
            pfrac = fm.error.frac + m_fmt.frac
            if rule.skip:
                src = msg_top
            elif rule.source == "next_raw" or sender:
                src = raw if rule.source == "next_raw" else R[i + 1]
            elif i + 1 == L - 1:
                src = msg_top
            else:  # RBP: R^{h+1} (a log code) on the chain
                src = R[i + 1]
            srcs[i] = src
            n_i = len(self.W[i])
            if rule.matrix == "W":
                wn = self.W[i + 1]
                p = [sum(src[k] * wn[k][j] for k in range(len(src))) for j in range(n_i)]
            else:
                c = self.C[i]
                p = [sum(c[j][k] * src[k] for k in range(len(src))) for j in range(n_i)]
            if sender:  # rounded where W^{h+1} (or C^h) and R^{h+1} live, then sent
                p = [err.sat(ref_shift_nearest(v, pfrac - fm.error.frac), f"sat:d^{i + 1}")
                     for v in p]  # fmt: skip
                if rule.source == "next_raw" or before:
                    p = raw = err.code(p, i, 1, s, step)
            elif before:  # SRBP: B^h onto the error word, then coded
                p = [err.value(v, None, pfrac, f"sat:d^{i + 1}") for v in p]
                p = err.code(p, i, 0, s, step)
            R[i] = self._hidden_r(i, p, D[i], fm.error.frac if sender else pfrac,
                                  before, s)  # fmt: skip
            if i in keep:  # learning-channel dropout
                R[i] = self._drop(R[i], keep[i][s], f"sat:R^{i + 1}")
        return R, srcs

    def _hidden_r(self, i: int, p: list, d: list, frac: int, before: bool, s: int) -> list:
        """Layer ``i``'s ``R`` from what it holds: ``Q(f' p)``, or with
        ``error_coding = "before_derivative"`` ``f' p`` (``p`` already coded,
        in the error word) rounded onto the error word and not coded."""
        err, name = self.err, f"sat:R^{i + 1}"
        dd = None if self.cfg.no_derivative else d
        if before:
            frac = self.fm.error.frac
        dfrac = self.fm.derivs[i].frac  # layer i+1's own f' format
        r = [err.value(v, None if dd is None else dd[j], frac, name, dfrac)
             for j, v in enumerate(p)]  # fmt: skip
        return r if before else err.code(r, i, 0, s, self.step_index)

    def train_batch(self, x: np.ndarray, t: np.ndarray) -> None:
        """One minibatch step, sample by sample, then the update."""
        rule, L = self.rule, self.L
        trained = trained_layers(rule, L, self.cfg.freeze)
        G = {i: 0 for i in trained}
        GB = {i: 0 for i in trained}
        GC = {i: 0 for i in range(len(self.C))}
        self._channel_step()
        keep = self._keep(x.shape[0], {i: len(self.W[i]) for i in range(L - 1)})
        for b in range(x.shape[0]):
            A, D = self.forward_sample(x[b])
            R, srcs = self.dense_errors(A, D, t[b], b, keep)
            for i in trained:
                G[i] = G[i] + outer(R[i], A[i])
                GB[i] = GB[i] + np.array([R[i]], dtype=object)
            if rule.adaptive:
                for i in range(L - 1):
                    GC[i] = GC[i] + outer(A[i + 1], srcs[i])
        mult = int(round(self.lr / x.shape[0] * (1 << self.cfg.lr_frac)))
        self._dense_updates(trained, G, GB, mult)
        if rule.adaptive:
            fm, cfg = self.fm, self.cfg
            for i in range(L - 1):
                f = fm.feedbacks[i]  # C^{i+1}'s own format
                # dC^{i+1} = eta O^{i+1} R: O^{i+1}'s own format
                shift = fm.acts[i].frac + fm.error.frac + cfg.lr_frac - f.frac
                self.upd.update(self.C[i], GC[i], mult, shift, f, self.c_keys[i],
                                f"C^{i + 1}", cfg.update_bits, self.step_index)  # fmt: skip
        self.step_index += 1

    def _channel_step(self) -> None:
        """C^h for this minibatch: a fresh draw, and/or the forward weights' signs."""
        cfg, fm = self.cfg, self.fm
        if cfg.feedback_resample:
            fresh = build_feedback(cfg, self.rule, self.sizes, self.step_index + 1)
            self.C = []
            for i, c in enumerate(fresh):
                rows = []
                for row in c:
                    q = [ref_quantize(float(v), fm.feedbacks[i]) for v in row]
                    self.counts[f"sat:C^{i + 1}:resample"] += sum(n for _, n in q)
                    rows.append([v for v, _ in q])
                self.C.append(rows)
            self.C_mag = [[[abs(v) for v in row] for row in c] for c in self.C]
        if cfg.feedback_sign == "concordant":
            for i, m in enumerate(self.C_mag):
                wn = self.W[i + 1]  # C^h mirrors (W^{h+1})^T
                self.C[i] = [
                    [mag * ((wn[k][j] > 0) - (wn[k][j] < 0)) for k, mag in enumerate(row)]
                    for j, row in enumerate(m)
                ]

    def _dense_updates(self, trained: list, G: dict, GB: dict, mult: int) -> None:
        """Apply the batch's integer gradients ``G`` (and bias gradients ``GB``)
        of the trained dense layers; ``update_mode`` acts on hidden layers."""
        fm, cfg, L, step = self.fm, self.cfg, self.L, self.step_index
        for i in trained:
            w_fmt = fm.weights[i]  # layer i+1's own weight format
            shift_b = fm.error.frac + cfg.lr_frac - w_fmt.frac
            shift = fm.error.frac + self._src_fmt(i).frac + cfg.lr_frac - w_fmt.frac
            mode = cfg.update_mode if i < L - 1 else "full"
            g = self._grad(G[i], len(self.W[i]), len(self.W[i][0]), mode)
            k = 1 if mode == "sign" else cfg.update_bits
            self.upd.update(self.W[i], g, mult, shift, w_fmt, self.w_keys[i], f"W^{i + 1}",
                            k, step)  # fmt: skip
            if self.b is not None:  # a weight on the constant input 1.0
                gb = self._grad(GB[i], 1, len(self.W[i]), mode)
                self.upd.update([self.b[i]], gb, mult, shift_b, w_fmt, self.b_keys[i],
                                f"b^{i + 1}", k, step)  # fmt: skip

    @staticmethod
    def _grad(g, rows: int, cols: int, mode: str) -> np.ndarray:
        """A summed gradient as an object array (zeros for an empty batch),
        ``|g|`` for ``update_mode`` magnitude."""
        if isinstance(g, int):
            g = np.zeros((rows, cols), dtype=object)
        return np.abs(g) if mode == "magnitude" else g
