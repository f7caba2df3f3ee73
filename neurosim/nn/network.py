"""Layers' numeric building blocks: activations, their LUTs, formats, init.

In ``fixed`` mode the chip's activation unit is a lookup table indexed by the
pre-activation code ``S^h`` (format ``Q(lut_bits, lut_frac)``). The tables
below are the chip's specification of f and f': each entry is the real
function rounded half-to-even to the output format, so both the fast engine
and the reference index the same table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from neurosim.config import TrainConfig
from neurosim.data.datasets import SIGNED_INPUT
from neurosim.numerics import streams
from neurosim.numerics.fixedpoint import FixedFormat


def act_float(name: str, s: np.ndarray) -> np.ndarray:
    """Hidden activation ``f(S)`` (float)."""
    if name == "tanh":
        return np.tanh(s)
    if name == "logistic":
        return 0.5 * (1.0 + np.tanh(0.5 * s))  # logistic, overflow-free
    if name == "relu":
        return np.maximum(s, 0)
    return s


def deriv_float(name: str, s: np.ndarray, o: np.ndarray) -> np.ndarray:
    """``f'(S)`` expressed through ``O = f(S)`` where that is cheaper (float)."""
    if name == "tanh":
        return 1 - o * o
    if name == "logistic":
        return o * (1 - o)
    if name == "relu":
        return (s > 0).astype(s.dtype)
    return np.ones_like(s)


