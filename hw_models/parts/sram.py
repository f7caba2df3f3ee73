"""The tile's SRAM macros (weights, feedback matrix, gradients, velocities)."""

from __future__ import annotations

from typing import ClassVar

from hw_models.parts.base import Part, Pricing


class SramMacro(Part):
    """A tile SRAM macro, priced per bit read or written.

    Actions ``sram_read`` and ``sram_write``, detail ``(memory,)``: one bit of
    the tile memory ``memory`` (``weights``, ``feedback``, ``grad`` or
    ``velocity``), whose array size is :meth:`hw_models.chip.Chip.memory_kib`.

    Source and scaling: energy table rows ``sram_read`` / ``sram_write``:
    Horowitz, ISSCC 2014, 45 nm, 64-bit cache read 10 pJ (8 KB), 20 pJ
    (32 KB), 100 pJ (1 MB), divided by 64 bits; a piecewise power law in the
    array size through these points (the wires of an array grow as the
    square root of its capacity); writes are assumed to cost as much as
    reads; x the logic node factor.
    """

    name: ClassVar[str] = "SRAM macro"
    actions: ClassVar[tuple[str, ...]] = ("sram_read", "sram_write")
    rows: ClassVar[tuple[str, ...]] = ("sram_read", "sram_write")

    def energy_pj(self, action: str, detail: tuple, pricing: Pricing) -> float:
        """Energy of one bit of ``action`` on memory ``detail = (memory,)``, pJ."""
        return pricing.table.energy_pj(
            action, pricing.node_nm, kib=pricing.chip.memory_kib(detail[0])
        )
