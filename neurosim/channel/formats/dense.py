"""``dense``: Glorot-scaled random entries stored at ``feedback_bits`` each.

Drawn ``U(-a, a)``, ``a = sqrt(6 / (fan_in + fan_out))``, or normal with std
``sqrt(2 / (fan_in + fan_out))``, plus an optional non-zero mean
``feedback_mean``. A tile stores ``rows * N_src * feedback_bits`` bits for its
rows; a projection is one MAC (``feedback_bits`` x error word) and one
``feedback_bits`` read per row and working error component.
"""

from __future__ import annotations

import numpy as np

from neurosim.channel.formats.base import FeedbackFormat, dense_matrix


class Dense(FeedbackFormat):
    """Dense signed ``feedback_bits`` entries."""

    name = "dense"

    def draw(
        self,
        rng: np.random.Generator,
        shape: tuple[int, int],
        dist: str = "uniform",
        mean: float = 0.0,
        n: int | None = None,
        rank: int | None = None,
    ) -> np.ndarray:
        """One ``dense_matrix`` draw (``rng.uniform`` or ``rng.normal`` of ``shape``)."""
        return dense_matrix(rng, shape, dist, mean)


FORMAT = Dense()
