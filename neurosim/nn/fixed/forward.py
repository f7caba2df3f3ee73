"""The forward unit: MAC arrays, accumulators and the activation LUTs.

Every product is exact: :func:`neurosim.numerics.kernels.product_into` picks
float32 BLAS, float64 BLAS or an int64 kernel from a bound on the partial
sums, and where an accumulator of ``acc_bits`` could overflow,
:func:`neurosim.numerics.kernels.exact_matmul` follows the tile's sequential
saturating order. The golden reference is :mod:`neurosim.golden.forward`.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from neurosim.nn.fixed.memory import DenseMemory
from neurosim.nn.network import Formats, Luts
from neurosim.numerics import kernels
from neurosim.numerics.kernels import imac


class ForwardUnit:
    """Integer forward pass of the dense layers.

    Parameters
    ----------
    fm : Formats
        The dense part's formats.
    act, output : str
        Hidden activation and output kind (they pick the LUTs).
    acc_bits : int
        Accumulator width in bits.
    mem : DenseMemory
        The weights and biases it reads.
    counts : Counter
        Receives ``sat:O^0``, ``sat:acc^h``, ``sat:S^h`` and ``sat:O^h``
        (hidden outputs clipped by the activation format, see
        :attr:`Luts.unclipped`).
    """

    def __init__(
        self, fm: Formats, act: str, output: str, acc_bits: int, mem: DenseMemory,
        counts: Counter,
    ) -> None:  # fmt: skip
        self.fm, self.output, self.mem, self.counts = fm, output, mem, counts
        # one f and f' table pair per hidden layer (shared where formats agree);
        # ``luts``/``fd``: layer 1's, with the output and exp tables (conv blocks)
        self.layer_luts = Luts.per_layer(act, output, fm)
        self.luts = self.layer_luts[0]
        fds: dict = {}
        self.fds = [
            fds.setdefault(id(t), np.ascontiguousarray(np.stack([t.f, t.df], axis=1)))
            for t in self.layer_luts
        ]
        self.fd = self.fds[0]
        self.L = len(mem.W)
        self.acc_fmt = [fm.acc(i, acc_bits) for i in range(self.L)]
        self.rows0 = np.arange(mem.W[0].shape[1], dtype=np.int64)
        self.rowsum0 = 0.0  # max row sum of |O^0|, set by whoever makes O^0
        self._cols_wait = 0  # batches before input_columns looks again
        # per layer, what the forward pass needs every step: operand bounds,
        # the activation unit's shift and the names of its arrays and counts
        self._layers = [
            (
                fm.src(i).max_abs, float(fm.weights[i].max_abs),
                self.acc_fmt[i].qmax, self.acc_fmt[i].frac - fm.lut.frac,
                f"acc{i}", f"O{i + 1}", f"D{i + 1}", f"sat:acc^{i + 1}", f"sat:S^{i + 1}",
                f"sat:O^{i + 1}",
            )
            for i in range(self.L)
        ]  # fmt: skip
        # 8-bit operands multiply in integers where the compiled VNNI kernels
        # exist (:mod:`neurosim.numerics.kernels.imac`): the same exact sums
        self._imac = imac.load()
        self._packed: list = [None] * self.L
        # the hidden LUTs in the compiled unit (gathers): float32 tables whose
        # row sums of |f| stay exact in float32
        self._act_c = [
            self._imac is not None and fd.dtype == np.float32
            and float(np.abs(fd[:, 0]).max(initial=0.0)) * w.shape[0] < kernels.F32_EXACT
            for fd, w in zip(self.fds, mem.W, strict=False)
        ]  # fmt: skip
        if self._imac is not None:
            for i, w in enumerate(mem.W):
                src, wf = fm.src(i), fm.weights[i]
                k, n = w.shape[1], w.shape[0]
                off = imac.applies(src.qmin, src.qmax, wf.qmin, wf.qmax, k)
                off16 = imac.applies16(src.qmin, src.qmax, wf.qmin, wf.qmax, k)
                if w.dtype != np.float32:
                    continue
                if off is not None:
                    self._packed[i] = (off, imac.PackedWeights(k, n))
                elif off16 is not None:  # 16-bit weights: two byte planes
                    self._packed[i] = (off16, imac.PackedWeights16(k, n))
        self._planes = [p is not None and isinstance(p[1], imac.PackedWeights16)
                        for p in self._packed]  # fmt: skip
        mem.drop_mirrors([i for i, planes in enumerate(self._planes) if planes])

    def quantize_input(self, x: np.ndarray, ws: kernels.Workspace | None = None) -> np.ndarray:
        """Input codes ``O^0`` (float32 holding integers); in ``ws`` if given."""
        q = (ws or kernels.Workspace(False)).get("O0", x.shape)
        f = self.fm.inp
        n, self.rowsum0 = kernels.quantize_kernel(x, f.frac, f.qmin, f.qmax, q)
        self.counts["sat:O^0"] += n
        return q

    def input_columns(self, a0: np.ndarray, ws: kernels.Workspace) -> tuple | None:
        """``(idx, a0[:, idx[:k]])`` for the input columns holding a non-zero
        entry in this batch, when enough are all zero to pay for the gathers."""
        n = a0.shape[1]
        if n < 64:
            return None
        if self._cols_wait > 0:  # the last look found too few zero columns
            self._cols_wait -= 1
            return None
        idx = ws.get("cols0", (n,), np.int64)
        k = kernels.nonzero_columns(a0, idx)
        if k > 0.85 * n:
            # look again in 16 batches: data whose batches rarely leave a
            # column zero (Fashion-MNIST) then pay for one look in 16
            self._cols_wait = 15
            return None
        a0c = ws.get("O0c", (a0.shape[0], k))
        kernels.gather_columns(a0, idx, a0c)
        return idx, a0c

    def bias_init(self, i: int) -> np.ndarray:
        """Accumulator start values of layer ``i``: ``b_code * 2**src.frac``
        (float64), the bias on the accumulator's LSB."""
        src = self.fm.src(i)
        return self.mem.b[i].astype(np.float64) * float(1 << src.frac)

    def _accumulate(
        self, i: int, a: np.ndarray, bound: float, init, rowsum, ws, cols, max_w: float
    ) -> tuple:
        """Layer ``i``'s accumulators ``a @ W^T (+ bias)`` and their saturations
        (``max_w``: the bound on ``|W|`` that ``bound`` used)."""
        mem, w = self.mem, self.mem.W[i]
        k_acc = self._layers[i][4]
        if bound > self.acc_fmt[i].qmax:  # a partial sum may saturate: the tile's order
            return kernels.exact_matmul(
                a, w.T, self._layers[i][0], max_w, self.acc_fmt[i], rowsum, init
            )
        packed, wide = self._packed[i], self._planes[i]
        if (packed is not None and a.dtype == np.float32 and a.strides[1] == 4
                and bound < (kernels.F64_EXACT if wide else kernels.F32_EXACT)):  # fmt: skip
            # exact in int32 (imac.applies) and below 2**24 (float32's sums);
            # 16-bit weights as two byte planes combined in float64, below
            # 2**53 (faster than float32 BLAS too, below 2**24)
            off, pw = packed
            pw.pack(self._imac, w.T)  # the codes as they are now
            if wide:
                out64 = ws.get(k_acc + ".64", (a.shape[0], w.shape[0]), np.float64)
                acc = imac.product16_into(self._imac, a, pw, off, out64)
            else:
                out = ws.get(k_acc, (a.shape[0], w.shape[0]))
                acc = imac.product_into(self._imac, a, pw, off, out)
        elif i == 0 and cols is not None:
            # only the input columns with a non-zero entry, and the rows of
            # W^T they multiply (dropped terms are exact zeros)
            idx, a = cols
            wt = mem.WT0 if bound < kernels.F32_EXACT or mem.W64T0 is None else mem.W64T0
            rows = ws.get("WT0c", (a.shape[1], wt.shape[1]), wt.dtype)
            kernels.gather_rows(wt, idx, rows)
            acc = kernels.product_into(a, rows, rows, bound, ws, k_acc)
        else:
            w64 = w if mem.W64[i] is None else mem.W64[i]
            acc = kernels.product_into(a, w.T, w64.T, bound, ws, k_acc)
        if init is not None:  # exact: the bound covers the sum
            acc += init.astype(acc.dtype)
        return acc, 0

    def forward(
        self,
        a0: np.ndarray,
        count: bool = True,
        ws: kernels.Workspace | None = None,
        cols: tuple | None = None,
    ) -> tuple[list, list]:
        """Integer forward pass.

        ``ws`` holds the step's arrays (the next step that uses it overwrites
        the results); fresh arrays when not given. ``cols`` is ``(idx, a0c)``
        when only the input columns ``idx[:k]`` hold non-zero entries and
        ``a0c = a0[:, idx[:k]]``: the first layer's product skips the others.

        Returns
        -------
        A : list of ndarray
            ``O^0 .. O^L`` codes.
        D : list of ndarray
            ``f'(S^h)`` codes of hidden layers (format ``derivs[h - 1]``).
        """
        fm, luts, lut = self.fm, self.luts, self.fm.lut
        ws = ws or kernels.Workspace(False)
        counts = self.counts
        A, D = [a0], []
        rowsum = self.rowsum0
        last = self.L - 1
        for i in range(self.L):
            max_a, max_w, _acc_max, sh, _k_acc, k_o, k_d, c_acc, c_s, c_o = self._layers[i]
            a = A[-1]
            bound = kernels.partial_sum_bound(a, max_a, max_w, rowsum)
            if bound >= kernels.F32_EXACT and not (
                self._planes[i] and self.mem.b is None and bound < kernels.F64_EXACT
                and bound <= self.acc_fmt[i].qmax
            ):  # fmt: skip
                # the format's largest code is a loose bound on |W|: the
                # largest code W holds now may keep the product in float32
                # BLAS, or off the saturating path (the same exact sums).
                # 16-bit weights in byte planes need no tighter bound: they
                # take any sum below 2**53, faster than float32 BLAS
                max_w = kernels.max_abs(self.mem.WT0 if i == 0 else self.mem.W[i])
                bound = kernels.partial_sum_bound(a, max_a, max_w, rowsum)
            init = None
            if self.mem.b is not None:
                # the accumulator starts at the bias: b^h in the accumulator's
                # fraction (weight.frac + src.frac), i.e. b_code << src.frac
                init = self.bias_init(i)
                bound += float(np.abs(init).max()) if init.size else 0.0
            acc, nsat = self._accumulate(i, a, bound, init, rowsum, ws, cols, max_w)
            out = ws.get(k_o, acc.shape)
            if i < last:
                d = ws.get(k_d, acc.shape)
                act = kernels.act_deriv_kernel
                if self._act_c[i]:  # the compiled unit, on float32 or float64 sums
                    if acc.dtype == np.float32:
                        act = self._imac.act
                    elif acc.dtype == np.float64:
                        act = self._imac.act64
                n2, rowsum, nclip = act(
                    acc, sh, lut.qmin, lut.qmax, self.fds[i], out, d,
                    *self.layer_luts[i].unclipped,
                )  # fmt: skip
                if count:
                    counts[c_o] += nclip
                D.append(d)
            elif self.output == "sigmoid":
                n2, _ = kernels.act_kernel(acc, sh, lut.qmin, lut.qmax, luts.out, out)
            elif self.output == "softmax":
                # logits are not clipped: the unit subtracts the largest first
                kernels.softmax_kernel(acc, sh, luts.exp, fm.out.frac, out)
                n2 = 0
            else:
                sh = self.acc_fmt[i].frac - fm.out.frac
                n2 = kernels.requant_kernel(acc, sh, fm.out.qmin, fm.out.qmax, out)
            A.append(out)
            if count:
                counts[c_acc] += nsat
                counts[c_s] += n2
        return A, D
