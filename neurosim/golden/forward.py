"""Slow integer reference of the forward unit (:mod:`neurosim.nn.fixed.forward`).

One sample at a time in Python integers: every MAC accumulated sequentially
in the tile's order with saturation at each step (the accumulator starts at
the bias), the pre-activation rounded half to even onto the LUT's index
format and saturated, then the activation LUTs (softmax: the logits at the
LUT's resolution minus the largest, never clipped to its range, the exp LUT
and one integer division per output). Shares only tables with the fast path: the
formats and the LUT contents.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from neurosim.nn.network import Formats, Luts
from neurosim.numerics.fixedpoint import FixedFormat, ref_quantize, ref_saturate, ref_shift_nearest


class RefForwardUnit:
    """The forward unit on lists of integer codes.

    Parameters
    ----------
    fm : Formats
        The dense part's formats.
    output : str
        Output kind (linear, sigmoid, softmax).
    acc_bits : int
        Accumulator width.
    luts : Luts or sequence of Luts
        The activation tables (copied as Python ints): one set, or one per
        hidden layer (``[h - 1]``, each layer's own f and f' formats); the
        output and exp tables are the first's.
    act : str
        The hidden activation: whether a looked-up output was clipped by the
        activation format is decided from the real function here, not from
        the table's :attr:`Luts.unclipped`.
    """

    def __init__(
        self, fm: Formats, output: str, acc_bits: int, luts: Luts | Sequence[Luts], act: str
    ) -> None:
        self.fm, self.output, self.acc_bits, self.act = fm, output, acc_bits, act
        layers = [luts] if isinstance(luts, Luts) else list(luts)
        luts = layers[0]
        self.fs = [[int(v) for v in t.f] for t in layers]  # per hidden layer
        self.dfs = [[int(v) for v in t.df] for t in layers]
        self.f, self.df = self.fs[0], self.dfs[0]
        self.fout = None if luts.out is None else [int(v) for v in luts.out]
        self.exp = [int(v) for v in luts.exp]

    @staticmethod
    def quantize(x: np.ndarray, fmt: FixedFormat, counts: Counter) -> list[int]:
        """Input codes of one sample (``sat:O^0``)."""
        out = []
        for v in x:
            q, n = ref_quantize(float(v), fmt)
            counts["sat:O^0"] += n
            out.append(q)
        return out

    def is_clipped(self, c: int, out: FixedFormat | None = None) -> bool:
        """Whether ``f`` at LUT index ``c`` lies more than one LSB outside the
        activation format ``out`` (default: the one activation format; the
        real function, in Python floats)."""
        lut, out = self.fm.lut, out or self.fm.act
        s = (c + lut.qmin) / (1 << lut.frac)
        real = {"tanh": math.tanh, "relu": lambda x: max(x, 0.0), "linear": lambda x: x,
                "logistic": lambda x: 1.0 / (1.0 + math.exp(-x))}[self.act](s)  # fmt: skip
        lsb = 1.0 / (1 << out.frac)
        return real > out.qmax * lsb + lsb or real < out.qmin * lsb - lsb

    def lut_index(self, s: int, acc_frac: int, counts: Counter, name: str) -> int:
        """Accumulator ``s`` to a LUT index (round, saturate; counted as ``name``)."""
        lut = self.fm.lut
        v, n = ref_saturate(ref_shift_nearest(s, acc_frac - lut.frac), lut)
        counts[name] += n
        return v - lut.qmin

    def accumulate(
        self, w: list, b: list | None, a: list[int], acc_fmt: FixedFormat, src_frac: int,
        counts: Counter, name: str,
    ) -> list[int]:  # fmt: skip
        """``W a (+ b)`` row by row, saturating after every MAC (counted as ``name``)."""
        accs = []
        for j, row in enumerate(w):
            s = 0
            if b is not None:  # the accumulator starts at the bias
                s, n = ref_saturate(b[j] << src_frac, acc_fmt)
                counts[name] += n
            for wk, ak in zip(row, a, strict=True):  # the tile's MAC order
                s, n = ref_saturate(s + wk * ak, acc_fmt)
                counts[name] += n
            accs.append(s)
        return accs

    def sample(self, W: list, b: list | None, a: list[int], counts: Counter) -> tuple[list, list]:
        """Dense layers of one sample from input codes ``a``: codes
        ``O^0..O^L`` and the hidden layers' ``f'`` codes."""
        fm = self.fm
        A, D = [a], []
        L = len(W)
        for i, w in enumerate(W):
            acc_fmt = fm.acc(i, self.acc_bits)
            src_frac = fm.src(i).frac
            accs = self.accumulate(w, None if b is None else b[i], A[-1], acc_fmt, src_frac,
                                   counts, f"sat:acc^{i + 1}")  # fmt: skip
            last = i == L - 1
            if last and self.output == "linear":
                out = []
                for s in accs:
                    v, n = ref_saturate(ref_shift_nearest(s, acc_fmt.frac - fm.out.frac), fm.out)
                    counts[f"sat:S^{i + 1}"] += n
                    out.append(v)
                A.append(out)
                continue
            if last and self.output == "softmax":
                # the largest logit first, at the LUT input's resolution, never
                # clipped to its range; exp(-d) past the table's end is 0 anyway
                logits = [ref_shift_nearest(s, acc_fmt.frac - fm.lut.frac) for s in accs]
                e = [self.exp[min(max(logits) - v, len(self.exp) - 1)] for v in logits]
                tot = sum(e)
                A.append([(ej * (2 << fm.out.frac) + tot) // (2 * tot) for ej in e])
                continue
            codes = [self.lut_index(s, acc_fmt.frac, counts, f"sat:S^{i + 1}") for s in accs]
            if not last:
                a_fmt = fm.acts[i]  # O^{i+1}'s own format and tables
                counts[f"sat:O^{i + 1}"] += sum(self.is_clipped(c, a_fmt) for c in codes)
                f, df = self.fs[min(i, len(self.fs) - 1)], self.dfs[min(i, len(self.dfs) - 1)]
                A.append([f[c] for c in codes])
                D.append([df[c] for c in codes])
            else:  # sigmoid
                A.append([self.fout[c] for c in codes])
        return A, D
