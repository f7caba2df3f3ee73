"""The random-stream registry: every random draw of a run, by name.

Two kinds of stream feed a run:

* **Generator streams** (NumPy ``Generator``\\s seeded with
  ``[seed, id, *extra]``): initial weights, learning-channel matrices, the
  training order, channel dropout, the float engine's error rounding.
* **Counter streams** (the chip's per-tile SplitMix64 generators, keyed by
  :func:`neurosim.numerics.fixedpoint.derive_key` with the path ``(tile,
  purpose, *extra)``): stochastic rounding in the update unit and the error
  unit. A tile is a dense layer index ``i`` (0-based) or ``CONV_TILE + b`` for
  conv block ``b``.

Each name serves one purpose and each id belongs to one name, so two
purposes never draw the same bits. The ids are those the records were made
with; a new stream takes a new id.

Outside a run's training draws: the train/test split of data sets without a
fixed one permutes with ``default_rng(seed)`` itself (the seed alone, no
id: the split the stored records were made with), and the paper's theory
experiment draws its random starting points from its own seeded generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurosim.numerics.fixedpoint import derive_key


@dataclass(frozen=True)
class Stream:
    """One named random stream.

    Attributes
    ----------
    name : str
        The registry key.
    id : int
        Second element of the generator seed ``[seed, id, ...]`` (generator
        streams) or the purpose in the key path ``(tile, id, ...)`` (counter
        streams).
    kind : str
        ``"generator"`` or ``"counter"``.
    purpose : str
        What it draws.
    """

    name: str
    id: int
    kind: str
    purpose: str


_ALL = (
    Stream("init_weights", 1, "generator", "initial forward weights W^h (Glorot uniform)"),
    Stream("feedback", 2, "generator", "learning-channel matrices C^h; [seed, 2, k] for the "
           "k-th resampled draw"),  # fmt: skip
    Stream("train_order", 3, "generator", "the permutation of the training samples per epoch"),
    Stream("channel_dropout", 4, "generator", "channel dropout bytes, [seed, 4, step, layer]"),
    Stream("synapse_feedback", 5, "generator", "per-synapse feedback rows (no weight cooperation)"),
    Stream("float_error_rounding", 6, "generator", "the float engine's stochastic error rounding, "
           "[seed, 6, step]"),  # fmt: skip
    Stream("conv_weights", 8, "generator", "initial conv kernels K^b (Glorot uniform)"),
    Stream("conv_feedback", 9, "generator", "the conv blocks' learning-channel matrices C_b"),
    Stream("weight_update", 0, "counter", "stochastic rounding of W^h updates"),
    Stream("feedback_update", 1, "counter", "stochastic rounding of adaptive C^h updates"),
    Stream("error_rounding", 2, "counter", "stochastic rounding of log-coded error messages"),
    Stream("bias_update", 3, "counter", "stochastic rounding of b^h updates"),
    Stream("momentum", 7, "counter", "stochastic rounding of the velocity (kind 0 W, 1 b, 2 C)"),
    Stream("update_code", 10, "counter", "stochastic rounding of log-coded updates "
           "(update_code_rounding; kind 0 W, 1 b, 2 C)"),  # fmt: skip
    Stream("float_update_code", 11, "generator", "the float engine's stochastic rounding of "
           "log-coded updates, [seed, 11, step]"),  # fmt: skip
)
STREAMS: dict[str, Stream] = {s.name: s for s in _ALL}
"""Every stream of a run, by name."""

CONV_TILE = 1000
"""Counter-stream tile of conv block ``b`` is ``CONV_TILE + b``, away from the
dense layers' tiles ``0 .. L-1``."""


def _get(name: str, kind: str) -> Stream:
    s = STREAMS[name]
    if s.kind != kind:
        raise ValueError(f"stream {name!r} is a {s.kind} stream, not a {kind} stream")
    return s


def generator(seed: int, name: str, *extra: int) -> np.random.Generator:
    """The NumPy generator of stream ``name``: ``default_rng([seed, id, *extra])``."""
    return np.random.default_rng([seed, _get(name, "generator").id, *extra])


def counter_key(seed: int, name: str, tile: int, *extra: int) -> int:
    """The 63-bit key of counter stream ``name`` on ``tile``:
    ``derive_key(seed, tile, id, *extra)``."""
    return derive_key(seed, tile, _get(name, "counter").id, *extra)
