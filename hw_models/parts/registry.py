"""The registry of the chip's parts: action name -> the part that performs it.

:func:`unit_energy_pj` prices one ``(phase, action, detail)`` key of an
accountant through the part that owns ``action``; the phase only says where
in the training step the action happens, not what it costs.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from hw_models.parts.adder import Adder, ShiftAdder
from hw_models.parts.base import Part, Pricing
from hw_models.parts.dram import Dram
from hw_models.parts.link import Link, NetworkInterface
from hw_models.parts.lut import ActivationLut
from hw_models.parts.mac_array import MacArray, Multiplier
from hw_models.parts.prng import Prng
from hw_models.parts.sram import SramMacro

PARTS: tuple[Part, ...] = (
    MacArray(),
    Multiplier(),
    Adder(),
    ShiftAdder(),
    SramMacro(),
    ActivationLut(),
    Prng(),
    Link(),
    NetworkInterface(),
    Dram(),
)
"""Every part of the chip that the bill prices."""


def _by_action(parts: tuple[Part, ...]) -> Mapping[str, Part]:
    out: dict[str, Part] = {}
    for part in parts:
        for action in part.actions:
            if action in out:  # one owner per action, or the bill would be ambiguous
                raise AssertionError(f"action {action!r} has two parts: {out[action]!r}, {part!r}")
            out[action] = part
    return MappingProxyType(out)


REGISTRY: Mapping[str, Part] = _by_action(PARTS)
"""Action name -> the part that performs it."""


def part_for(action: str) -> Part:
    """The part that performs ``action``.

    Raises
    ------
    KeyError
        No part performs ``action``.
    """
    try:
        return REGISTRY[action]
    except KeyError:
        raise KeyError(f"no part performs action {action!r}") from None


def unit_energy_pj(key: tuple, pricing: Pricing) -> float:
    """Energy of one unit of the action key ``(phase, action, detail)``, pJ.

    Parameters
    ----------
    key : tuple
        ``(phase, action, detail)`` as the accountants count it.
    pricing : Pricing
        The energy table, the chip and the run's widths.
    """
    _phase, action, detail = key
    return part_for(action).energy_pj(action, detail, pricing)
