"""Slow integer reference of the conv engine's training step (tiny shapes only).

One sample at a time in Python integers: each conv output is a sequential,
saturating MAC loop over the kernel in the tile's ``(row, col, channel)``
order; max-pool compares codes window by window; the transposed convolution
is a *scatter* of each error component through its kernel (not the fast
path's im2col of a flipped kernel); errors go through the error unit's
round-saturate-log steps of :mod:`neurosim.golden.reference`. The dense layers reuse
:class:`~neurosim.golden.reference.ReferenceEngine`'s forward pass and update unit.
Shared with the fast engine: only tables (formats, LUTs, initial codes, keys).
"""

from __future__ import annotations

import numpy as np

from neurosim.golden.reference import ReferenceEngine
from neurosim.nn.conv import ConvFixedEngine
from neurosim.nn.engine import channel_keep
from neurosim.nn.rules import split_freeze, trained_layers
from neurosim.numerics import streams
from neurosim.numerics.fixedpoint import (
    FixedFormat,
    ref_quantize,
    ref_saturate,
    ref_shift_nearest,
)


class ConvReferenceEngine(ReferenceEngine):
    """Integer reference of :class:`~neurosim.nn.conv.ConvFixedEngine`.

    Parameters
    ----------
    fast : ConvFixedEngine
        A freshly built fast engine (its initial codes and tables are copied).
    """

    def _src_fmt(self, i: int) -> FixedFormat:
        """The dense layers all read activations (the first one the pooled map)."""
        return self.fm.act

    def __init__(self, fast: ConvFixedEngine) -> None:
        super().__init__(fast)
        self.blocks = fast.blocks
        self.image_shape = fast.image_shape
        self.in_fmt = fast.in_fmt
        self.K = [[[int(v) for v in row] for row in k] for k in fast.K]
        self.bK = None if fast.bK is None else [[int(v) for v in b] for b in fast.bK]
        self.bk_keys = list(fast.bk_keys)
        self.KC = [None if c is None else [[int(v) for v in row] for row in c] for c in fast.KC]
        self.k_keys = list(fast.k_keys)

    def _velocity_spec(self, name: str) -> tuple[int, int, str]:
        """Block ``b``'s kernel ("K^b") and biases ("bK^b") keep their velocity
        in ``velocity_bits`` words on the momentum stream of layer
        ``streams.CONV_TILE + b - 1`` (kind 0 kernel, 1 biases); dense names as the
        dense reference."""
        kind, _, h = name.partition("^")
        if kind not in ("K", "bK"):
            return super()._velocity_spec(name)
        tile = streams.CONV_TILE + int(h) - 1
        key = streams.counter_key(self.cfg.seed, "momentum", tile, int(kind == "bK"))
        return self.cfg.velocity_bits, key, f"sat:v{name}"

    # ------------------------------------------------------------------
    def conv_forward_sample(self, x: np.ndarray, count: bool = True) -> tuple[list, list]:
        """Blocks of one sample: the flat pooled codes and per-block state
        ``(X, O, D, arg)`` with maps as nested lists ``[i][j][c]``."""
        fm, cfg = self.fm, self.cfg
        counts = self.counts if count else type(self.counts)()
        C, H, W = self.image_shape
        X = [[[0] * C for _ in range(W)] for _ in range(H)]
        for c in range(C):
            for i in range(H):
                for j in range(W):
                    q, n = ref_quantize(float(x[(c * H + i) * W + j]), self.in_fmt)
                    counts["sat:O^0"] += n
                    X[i][j][c] = q
        states = []
        for b, blk in enumerate(self.blocks):
            src = self.in_fmt if b == 0 else fm.act
            acc_fmt = FixedFormat(cfg.acc_bits, fm.weight.frac + src.frac)
            k, p, F, Cb = blk.kernel, blk.kernel // 2, blk.filters, blk.channels
            O = [[[0] * F for _ in range(blk.width)] for _ in range(blk.height)]
            D = [[[0] * F for _ in range(blk.width)] for _ in range(blk.height)]
            for i in range(blk.height):
                for j in range(blk.width):
                    for f in range(F):
                        s = 0
                        if self.bK is not None:  # the accumulator starts at the bias
                            s, n = ref_saturate(self.bK[b][f] << src.frac, acc_fmt)
                            counts[f"sat:accK^{b + 1}"] += n
                        for di in range(k):
                            for dj in range(k):
                                for c in range(Cb):
                                    ii, jj = i + di - p, j + dj - p
                                    inside = 0 <= ii < blk.height and 0 <= jj < blk.width
                                    a = X[ii][jj][c] if inside else 0
                                    w = self.K[b][f][(di * k + dj) * Cb + c]
                                    s, n = ref_saturate(s + w * a, acc_fmt)
                                    counts[f"sat:accK^{b + 1}"] += n
                        v, n = ref_saturate(ref_shift_nearest(s, acc_fmt.frac - fm.lut.frac),
                                            fm.lut)  # fmt: skip
                        counts[f"sat:SK^{b + 1}"] += n
                        O[i][j][f] = self.f[v - fm.lut.qmin]
                        D[i][j][f] = self.df[v - fm.lut.qmin]
            ho, wo = blk.pooled
            P = [[[0] * F for _ in range(wo)] for _ in range(ho)]
            arg = [[[0] * F for _ in range(wo)] for _ in range(ho)]
            for oi in range(ho):
                for oj in range(wo):
                    for f in range(F):
                        best, where = None, 0
                        for di in range(blk.pool):
                            for dj in range(blk.pool):
                                v = O[oi * blk.stride + di][oj * blk.stride + dj][f]
                                if best is None or v > best:
                                    best, where = v, (di, dj)
                        P[oi][oj][f], arg[oi][oj][f] = best, where
            states.append((X, O, D, arg))
            X = P
        flat = [v for row in X for cell in row for v in cell]
        return flat, states

    def forward_sample(self, x: np.ndarray, count: bool = True) -> tuple[list, list]:
        """Dense codes ``O^0..O^L`` (``O^0`` the flat pooled map) and ``f'`` codes."""
        z, _ = self.conv_forward_sample(x, count)
        # exact codes re-read in the activation format (fm.inp is fm.act here)
        return super().forward_sample(np.array(z, dtype=np.float64) * 2.0**-self.fm.act.frac,
                                      count)  # fmt: skip

    def _error_value(self, v: int, d: int | None, frac: int, name: str) -> int:
        """The error unit before the log stage: times ``f'``, round, saturate."""
        fm = self.fm
        if d is None:
            v = ref_shift_nearest(v, frac - fm.error.frac)
        else:
            v = ref_shift_nearest(v * d, frac + fm.deriv.frac - fm.error.frac)
        return self._sat(v, fm.error, name)

    def train_batch(self, x: np.ndarray, t: np.ndarray) -> None:
        """One minibatch step, sample by sample, then the updates."""
        fm, cfg, rule, L = self.fm, self.cfg, self.rule, self.L
        nb = len(self.blocks)
        frozen, dense_freeze = split_freeze(cfg.freeze, nb)
        trained = trained_layers(rule, L, dense_freeze)
        G = {i: np.zeros((len(self.W[i]), len(self.W[i][0])), dtype=object) for i in trained}
        GB = {i: np.zeros((1, len(self.W[i])), dtype=object) for i in trained}
        GK = [np.zeros((len(k), len(k[0])), dtype=object) for k in self.K]
        GBK = [np.zeros((1, len(k)), dtype=object) for k in self.K]
        w_rule = rule.matrix == "W"
        m_fmt = fm.weight if w_rule else fm.feedback
        pfrac = fm.error.frac + m_fmt.frac
        # learning-channel dropout masks: dense hidden layers 0 .. L-2, block b at L + b
        self.keep = {}
        if cfg.channel_dropout and rule.trains_hidden:
            shapes = {i: len(self.W[i]) for i in range(L - 1)}
            shapes.update({L + b: blk.n_conv for b, blk in enumerate(self.blocks)})
            for i, n in shapes.items():
                self.keep[i] = channel_keep(cfg, self.step_index, i, (x.shape[0], n))
                self.counts["rng_bits:channel"] += 8 * self.keep[i].size
        for s in range(x.shape[0]):
            z, states = self.conv_forward_sample(x[s])
            A, D = super().forward_sample(np.array(z, dtype=np.float64) * 2.0**-fm.act.frac)
            R = self._dense_errors(A, D, t[s], s)
            for i in trained:
                G[i] += np.outer(np.array(R[i], dtype=object), np.array(A[i], dtype=object))
                GB[i][0] += np.array(R[i], dtype=object)
            if not rule.trains_hidden:
                continue
            Rc: list = [None] * nb
            for b in range(nb - 1, -1, -1):
                blk = self.blocks[b]
                ho, wo = blk.pooled
                F = blk.filters
                n = ho * wo * F
                if rule.source == "top":
                    c = self.KC[b]
                    p = [sum(c[j][k] * R[-1][k] for k in range(len(R[-1]))) for j in range(n)]
                elif b == nb - 1:
                    if w_rule:
                        w0 = self.W[0]
                        p = [sum(R[0][k] * w0[k][j] for k in range(len(R[0]))) for j in range(n)]
                    else:
                        c = self.KC[b]
                        p = [sum(c[j][k] * R[0][k] for k in range(len(R[0]))) for j in range(n)]
                else:  # scatter each error of block b+1 through its kernel
                    up = self.blocks[b + 1]
                    m = self.K[b + 1] if w_rule else self.KC[b]
                    k, pad = up.kernel, up.kernel // 2
                    pm = [[[0] * F for _ in range(wo)] for _ in range(ho)]
                    for i in range(up.height):
                        for j in range(up.width):
                            for f in range(up.filters):
                                r = Rc[b + 1][i][j][f]
                                for di in range(k):
                                    for dj in range(k):
                                        ii, jj = i + di - pad, j + dj - pad
                                        if 0 <= ii < ho and 0 <= jj < wo:
                                            for c in range(F):
                                                pm[ii][jj][c] += r * m[f][(di * k + dj) * F + c]
                    p = [v for row in pm for cell in row for v in cell]
                frac = pfrac
                if w_rule:
                    p = [
                        self._sat(ref_shift_nearest(v, pfrac - fm.error.frac), fm.error,
                                  f"sat:dK^{b + 1}")
                        for v in p
                    ]  # fmt: skip
                    frac = fm.error.frac
                X, _O, Db, arg = states[b]
                e = [[[0] * F for _ in range(blk.width)] for _ in range(blk.height)]
                for oi in range(ho):
                    for oj in range(wo):
                        for f in range(F):
                            di, dj = arg[oi][oj][f]
                            e[oi * blk.stride + di][oj * blk.stride + dj][f] += p[
                                (oi * wo + oj) * F + f
                            ]
                # one message per sample: the block's error map in (i, j, f) order
                row = [
                    self._error_value(e[i][j][f], None if cfg.no_derivative else Db[i][j][f],
                                      frac, f"sat:RK^{b + 1}")
                    for i in range(blk.height) for j in range(blk.width) for f in range(F)
                ]  # fmt: skip
                row = self._logq_row(row, L + b, 0, s)
                if L + b in self.keep:  # learning-channel dropout
                    row = [v if self.keep[L + b][s, j] else 0 for j, v in enumerate(row)]
                r = [
                    [row[(i * blk.width + j) * F : (i * blk.width + j + 1) * F]
                     for j in range(blk.width)]
                    for i in range(blk.height)
                ]  # fmt: skip
                Rc[b] = r
                for i in range(blk.height):
                    for j in range(blk.width):
                        for f in range(F):
                            GBK[b][0, f] += r[i][j][f]
                # gradient: R_b times the patch each output saw
                k, pad, Cb = blk.kernel, blk.kernel // 2, blk.channels
                for i in range(blk.height):
                    for j in range(blk.width):
                        for f in range(F):
                            if not r[i][j][f]:
                                continue
                            for di in range(k):
                                for dj in range(k):
                                    ii, jj = i + di - pad, j + dj - pad
                                    if 0 <= ii < blk.height and 0 <= jj < blk.width:
                                        for c in range(Cb):
                                            GK[b][f, (di * k + dj) * Cb + c] += (
                                                r[i][j][f] * X[ii][jj][c]
                                            )
        mult = int(round(self.lr / x.shape[0] * (1 << cfg.lr_frac)))
        self._dense_updates(trained, G, GB, mult)
        shift_b = fm.error.frac + cfg.lr_frac - fm.weight.frac
        if rule.trains_hidden:
            mode = cfg.update_mode  # blocks are hidden layers
            k = 1 if mode == "sign" else cfg.update_bits
            for b in range(nb):
                if b in frozen:
                    continue
                src = self.in_fmt if b == 0 else fm.act
                shift = fm.error.frac + src.frac + cfg.lr_frac - fm.weight.frac
                g = np.abs(GK[b]) if mode == "magnitude" else GK[b]
                self._update(self.K[b], g, mult, shift, fm.weight, self.k_keys[b],
                             f"K^{b + 1}", k)  # fmt: skip
                if self.bK is not None:  # a weight on the constant input 1.0
                    gb = np.abs(GBK[b]) if mode == "magnitude" else GBK[b]
                    self._update([self.bK[b]], gb, mult, shift_b, fm.weight, self.bk_keys[b],
                                 f"bK^{b + 1}", k)  # fmt: skip
        self.step_index += 1

    def _dense_errors(self, A: list, D: list, t: np.ndarray, s: int) -> list:
        """``R`` of the dense layers for sample ``s`` of the batch (as the dense
        reference: one message per layer and sample)."""
        fm, rule, L = self.fm, self.rule, self.L
        r_top = []
        for j, o in enumerate(A[-1]):
            v = int(t[j]) * (1 << fm.out.frac) - o
            v = self._sat(ref_shift_nearest(v, fm.out.frac - fm.error.frac), fm.error,
                          f"sat:R^{L}")  # fmt: skip
            r_top.append(v)
        r_top = self._logq_row(r_top, L - 1, 0, s)
        R: list = [None] * L
        R[L - 1] = r_top
        if not rule.trains_hidden:
            return R
        m_fmt = fm.weight if rule.matrix == "W" else fm.feedback
        pfrac = fm.error.frac + m_fmt.frac
        for i in range(L - 2, -1, -1):
            src = r_top if rule.source == "top" else R[i + 1]
            n_i = len(self.W[i])
            if rule.matrix == "W":
                wn = self.W[i + 1]
                p = [sum(src[k] * wn[k][j] for k in range(len(src))) for j in range(n_i)]
                p = [
                    self._sat(ref_shift_nearest(v, pfrac - fm.error.frac), fm.error,
                              f"sat:d^{i + 1}")
                    for v in p
                ]  # fmt: skip
                frac = fm.error.frac
            else:
                c = self.C[i]
                p = [sum(c[j][k] * src[k] for k in range(len(src))) for j in range(n_i)]
                frac = pfrac
            d = D[i]
            r = [
                self._error_value(v, None if self.cfg.no_derivative else d[j], frac,
                                  f"sat:R^{i + 1}")
                for j, v in enumerate(p)
            ]  # fmt: skip
            R[i] = self._logq_row(r, i, 0, s)
            if i in self.keep:  # learning-channel dropout
                R[i] = [v if self.keep[i][s, j] else 0 for j, v in enumerate(R[i])]
        return R
