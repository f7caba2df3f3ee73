"""Constructions of the learning-channel matrices ``C^h`` (float values).

Formats (``feedback`` config field):

``dense``
    Glorot-scaled uniform ``U(-a, a)``, ``a = sqrt(6 / (fan_in + fan_out))``,
    or normal with std ``sqrt(2 / (fan_in + fan_out))``; plus an optional
    non-zero mean ``feedback_mean``.
``sparse``
    Bernoulli {0, 1} entries, 1 with probability ``p = n / fan_in`` (the
    paper's sparse SRBP), ``n = feedback_n``.
``binary``
    Random signs {-1, +1}.
``lowrank``
    A dense matrix replaced by its rank-``r`` truncated SVD (``r = rank``).

Here ``fan_in`` of ``C^h`` (shape ``(N_h, N_src)``) is ``N_src``: the number of
error components each hidden neuron receives. Binary and sparse entries are
scaled by a power of two close to the Glorot bound so that, on the chip, the
scale is a shift and each entry is still stored in one bit.
"""

from __future__ import annotations

import math

import numpy as np

from neurosim.errors import ConfigError

FEEDBACK_FORMATS = ("dense", "sparse", "binary", "lowrank")
FEEDBACK_DISTS = ("uniform", "normal")


def glorot_bound(fan_in: int, fan_out: int) -> float:
    """Glorot uniform bound ``sqrt(6 / (fan_in + fan_out))``."""
    return math.sqrt(6.0 / (fan_in + fan_out))


def binary_scale(shape: tuple[int, int]) -> float:
    """Power-of-two scale applied to {0,1} and {-1,+1} entries."""
    return 2.0 ** round(math.log2(glorot_bound(shape[1], shape[0])))


def dense_matrix(
    rng: np.random.Generator, shape: tuple[int, int], dist: str, mean: float
) -> np.ndarray:
    """A dense Glorot-scaled random matrix (float64, ``shape``)."""
    n_out, n_in = shape
    if dist == "uniform":
        a = glorot_bound(n_in, n_out)
        m = rng.uniform(-a, a, size=shape)
    elif dist == "normal":
        m = rng.normal(0.0, math.sqrt(2.0 / (n_in + n_out)), size=shape)
    else:
        raise ConfigError("feedback_dist", dist, f"one of {', '.join(FEEDBACK_DISTS)}")
    return m + mean


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
        Expected number of ones per row for ``sparse`` (``0 <= n <= N_src``).
    rank : int, optional
        Rank for ``lowrank`` (``0 <= rank <= min(shape)``).

    Returns
    -------
    ndarray of float64, shape ``shape``
    """
    if fmt == "dense":
        return dense_matrix(rng, shape, dist, mean)
    if fmt == "sparse":
        if n is None or not 0 <= n <= shape[1]:
            raise ConfigError("feedback_n", n, f"an integer from 0 to the fan-in {shape[1]}")
        ones = rng.random(shape) < n / shape[1]
        return ones * binary_scale(shape)
    if fmt == "binary":
        signs = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
        return signs * binary_scale(shape)
    if fmt == "lowrank":
        r_max = min(shape)
        if rank is None or not 0 <= rank <= r_max:
            raise ConfigError("rank", rank, f"an integer from 0 to {r_max} for C of shape {shape}")
        m = dense_matrix(rng, shape, dist, mean)
        u, s, vt = np.linalg.svd(m, full_matrices=False)
        return (u[:, :rank] * s[:rank]) @ vt[:rank]
    raise ConfigError("feedback", fmt, f"one of {', '.join(FEEDBACK_FORMATS)}")
