"""One training step on the chip: forward, error transport, update.

The engines, gathered under one name:

* :class:`FloatEngine` (:mod:`neurosim.nn.float_engine`) -- float32
  reference arithmetic;
* :class:`FixedEngine` (:mod:`neurosim.nn.fixed`) -- the chip's integer
  semantics, built from its forward, error and update units; it agrees bit
  for bit with :mod:`neurosim.golden.reference`.

Both share :class:`Engine` and the rule table's error flow
(:func:`hidden_errors`, :mod:`neurosim.nn.base`); what they draw from the
random streams is in :mod:`neurosim.nn.draws`. Engines take a
:class:`~neurosim.plan.Plan`; :func:`neurosim.nn.factory.make_engine` picks one.
"""

from __future__ import annotations

from neurosim.nn.base import Engine, hidden_errors
from neurosim.nn.draws import (
    DROPOUT_LEVELS,
    build_feedback,
    build_synapse_feedback,
    channel_keep,
    error_counter,
    init_biases,
)
from neurosim.nn.fixed import FixedEngine
from neurosim.nn.float_engine import FloatEngine

__all__ = [
    "DROPOUT_LEVELS",
    "Engine",
    "FixedEngine",
    "FloatEngine",
    "build_feedback",
    "build_synapse_feedback",
    "channel_keep",
    "error_counter",
    "hidden_errors",
    "init_biases",
]
