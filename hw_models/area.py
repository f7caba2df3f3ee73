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
* Update unit: per synapse updated per cycle (a lane) one ``weight_bits``
  adder and, with a :class:`LearningShape`, the learning-rate scaling of
  the gradient ``G`` (``grad_bits`` wide: the accumulator word of a minibatch
  strategy, one product ``error x input`` of an online one) that the energy
  model charges per update (:mod:`neurosim.cost.gradients`): a ``grad_bits x
  lr_frac`` multiplier, or with ``lr_shift`` (a power-of-two learning rate) a
  ``grad_bits``-wide barrel shifter of ``ceil(log2(lr_frac + 1))`` mux stages.

The learning hardware of a tile (:func:`learning_area`, counted only with a
:class:`LearningShape`; a chip without learning drops exactly these parts):

* the update unit above;
* a dedicated error-projection unit of ``projection_lanes`` lanes, sized by
  the feedback format (:func:`projection_ge`): dense or ternary ``C^h`` a
  ``feedback_bits x error_bits`` multiplier and accumulator per lane; binary
  an accumulator whose input is the error or its negation (sign select:
  XORs, adders only); sparse the same plus an index register; low rank two
  multiplier stages; none (0 lanes) when the projections run on the MAC array;
* the PRNG that regenerates ``C^h`` (:func:`prng_ge`, an xorshift32);
* the label logic of rules that project the target (DRTP): a label register
  and a one-hot decoder (:func:`target_ge`);
* the ``f'`` table the error unit reads (``2**act_bits`` entries of
  ``act_bits``, priced as SRAM bits: an upper bound for a ROM);
* the memories of learning: the feedback SRAM and the gradient strategy's.

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
    AreaRow(
        "xor2",
        2.0,
        "GE",
        "XOR2_X1 of the NanGate 45 nm Open Cell Library, 1.596 um^2 = 2 NAND2_X1",
    ),
    AreaRow(
        "and2",
        1.33,
        "GE",
        "AND2_X1 of the NanGate 45 nm Open Cell Library, 1.064 um^2",
    ),
    AreaRow(
        "mux2",
        2.33,
        "GE",
        "MUX2_X1 of the NanGate 45 nm Open Cell Library, 1.862 um^2 = 2.33 NAND2_X1",
    ),
    AreaRow(
        "prng_state_bits",
        32.0,
        "bits",
        "xorshift32 (G. Marsaglia, J. Stat. Softw. 8(14), 2003): 32 state flip-flops, "
        "three shift-XOR stages of 32 XORs (the shifts are wiring)",
    ),
)

_V = {r.name: r.value for r in AREA_ROWS}
UM2_PER_MM2 = 1e6


class TileArea(NamedTuple):
    """Estimated area of one tile, mm^2, with its parts (the learning parts
    other than the update unit are 0 unless a :class:`LearningShape` is given)."""

    sram_mm2: float
    mac_mm2: float
    update_mm2: float
    projection_mm2: float = 0.0
    prng_mm2: float = 0.0
    target_mm2: float = 0.0
    deriv_lut_mm2: float = 0.0

    @property
    def total_mm2(self) -> float:
        """Sum of the parts."""
        return sum(self)


PROJECTIONS = ("multiplier", "adder", "sparse", "low_rank", "none")
"""Datapaths of an error-projection unit (:func:`projection_ge`)."""

FORMAT_DATAPATH = {
    "dense": "multiplier", "ternary": "multiplier", "binary": "adder",
    "sparse": "sparse", "lowrank": "low_rank",
}  # fmt: skip
"""The projection datapath a chip builds for a feedback format."""


class LearningShape(NamedTuple):
    """What the learning hardware of a tile is built for (from the run).

    Attributes
    ----------
    projection : str
        Datapath of the error-projection unit, one of :data:`PROJECTIONS`
        (``none``: no arithmetic, as DRTP, which picks the label's column,
        or a rule without a learning channel).
    feedback_bits, error_bits, acc_bits, lr_frac, act_bits : int
        Widths, bits: a ``C^h`` entry, an error word, the accumulator, the
        learning-rate fraction, an activation (the ``f'`` table's index).
    classes : int
        Output classes (the label decoder's outputs).
    target : bool
        The rule projects the one-hot target (DRTP): label logic is built.
    rank : int
        Rank of a low-rank ``C^h``.
    n_src : int
        Components of the projected source (a sparse unit's index width).
    grad_bits : int
        Width of the gradient ``G`` the update unit scales, bits (the
        accumulator word for ``sram`` and ``register``; one product for
        ``online``, :func:`neurosim.cost.gradients.grad_bits`).
    lr_shift : bool
        The update unit scales by a barrel shift (a power-of-two learning
        rate, ``update.lr_shift``), not a multiplier.
    """

    projection: str = "multiplier"
    feedback_bits: int = 8
    error_bits: int = 16
    acc_bits: int = 32
    lr_frac: int = 16
    act_bits: int = 8
    classes: int = 10
    target: bool = False
    rank: int = 1
    n_src: int = 10
    grad_bits: int = 32
    lr_shift: bool = False


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


