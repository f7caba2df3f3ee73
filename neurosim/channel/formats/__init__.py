"""The registry of learning-channel formats: one module per format.

Each module (:mod:`.dense`, :mod:`.sparse`, :mod:`.binary`, :mod:`.ternary`,
:mod:`.lowrank`, :mod:`.prng`) defines one :class:`FeedbackFormat`: how
``C^h`` is drawn, how many bits a tile stores for its rows, which actions a
projection through it performs and how many MACs it takes (see
:mod:`.base`). Adding a format is adding a module and a line here.
"""

from __future__ import annotations

from neurosim.channel.formats import binary, dense, lowrank, prng, sparse, ternary
from neurosim.channel.formats.base import FeedbackFormat, FeedbackStorage, Projection
from neurosim.errors import ConfigError

FORMATS: dict[str, FeedbackFormat] = {
    m.FORMAT.name: m.FORMAT for m in (dense, sparse, binary, lowrank, ternary, prng)
}
"""Every format by name (also the chip's ``feedback_storage`` values)."""

FEEDBACK_FORMATS: tuple[str, ...] = tuple(n for n, f in FORMATS.items() if f.drawn)
"""The ``feedback`` config values: the formats ``C^h`` can be drawn in."""


def get_format(name: str, field: str = "feedback") -> FeedbackFormat:
    """The format called ``name`` (:class:`ConfigError` on ``field`` if none)."""
    if not isinstance(name, str) or name not in FORMATS:
        raise ConfigError(field, name, f"one of {', '.join(FORMATS)}")
    return FORMATS[name]


__all__ = [
    "FEEDBACK_FORMATS",
    "FORMATS",
    "FeedbackFormat",
    "FeedbackStorage",
    "Projection",
    "get_format",
]
