"""Slow, obviously-correct reference of the fixed-point training step.

One sample at a time, Python integers, explicit shifts and comparisons, every
MAC accumulated sequentially with saturation at each step. It shares only the
chip's *tables* with the fast engine (formats, activation LUTs, initial
parameter codes, generator keys), never its arithmetic, so a test that runs
both for several steps and compares weights, activations and event counts bit
for bit checks the fast path's exactness (BLAS in float32/float64, fused
kernels, batching).

Use it on small networks: it runs a few thousand MACs per millisecond.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from neurosim.nn.engine import (
    FixedEngine,
    build_feedback,
    channel_keep,
    error_counter,
)
from neurosim.nn.rules import trained_layers
from neurosim.numerics import streams
from neurosim.numerics.fixedpoint import (
    FixedFormat,
    ref_block_log_quantize,
    ref_block_log_quantize_stochastic,
    ref_log_quantize,
    ref_quantize,
    ref_random_word,
    ref_saturate,
    ref_shift_nearest,
    ref_stochastic_log_quantize,
)


class ReferenceEngine:
    """Integer reference of :class:`~neurosim.nn.engine.FixedEngine`.

    Parameters
    ----------
    fast : FixedEngine
        A freshly built fast engine; its initial codes, tables and keys are
        copied (as Python ints), not its state.
    """

    def __init__(self, fast: FixedEngine) -> None:
        self.cfg = fast.cfg
        self.rule = fast.rule
        self.fm = fast.fm
        self.L = fast.L
        self.sizes = list(fast.sizes)
        self.W = [[[int(v) for v in row] for row in w] for w in fast.W]
        # biases (weight format), or None: S^h = W^h O^{h-1} + b^h
        self.b = None if fast.b is None else [[int(v) for v in b] for b in fast.b]
        self.b_keys = list(fast.b_keys)
        self.C = [[[int(v) for v in row] for row in c] for c in fast.C]
        self.C_mag = [[[abs(v) for v in row] for row in c] for c in self.C]
        self.f = [int(v) for v in fast.luts.f]
        self.df = [int(v) for v in fast.luts.df]
        self.fout = None if fast.luts.out is None else [int(v) for v in fast.luts.out]
        self.exp = [int(v) for v in fast.luts.exp]
        self.w_keys = list(fast.w_keys)
        self.c_keys = list(fast.c_keys)
        self.e_keys = list(fast.e_keys)
        self.counts: Counter = Counter()
        self.step_index = 0
        self.lr = fast.lr
        self.V: dict = {}  # momentum: velocity codes per parameter name ("W^1", "b^1", "C^1")

    # ------------------------------------------------------------------
    def _sat(self, v: int, fmt: FixedFormat, name: str) -> int:
        v, n = ref_saturate(v, fmt)
        self.counts[name] += n
        return v

    def _logq(self, v: int) -> int:
        c = self.cfg
        if not c.error_bits:
            return v
        frac = self.fm.error.frac
        top = c.error_alpha_log2 + frac
        emax = 0 if c.error_bits == 1 else min((1 << (c.error_bits - 1)) - 2, top)
        return ref_log_quantize(v, c.error_bits, top, emax)

    def _logq_row(self, row: list[int], layer: int = 0, kind: int = 0, b: int = 0) -> list[int]:
        """Log-quantize one message (one sample's error vector of one layer).

        ``error_scale = "block"``: one shared exponent for the row
        (:func:`~neurosim.numerics.fixedpoint.ref_block_log_quantize`); otherwise
        every component alone with the fixed alpha. ``error_rounding =
        "stochastic"``: component ``j`` rounds with the word of counter
        ``((2 * step + kind) * batch + b) * len(row) + j`` under ``layer``'s
        error-rounding key.
        """
        c = self.cfg
        if c.error_bits and c.error_rounding == "stochastic":
            n = len(row)
            c0 = error_counter(self.step_index, kind, c.batch, n) + b * n
            words = [ref_random_word(self.e_keys[layer], c0 + j) for j in range(n)]
            if c.error_scale == "block":
                out, _, drawn = ref_block_log_quantize_stochastic(
                    row, c.error_bits, self.fm.error.bits, words
                )
            else:
                top = c.error_alpha_log2 + self.fm.error.frac
                emax = 0 if c.error_bits == 1 else min((1 << (c.error_bits - 1)) - 2, top)
                out, drawn = [], 0
                for v, w in zip(row, words, strict=True):
                    q, k = ref_stochastic_log_quantize(v, c.error_bits, top, top - emax, w)
                    out.append(q)
                    drawn += k
            self.counts["rng_bits:error"] += drawn
            return out
        if c.error_bits and c.error_scale == "block":
            return ref_block_log_quantize(row, c.error_bits, self.fm.error.bits)[0]
        return [self._logq(v) for v in row]

    def forward_sample(self, x: np.ndarray, count: bool = True) -> tuple[list, list]:
        """Forward pass of one sample: codes ``O^0..O^L`` and hidden ``f'`` codes."""
        fm, cfg = self.fm, self.cfg
        counts = self.counts if count else Counter()
        a = []
        for v in x:
            q, n = ref_quantize(float(v), fm.inp)
            counts["sat:O^0"] += n
            a.append(q)
        A, D = [a], []
        for i, w in enumerate(self.W):
            acc_fmt = fm.acc(i, cfg.acc_bits)
            src_frac = (fm.inp if i == 0 else fm.act).frac
            accs = []
            for j, row in enumerate(w):
                s = 0
                if self.b is not None:  # the accumulator starts at the bias
                    s, n = ref_saturate(self.b[i][j] << src_frac, acc_fmt)
                    counts[f"sat:acc^{i + 1}"] += n
                for wk, ak in zip(row, A[-1], strict=True):  # the tile's MAC order
                    s, n = ref_saturate(s + wk * ak, acc_fmt)
                    counts[f"sat:acc^{i + 1}"] += n
                accs.append(s)
            last = i == self.L - 1
            if last and cfg.output == "linear":
                out = []
                for s in accs:
                    v, n = ref_saturate(ref_shift_nearest(s, acc_fmt.frac - fm.out.frac), fm.out)
                    counts[f"sat:S^{i + 1}"] += n
                    out.append(v)
                A.append(out)
                continue
            codes = []
            for s in accs:
                v, n = ref_saturate(ref_shift_nearest(s, acc_fmt.frac - fm.lut.frac), fm.lut)
                counts[f"sat:S^{i + 1}"] += n
                codes.append(v - fm.lut.qmin)
            if not last:
                A.append([self.f[c] for c in codes])
                D.append([self.df[c] for c in codes])
            elif cfg.output == "sigmoid":
                A.append([self.fout[c] for c in codes])
            else:  # softmax: exp LUT, then one integer division per output
                top = max(codes)
                e = [self.exp[top - c] for c in codes]
                tot = sum(e)
                A.append([(ej * (2 << fm.out.frac) + tot) // (2 * tot) for ej in e])
        return A, D

    def train_batch(self, x: np.ndarray, t: np.ndarray) -> None:
        """One minibatch step, sample by sample, then the update."""
        fm, cfg, rule, L = self.fm, self.cfg, self.rule, self.L
        trained = trained_layers(rule, L, cfg.freeze)
        G = {i: np.zeros((len(self.W[i]), len(self.W[i][0])), dtype=object) for i in trained}
        GC = {i: np.zeros((len(c), len(c[0])), dtype=object) for i, c in enumerate(self.C)}
        GB = {i: np.zeros((1, len(self.W[i])), dtype=object) for i in trained}
        m_fmt = fm.weight if rule.matrix == "W" else fm.feedback
        pfrac = fm.error.frac + m_fmt.frac
        self._channel_step()
        keep = {}
        if cfg.channel_dropout and rule.trains_hidden:
            for i in range(L - 1):
                keep[i] = channel_keep(cfg, self.step_index, i, (x.shape[0], len(self.W[i])))
                self.counts["rng_bits:channel"] += 8 * keep[i].size
        for b in range(x.shape[0]):
            A, D = self.forward_sample(x[b])
            r_top = []
            for j, o in enumerate(A[-1]):
                v = int(t[b, j]) * (1 << fm.out.frac) - o
                v = self._sat(
                    ref_shift_nearest(v, fm.out.frac - fm.error.frac), fm.error, f"sat:R^{L}"
                )
                r_top.append(v)
            r_top = self._logq_row(r_top, L - 1, 0, b)
            R = [None] * L
            R[L - 1] = r_top
            raw = r_top
            if rule.trains_hidden:
                for i in range(L - 2, -1, -1):
                    src = {"top": r_top, "next": R[i + 1], "next_raw": raw}[rule.source]
                    n_i = len(self.W[i])
                    if rule.matrix == "W":
                        wn = self.W[i + 1]
                        p = [sum(src[k] * wn[k][j] for k in range(len(src))) for j in range(n_i)]
                    else:
                        c = self.C[i]
                        p = [sum(c[j][k] * src[k] for k in range(len(src))) for j in range(n_i)]
                    frac = pfrac
                    if rule.matrix == "W":  # rounded where W^{h+1} lives, then sent
                        p = [
                            self._sat(ref_shift_nearest(v, pfrac - fm.error.frac), fm.error,
                                      f"sat:d^{i + 1}")
                            for v in p
                        ]  # fmt: skip
                        if rule.source == "next_raw":
                            p = self._logq_row(p, i, 1, b)
                            raw = p
                        frac = fm.error.frac
                    r = []
                    for j, v in enumerate(p):
                        if cfg.no_derivative:
                            v = ref_shift_nearest(v, frac - fm.error.frac)
                        else:
                            v = ref_shift_nearest(v * D[i][j], frac + fm.deriv.frac - fm.error.frac)
                        r.append(self._sat(v, fm.error, f"sat:R^{i + 1}"))
                    r = self._logq_row(r, i, 0, b)
                    if i in keep:  # learning-channel dropout
                        r = [v if keep[i][b, j] else 0 for j, v in enumerate(r)]
                    R[i] = r
            for i in trained:
                G[i] += np.outer(np.array(R[i], dtype=object), np.array(A[i], dtype=object))
                GB[i][0] += np.array(R[i], dtype=object)
            if rule.adaptive:
                for i in range(L - 1):
                    src = r_top if rule.source == "top" else R[i + 1]
                    GC[i] += np.outer(np.array(A[i + 1], dtype=object), np.array(src, dtype=object))
        mult = int(round(self.lr / x.shape[0] * (1 << cfg.lr_frac)))
        self._dense_updates(trained, G, GB, mult)
        if rule.adaptive:
            for i in range(L - 1):
                shift = fm.act.frac + fm.error.frac + cfg.lr_frac - fm.feedback.frac
                self._update(
                    self.C[i],
                    GC[i],
                    mult,
                    shift,
                    fm.feedback,
                    self.c_keys[i],
                    f"C^{i + 1}",
                    cfg.update_bits,
                )
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
                    codes = []
                    for v in row:
                        q, n = ref_quantize(float(v), fm.feedback)
                        self.counts[f"sat:C^{i + 1}:resample"] += n
                        codes.append(q)
                    rows.append(codes)
                self.C.append(rows)
            self.C_mag = [[[abs(v) for v in row] for row in c] for c in self.C]
        if cfg.feedback_sign == "concordant":
            for i, m in enumerate(self.C_mag):
                wn = self.W[i + 1]  # C^h mirrors (W^{h+1})^T
                self.C[i] = [
                    [mag * ((wn[k][j] > 0) - (wn[k][j] < 0)) for k, mag in enumerate(row)]
                    for j, row in enumerate(m)
                ]

    def _src_fmt(self, i: int) -> FixedFormat:
        """Format of what dense layer ``i`` reads (the input for ``i = 0``)."""
        return self.fm.inp if i == 0 else self.fm.act

    def _dense_updates(self, trained: list, G: dict, GB: dict, mult: int) -> None:
        """Apply the batch's integer gradients ``G`` (and bias gradients ``GB``)
        of the trained dense layers; ``update_mode`` acts on hidden layers."""
        fm, cfg, L = self.fm, self.cfg, self.L
        shift_b = fm.error.frac + cfg.lr_frac - fm.weight.frac
        for i in trained:
            shift = fm.error.frac + self._src_fmt(i).frac + cfg.lr_frac - fm.weight.frac
            mode = cfg.update_mode if i < L - 1 else "full"
            g = np.abs(G[i]) if mode == "magnitude" else G[i]
            k = 1 if mode == "sign" else cfg.update_bits
            self._update(self.W[i], g, mult, shift, fm.weight, self.w_keys[i], f"W^{i + 1}", k)
            if self.b is not None:  # a weight on the constant input 1.0
                gb = np.abs(GB[i]) if mode == "magnitude" else GB[i]
                self._update([self.b[i]], gb, mult, shift_b, fm.weight, self.b_keys[i],
                             f"b^{i + 1}", k)  # fmt: skip

    def _update(
        self,
        w: list,
        g: np.ndarray,
        mult: int,
        shift: int,
        fmt: FixedFormat,
        key: int,
        name: str,
        k: int,
    ) -> None:
        cfg = self.cfg
        cols = len(w[0])
        counter0 = self.step_index * len(w) * cols
        if cfg.momentum:  # the gradient lands on the velocity's LSB, `extra` bits finer
            shift -= cfg.velocity_bits - cfg.weight_bits
        stoch = cfg.rounding == "stochastic" and shift > 0
        d = {}
        for r in range(len(w)):
            for c in range(cols):
                v = int(g[r, c]) * mult
                if v == 0:  # nothing to round, no random bits drawn
                    d[r, c] = 0
                elif stoch:
                    rnd = ref_random_word(key, counter0 + r * cols + c) >> (64 - shift)
                    d[r, c] = (v + rnd) >> shift
                    self.counts["rng_bits"] += shift
                else:
                    d[r, c] = ref_shift_nearest(v, shift)
        mx = max(abs(v) for v in d.values())
        if k and mx:
            top = (mx - 1).bit_length()  # smallest t with 2**t >= mx
            if k == 1:
                d = {
                    rc: 0 if v == 0 else (1 << top if v > 0 else -(1 << top)) for rc, v in d.items()
                }
            else:
                emax = min((1 << (k - 1)) - 2, top)
                d = {rc: ref_log_quantize(v, k, top, emax) for rc, v in d.items()}
        if cfg.momentum:
            d = self._velocity(w, d, fmt, name)
        for (r, c), dv in d.items():
            if dv:
                old = w[r][c]
                new = self._sat(old + dv, fmt, f"sat:{name}")
                if new != old:
                    self.counts[f"changed:{name}"] += 1
                w[r][c] = new

    def _velocity(self, w: list, d: dict, fmt: FixedFormat, name: str) -> dict:
        """Momentum: ``u = sat_V(round(mu u / 2**lr_frac) + d)`` per entry, and
        the parameter's step ``round(u / 2**extra)`` (returned like ``d``)."""
        cfg = self.cfg
        extra = cfg.velocity_bits - cfg.weight_bits
        width, key, sat_name = self._velocity_spec(name)
        vf = FixedFormat(width, fmt.frac + extra)
        mu = int(round(cfg.momentum * (1 << cfg.lr_frac)))
        rows, cols = len(w), len(w[0])
        n = rows * cols
        v = self.V.setdefault(name, [[0] * cols for _ in range(rows)])
        out = {}
        for r in range(rows):
            for c in range(cols):
                j = r * cols + c
                dec = self._round(mu * v[r][c], cfg.lr_frac, key, 2 * self.step_index * n + j)
                u = self._sat(dec + d[r, c], vf, sat_name)
                v[r][c] = u
                out[r, c] = self._round(u, extra, key, (2 * self.step_index + 1) * n + j)
        return out

    def _velocity_spec(self, name: str) -> tuple[int, int, str]:
        """Velocity word width, momentum stream key and saturation counter of
        parameter ``name`` ("W^1", "b^1", "C^1")."""
        cfg = self.cfg
        kind, h = name[0], int(name[2:])
        extra = cfg.velocity_bits - cfg.weight_bits
        width = cfg.velocity_bits if kind != "C" else cfg.feedback_bits + extra
        key = streams.counter_key(cfg.seed, "momentum", h - 1, {"W": 0, "b": 1, "C": 2}[kind])
        return width, key, f"sat:v{kind}^{h}"

    def _round(self, v: int, k: int, key: int, counter: int) -> int:
        """``v / 2**k`` rounded as ``rounding`` says (stochastic: the word of
        ``counter``, counted as ``rng_bits:velocity``); zero draws nothing."""
        if k <= 0:
            return v << (-k)
        if v == 0:
            return 0
        if self.cfg.rounding == "stochastic":
            self.counts["rng_bits:velocity"] += k
            return (v + (ref_random_word(key, counter) >> (64 - k))) >> k
        return ref_shift_nearest(v, k)
