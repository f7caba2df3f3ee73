"""Adders and the shift-and-add datapath of the log-coded units."""

from __future__ import annotations

from typing import ClassVar

from hw_models.parts.base import Part, Pricing


class Adder(Part):
    """An integer adder of ``bits`` bits.

    Action ``add``, detail ``(bits,)``. It serves: the bias add and the
    softmax sum of the forward pass; the max-pool comparators (a compare is
    a subtraction); the error unit's log encoder (finding the exponent of an
    error is priced as one add of the error width) and its sign-only
    projections (binary and ternary ``C^h``); the update unit's gradient
    sums and weight (or velocity) write-back adds.

    Source and scaling: energy table row ``add``, linear in bits through
    Horowitz, ISSCC 2014, 45 nm (8-bit 0.03 pJ, 32-bit 0.1 pJ), extended
    linearly; x the logic node factor of :mod:`hw_models.technology`.
    """

    name: ClassVar[str] = "adder"
    actions: ClassVar[tuple[str, ...]] = ("add",)
    rows: ClassVar[tuple[str, ...]] = ("add",)

    def energy_pj(self, action: str, detail: tuple, pricing: Pricing) -> float:
        """Energy of one add of ``detail = (bits,)``, pJ."""
        return pricing.table.energy_pj("add", pricing.node_nm, bits=detail[0])


class ShiftAdder(Part):
    """The shift-and-add datapath that replaces a multiplier when one operand is
    log-coded (``+-2^-e``): the update unit's gradient products and the
    error projection of log-coded errors; and the bare barrel shifter of a
    shift-only update unit (``update.lr_shift``: a power-of-two learning rate).

    Action ``shift_add``, detail ``(bits,)``: one barrel shift of ``bits``
    bits and one add of ``bits`` bits. Action ``shift``, detail ``(bits,)``:
    one barrel shift of ``bits`` bits.

    Source and scaling: energy table rows ``shift_add`` = ``shift(bits) +
    add(bits)`` and ``shift``; ``shift`` is an estimate (a barrel shifter is
    priced as one add of the same width), ``add`` is Horowitz, ISSCC 2014,
    45 nm, linear in bits; x the logic node factor.
    """

    name: ClassVar[str] = "shift-adder"
    actions: ClassVar[tuple[str, ...]] = ("shift_add", "shift")
    rows: ClassVar[tuple[str, ...]] = ("shift_add", "shift")

    def energy_pj(self, action: str, detail: tuple, pricing: Pricing) -> float:
        """Energy of one shift-and-add or shift of ``detail = (bits,)``, pJ."""
        return pricing.table.energy_pj(action, pricing.node_nm, bits=detail[0])
