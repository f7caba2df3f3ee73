"""Supply voltage, clock limit and static power of a chip.

Laws
----
Dynamic energy
    Every on-chip action of the energy table is stated at the node's nominal
    supply ``V_nom`` (:func:`hw_models.technology.nominal_vdd`); at a supply
    ``V`` it costs ``(V / V_nom)^2`` as much (switched capacitance x V^2).
    DRAM energy is the off-chip memory's and does not scale.
Leakage
    Subthreshold leakage with drain-induced barrier lowering (the BSIM form
    ``I_off ~ exp(eta V / (n v_T))``): power ``P(V) = P(V_nom) x (V / V_nom)
    x exp(eta (V - V_nom) / (n v_T))`` with ``eta`` = :data:`DIBL` = 0.1 V/V,
    ``n`` = :data:`SUBTHRESHOLD_N` = 1.5 and ``v_T`` = 25.85 mV (300 K);
    assumed constants of a bulk CMOS process (a 10% lower supply leaks 30%
    less).
Clock limit
    The alpha-power law (Sakurai and Newton, IEEE JSSC 25(2), 1990): gate
    delay ``~ V / (V - V_th)^alpha``, so ``f_max(V) = f_nom x [(V - V_th)^alpha
    / V] / [(V_nom - V_th)^alpha / V_nom]``, anchored to the clock limit at the
    nominal supply ``f_nom`` (:func:`hw_models.technology.fmax_nominal_mhz`,
    or ``power.fmax_nominal_mhz``). A chip clocked above ``f_max`` at its
    supply, or supplied at or below ``V_th``, is a ConfigError.

Static power
------------
Paid every cycle, busy or idle, by every one of the chip's ``n_tiles`` tiles
(no power gating), used by the run or not:

* SRAM leakage: all of a tile's SRAM bits (weights, feedback, gradients) x
  the leakage per bit (:data:`hw_models.technology.SRAM_LEAK_PW_PER_BIT_45`
  scaled by :func:`hw_models.technology.leakage_factor`, or
  ``power.sram_leak_pw_per_bit``);
* logic leakage: the tile's gate equivalents from the area model
  (:mod:`hw_models.area`: MAC lanes and update-unit adders) x the leakage
  per gate (``GATE_LEAK_NW_PER_GE_45``, or ``power.gate_leak_nw_per_ge``);
* clock tree and control: an energy per tile per cycle
  (:func:`clock_pj_per_tile_cycle`) x the clock; it is switching energy, so it
  scales with ``(V / V_nom)^2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hw_models import area, technology
from hw_models.energy import KIB_BITS, EnergyTable
from neurosim.errors import ConfigError

DIBL = 0.1
"""Drain-induced barrier lowering coefficient eta, V/V (assumption)."""

SUBTHRESHOLD_N = 1.5
"""Subthreshold slope factor n (assumption)."""

THERMAL_V = 0.02585
"""Thermal voltage kT/q at 300 K, V."""

VTH_FRACTION = 0.3
"""Default threshold voltage as a fraction of the node's nominal supply (assumption)."""

CLOCK_OVERHEAD = 2.0
"""Clock tree buffers and wires plus control, as a multiple of the clock load
of the tile's flip-flops (assumption)."""

_AREA = {r.name: r.value for r in area.AREA_ROWS}


@dataclass(frozen=True)
class Supply:
    """A chip's operating point.

    Attributes
    ----------
    vdd_v, nominal_v, vth_v : float
        Supply, the node's nominal supply and the threshold voltage, V.
    alpha : float
        Alpha-power-law exponent.
    fmax_nominal_mhz, fmax_mhz : float
        Clock limit at the nominal supply and at ``vdd_v``, MHz.
    """

    vdd_v: float
    nominal_v: float
    vth_v: float
    alpha: float
    fmax_nominal_mhz: float
    fmax_mhz: float

    @property
    def dynamic_factor(self) -> float:
        """``(vdd / nominal)^2``: exactly 1.0 at the nominal supply."""
        return dynamic_factor(self.vdd_v, self.nominal_v)

    @property
    def leakage_factor(self) -> float:
        """Leakage at ``vdd_v`` relative to the nominal supply."""
        return leakage_voltage_factor(self.vdd_v, self.nominal_v)


