"""``ternary``: entries {-1, 0, +1} times :func:`binary_scale`, two bits each.

Non-zero with probability ``p = n / fan_in`` (``n = feedback_n``, as for
``sparse``), its sign +-1 equiprobable. Drawn from two ``rng.random(shape)``
calls, the first for where the non-zeros are, the second for their signs.
A tile stores ``rows * N_src * 2`` bits for its rows; a projection reads two
bits per row and non-zero error component and is priced as a dense MAC (see
:meth:`FeedbackFormat.project`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neurosim.channel.formats.base import FeedbackFormat, binary_scale, check_n, check_n_fits


class Ternary(FeedbackFormat):
    """Sparse random signs, two bits per entry."""

    name = "ternary"
    params = {"feedback_n": "an integer n (p = n/fan-in) for ternary"}

    def check_params(self, n: int | None, rank: int | None, shapes: Sequence) -> None:
        """``feedback_n`` at most each ``C^h``'s fan-in."""
        check_n_fits(n, shapes)

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


FORMAT = Ternary()
