"""Area model of a tile: SRAM bit cells plus MAC and update datapaths.

Every area number of :mod:`hw_models` lives in :data:`AREA_ROWS`. The model:

``tile area = SRAM bits x cell area / array efficiency
            + macs_per_cycle x MAC area + update_per_cycle x adder area``

* SRAM: all of a tile's memories (weights, feedback, and the memory of the
  chip's gradient strategy: the gradient accumulators of ``sram``, the batch
  buffer of ``register``, none for ``online``; see
  :attr:`hw_models.chip.Chip.update_sram_bits`).
* MAC: a ``weight_bits x weight_bits`` array multiplier and an accumulator
  adder plus register of ``2*weight_bits + ceil(log2(cols))`` bits (wide
  enough to sum a block row exactly).
* Update unit: one ``weight_bits`` adder per synapse updated per cycle.

Logic is counted in NAND2 gate equivalents (GE). Everything is stated at
45 nm and carried to the chip's node by the Stillmaker & Baas area factor
(:func:`hw_models.technology.factor` with ``law="area"``). Activation LUTs,
control, clocking and inter-tile wiring are not counted, so the estimate is a
lower bound on the tile's area.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from hw_models import technology


class AreaRow(NamedTuple):
    """One number of the area model: value, unit, source (or basis of the estimate)."""

    name: str
    value: float
    unit: str
    source: str


#: The area model's numbers, 45 nm.
AREA_ROWS: tuple[AreaRow, ...] = (
    AreaRow(
        "sram_cell",
        0.346,
        "um^2 per bit",
        "6T SRAM cell of Intel's 45 nm process: K. Mistry et al., IEDM 2007",
    ),
    AreaRow(
        "sram_efficiency",
        0.7,
        "cell area / macro area",
        "assumption: decoders, sense amplifiers and I/O take 30% of a macro",
    ),
    AreaRow(
        "nand2",
        0.798,
        "um^2 per gate equivalent",
        "NAND2_X1 of the NanGate 45 nm Open Cell Library",
    ),
    AreaRow(
        "mult_ge_per_bit",
        8.0,
        "GE per partial-product bit",
        "estimate: an AND gate and a full adder per bit of an array multiplier",
    ),
    AreaRow("adder_ge_per_bit", 7.0, "GE per bit", "estimate: one full adder per bit"),
    AreaRow("reg_ge_per_bit", 6.0, "GE per bit", "estimate: one D flip-flop per bit"),
)

_V = {r.name: r.value for r in AREA_ROWS}
UM2_PER_MM2 = 1e6


class TileArea(NamedTuple):
    """Estimated area of one tile, mm^2, with its parts."""

    sram_mm2: float
    mac_mm2: float
    update_mm2: float

    @property
    def total_mm2(self) -> float:
        """Sum of the parts."""
        return self.sram_mm2 + self.mac_mm2 + self.update_mm2


def sram_mm2(bits: float, node_nm: float) -> float:
    """Area of SRAM macros holding ``bits`` at ``node_nm``, mm^2."""
    um2 = bits * _V["sram_cell"] / _V["sram_efficiency"]
    return um2 * technology.factor(node_nm, "area") / UM2_PER_MM2


def mac_ge(a_bits: int, b_bits: int, acc_bits: int) -> float:
    """Gate equivalents of one MAC: multiplier, accumulator adder and register."""
    return a_bits * b_bits * _V["mult_ge_per_bit"] + acc_bits * (
        _V["adder_ge_per_bit"] + _V["reg_ge_per_bit"]
    )


def logic_mm2(ge: float, node_nm: float) -> float:
    """Area of ``ge`` gate equivalents at ``node_nm``, mm^2."""
    return ge * _V["nand2"] * technology.factor(node_nm, "area") / UM2_PER_MM2


def tile_area(
    *,
    node_nm: float,
    sram_bits: float,
    macs: int,
    weight_bits: int,
    cols: int,
    updates: int,
) -> TileArea:
    """Estimated area of one tile (see the module docstring for the model).

    Parameters
    ----------
    node_nm : float
        Technology node, nm.
    sram_bits : float
        Capacity of all the tile's SRAMs, bits.
    macs : int
        MAC units (``macs_per_cycle``).
    weight_bits : int
        Synapse width: the MAC multiplies ``weight_bits x weight_bits``.
    cols : int
        Synapse columns; sets the accumulator width.
    updates : int
        Synapses the update unit writes per cycle (one adder each).
    """
    acc = 2 * weight_bits + math.ceil(math.log2(cols)) if cols > 1 else 2 * weight_bits
    return TileArea(
        sram_mm2(sram_bits, node_nm),
        macs * logic_mm2(mac_ge(weight_bits, weight_bits, acc), node_nm),
        updates * logic_mm2(weight_bits * _V["adder_ge_per_bit"], node_nm),
    )