def dynamic_factor(vdd_v: float, nominal_v: float) -> float:
    """Dynamic energy at ``vdd_v`` relative to ``nominal_v``: ``(V / V_nom)^2``."""
    return 1.0 if vdd_v == nominal_v else (vdd_v / nominal_v) ** 2


def leakage_voltage_factor(vdd_v: float, nominal_v: float) -> float:
    """Leakage power at ``vdd_v`` relative to ``nominal_v`` (module doc)."""
    if vdd_v == nominal_v:
        return 1.0
    return (vdd_v / nominal_v) * math.exp(
        DIBL * (vdd_v - nominal_v) / (SUBTHRESHOLD_N * THERMAL_V)
    )


def fmax_mhz(f_nom_mhz: float, vdd_v: float, nominal_v: float, vth_v: float, alpha: float) -> float:
    """Alpha-power-law clock limit at ``vdd_v``, MHz (0 at or below ``vth_v``)."""
    if vdd_v <= vth_v:
        return 0.0
    if vdd_v == nominal_v:
        return f_nom_mhz
    drive = (vdd_v - vth_v) ** alpha / vdd_v
    return f_nom_mhz * drive / ((nominal_v - vth_v) ** alpha / nominal_v)


def supply(chip: Any) -> Supply:
    """The operating point of ``chip`` (a :class:`hw_models.chip.Chip`)."""
    p = chip.power
    nominal = technology.nominal_vdd(chip.node_nm)
    vdd = nominal if p.vdd_v is None else p.vdd_v
    vth = VTH_FRACTION * nominal if p.vth_v is None else p.vth_v
    f_nom = (
        technology.fmax_nominal_mhz(chip.node_nm)
        if p.fmax_nominal_mhz is None
        else p.fmax_nominal_mhz
    )
    return Supply(vdd, nominal, vth, p.alpha, f_nom, fmax_mhz(f_nom, vdd, nominal, vth, p.alpha))


def check_supply(chip: Any) -> None:
    """Raise ConfigError if the supply is at or below V_th (nominal or given),
    or the clock exceeds the alpha-power-law limit at the supply."""
    s = supply(chip)
    where = "power.vdd_v" if chip.power.vdd_v is not None else "power.vth_v"
    if s.vdd_v <= s.vth_v:
        value = chip.power.vdd_v if chip.power.vdd_v is not None else chip.power.vth_v
        raise ConfigError(
            where, value, f"a supply above the threshold voltage (vdd {s.vdd_v:g} V, "
            f"vth {s.vth_v:g} V)"
        )  # fmt: skip
    if chip.clock_mhz > s.fmax_mhz:
        raise ConfigError(
            "clock_mhz", chip.clock_mhz,
            f"at most {s.fmax_mhz:.4g} MHz, the clock limit at vdd {s.vdd_v:g} V "
            f"({chip.node_nm:g} nm: {s.fmax_nominal_mhz:.4g} MHz at the nominal "
            f"{s.nominal_v:g} V, alpha-power law, vth {s.vth_v:g} V, alpha {s.alpha:g}); "
            "lower clock_mhz or raise power.vdd_v",
        )  # fmt: skip


def _acc_bits(chip: Any) -> int:
    w, cols = chip.weight_bits, chip.tile.cols
    return 2 * w + (math.ceil(math.log2(cols)) if cols > 1 else 0)


def tile_gates(chip: Any) -> float:
    """Logic gate equivalents of one tile, from the area model: the MAC lanes
    (multiplier, accumulator adder and register) and the update adders."""
    t, w = chip.tile, chip.weight_bits
    mac = area.mac_ge(w, w, _acc_bits(chip))
    return t.macs_per_cycle * mac + t.update_per_cycle * w * _AREA["adder_ge_per_bit"]


