"""Technology scaling: how energy and area move from one CMOS node to another.

Every cost in :mod:`hw_models` is stated at a *reference node* (mostly 45 nm,
where Horowitz's ISSCC 2014 numbers were given) and carried to the chip's node
by one of the factors below. The table :data:`TECH_NODES` holds, per node:

* the nominal supply ``vdd_v`` of the predictive device models that the fits
  were made on (PTM bulk for 130-32 nm, PTM multi-gate for 20-7 nm);
* the coefficients ``a, b, c`` of the fitted energy-per-operation curve
  ``E(V) = a V^2 + b V + c`` (relative units), from Stillmaker & Baas,
  "Scaling equations for the accurate prediction of CMOS device performance
  from 180 nm to 7 nm", Integration, the VLSI Journal 58 (2017) 74-81,
  as tabulated in the Accelergy project's ``hwcomponents`` technology-scaling
  module;
* the area factor relative to 45 nm, from the same paper's area scaling table
  (the 45 nm row).

Scaling laws
------------
``logic`` (adders, multipliers, SRAM arrays, registers)
    ``F(N) = E_N(V_N) / E_45(V_45)``: the fitted energy at each node's nominal
    supply, relative to 45 nm. SRAM arrays are scaled like logic; that is an
    assumption (their bit lines are wires).
``wire`` (on-chip interconnect)
    ``F(N) = V_N^2``: wire capacitance per mm stays about constant across
    nodes (Keckler et al., IEEE Micro 31(5), 2011), so the energy of moving a
    bit a millimetre follows the supply squared.
``offchip`` (DRAM)
    ``F(N) = 1``: an off-chip access costs what the DRAM device and its I/O
    cost, whatever node the chip's logic is made in.
``area``
    the Stillmaker & Baas area factor relative to 45 nm.

Leakage, supply voltage and clock limit
---------------------------------------
These numbers feed :mod:`hw_models.power` (static power, the voltage laws and
the frequency limit); they are **assumptions**, stated here with their basis:

* :data:`SRAM_LEAK_PW_PER_BIT_45` = 100 pW per SRAM bit and
  :data:`GATE_LEAK_NW_PER_GE_45` = 1 nW per NAND2 gate equivalent, at 45 nm,
  nominal supply, 25 C, for a low-power (not high-performance) process:
  off-currents of about 1-5 nA per um of gate width (the low-operating-power
  devices of the ITRS), a minimum NAND2 having about 1 um of width leaking, a
  high-Vt 6T cell about a tenth of that. A high-performance process leaks
  10-100x more.
* node law of leakage (:func:`leakage_factor`): the off-current per um of
  width is held at its 45 nm value and device widths scale with the feature
  size, so leakage per bit or gate is ``(node / 45) x (Vdd_N / Vdd_45)``.
* the clock limit at the nominal supply (:func:`fmax_nominal_mhz`): one cycle
  is :data:`FO4_PER_CYCLE` = 40 fan-out-of-4 inverter delays (a pipelined
  datapath), and one FO4 delay is :data:`FO4_PS_PER_NM` = 0.5 ps per nm of
  feature size (the rule of thumb "FO4 = 500 ps x drawn length in um"):
  1.11 GHz at 45 nm, 0.77 GHz at 65 nm.

Between tabulated nodes a factor is interpolated linearly in ``log(node)`` for
``log(factor)`` (and for ``vdd``); at a tabulated node the tabulated value is
returned exactly. Nodes outside 7-130 nm are rejected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from neurosim.errors import ConfigError


@dataclass(frozen=True)
class TechNode:
    """One technology node of the scaling table.

    Attributes
    ----------
    node_nm : float
        Feature size, nm.
    vdd_v : float
        Nominal supply of the node's predictive model, V.
    a, b, c : float
        Stillmaker & Baas energy fit ``E(V) = a V^2 + b V + c`` (relative).
    area : float
        Area relative to 45 nm (Stillmaker & Baas area table, 45 nm row).
    """

    node_nm: float
    vdd_v: float
    a: float
    b: float
    c: float
    area: float

    def energy_fit(self) -> float:
        """The fitted energy at the nominal supply (relative units)."""
        v = self.vdd_v
        return self.a * v * v + self.b * v + self.c


#: The scaling table, largest node first.
TECH_NODES: tuple[TechNode, ...] = (
    #        node  vdd    a        b          c        area vs 45 nm
    TechNode(130, 1.30, 7.171, -6.709, 2.904, 6.4),
    TechNode(90, 1.20, 4.762, -4.781, 2.092, 2.8),
    TechNode(65, 1.10, 3.755, -4.398, 1.975, 1.5),
    TechNode(45, 1.00, 1.103, -0.362, 0.2767, 1.0),
    TechNode(32, 0.90, 0.9559, -0.7823, 0.471, 0.46),
    TechNode(20, 0.90, 0.373, -0.1582, 0.04104, 0.21),
    TechNode(16, 0.85, 0.2958, -0.1241, 0.03024, 0.19),
    TechNode(14, 0.80, 0.2363, -0.09675, 0.02239, 0.17),
    TechNode(10, 0.75, 0.2068, -0.09311, 0.02375, 0.1),
    TechNode(7, 0.70, 0.1776, -0.09097, 0.02447, 0.059),
)

SCALING_LAWS = ("logic", "wire", "offchip", "area")
"""Names of the scaling laws :func:`factor` knows."""

MIN_NODE_NM = min(t.node_nm for t in TECH_NODES)
MAX_NODE_NM = max(t.node_nm for t in TECH_NODES)

_REF = next(t for t in TECH_NODES if t.node_nm == 45)


def _tabulated(t: TechNode, law: str) -> float:
    if law == "logic":
        return t.energy_fit() / _REF.energy_fit()
    if law == "wire":
        return t.vdd_v * t.vdd_v
    if law == "area":
        return t.area
    if law == "offchip":
        return 1.0
    raise ConfigError("scaling", law, f"one of {', '.join(SCALING_LAWS)}")


def check_node(node_nm: object, field: str = "node_nm") -> float:
    """Return ``node_nm`` as a float if it lies in the table's range, else raise."""
    if (
        isinstance(node_nm, bool)
        or not isinstance(node_nm, (int, float))
        or not MIN_NODE_NM <= node_nm <= MAX_NODE_NM  # also rejects nan and huge ints
    ):
        raise ConfigError(
            field, node_nm, f"a technology node from {MIN_NODE_NM:g} to {MAX_NODE_NM:g} nm"
        )
    return float(node_nm)


