"""What a run draws from its named random streams: the tables both the fast
engines and the golden references read.

Initial parameters, the learning-channel matrices ``C^h`` (and their
``feedback_resample`` draws), the channel-dropout masks and the counter
layout of the error unit's rounding words. Streams are named in the registry
:mod:`neurosim.numerics.streams`; no module uses a literal stream id.

Counter layouts of the per-tile counter streams:

- ``"weight_update"`` / ``"feedback_update"``: entry ``j`` of ``W^{i+1}``
  (``C^{i+1}``) in minibatch ``step`` takes counter ``step * P.size + j``.
- ``"bias_update"``: entry ``j`` of ``b^{i+1}`` in minibatch ``step``,
  counter ``step * N_{i+1} + j`` (the weights' streams are not touched).
- ``"momentum"``: the parameter array ``P`` (kind ``k``: 0 ``W^{i+1}``,
  1 ``b^{i+1}``, 2 ``C^{i+1}``) of layer ``i``, entry ``j`` in minibatch
  ``step``, takes counter ``2 * step * P.size + j`` for the decay ``mu u``
  and ``(2 * step + 1) * P.size + j`` for the step ``u / 2**extra`` onto the
  parameter's LSB; the gradient's own rounding keeps the parameter's usual
  stream, so momentum 0 draws the words it always drew.
- ``"error_rounding"``: component ``j`` of sample ``b`` of message kind
  ``s`` (0: the layer's error ``R^{i+1}``, ``R^L`` for the output layer; 1:
  the SBP chain signal carried down to layer ``i``) in minibatch ``step``
  takes counter ``((2 * step + s) * batch + b) * N_{i+1} + j``
  (:func:`error_counter`), ``batch`` the configured minibatch size, so every
  (step, message, sample, component) has its word.
- The float engine's error rounding draws uniform reals from the generator
  stream ``"float_error_rounding"`` (per step), not the fixed engine's bits.
"""

from __future__ import annotations

import math

import numpy as np

from neurosim.channel.feedback import make_feedback
from neurosim.config import TrainConfig
from neurosim.errors import ConfigError
from neurosim.nn.network import glorot_uniform
from neurosim.nn.rules import Rule, feedback_shapes
from neurosim.numerics import streams


def error_counter(step: int, kind: int, batch: int, n: int) -> int:
    """First counter of a message batch (sample 0, component 0); see
    the "error_rounding" layout above."""
    return (2 * step + kind) * batch * n


def he_uniform(rng: np.random.Generator, n_out: int, n_in: int) -> np.ndarray:
    """He uniform init ``U(-a, a)``, ``a = sqrt(6 / n_in)``: variance ``2 / n_in``."""
    a = math.sqrt(6.0 / n_in)
    return rng.uniform(-a, a, size=(n_out, n_in))


def init_weights(cfg: TrainConfig, sizes: list[int]) -> list[np.ndarray]:
    """Initial forward weights ``W^h`` (float64, shape ``(N_h, N_{h-1})``).

    Drawn in layer order from the ``"init_weights"`` stream, one uniform draw
    of ``N_h * N_{h-1}`` values per layer, so ``init = "glorot"`` gives the
    weights every earlier run had. ``init = "he"`` scales the hidden layers
    ``W^1 .. W^{L-1}`` by ``sqrt(6 / N_{h-1})`` instead (the same uniform
    numbers, another bound); ``init = "glorot-logistic"`` multiplies their
    Glorot bound by 4 (Glorot and Bengio, AISTATS 2010, for the logistic
    sigmoid). The output layer stays Glorot.
    """
    rng = streams.generator(cfg.seed, "init_weights")
    L = len(sizes) - 1
    out = []
    for i in range(L):
        hidden = i < L - 1
        draw = he_uniform if cfg.init == "he" and hidden else glorot_uniform
        w = draw(rng, sizes[i + 1], sizes[i])
        if cfg.init == "glorot-logistic" and hidden:
            w *= 4.0  # exact in float64: a power of two
        out.append(w)
    return out


def build_feedback(
    cfg: TrainConfig, rule: Rule, sizes: list[int], draw: int = 0
) -> list[np.ndarray]:
    """Float learning-channel matrices ``C^h`` for every hidden layer.

    ``draw`` 0 is the run's fixed C^h; ``feedback_resample`` uses draw
    ``k + 1`` for minibatch ``k`` (an independent stream per draw).
    """
    rng = streams.generator(cfg.seed, "feedback", *((draw,) if draw else ()))
    out = []
    for i, shape in enumerate(feedback_shapes(rule, sizes)):
        try:
            out.append(
                make_feedback(
                    rng,
                    shape,
                    cfg.feedback,
                    cfg.feedback_dist,
                    cfg.feedback_mean,
                    cfg.feedback_n,
                    cfg.rank,
                )
            )
        except ConfigError as e:
            raise ConfigError(e.field, e.value, f"{e.allowed} (C^{i + 1})") from None
    return out