def softmax_float(s: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``(B, N)`` scores."""
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Formats:
    """The fixed-point formats of one configuration (see :class:`TrainConfig`).

    Attributes
    ----------
    inp : FixedFormat
        Input O^0: unsigned ``act_bits``, all fraction bits (data in [0, 1));
        for signed data (``higgs``) signed ``act_bits`` with
        ``input_int_bits`` integer bits.
    act : FixedFormat
        Hidden activations O^h.
    out : FixedFormat
        Output O^L: unsigned ``UQ(act_bits, act_bits-1)`` for softmax and
        sigmoid (holds 1.0), ``act`` for a linear output.
    weights : tuple of FixedFormat
        W^h (and b^h) of each dense weight layer, ``weights[h - 1]`` for
        ``h = 1 .. L`` (``weight_bits``, ``weight_int_bits``: one value each, or
        one per layer); :attr:`weight` is their one format when all agree.
    feedbacks : tuple of FixedFormat
        C^h of each dense weight layer, ``feedbacks[h - 1]`` for ``h = 1 ..
        L`` (``feedback_bits``, ``feedback_int_bits``: one value each, or one
        per layer); the output layer's entry has no ``C^h``. :attr:`feedback`
        is their one format when all used entries agree.
    error, lut : FixedFormat
        The linear error word R^h and the LUT input S^h.
    deriv : FixedFormat
        f'(S^h): unsigned ``UQ(act_bits, act_bits-1)``, range [0, 2).
    exp : FixedFormat
        Softmax exponentials ``exp(-(max S - S))``: ``UQ(17, 16)``.
    """

    inp: FixedFormat
    act: FixedFormat
    out: FixedFormat
    weights: tuple[FixedFormat, ...]
    feedbacks: tuple[FixedFormat, ...]
    error: FixedFormat
    lut: FixedFormat
    deriv: FixedFormat
    exp: FixedFormat

    @classmethod
    def from_config(cls, c: TrainConfig) -> Formats:
        """Derive every format from the config's widths."""

        def q(bits: int, ints: int) -> FixedFormat:
            return FixedFormat(bits, bits - 1 - ints)

        act = q(c.act_bits, c.act_int_bits)
        prob = FixedFormat(c.act_bits, c.act_bits - 1, signed=False)
        signed_input = c.data in SIGNED_INPUT
        return cls(
            inp=(
                q(c.act_bits, c.input_int_bits)
                if signed_input
                else FixedFormat(c.act_bits, c.act_bits, signed=False)
            ),
            act=act,
            out=act if c.output == "linear" else prob,
            weights=tuple(
                q(b, i)
                for b, i in zip(c.per_layer("weight_bits"), c.per_layer("weight_int_bits"),
                                strict=True)
            ),  # fmt: skip
            feedbacks=tuple(
                q(b, i)
                for b, i in zip(c.per_layer("feedback_bits"), c.per_layer("feedback_int_bits"),
                                strict=True)
            ),  # fmt: skip
            error=q(c.error_word_bits, c.error_int_bits),
            lut=q(c.lut_bits, c.lut_int_bits),
            deriv=prob,
            exp=FixedFormat(17, 16, signed=False),
        )

    @property
    def weight(self) -> FixedFormat:
        """The weight format of every layer (conv kernels use it too).

        Raises
        ------
        ValueError
            When the layers' weight formats differ: read :attr:`weights`.
        """
        if len(set(self.weights)) != 1:
            raise ValueError(f"per-layer weight formats {self.weights}: read Formats.weights")
        return self.weights[0]

    @property
    def feedback(self) -> FixedFormat:
        """The format of every ``C^h`` (conv blocks' ``C_b`` use it too): the
        entries of the layers that have one, ``feedbacks[:-1]`` (the only
        entry of a network without hidden layers).

        Raises
        ------
        ValueError
            When the hidden layers' feedback formats differ: read :attr:`feedbacks`.
        """
        used = self.feedbacks[:-1] or self.feedbacks
        if len(set(used)) != 1:
            raise ValueError(
                f"per-layer feedback formats {self.feedbacks}: read Formats.feedbacks"
            )
        return used[0]

    @property
    def feedback_max_abs(self) -> int:
        """Largest ``|C^h|`` code of any hidden layer's format (a bound on
        products through any ``C^h``)."""
        return max(f.max_abs for f in self.feedbacks[:-1] or self.feedbacks)

    def acc(self, layer: int, acc_bits: int) -> FixedFormat:
        """Accumulator format of layer ``layer`` (0-based): W x O products, the
        fraction bits of that layer's weight plus those of its input."""
        src = self.inp if layer == 0 else self.act
        return FixedFormat(acc_bits, self.weights[layer].frac + src.frac)


def _table(fn, lut: FixedFormat, out: FixedFormat) -> np.ndarray:
    codes = np.arange(lut.qmin, lut.qmax + 1, dtype=np.float64)
    vals = fn(lut.to_real(codes))
    t, _ = out.quantize(vals)
    return t.astype(np.float32)


@dataclass(frozen=True)
class Luts:
    """Lookup tables of one configuration, indexed by ``S code - lut.qmin``.

    Attributes
    ----------
    f, df : ndarray of float32, shape (2**lut_bits,)
        Hidden activation and its derivative (integer codes).
    out : ndarray or None
        Output activation for ``sigmoid`` (None otherwise).
    exp : ndarray of int64, shape (2**lut_bits,)
        ``exp(-d)`` for ``d = 0 .. 2**lut_bits - 1`` LSBs of S (softmax).
    unclipped : (int, int)
        The first and last index whose ``f`` entry is not clipped by the
        activation format: an entry is clipped when the real ``f(S)`` lies
        more than one LSB outside the format's range (a bounded unit's
        limit, e.g. tanh's 1.0 one LSB above ``Q(8, 7)``'s largest code,
        is not a clip; relu and linear outputs beyond the range are). Every
        activation is monotone, so the unclipped indices are one interval.
    """

    f: np.ndarray
    df: np.ndarray
    out: np.ndarray | None
    exp: np.ndarray
    unclipped: tuple[int, int] = (0, 0)

    @classmethod
    def build(cls, act: str, output: str, fm: Formats) -> Luts:
        """Tabulate f, f', the output function and exp for these formats."""
        f = _table(lambda s: act_float(act, s), fm.lut, fm.act)
        if act == "relu":
            df = _table(lambda s: (s > 0).astype(np.float64), fm.lut, fm.deriv)
        else:
            df = _table(lambda s: _deriv_of(act, s), fm.lut, fm.deriv)
        out = (
            _table(lambda s: act_float("logistic", s), fm.lut, fm.out)
            if output == "sigmoid"
            else None
        )
        d = np.arange(0, 1 << fm.lut.bits, dtype=np.float64)
        e, _ = fm.exp.quantize(np.exp(-fm.lut.to_real(d)))
        return cls(f=f, df=df, out=out, exp=e.astype(np.int64),
                   unclipped=_unclipped(act, fm.lut, fm.act))  # fmt: skip


def clipped(real: np.ndarray, out: FixedFormat) -> np.ndarray:
    """Where real activations lie more than one LSB outside ``out``'s range."""
    lsb = 2.0**-out.frac
    return (real > out.to_real(out.qmax) + lsb) | (real < out.to_real(out.qmin) - lsb)


def _unclipped(act: str, lut: FixedFormat, out: FixedFormat) -> tuple[int, int]:
    codes = np.arange(lut.qmin, lut.qmax + 1, dtype=np.float64)
    ok = np.flatnonzero(~clipped(act_float(act, lut.to_real(codes)), out))
    if ok.size == 0:  # every entry clipped: an empty interval
        return 1, 0
    return int(ok[0]), int(ok[-1])


def _deriv_of(act: str, s: np.ndarray) -> np.ndarray:
    if act == "tanh":
        return 1.0 / np.cosh(s) ** 2
    if act == "logistic":
        p = act_float("logistic", s)
        return p * (1 - p)
    return np.ones_like(s)


def glorot_uniform(rng: np.random.Generator, n_out: int, n_in: int) -> np.ndarray:
    """Glorot (Xavier) uniform init ``U(-a, a)``, ``a = sqrt(6/(n_in+n_out))``."""
    a = math.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-a, a, size=(n_out, n_in))


def init_weights(seed: int, sizes: list[int]) -> list[np.ndarray]:
    """Initial forward weights ``W^h`` (float64, shape ``(N_h, N_{h-1})``)."""
    rng = streams.generator(seed, "init_weights")
    return [glorot_uniform(rng, sizes[i + 1], sizes[i]) for i in range(len(sizes) - 1)]