def _bracket(node: float) -> tuple[TechNode, TechNode, float]:
    """Neighbouring table nodes and the log-node position between them."""
    for big, small in zip(TECH_NODES, TECH_NODES[1:], strict=False):
        if small.node_nm <= node <= big.node_nm:
            t = (math.log(big.node_nm) - math.log(node)) / (
                math.log(big.node_nm) - math.log(small.node_nm)
            )
            return big, small, t
    raise AssertionError("node checked before")  # pragma: no cover


def factor(node_nm: float, law: str = "logic") -> float:
    """Scaling factor of ``law`` at ``node_nm`` (1.0 at 45 nm for logic and area).

    Parameters
    ----------
    node_nm : float
        Technology node, nm (7 to 130).
    law : str
        ``logic``, ``wire`` or ``area`` (see the module docstring).
    """
    node = check_node(node_nm)
    for t in TECH_NODES:
        if t.node_nm == node:
            return _tabulated(t, law)
    big, small, t = _bracket(node)
    lo, hi = math.log(_tabulated(big, law)), math.log(_tabulated(small, law))
    return math.exp(lo + (hi - lo) * t)


def ratio(node_nm: float, ref_node_nm: float, law: str = "logic") -> float:
    """``factor(node_nm) / factor(ref_node_nm)``; exactly 1.0 when the nodes are equal."""
    if check_node(node_nm) == check_node(ref_node_nm):
        return 1.0
    return factor(node_nm, law) / factor(ref_node_nm, law)


def nominal_vdd(node_nm: float) -> float:
    """Nominal supply at ``node_nm``, V (interpolated in log node between table rows)."""
    node = check_node(node_nm)
    for t in TECH_NODES:
        if t.node_nm == node:
            return t.vdd_v
    big, small, t = _bracket(node)
    return big.vdd_v + (small.vdd_v - big.vdd_v) * t


SRAM_LEAK_PW_PER_BIT_45 = 100.0
"""Leakage of one SRAM bit at 45 nm, nominal supply, pW (assumption: see the module doc)."""

GATE_LEAK_NW_PER_GE_45 = 1.0
"""Leakage of one NAND2 gate equivalent at 45 nm, nominal supply, nW (assumption)."""

FO4_PS_PER_NM = 0.5
"""One fan-out-of-4 inverter delay per nm of feature size, ps (rule of thumb)."""

FO4_PER_CYCLE = 40
"""FO4 delays in one clock cycle of the chip's pipelined datapath (assumption)."""


def leakage_factor(node_nm: float) -> float:
    """Leakage per bit or gate at ``node_nm`` relative to 45 nm, at each node's
    nominal supply: ``(node / 45) x (Vdd_N / Vdd_45)`` (see the module doc)."""
    node = check_node(node_nm)
    return (node / 45.0) * (nominal_vdd(node) / nominal_vdd(45.0))


def fmax_nominal_mhz(node_nm: float) -> float:
    """Clock limit at the node's nominal supply, MHz: ``1 / (FO4_PER_CYCLE x FO4)``
    with ``FO4 = FO4_PS_PER_NM x node`` ps."""
    node = check_node(node_nm)
    return 1e6 / (FO4_PER_CYCLE * FO4_PS_PER_NM * node)
