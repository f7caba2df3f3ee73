"""The tile's MAC array and the bare multipliers of the error and update units."""

from __future__ import annotations

from typing import ClassVar

from hw_models.parts.base import Part, Pricing


class MacArray(Part):
    """The tile's multiply-accumulate array (forward products, error projections,
    per-sample gradient products).

    Action ``mac``, detail ``(a_bits, b_bits)``: one multiply of an ``a_bits``
    by a ``b_bits`` operand added into the run's ``acc_bits`` accumulator.

    Source and scaling: energy table row ``mac`` = ``mult(a_bits, b_bits) +
    add(acc_bits)``; ``mult`` is linear in ``a_bits x b_bits`` through
    Horowitz, ISSCC 2014, 45 nm (8x8 0.2 pJ, 32x32 3.1 pJ), ``add`` linear in
    bits through 8 b 0.03 pJ and 32 b 0.1 pJ; both x the logic node factor of
    :mod:`hw_models.technology`.
    """

    name: ClassVar[str] = "MAC array"
    actions: ClassVar[tuple[str, ...]] = ("mac",)
    rows: ClassVar[tuple[str, ...]] = ("mac",)

    def energy_pj(self, action: str, detail: tuple, pricing: Pricing) -> float:
        """Energy of one MAC at ``detail = (a_bits, b_bits)``, pJ."""
        return pricing.table.energy_pj(
            "mac", pricing.node_nm, a_bits=detail[0], b_bits=detail[1],
            acc_bits=pricing.widths.acc_bits,
        )  # fmt: skip


class Multiplier(Part):
    """A bare multiplier: ``f'(S) x error`` in the error unit, the learning-rate
    (and momentum) scaling of a gradient in the update unit.

    Action ``mult``, detail ``(a_bits, b_bits)``: one product, no accumulate.

    Source and scaling: energy table row ``mult``, linear in
    ``a_bits x b_bits`` through Horowitz, ISSCC 2014, 45 nm (8x8 0.2 pJ,
    32x32 3.1 pJ), extended linearly; x the logic node factor.
    """

    name: ClassVar[str] = "multiplier"
    actions: ClassVar[tuple[str, ...]] = ("mult",)
    rows: ClassVar[tuple[str, ...]] = ("mult",)

    def energy_pj(self, action: str, detail: tuple, pricing: Pricing) -> float:
        """Energy of one product at ``detail = (a_bits, b_bits)``, pJ."""
        return pricing.table.energy_pj("mult", pricing.node_nm, a_bits=detail[0], b_bits=detail[1])
