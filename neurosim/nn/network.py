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
        Input O^0: unsigned, the first ``act_bits`` entry wide, all fraction
        bits (data in [0, 1)); for signed data (``higgs``) signed, as wide,
        with ``input_int_bits`` integer bits.
    acts : tuple of FixedFormat
        ``acts[h - 1]`` for ``h = 1 .. L``: the signed format
        ``Q(act_bits[h-1], act_int_bits[h-1])`` of hidden activations O^h
        (``h < L``) and of a linear output O^L (``h = L``). ``act_bits``,
        ``act_int_bits``: one value each, or one per dense layer; :attr:`act`
        is their one format when all agree.
    out : FixedFormat
        Output O^L: unsigned ``UQ(b, b-1)`` with ``b`` the last ``act_bits``
        entry for softmax and sigmoid (holds 1.0), ``acts[-1]`` for a linear
        output.
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
    derivs : tuple of FixedFormat
        f'(S^h) of hidden layer h, ``derivs[h - 1]``: unsigned ``UQ(b, b-1)``
        with ``b = act_bits[h-1]``, range [0, 2) (the output layer's entry
        has no f'). :attr:`deriv` is their one format when all agree.
    exp : FixedFormat
        Softmax exponentials ``exp(-(max S - S))``: ``UQ(17, 16)``.
    """

    inp: FixedFormat
    acts: tuple[FixedFormat, ...]
    out: FixedFormat
    weights: tuple[FixedFormat, ...]
    feedbacks: tuple[FixedFormat, ...]
    error: FixedFormat
    lut: FixedFormat
    derivs: tuple[FixedFormat, ...]
    exp: FixedFormat

    @classmethod
    def from_config(cls, c: TrainConfig) -> Formats:
        """Derive every format from the config's widths."""

        def q(bits: int, ints: int) -> FixedFormat:
            return FixedFormat(bits, bits - 1 - ints)

        def prob(bits: int) -> FixedFormat:
            return FixedFormat(bits, bits - 1, signed=False)

        widths = c.per_layer("act_bits")
        acts = tuple(
            q(b, i) for b, i in zip(widths, c.per_layer("act_int_bits"), strict=True)
        )
        b0 = widths[0]  # the input is as wide as the first layer's activations
        signed_input = c.data in SIGNED_INPUT
        return cls(
            inp=(
                q(b0, c.input_int_bits)
                if signed_input
                else FixedFormat(b0, b0, signed=False)
            ),
            acts=acts,
            out=acts[-1] if c.output == "linear" else prob(widths[-1]),
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
            derivs=tuple(prob(b) for b in widths),
            exp=FixedFormat(17, 16, signed=False),
        )

    @property
    def act(self) -> FixedFormat:
        """The activation format of every layer (conv blocks use it too).

        Raises
        ------
        ValueError
            When the layers' activation formats differ: read :attr:`acts`.
        """
        if len(set(self.acts)) != 1:
            raise ValueError(f"per-layer activation formats {self.acts}: read Formats.acts")
        return self.acts[0]

    @property
    def deriv(self) -> FixedFormat:
        """The f' format of every hidden layer (conv blocks use it too).

        Raises
        ------
        ValueError
            When the layers' widths differ: read :attr:`derivs`.
        """
        if len(set(self.derivs)) != 1:
            raise ValueError(f"per-layer f' formats {self.derivs}: read Formats.derivs")
        return self.derivs[0]

    @property
    def lut_entry_bits(self) -> int:
        """Entry width of every tile's activation LUT (tiles are one design):
        the widest activation of any layer (its f' and a softmax or sigmoid
        output are as wide)."""
        return max(a.bits for a in self.acts)

    def src(self, layer: int) -> FixedFormat:
        """Format of what dense layer ``layer`` (0-based) reads: the input
        ``O^0`` for ``layer = 0``, else hidden ``O^layer`` (``acts[layer - 1]``)."""
        return self.inp if layer == 0 else self.acts[layer - 1]

    @property
    def hidden_acts(self) -> tuple[FixedFormat, ...]:
        """Formats of the hidden activations O^1 .. O^{L-1} (empty without hidden layers)."""
        return self.acts[:-1]

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
        return FixedFormat(acc_bits, self.weights[layer].frac + self.src(layer).frac)


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
    def build(cls, act: str, output: str, fm: Formats, layer: int = 1) -> Luts:
        """Tabulate f and f' of hidden layer ``layer`` (1-based: its
        activation and f' formats, ``fm.acts[layer - 1]`` and
        ``fm.derivs[layer - 1]``), the output function and exp."""
        a_fmt, d_fmt = fm.acts[layer - 1], fm.derivs[layer - 1]
        f = _table(lambda s: act_float(act, s), fm.lut, a_fmt)
        if act == "relu":
            df = _table(lambda s: (s > 0).astype(np.float64), fm.lut, d_fmt)
        else:
            df = _table(lambda s: _deriv_of(act, s), fm.lut, d_fmt)
        out = (
            _table(lambda s: act_float("logistic", s), fm.lut, fm.out)
            if output == "sigmoid"
            else None
        )
        d = np.arange(0, 1 << fm.lut.bits, dtype=np.float64)
        e, _ = fm.exp.quantize(np.exp(-fm.lut.to_real(d)))
        return cls(f=f, df=df, out=out, exp=e.astype(np.int64),
                   unclipped=_unclipped(act, fm.lut, a_fmt))  # fmt: skip

    @classmethod
    def per_layer(cls, act: str, output: str, fm: Formats) -> tuple[Luts, ...]:
        """One set of tables per hidden layer ``h = 1 .. L-1`` (``[h - 1]``;
        one entry, layer 1's, without hidden layers); layers whose activation
        and f' formats agree share one object."""
        built: dict = {}
        out = []
        for h in range(1, max(len(fm.acts) - 1, 1) + 1):
            key = (fm.acts[h - 1], fm.derivs[h - 1])
            if key not in built:
                built[key] = cls.build(act, output, fm, h)
            out.append(built[key])
        return tuple(out)


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
