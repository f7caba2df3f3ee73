"""The chip's parts, each owning its actions and pricing them from the energy table.

One class per hardware part (:class:`MacArray`, :class:`Multiplier`,
:class:`Adder`, :class:`ShiftAdder`, :class:`SramMacro`,
:class:`ActivationLut`, :class:`Prng`, :class:`Link`,
:class:`NetworkInterface`, :class:`Dram`); :data:`REGISTRY` maps each action name of the
accountants' keys to its part and :func:`unit_energy_pj` prices one key.
"""

from hw_models.parts.adder import Adder, ShiftAdder
from hw_models.parts.base import Part, Pricing, Widths
from hw_models.parts.dram import DRAM_DETAILS, Dram
from hw_models.parts.link import Link, NetworkInterface
from hw_models.parts.lut import ActivationLut
from hw_models.parts.mac_array import MacArray, Multiplier
from hw_models.parts.prng import Prng
from hw_models.parts.registry import PARTS, REGISTRY, part_for, unit_energy_pj
from hw_models.parts.sram import SramMacro

__all__ = [
    "DRAM_DETAILS",
    "PARTS",
    "REGISTRY",
    "ActivationLut",
    "Adder",
    "Dram",
    "Link",
    "MacArray",
    "Multiplier",
    "NetworkInterface",
    "Part",
    "Pricing",
    "Prng",
    "ShiftAdder",
    "SramMacro",
    "Widths",
    "part_for",
    "unit_energy_pj",
]
