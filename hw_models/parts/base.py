"""What every part of the chip shares: the pricing context and the part interface.

A *part* is a circuit of the chip (the MAC array, an SRAM macro, the
activation LUT, the PRNG, a link, ...). It declares the named actions it
performs and prices one of each from the energy reference table
(:mod:`hw_models.energy`) at the chip's node and the run's widths, in the
manner of Accelergy: energy = action counts x energy per action.

An action key is ``(phase, action, detail)``; ``detail`` carries what varies
from count to count (operand widths, the memory read, the link used) and
:class:`Widths` what is fixed for the whole run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hw_models.accelergy import Ert
from hw_models.chip import Chip
from hw_models.energy import EnergyTable


@dataclass(frozen=True)
class Widths:
    """The run's datapath widths that an action key does not carry.

    Attributes
    ----------
    acc_bits : int
        Accumulator width of the MAC array, bits.
    lut_in_bits : int
        Address width of the activation LUT (the pre-activation code), bits.
    act_bits : int
        Entry width of the activation LUT (the activation code), bits.
    """

    acc_bits: int
    lut_in_bits: int
    act_bits: int


@dataclass(frozen=True)
class Pricing:
    """Everything a part needs to price one action.

    Attributes
    ----------
    table : EnergyTable
        The energy reference table (the chip's overrides applied).
    chip : Chip
        The chip: its node, memory sizes and link lengths.
    widths : Widths
        The run's widths.
    ert : Ert or None
        An Accelergy energy reference table that prices the actions it maps
        (:mod:`hw_models.accelergy`) instead of ``table``; None: ``table`` only.
    """

    table: EnergyTable
    chip: Chip
    widths: Widths
    ert: Ert | None = None

    @property
    def run_widths(self) -> dict[str, int]:
        """The run widths an ERT names as action arguments (``acc_bits`` of a
        ``mac``; ``in_bits``, ``out_bits`` of a ``lut``)."""
        w = self.widths
        return {"acc_bits": w.acc_bits, "in_bits": w.lut_in_bits, "out_bits": w.act_bits}

    @property
    def node_nm(self) -> float:
        """Technology node of the chip, nm."""
        return self.chip.node_nm


class Part:
    """A hardware part: the actions it performs and the energy of one of each.

    Subclasses set :attr:`actions` (the action names of the accountants'
    keys it owns) and :attr:`rows` (the energy table rows it prices from) and
    implement :meth:`energy_pj`.
    """

    name: ClassVar[str] = ""
    """Name of the part, for messages and the docs."""

    actions: ClassVar[tuple[str, ...]] = ()
    """Action names this part performs."""

    rows: ClassVar[tuple[str, ...]] = ()
    """Energy table rows this part is priced from."""

    def energy_pj(self, action: str, detail: tuple, pricing: Pricing) -> float:
        """Energy of one ``action`` with ``detail``, pJ.

        Parameters
        ----------
        action : str
            One of :attr:`actions`.
        detail : tuple
            The key's detail (widths in bits, a memory name, a link name).
        pricing : Pricing
            Table, chip and run widths.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
