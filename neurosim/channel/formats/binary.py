"""``binary``: random signs {-1, +1} times :func:`binary_scale`, one bit each.

Drawn as ``rng.random(shape) < 0.5`` -> -1, else +1. A tile stores
``rows * N_src`` bits for its rows; a projection reads one bit per row and
non-zero error component and is priced as a dense MAC (see
:meth:`FeedbackFormat.project`).
"""

from __future__ import annotations

import numpy as np

from neurosim.channel.formats.base import FeedbackFormat, binary_scale


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


FORMAT = Binary()
