"""The on-chip pseudo-random generator."""

from __future__ import annotations

from typing import ClassVar

from hw_models.parts.base import Part, Pricing


class Prng(Part):
    """The tile's pseudo-random generator: stochastic rounding of updates and
    errors, dropout masks, and ``C^h`` regenerated from a seed.

    Action ``rng``, empty detail: one random bit.

    Source and scaling: energy table row ``rng_bit`` = ``(3 x add(32) + 32 x
    reg) / 32``, an estimate: one xorshift32 step is three 32-bit XORs
    (priced as 32-bit adds of Horowitz, ISSCC 2014, an upper bound) and a
    32-bit state register, and yields 32 bits; x the logic node factor.
    """

    name: ClassVar[str] = "PRNG"
    actions: ClassVar[tuple[str, ...]] = ("rng",)
    rows: ClassVar[tuple[str, ...]] = ("rng_bit",)

    def energy_pj(self, action: str, detail: tuple, pricing: Pricing) -> float:
        """Energy of one random bit, pJ."""
        return pricing.table.energy_pj("rng_bit", pricing.node_nm)
