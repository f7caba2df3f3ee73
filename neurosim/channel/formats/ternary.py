"""``ternary``: entries {-1, 0, +1} times :func:`binary_scale`, two bits each.

Non-zero with probability ``p = n / fan_in`` (``n = feedback_n``, as for
``sparse``), its sign +-1 equiprobable. Drawn from two ``rng.random(shape)``
calls, the first for where the non-zeros are, the second for their signs.
A tile stores ``rows * N_src * 2`` bits for its rows. A projection reads the
two bits of every entry it meets (per row and working error component) and
adds or subtracts the error word only where the entry is non-zero: the
adds are the non-zero entries met, ``nnz(C^h rows) * nnz_src / N_src``
(the actual non-zero count when the accountant has it, else the expected
``n`` per row; rounded to a whole add), each an ``add`` of the error word's
width; then one scale shift per output component (a ``shift_add`` of the
error word). The adds are the projection's operations on the MAC array
(zero entries are skipped as they are read): ``n`` per row and sample.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from neurosim.channel.formats.base import (
    FeedbackFormat,
    Projection,
    binary_scale,
    check_n,
    round_div,
    sign_adds,
)


class Ternary(FeedbackFormat):
    """Sparse random signs, two bits per entry."""

    name = "ternary"
    params = {"feedback_n": "an integer n (p = n/fan-in) for ternary"}

    def draw(
        self,
        rng: np.random.Generator,
        shape: tuple[int, int],
        dist: str = "uniform",
        mean: float = 0.0,
        n: int | None = None,
        rank: int | None = None,
    ) -> np.ndarray:
        """``{-s, 0, +s}``: non-zero where ``rng.random < n / fan_in``, then signs."""
        n = check_n(n, shape[1])
        nonzero = rng.random(shape) < n / shape[1]
        signs = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
        return np.where(nonzero, signs, 0.0) * binary_scale(shape)

    def entry_bits(self, feedback_bits: int) -> int:
        """Two bits: zero, +1 or -1."""
        return 2

    def projection_ops(self, p: Projection) -> int:
        """The adds: non-zero entries met, ``stored_nonzeros * nnz_src / n_src``
        (rounded) per copy."""
        return round_div(p.stored_nonzeros * p.nnz_src, p.n_src) * p.copies

    def project(
        self, c: Counter, p: Projection, feedback_bits: int, error_bits: int, log: bool
    ) -> None:
        """Two bits read per entry used, one add per non-zero entry met, one
        scale shift per output component (:func:`sign_adds`)."""
        sign_adds(c, self.projection_ops(p), 2 * p.entries, p, error_bits)

    def projection_work(self, n_src: int, n: int | None, rank: int | None) -> tuple[int, int]:
        """``(n, 0)``: an add per expected non-zero of a row."""
        return check_n(n, n_src), 0


FORMAT = Ternary()
