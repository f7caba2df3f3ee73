"""Slow integer reference of the error unit (:mod:`neurosim.nn.fixed.error`).

One message (one sample's error vector of one layer) at a time in Python
integers: ``f'`` times the projection, round half to even onto the error
word, saturate, then the log coder component by component (fixed alpha) or
with one shared exponent per message (``error_scale = "block"``), nearest or
stochastic with the words of the ``"error_rounding"`` stream. Shares only
tables with the fast path: formats, stream keys and the counter layout
(:func:`neurosim.nn.draws.error_counter`).
"""

from __future__ import annotations

from collections import Counter

from neurosim.config import TrainConfig
from neurosim.nn.draws import error_counter
from neurosim.nn.network import Formats
from neurosim.numerics import streams
from neurosim.numerics.fixedpoint import (
    ref_block_log_quantize,
    ref_block_log_quantize_stochastic,
    ref_log_quantize,
    ref_random_word,
    ref_saturate,
    ref_shift_nearest,
    ref_stochastic_log_quantize,
)


class RefErrorUnit:
    """The error unit on lists of integer codes.

    Parameters
    ----------
    cfg : TrainConfig
    fm : Formats
        The dense part's formats.
    counts : Counter
        Receives ``sat:R^h``, ``sat:d^h`` (and conv ``sat:RK^b``, ``sat:dK^b``)
        and ``rng_bits:error``.
    tiles : list of int
        The tile of each message source (dense layer ``i``: tile ``i``; conv
        block ``b``: ``streams.CONV_TILE + b``), whose ``"error_rounding"``
        stream rounds its messages.
    """

    def __init__(self, cfg: TrainConfig, fm: Formats, counts: Counter, tiles: list[int]) -> None:
        self.cfg, self.fm, self.counts = cfg, fm, counts
        self.keys = [streams.counter_key(cfg.seed, "error_rounding", t) for t in tiles]
        self.top = cfg.error_alpha_log2 + fm.error.frac
        # each dense layer's code width; conv sources take the one width
        self.bits = cfg.per_layer("error_bits")
        self.emaxs = [0 if b <= 1 else min((1 << (b - 1)) - 2, self.top) for b in self.bits]

    def sat(self, v: int, name: str) -> int:
        """``v`` saturated to the error word (counted as ``name``)."""
        v, n = ref_saturate(v, self.fm.error)
        self.counts[name] += n
        return v

    def value(
        self, v: int, d: int | None, frac: int, name: str, dfrac: int | None = None
    ) -> int:
        """The unit before the log stage: times ``f'`` code ``d`` (or none),
        round from ``frac`` fraction bits onto the error word, saturate.
        ``dfrac``: the fraction bits of ``d``'s format (default: the one f'
        format)."""
        fm = self.fm
        if d is None:
            v = ref_shift_nearest(v, frac - fm.error.frac)
        else:
            dfrac = fm.deriv.frac if dfrac is None else dfrac
            v = ref_shift_nearest(v * d, frac + dfrac - fm.error.frac)
        return self.sat(v, name)

    def output(self, out: list[int], t, name: str) -> list[int]:
        """``T - O^L`` of one sample onto the error word (before the log stage)."""
        fm = self.fm
        return [
            self.sat(ref_shift_nearest(int(t[j]) * (1 << fm.out.frac) - o,
                                       fm.out.frac - fm.error.frac), name)
            for j, o in enumerate(out)
        ]  # fmt: skip

    def code(self, row: list[int], source: int, kind: int, sample: int, step: int) -> list[int]:
        """Log-code one message of message source ``source`` (layer ``i`` or
        conv ``L + b``) at that layer's code width (``error_bits[i]``),
        message ``kind`` (0 ``R``, 1 a word sent down the chain), sample
        ``sample`` of minibatch ``step``."""
        c = self.cfg
        if not c.error_bits:
            return list(row)
        k = min(source, len(self.bits) - 1)  # the message's layer: its code width
        bits, emax = self.bits[k], self.emaxs[k]
        if c.error_rounding == "stochastic":
            n = len(row)
            c0 = error_counter(step, kind, c.batch, n) + sample * n
            words = [ref_random_word(self.keys[source], c0 + j) for j in range(n)]
            if c.error_scale == "block":
                out, _, drawn = ref_block_log_quantize_stochastic(
                    row, bits, self.fm.error.bits, words
                )
            else:
                out, drawn = [], 0
                for v, w in zip(row, words, strict=True):
                    q, n = ref_stochastic_log_quantize(v, bits, self.top, self.top - emax, w)
                    out.append(q)
                    drawn += n
            self.counts["rng_bits:error"] += drawn
            return out
        if c.error_scale == "block":
            # kind 1, the chain's words: rms-scaled at 1 bit (error_sign_scale)
            rms = kind == 1 and c.error_sign_scale == "rms"
            return ref_block_log_quantize(row, bits, self.fm.error.bits, rms)[0]
        return [ref_log_quantize(v, bits, self.top, emax) for v in row]
