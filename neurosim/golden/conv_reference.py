"""Slow integer reference of the conv engine's training step (tiny shapes only).

One sample at a time in Python integers: each conv output is a sequential,
saturating MAC loop over the kernel in the tile's ``(row, col, channel)``
order; max-pool compares codes window by window; the transposed convolution
is a *scatter* of each error component through its kernel (not the fast
path's im2col of a flipped kernel); errors go through the error unit's
reference (:mod:`neurosim.golden.error`) and every update through the update
unit's (:mod:`neurosim.golden.update`). The dense layers reuse
:class:`~neurosim.golden.reference.ReferenceEngine`. Shared with the fast
engine: only tables (formats, LUTs, initial codes, stream keys).
"""

from __future__ import annotations

import numpy as np

from neurosim.golden.reference import ReferenceEngine, codes, outer
from neurosim.nn.rules import split_freeze, trained_layers
from neurosim.numerics import streams
from neurosim.numerics.fixedpoint import FixedFormat, ref_quantize, ref_shift_nearest


def grid(h: int, w: int, c: int) -> list:
    """A zero map ``[i][j][c]``."""
    return [[[0] * c for _ in range(w)] for _ in range(h)]


class ConvReferenceEngine(ReferenceEngine):
    """Integer reference of :class:`~neurosim.nn.conv.ConvFixedEngine`.

    Parameters
    ----------
    fast : ConvFixedEngine
        A freshly built fast engine (its initial codes and tables are copied).
    """

    def __init__(self, fast) -> None:
        self.blocks = fast.blocks
        super().__init__(fast)
        cfg = self.cfg
        self.image_shape = fast.image_shape
        self.in_fmt = fast.in_fmt
        self.K = [codes(k) for k in fast.K]
        self.bK = None if fast.bK is None else [[int(v) for v in b] for b in fast.bK]
        self.KC = [None if c is None else codes(c) for c in fast.KC]
        tiles = [streams.CONV_TILE + b for b in range(len(self.blocks))]
        self.k_keys = [streams.counter_key(cfg.seed, "weight_update", t) for t in tiles]
        self.bk_keys = [streams.counter_key(cfg.seed, "bias_update", t) for t in tiles]
        for b, t in enumerate(tiles):  # velocities: the weights' word, kind 0 kernel / 1 biases
            for kind, name in enumerate((f"K^{b + 1}", f"bK^{b + 1}")):
                key = streams.counter_key(cfg.seed, "momentum", t, kind)
                self.upd.velocity[name] = (cfg.velocity_bits, key, f"sat:v{name}")

    def _tiles(self) -> list[int]:
        """Dense layers on tiles ``0 .. L-1``, block ``b`` (source ``L + b``)
        on ``CONV_TILE + b``."""
        return [*range(self.L), *(streams.CONV_TILE + b for b in range(len(self.blocks)))]

    def _src_fmt(self, i: int) -> FixedFormat:
        """The dense layers all read activations (the first one the pooled map)."""
        return self.fm.act

    # ------------------------------------------------------------------
    def _conv_block(self, b: int, X: list, counts) -> tuple[list, list, list, list]:
        """Block ``b`` on one sample's map ``X``: pooled map, outputs, ``f'``
        codes and each window's argmax."""
        fm, blk, fwd = self.fm, self.blocks[b], self.fwd
        src = self.in_fmt if b == 0 else fm.act
        acc_fmt = FixedFormat(self.cfg.acc_bits, fm.weight.frac + src.frac)
        k, p, F, Cb = blk.kernel, blk.kernel // 2, blk.filters, blk.channels
        O, D = grid(blk.height, blk.width, F), grid(blk.height, blk.width, F)
        for i in range(blk.height):
            for j in range(blk.width):
                patch = []
                for di in range(k):
                    for dj in range(k):
                        ii, jj = i + di - p, j + dj - p
                        inside = 0 <= ii < blk.height and 0 <= jj < blk.width
                        patch += [X[ii][jj][c] if inside else 0 for c in range(Cb)]
                accs = fwd.accumulate(self.K[b], None if self.bK is None else self.bK[b], patch,
                                      acc_fmt, src.frac, counts, f"sat:accK^{b + 1}")  # fmt: skip
                for f, s in enumerate(accs):
                    c = fwd.lut_index(s, acc_fmt.frac, counts, f"sat:SK^{b + 1}")
                    counts[f"sat:OK^{b + 1}"] += fwd.is_clipped(c)
                    O[i][j][f], D[i][j][f] = fwd.f[c], fwd.df[c]
        ho, wo = blk.pooled
        P, arg = grid(ho, wo, F), grid(ho, wo, F)
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
        return P, O, D, arg

    def conv_forward_sample(self, x: np.ndarray, count: bool = True) -> tuple[list, list]:
        """Blocks of one sample: the flat pooled codes and per-block state
        ``(X, O, D, arg)`` with maps as nested lists ``[i][j][c]``."""
        counts = self.counts if count else type(self.counts)()
        C, H, W = self.image_shape
        X = grid(H, W, C)
        for c in range(C):
            for i in range(H):
                for j in range(W):
                    q, n = ref_quantize(float(x[(c * H + i) * W + j]), self.in_fmt)
                    counts["sat:O^0"] += n
                    X[i][j][c] = q
        states = []
        for b in range(len(self.blocks)):
            P, O, D, arg = self._conv_block(b, X, counts)
            states.append((X, O, D, arg))
            X = P
        return [v for row in X for cell in row for v in cell], states

    def forward_sample(self, x: np.ndarray, count: bool = True) -> tuple[list, list]:
        """Dense codes ``O^0..O^L`` (``O^0`` the flat pooled map) and ``f'`` codes."""
        z, _ = self.conv_forward_sample(x, count)
        return self.fwd.sample(self.W, self.b, z, self.counts if count else type(self.counts)())

    def _projection(self, b: int, R: list, Rc: list) -> list[int]:
        """What reaches block ``b``'s pooled map (flat ``(i, j, f)``), before rounding."""
        rule, nb, blk = self.rule, len(self.blocks), self.blocks[b]
        ho, wo = blk.pooled
        F = blk.filters
        n = ho * wo * F
        if rule.source == "top" or (b == nb - 1 and rule.matrix == "C"):
            c, src = self.KC[b], R[-1] if rule.source == "top" else R[0]
            return [sum(c[j][k] * src[k] for k in range(len(src))) for j in range(n)]
        if b == nb - 1:
            w0 = self.W[0]
            return [sum(R[0][k] * w0[k][j] for k in range(len(R[0]))) for j in range(n)]
        up = self.blocks[b + 1]  # scatter each error of block b+1 through its kernel
        m = self.K[b + 1] if rule.matrix == "W" else self.KC[b]
        k, pad = up.kernel, up.kernel // 2
        pm = grid(ho, wo, F)
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
        return [v for row in pm for cell in row for v in cell]

    def _block_error(self, b: int, p: list, state: tuple, s: int, keep: dict) -> list:
        """Block ``b``'s error map ``R_b`` ``[i][j][f]`` of sample ``s`` from
        the projection ``p`` at its pooled map."""
        fm, cfg, blk, err = self.fm, self.cfg, self.blocks[b], self.err
        frac = fm.error.frac + (fm.weight if self.rule.matrix == "W" else fm.feedback).frac
        if self.rule.matrix == "W":  # BP: rounded where the weights live, then sent
            p = [err.sat(ref_shift_nearest(v, frac - fm.error.frac), f"sat:dK^{b + 1}") for v in p]
            frac = fm.error.frac
        _X, _O, Db, arg = state
        ho, wo = blk.pooled
        F = blk.filters
        e = grid(blk.height, blk.width, F)
        for oi in range(ho):
            for oj in range(wo):
                for f in range(F):
                    di, dj = arg[oi][oj][f]
                    e[oi * blk.stride + di][oj * blk.stride + dj][f] += p[(oi * wo + oj) * F + f]
        # one message per sample: the block's error map in (i, j, f) order
        row = [
            err.value(e[i][j][f], None if cfg.no_derivative else Db[i][j][f], frac,
                      f"sat:RK^{b + 1}")
            for i in range(blk.height) for j in range(blk.width) for f in range(F)
        ]  # fmt: skip
        row = err.code(row, self.L + b, 0, s, self.step_index)
        if self.L + b in keep:  # learning-channel dropout
            row = self._drop(row, keep[self.L + b][s], f"sat:RK^{b + 1}")
        W = blk.width
        return [[row[(i * W + j) * F : (i * W + j + 1) * F] for j in range(W)]
                for i in range(blk.height)]  # fmt: skip

    def _kernel_grad(self, b: int, r: list, X: list, GK: list, GBK: list) -> None:
        """Add ``R_b`` times the patch each output saw to ``GK[b]`` (and the
        errors to the bias gradient ``GBK[b]``)."""
        blk = self.blocks[b]
        k, pad, Cb = blk.kernel, blk.kernel // 2, blk.channels
        for i in range(blk.height):
            for j in range(blk.width):
                for f in range(blk.filters):
                    GBK[b][0, f] += r[i][j][f]
                    if not r[i][j][f]:
                        continue
                    for di in range(k):
                        for dj in range(k):
                            ii, jj = i + di - pad, j + dj - pad
                            if 0 <= ii < blk.height and 0 <= jj < blk.width:
                                for c in range(Cb):
                                    GK[b][f, (di * k + dj) * Cb + c] += r[i][j][f] * X[ii][jj][c]

    def train_batch(self, x: np.ndarray, t: np.ndarray) -> None:
        """One minibatch step, sample by sample, then the updates."""
        cfg, rule, L, nb = self.cfg, self.rule, self.L, len(self.blocks)
        frozen, dense_freeze = split_freeze(cfg.freeze, nb)
        trained = trained_layers(rule, L, dense_freeze)
        G = {i: 0 for i in trained}
        GB = {i: 0 for i in trained}
        GK = [np.zeros((len(k), len(k[0])), dtype=object) for k in self.K]
        GBK = [np.zeros((1, len(k)), dtype=object) for k in self.K]
        # learning-channel dropout masks: dense hidden layers 0 .. L-2, block b at L + b
        shapes = {i: len(self.W[i]) for i in range(L - 1)}
        shapes.update({L + b: blk.n_conv for b, blk in enumerate(self.blocks)})
        keep = self._keep(x.shape[0], shapes)
        for s in range(x.shape[0]):
            z, states = self.conv_forward_sample(x[s])
            A, D = self.fwd.sample(self.W, self.b, z, self.counts)
            R, _ = self.dense_errors(A, D, t[s], s, keep)
            for i in trained:
                G[i] = G[i] + outer(R[i], A[i])
                GB[i] = GB[i] + np.array([R[i]], dtype=object)
            if not rule.trains_hidden:
                continue
            Rc: list = [None] * nb
            for b in range(nb - 1, -1, -1):
                Rc[b] = self._block_error(b, self._projection(b, R, Rc), states[b], s, keep)
                self._kernel_grad(b, Rc[b], states[b][0], GK, GBK)
        mult = int(round(self.lr / x.shape[0] * (1 << cfg.lr_frac)))
        self._dense_updates(trained, G, GB, mult)
        if rule.trains_hidden:
            self._block_updates([b for b in range(nb) if b not in frozen], GK, GBK, mult)
        self.step_index += 1

    def _block_updates(self, trained: list, GK: list, GBK: list, mult: int) -> None:
        """Kernels and filter biases of the trained blocks (hidden layers:
        ``update_mode`` applies)."""
        fm, cfg, step = self.fm, self.cfg, self.step_index
        mode = cfg.update_mode
        k = 1 if mode == "sign" else cfg.update_bits
        shift_b = fm.error.frac + cfg.lr_frac - fm.weight.frac
        for b in trained:
            src = self.in_fmt if b == 0 else fm.act
            shift = fm.error.frac + src.frac + cfg.lr_frac - fm.weight.frac
            g = np.abs(GK[b]) if mode == "magnitude" else GK[b]
            self.upd.update(self.K[b], g, mult, shift, fm.weight, self.k_keys[b], f"K^{b + 1}",
                            k, step)  # fmt: skip
            if self.bK is not None:  # a weight on the constant input 1.0
                gb = np.abs(GBK[b]) if mode == "magnitude" else GBK[b]
                self.upd.update([self.bK[b]], gb, mult, shift_b, fm.weight, self.bk_keys[b],
                                f"bK^{b + 1}", k, step)  # fmt: skip
