"""Slow integer reference of the update unit (:mod:`neurosim.nn.fixed.update`).

Entry by entry in Python integers: ``d = round(g * mult / 2**shift)``
(stochastic: the top ``shift`` bits of the entry's word; a zero draws
nothing), the optional log quantizer over the array (``update_bits``; 1 bit
is the sign times the array's top power of two; with ``update_code_rounding
= "stochastic"`` each code rounds stochastically with the word of its entry
in the ``"update_code"`` stream, counted as ``rng_bits:update_code``),
momentum's velocity word, then the saturating write. Shares only tables
with the fast path: the stream keys (:mod:`neurosim.numerics.streams`) and the formats.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from neurosim.config import TrainConfig
from neurosim.numerics import streams
from neurosim.numerics.fixedpoint import (
    FixedFormat,
    ref_log_quantize,
    ref_random_word,
    ref_saturate,
    ref_shift_nearest,
    ref_stochastic_log_quantize,
)

VELOCITY_KINDS = {"W": 0, "b": 1, "C": 2}
"""Momentum stream kind of a dense parameter (by the first letter of its name)."""


class RefUpdateUnit:
    """The update unit on nested lists of codes.

    Parameters
    ----------
    cfg : TrainConfig
    counts : Counter
        Receives ``sat:<name>``, ``changed:<name>``, ``rng_bits``,
        ``sat:v<name>`` and ``rng_bits:velocity``.

    Attributes
    ----------
    V : dict
        Momentum: velocity codes per parameter name (``"W^1"``, ``"b^1"``,
        ``"C^1"``, ``"K^1"``, ``"bK^1"``).
    velocity : dict
        ``name -> (width, key, saturation counter)`` of parameters that are
        not dense (``"K^b"``, ``"bK^b"``); see :meth:`velocity_spec`.
    """

    def __init__(self, cfg: TrainConfig, counts: Counter) -> None:
        self.cfg, self.counts = cfg, counts
        self.V: dict = {}
        self.velocity: dict = {}

    def velocity_spec(self, name: str) -> tuple[int, int, str]:
        """Velocity word width, momentum stream key and saturation counter of
        parameter ``name``."""
        if name in self.velocity:
            return self.velocity[name]
        cfg = self.cfg
        kind, h = name[0], int(name[2:])
        extra = cfg.velocity_bits - cfg.per_layer("weight_bits")[0]
        width = cfg.velocity_bits if kind != "C" else cfg.per_layer("feedback_bits")[h - 1] + extra
        key = streams.counter_key(cfg.seed, "momentum", h - 1, VELOCITY_KINDS[kind])
        return width, key, f"sat:v{kind}^{h}"

    def _sat(self, v: int, fmt: FixedFormat, name: str) -> int:
        v, n = ref_saturate(v, fmt)
        self.counts[name] += n
        return v

    def steps(self, g: np.ndarray, mult: int, shift: int, key: int, counter0: int) -> dict:
        """``round(g * mult / 2**shift)`` per entry ``(r, c)`` (stochastic:
        the word of ``counter0 + r * cols + c``)."""
        stoch = self.cfg.rounding == "stochastic" and shift > 0
        rows, cols = g.shape
        d = {}
        for r in range(rows):
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
        return d

    @staticmethod
    def quantize(d: dict, k: int) -> dict:
        """The ``k``-bit log quantizer over the array (1 bit: sign times the
        smallest power of two ``>= max |d|``); ``k = 0`` keeps ``d``."""
        mx = max(abs(v) for v in d.values())
        if not k or not mx:
            return d
        top = (mx - 1).bit_length()  # smallest t with 2**t >= mx
        if k == 1:
            sign = {rc: (v > 0) - (v < 0) for rc, v in d.items()}
            return {rc: s << top if s >= 0 else -(1 << top) for rc, s in sign.items()}
        emax = min((1 << (k - 1)) - 2, top)
        return {rc: ref_log_quantize(v, k, top, emax) for rc, v in d.items()}

    def quantize_stochastic(self, d: dict, k: int, key: int, counter0: int, cols: int) -> dict:
        """The ``k``-bit (``k >= 2``) log code over the array, each entry
        ``(r, c)`` rounded stochastically between its neighbouring levels with
        the ``"update_code"`` word of counter ``counter0 + r * cols + c``
        (:func:`ref_stochastic_log_quantize`; levels ``2**(top - emax) ..
        2**top`` as :meth:`quantize`)."""
        mx = max(abs(v) for v in d.values())
        if not mx:
            return d
        top = (mx - 1).bit_length()
        lo = top - min((1 << (k - 1)) - 2, top)
        out = {}
        for (r, c), v in d.items():
            word = ref_random_word(key, counter0 + r * cols + c)
            out[r, c], n = ref_stochastic_log_quantize(v, k, top, lo, word)
            self.counts["rng_bits:update_code"] += n
        return out

    def code_key(self, name: str, k: int) -> int | None:
        """``"update_code"`` key of parameter ``name`` (``"W^1"``, ``"b^1"``,
        ``"C^1"``) when its ``k``-bit code rounds stochastically, else None."""
        if self.cfg.update_code_rounding != "stochastic" or k < 2:
            return None
        kind, h = name[0], int(name[2:])
        return streams.counter_key(self.cfg.seed, "update_code", h - 1, VELOCITY_KINDS[kind])

    def update(
        self, w: list, g: np.ndarray, mult: int, shift: int, fmt: FixedFormat, key: int,
        name: str, k: int, step: int,
    ) -> None:  # fmt: skip
        """Apply the integer gradient ``g`` to the codes ``w`` (rows of lists)
        in minibatch ``step``, ``k``-bit quantized updates (0: none)."""
        cfg = self.cfg
        counter0 = step * len(w) * len(w[0])
        if cfg.momentum:  # the gradient lands on the velocity's LSB, `extra` bits finer
            shift -= cfg.velocity_bits - cfg.per_layer("weight_bits")[0]
        d = self.steps(g, mult, shift, key, counter0)
        code_key = self.code_key(name, k)
        if code_key is None:
            d = self.quantize(d, k)
        else:
            self.counts["rng_bits:update_code"] += 0  # the key exists even when 0
            d = self.quantize_stochastic(d, k, code_key, counter0, len(w[0]))
        if cfg.momentum:
            d = self._velocity(w, d, fmt, name, step)
        for (r, c), dv in d.items():
            if dv:
                old = w[r][c]
                new = self._sat(old + dv, fmt, f"sat:{name}")
                if new != old:
                    self.counts[f"changed:{name}"] += 1
                w[r][c] = new

    def _velocity(self, w: list, d: dict, fmt: FixedFormat, name: str, step: int) -> dict:
        """Momentum: ``u = sat_V(round(mu u / 2**lr_frac) + d)`` per entry, and
        the parameter's step ``round(u / 2**extra)`` (returned like ``d``)."""
        cfg = self.cfg
        extra = cfg.velocity_bits - cfg.per_layer("weight_bits")[0]
        width, key, sat_name = self.velocity_spec(name)
        vf = FixedFormat(width, fmt.frac + extra)
        mu = int(round(cfg.momentum * (1 << cfg.lr_frac)))
        rows, cols = len(w), len(w[0])
        n = rows * cols
        v = self.V.setdefault(name, [[0] * cols for _ in range(rows)])
        out = {}
        for r in range(rows):
            for c in range(cols):
                j = r * cols + c
                dec = self.round(mu * v[r][c], cfg.lr_frac, key, 2 * step * n + j)
                u = self._sat(dec + d[r, c], vf, sat_name)
                v[r][c] = u
                out[r, c] = self.round(u, extra, key, (2 * step + 1) * n + j)
        return out

    def round(self, v: int, k: int, key: int, counter: int) -> int:
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
