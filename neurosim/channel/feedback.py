"""Constructions of the learning-channel matrices ``C^h`` (float values).

The formats (``feedback`` config field) live in the registry
:mod:`neurosim.channel.formats`, one module each: ``dense`` (Glorot-scaled
uniform or normal entries, optional mean ``feedback_mean``), ``sparse``
(Bernoulli {0, 1}, ``p = n / fan_in``, the paper's sparse SRBP), ``binary``
(random signs {-1, +1}), ``ternary`` ({-1, 0, +1}, non-zero with ``p = n /
fan_in``) and ``lowrank`` (a dense draw's rank-``r`` truncated SVD).

Here ``fan_in`` of ``C^h`` (shape ``(N_h, N_src)``) is ``N_src``: the number of
error components each hidden neuron receives. Binary, ternary and sparse
entries are scaled by a power of two close to the Glorot bound so that, on
the chip, the scale is a shift and each entry is still stored in one (two)
bit(s).
"""

from __future__ import annotations

import numpy as np

from neurosim.channel.formats import FEEDBACK_FORMATS, FORMATS
from neurosim.channel.formats.base import (
    FEEDBACK_DISTS,
    binary_scale,
    dense_matrix,
    glorot_bound,
)
from neurosim.errors import ConfigError

__all__ = [
    "FEEDBACK_DISTS",
    "FEEDBACK_FORMATS",
    "binary_scale",
    "dense_matrix",
    "glorot_bound",
    "make_feedback",
]


def make_feedback(
    rng: np.random.Generator,
    shape: tuple[int, int],
    fmt: str = "dense",
    dist: str = "uniform",
    mean: float = 0.0,
    n: int | None = None,
    rank: int | None = None,
) -> np.ndarray:
    """Build one learning-channel matrix ``C^h``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness (seeded by the caller).
    shape : (int, int)
        ``(N_h, N_src)``.
    fmt : str
        One of :data:`FEEDBACK_FORMATS`.
    dist, mean : str, float
        Distribution and mean of dense (and low-rank) entries.
    n : int, optional
        Expected non-zeros per row for ``sparse`` and ``ternary``
        (``0 <= n <= N_src``).
    rank : int, optional
        Rank for ``lowrank`` (``0 <= rank <= min(shape)``).

    Returns
    -------
    ndarray of float64, shape ``shape``
    """
    if fmt not in FEEDBACK_FORMATS:
        raise ConfigError("feedback", fmt, f"one of {', '.join(FEEDBACK_FORMATS)}")
    return FORMATS[fmt].draw(rng, shape, dist, mean, n, rank)
