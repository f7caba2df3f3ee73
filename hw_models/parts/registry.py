"""The registry of the chip's parts: action name -> the part that performs it.

:func:`unit_energy_pj` prices one ``(phase, action, detail)`` key of an
accountant through the part that owns ``action``; the phase only says where
in the training step the action happens, not what it costs.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from hw_models.accelergy import MAPPING, ert_name
from hw_models.parts.adder import Adder, ShiftAdder
from hw_models.parts.base import Part, Pricing
from hw_models.parts.dram import Dram
from hw_models.parts.link import Link, NetworkInterface
from hw_models.parts.lut import ActivationLut
from hw_models.parts.mac_array import MacArray, Multiplier
from hw_models.parts.prng import Prng
from hw_models.parts.sram import SramMacro
from neurosim.errors import ConfigError

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
        The energy table, the chip and the run's widths; with an Accelergy ERT
        (``pricing.ert``) the ERT's entry for the action (:func:`ert_unit_energy_pj`).
    """
    _phase, action, detail = key
    if pricing.ert is not None:
        e = ert_unit_energy_pj(key, pricing)
        if e is not None:
            return e
    return part_for(action).energy_pj(action, detail, pricing)


def ert_unit_energy_pj(key: tuple, pricing: Pricing) -> float | None:
    """Energy of one unit of ``key`` from ``pricing.ert``, pJ.

    Returns None when neurosim's own table prices the key instead: the ERT
    lacks it and either the ERT is partial (``accelergy_partial``) or the
    action is one neurosim counts without pricing (``packet``).

    Raises
    ------
    ConfigError
        The ERT has no entry for an action the run needs and is not partial;
        the message names the action, the ERT name it looked for and the file.
    """
    ert = pricing.ert
    assert ert is not None
    action = key[1]
    if action not in MAPPING:  # pragma: no cover - a test keeps MAPPING and REGISTRY equal
        raise KeyError(f"no ERT name for action {action!r}")
    name = ert_name(key, pricing.run_widths)
    e = ert.lookup(name)
    if e is not None or ert.partial or MAPPING[action].optional:
        return e
    args = ", ".join(f"{k}: {v}" for k, v in name.arguments)
    raise ConfigError(
        "accelergy_ert", ert.path,
        f"an entry for neurosim action {action!r} (detail {key[2]!r}): component "
        f"{name.component!r}, action {name.action!r}, arguments {{{args}}} or null, in pJ per "
        f"{MAPPING[action].unit}; or accelergy_partial = true to price the actions the "
        "ERT lacks from neurosim's own table",
    )  # fmt: skip
