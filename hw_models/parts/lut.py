"""The activation unit's lookup table (``f``, ``f'`` and the softmax exponent)."""

from __future__ import annotations

from typing import ClassVar

from hw_models.parts.base import Part, Pricing


class ActivationLut(Part):
    """The activation LUT: one lookup of ``f`` or ``f'`` (or of ``exp``) per
    neuron, addressed by the pre-activation code.

    Action ``lut``, empty detail: one entry of ``act_bits`` read from a table
    of ``2^lut_in_bits`` entries (the run's widths).

    Source and scaling: energy table row ``lut`` = ``out_bits x
    sram_read(kib = 2^in_bits x out_bits / 8192)``, i.e. a read of one entry
    of an SRAM of that size; ``sram_read`` is Horowitz, ISSCC 2014, 45 nm,
    with its power law in the array size; x the logic node factor.
    """

    name: ClassVar[str] = "activation LUT"
    actions: ClassVar[tuple[str, ...]] = ("lut",)
    rows: ClassVar[tuple[str, ...]] = ("lut",)

    def energy_pj(self, action: str, detail: tuple, pricing: Pricing) -> float:
        """Energy of one lookup, pJ."""
        w = pricing.widths
        return pricing.table.energy_pj(
            "lut", pricing.node_nm, in_bits=w.lut_in_bits, out_bits=w.act_bits
        )