def projection_ge(shape: LearningShape, lanes: int) -> float:
    """Gate equivalents of an error-projection unit of ``lanes`` lanes.

    ``multiplier``: a MAC of ``feedback_bits x error_bits`` into ``acc_bits``
    per lane; ``adder``: the ``acc_bits`` adder and register plus
    ``error_bits`` XORs (the sign select of a binary entry); ``sparse``: the
    adder lane plus an index register of ``ceil(log2 n_src)`` bits;
    ``low_rank``: two multiplier stages (``C = U V``); ``none``: nothing.
    """
    a, r, x = _V["adder_ge_per_bit"], _V["reg_ge_per_bit"], _V["xor2"]
    acc = shape.acc_bits * (a + r)
    mult = mac_ge(shape.feedback_bits, shape.error_bits, shape.acc_bits)
    per_lane = {
        "multiplier": mult,
        "adder": acc + shape.error_bits * x,
        "sparse": acc + shape.error_bits * x + math.ceil(math.log2(max(2, shape.n_src))) * r,
        "low_rank": 2 * mult,
        "none": 0.0,
    }[shape.projection]
    return lanes * per_lane


def prng_ge() -> float:
    """Gate equivalents of one xorshift32 PRNG: state flip-flops and three
    shift-XOR stages."""
    bits = _V["prng_state_bits"]
    return bits * _V["reg_ge_per_bit"] + 3 * bits * _V["xor2"]


def target_ge(classes: int) -> float:
    """Gate equivalents of DRTP's label logic: a ``ceil(log2 classes)``-bit
    label register and a one-hot decoder (an AND gate per class)."""
    return math.ceil(math.log2(max(2, classes))) * _V["reg_ge_per_bit"] + classes * _V["and2"]


def shifter_ge(bits: int, max_shift: int) -> float:
    """Gate equivalents of a logarithmic barrel shifter of ``bits`` bits that
    shifts by 0 to ``max_shift``: ``ceil(log2(max_shift + 1))`` stages of
    ``bits`` 2:1 multiplexers."""
    return bits * math.ceil(math.log2(max_shift + 1)) * _V["mux2"]


def update_lane_ge(weight_bits: int, shape: LearningShape | None) -> float:
    """Gate equivalents of one update lane: the ``weight_bits`` adder, and
    with ``shape`` the learning-rate scaling of a ``grad_bits`` gradient: a
    ``grad_bits x lr_frac`` multiplier, or (``lr_shift``) a barrel shifter
    of up to ``lr_frac`` places (:func:`shifter_ge`)."""
    ge = weight_bits * _V["adder_ge_per_bit"]
    if shape is None:
        return ge
    if shape.lr_shift:
        return ge + shifter_ge(shape.grad_bits, shape.lr_frac)
    return ge + shape.grad_bits * shape.lr_frac * _V["mult_ge_per_bit"]


def tile_area(
    *,
    node_nm: float,
    sram_bits: float,
    macs: int,
    weight_bits: int,
    cols: int,
    updates: int,
    learning: LearningShape | None = None,
    projection_lanes: int = 0,
    prng: bool = False,
    lut_ports: int = 1,
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
        Synapses the update unit writes per cycle (its lanes).
    learning : LearningShape, optional
        What the learning hardware is built for; None: the update unit's
        adders only (the model before the learning parts).
    projection_lanes : int
        Lanes of a dedicated error-projection unit (0: none).
    prng : bool
        The tile regenerates ``C^h`` with a PRNG.
    lut_ports : int
        Lookups per cycle of the ``f'`` table (a copy per port).
    """
    acc = 2 * weight_bits + math.ceil(math.log2(cols)) if cols > 1 else 2 * weight_bits
    base = (
        sram_mm2(sram_bits, node_nm),
        macs * logic_mm2(mac_ge(weight_bits, weight_bits, acc), node_nm),
        updates * logic_mm2(update_lane_ge(weight_bits, learning), node_nm),
    )
    if learning is None:
        return TileArea(*base)
    return TileArea(
        *base,
        logic_mm2(projection_ge(learning, projection_lanes), node_nm),
        logic_mm2(prng_ge(), node_nm) if prng else 0.0,
        logic_mm2(target_ge(learning.classes), node_nm) if learning.target else 0.0,
        lut_ports * sram_mm2(2**learning.act_bits * learning.act_bits, node_nm),
    )
