"""The off-chip DRAM: inputs and labels, and the weights, ``C^h`` and waiting
intermediate values of a network larger than the chip."""

from __future__ import annotations

from typing import ClassVar

from hw_models.parts.base import Part, Pricing

DRAM_DETAILS = (
    "input",
    "label",
    "weights",
    "feedback",
    "velocity",
    "activations",
    "derivatives",
    "partial_sums",
    "errors",
)
"""What a DRAM transfer moves (the detail of a ``dram_read``/``dram_write`` key):
the sample's input and label, a tile group's weights (with biases),
``C^h`` slices and momentum words, and the intermediate values of a batch
that wait off-chip (:mod:`neurosim.cost.dram` defines the schedule)."""


class Dram(Part):
    """The off-chip DRAM, priced per bit moved between it and the chip.

    Actions ``dram_read`` (DRAM to chip) and ``dram_write`` (chip to DRAM),
    detail ``(what,)``, one of :data:`DRAM_DETAILS`; the unit is one bit.

    Source and scaling: energy table rows ``dram_read`` / ``dram_write``,
    Horowitz, ISSCC 2014: a 64-bit DRAM access costs 1.3-2.6 nJ; the table
    takes 1.3 nJ. One bit costs the row's energy for an access of the chip's
    ``dram.access_bits`` divided by ``access_bits`` (transfers are long
    bursts of whole accesses: rounding to whole accesses is neglected). No
    node or supply scaling: the energy is the DRAM's, not the chip logic's.
    """

    name: ClassVar[str] = "DRAM"
    actions: ClassVar[tuple[str, ...]] = ("dram_read", "dram_write")
    rows: ClassVar[tuple[str, ...]] = ("dram_read", "dram_write")

    def energy_pj(self, action: str, detail: tuple, pricing: Pricing) -> float:
        """Energy of one bit of ``action`` moving ``detail = (what,)``, pJ."""
        bits = pricing.chip.dram.access_bits
        return pricing.table.energy_pj(action, pricing.node_nm, bits=bits) / bits