def tile_flops(chip: Any) -> float:
    """Flip-flops clocked every cycle in one tile: each MAC lane's two operand
    registers and accumulator, each update lane's two operand registers."""
    t, w = chip.tile, chip.weight_bits
    return t.macs_per_cycle * (2 * w + _acc_bits(chip)) + t.update_per_cycle * 2 * w


def clock_pj_per_tile_cycle(chip: Any, table: EnergyTable | None = None) -> float:
    """Clock tree and control energy of one tile per cycle at the nominal
    supply, pJ: ``power.clock_pj_per_tile_cycle`` if given, else
    :data:`CLOCK_OVERHEAD` x :func:`tile_flops` x the energy table's ``reg``
    row (one register bit clocked) at the chip's node."""
    if chip.power.clock_pj_per_tile_cycle is not None:
        return chip.power.clock_pj_per_tile_cycle
    table = table or chip.energy_table()
    return CLOCK_OVERHEAD * tile_flops(chip) * table.energy_pj("reg", chip.node_nm)


@dataclass(frozen=True)
class StaticPower:
    """Static power of the whole chip at its supply and clock, mW.

    Attributes
    ----------
    sram_leak_mw, logic_leak_mw, clock_mw : float
        SRAM leakage, logic leakage, clock tree and control.
    """

    sram_leak_mw: float
    logic_leak_mw: float
    clock_mw: float

    @property
    def total_mw(self) -> float:
        """Sum of the parts, mW."""
        return self.sram_leak_mw + self.logic_leak_mw + self.clock_mw

    def as_dict(self) -> dict[str, float]:
        """``{total, sram_leakage, logic_leakage, clock}`` in mW."""
        return {
            "total": self.total_mw,
            "sram_leakage": self.sram_leak_mw,
            "logic_leakage": self.logic_leak_mw,
            "clock": self.clock_mw,
        }


def sram_leak_pw_per_bit(chip: Any) -> float:
    """Leakage of one SRAM bit at the chip's node and nominal supply, pW."""
    p = chip.power.sram_leak_pw_per_bit
    if p is not None:
        return p
    return technology.SRAM_LEAK_PW_PER_BIT_45 * technology.leakage_factor(chip.node_nm)


def gate_leak_nw_per_ge(chip: Any) -> float:
    """Leakage of one gate equivalent at the chip's node and nominal supply, nW."""
    p = chip.power.gate_leak_nw_per_ge
    if p is not None:
        return p
    return technology.GATE_LEAK_NW_PER_GE_45 * technology.leakage_factor(chip.node_nm)


def static_power(chip: Any, table: EnergyTable | None = None) -> StaticPower:
    """Static power of ``chip`` (all ``n_tiles`` tiles) at its supply and clock.

    Parameters
    ----------
    chip : Chip
        The chip (:class:`hw_models.chip.Chip`).
    table : EnergyTable, optional
        Prices the clock estimate's register bit (default the chip's table).
    """
    s, t, n = supply(chip), chip.tile, chip.n_tiles
    # the memories the chip's gradient strategy builds: the gradient SRAM
    # (sram), the batch buffer (register) or neither (online)
    sram_bits = (t.sram_kib + t.feedback_sram_kib) * KIB_BITS + chip.update_sram_bits
    leak = s.leakage_factor
    sram_mw = n * sram_bits * sram_leak_pw_per_bit(chip) * 1e-9 * leak
    logic_mw = n * tile_gates(chip) * gate_leak_nw_per_ge(chip) * 1e-6 * leak
    # pJ per cycle x cycles per microsecond = uW; x 1e-3 = mW
    clock_mw = n * clock_pj_per_tile_cycle(chip, table) * chip.clock_mhz * 1e-3 * s.dynamic_factor
    return StaticPower(sram_mw, logic_mw, clock_mw)
