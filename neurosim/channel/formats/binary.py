"""``binary``: random signs {-1, +1} times :func:`binary_scale`, one bit each.

Drawn as ``rng.random(shape) < 0.5`` -> -1, else +1. A tile stores
``rows * N_src`` bits for its rows. A projection needs no multiplier: per
row and working error component it reads the sign bit and adds or
subtracts the error word (an ``add`` of the error word's width); the sum of
a row is then scaled by the power of two, one shift per output component
(priced as a ``shift_add`` of the error word). On the MAC array the adds
take the lanes the MACs would: a row costs ``N_src`` operations per sample,
as dense (binary feedback saves energy, not cycles).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from neurosim.channel.formats.base import FeedbackFormat, Projection, binary_scale, sign_adds


class Binary(FeedbackFormat):
    """Random signs, one bit per entry."""

    name = "binary"

    def draw(
        self,
        rng: np.random.Generator,
        shape: tuple[int, int],
        dist: str = "uniform",
        mean: float = 0.0,
        n: int | None = None,
        rank: int | None = None,
    ) -> np.ndarray:
        """Equiprobable signs from one ``rng.random(shape)``, scaled."""
        signs = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
        return signs * binary_scale(shape)

    def entry_bits(self, feedback_bits: int) -> int:
        """One bit: the sign."""
        return 1

    def project(
        self, c: Counter, p: Projection, feedback_bits: int, error_bits: int, log: bool
    ) -> None:
        """Per entry used one add of the ``error_bits`` word and one bit read;
        per output component one scale shift (:func:`sign_adds`)."""
        sign_adds(c, p.entries, p.entries, p, error_bits)


FORMAT = Binary()
