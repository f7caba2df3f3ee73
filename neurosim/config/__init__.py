"""Training configuration: documented fields in sections, one flat record, strict validation.

The fields are defined in six sections (:mod:`neurosim.config.sections`:
``dataset``, ``network``, ``numerics``, ``channel``, ``optimizer``, ``run``),
each field with a docstring (units, allowed values) and metadata that the
command line is generated from. :class:`TrainConfig` holds them all under
their flat names: a TOML file uses those names (``weight_bits = 8``) or the
section tables (``[numerics]`` then ``weight_bits = 8``); command-line flags
use the same names with dashes (``--weight-bits 8``) and override the file.
:meth:`TrainConfig.validate` checks every field before any work starts and
raises :class:`~neurosim.errors.ConfigError` naming the field, the value and
what is allowed.

Importing this package loads neither numpy nor numba.
"""

from __future__ import annotations

from neurosim.config.core import FIELD_ORDER, TrainConfig, output_units, parse_hidden
from neurosim.config.presets import PRESETS
from neurosim.config.sections import (
    ACTIVATIONS,
    ERROR_CODINGS,
    ERROR_SCALES,
    FEEDBACK_SIGNS,
    MODES,
    OUTPUTS,
    SECTIONS,
    TOP_ERRORS,
    UPDATE_MODES,
    ChannelSection,
    DatasetSection,
    NetworkSection,
    NumericsSection,
    OptimizerSection,
    RunSection,
)
from neurosim.tomlfile import read_toml

__all__ = [
    "ACTIVATIONS",
    "ERROR_CODINGS",
    "ERROR_SCALES",
    "FEEDBACK_SIGNS",
    "FIELD_ORDER",
    "MODES",
    "OUTPUTS",
    "PRESETS",
    "SECTIONS",
    "TOP_ERRORS",
    "UPDATE_MODES",
    "ChannelSection",
    "DatasetSection",
    "NetworkSection",
    "NumericsSection",
    "RunSection",
    "TrainConfig",
    "OptimizerSection",
    "output_units",
    "parse_hidden",
    "read_toml",
]