def build_synapse_feedback(cfg: TrainConfig, sizes: list[int]) -> list[np.ndarray]:
    """Per-synapse feedback tensors (no weight cooperation), float64.

    ``C^h`` of shape ``(N_h, N_{h-1}, N_L)``: synapse ``W^h_ij`` hears the
    output error through its own row ``C^h_ij``, drawn like a dense C^h row
    (Glorot-scaled for an ``(N_h, N_L)`` matrix).
    """
    rng = streams.generator(cfg.seed, "synapse_feedback")
    L = len(sizes) - 1
    out = []
    for i in range(L - 1):
        n_h, n_prev, n_top = sizes[i + 1], sizes[i], sizes[L]
        m = make_feedback(rng, (n_h * n_prev, n_top), "dense", cfg.feedback_dist, 0.0)
        # the Glorot scale of an (N_h, N_L) matrix, not of the stacked one
        m *= math.sqrt((n_h * n_prev + n_top) / (n_h + n_top))
        out.append((m + cfg.feedback_mean).reshape(n_h, n_prev, n_top))
    return out


DROPOUT_LEVELS = 256
"""Resolution of ``channel_dropout``: one 8-bit random word per component."""


RESCALE_FRAC = 10
"""Fraction bits of the inverted-dropout register ``G`` (``channel_dropout_rescale``)."""

RESCALE_BITS = 19
"""Width of ``G`` (unsigned UQ9.10): up to ``256 / 1 = 2**8`` at ``k = 255``."""


def dropout_threshold(p: float) -> int:
    """The threshold ``k = min(255, round(256 p))``: a component is dropped
    when its 8-bit word is below ``k`` (drop probability ``k / 256``)."""
    return min(DROPOUT_LEVELS - 1, round(p * DROPOUT_LEVELS))


def rescale_register(p: float) -> int:
    """The inverted-dropout register ``G = 256 * 2**10 / (256 - k)`` rounded
    half to even onto an integer (UQ9.10, 19 bits unsigned), ``k`` the
    resolved threshold of ``p``: ``G / 2**10`` approximates ``1 / (1 - k/256)``
    (exact when ``256 - k`` is a power of two: 1024 at k = 0, 2048 at k = 128;
    1365 at k = 64, i.e. 1.33301 for 4/3)."""
    num, den = DROPOUT_LEVELS << RESCALE_FRAC, DROPOUT_LEVELS - dropout_threshold(p)
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q & 1):
        q += 1
    return q


def rescale_float(p: float) -> float:
    """Float mode's inverted-dropout factor ``256 / (256 - k)`` = ``1 / (1 - p')``."""
    return DROPOUT_LEVELS / (DROPOUT_LEVELS - dropout_threshold(p))


def channel_keep(cfg: TrainConfig, step: int, layer: int, shape: tuple[int, int]) -> np.ndarray:
    """Keep mask of the learning channel's dropout for one hidden layer.

    Parameters
    ----------
    cfg : TrainConfig
        Its ``channel_dropout`` p (resolved to ``round(p * 256) / 256``) and seed.
    step : int
        Minibatch index of the run (0-based).
    layer : int
        0-based layer index ``i`` (the paper's ``h = i + 1``).
    shape : (int, int)
        ``(B, N_h)``.

    Returns
    -------
    ndarray of bool, shape ``shape``
        True where ``R^h`` is kept: an 8-bit word ``u`` is drawn per
        component and ``u >= round(256 p)`` keeps it.
    """
    thr = dropout_threshold(cfg.channel_dropout)
    rng = streams.generator(cfg.seed, "channel_dropout", step, layer)
    return rng.integers(0, DROPOUT_LEVELS, size=shape, dtype=np.int16) >= thr


def init_biases(cfg: TrainConfig, sizes: list[int], dtype) -> list[np.ndarray] | None:
    """Initial biases ``b^1..b^L`` (zeros of ``dtype``), or None without ``bias``."""
    if not cfg.bias:
        return None
    return [np.zeros(n, dtype) for n in sizes[1:]]


