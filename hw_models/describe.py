"""A printable description of a chip and the energy table that prices it."""

from __future__ import annotations

import textwrap

from hw_models import area as _area
from hw_models import power, technology
from hw_models.chip import Chip
from hw_models.energy import KIB_BITS, EnergyTable

_WIDTH = 100


def _kib(bits: float) -> str:
    return f"{bits / KIB_BITS:g} KiB"


def _wrap(text: str, indent: str) -> str:
    return textwrap.fill(
        text, width=_WIDTH, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
    )


def _at_chip(chip: Chip, table: EnergyTable) -> dict[str, tuple[str, float]]:
    """Each row priced at this chip's node, with representative parameters."""
    t, w, n = chip.tile, chip.weight_bits, chip.node_nm
    acc = 2 * w + max(0, (t.cols - 1).bit_length())
    params = {
        "add": {"bits": w},
        "mult": {"a_bits": w, "b_bits": w},
        "mac": {"a_bits": w, "b_bits": w, "acc_bits": acc},
        "shift": {"bits": acc},
        "shift_add": {"bits": acc},
        "sram_read": {"kib": t.sram_kib},
        "sram_write": {"kib": t.sram_kib},
        "lut": {"in_bits": 12, "out_bits": 8},
        "wire": {"length_mm": 1.0},
        "dram_read": {"bits": chip.dram.access_bits},
        "dram_write": {"bits": chip.dram.access_bits},
    }
    out = {}
    for name in table.names:
        p = params.get(name, {})
        point = ", ".join(f"{k}={v:g}" for k, v in p.items()) or "-"
        out[name] = (point, table.energy_pj(name, n, **p))
    return out


def _power_lines(chip: Chip, table: EnergyTable) -> list[str]:
    """Off-chip memory, supply, clock limit and static power."""
    d, s, sp = chip.dram, power.supply(chip), power.static_power(chip, table)
    pj_bit = table.energy_pj("dram_read", chip.node_nm, bits=d.access_bits) / d.access_bits
    return [
        "off-chip DRAM",
        f"  bandwidth       {d.bandwidth_gbit_s:g} Gbit/s"
        f" ({d.bandwidth_gbit_s * 1e3 / chip.clock_mhz:.4g} bits per cycle),"
        f" {d.access_bits}-bit accesses, {pj_bit:.4g} pJ per bit read",
        "supply and clock",
        f"  vdd             {s.vdd_v:g} V (nominal {s.nominal_v:g} V at {chip.node_nm:g} nm);"
        f" dynamic energy x{s.dynamic_factor:.4g}, leakage x{s.leakage_factor:.4g}",
        f"  clock limit     {s.fmax_mhz:.4g} MHz at vdd ({s.fmax_nominal_mhz:.4g} MHz at"
        f" nominal; alpha-power law, vth {s.vth_v:.3g} V, alpha {s.alpha:g})",
        f"static power      {sp.total_mw:.4g} mW, every cycle, all {chip.n_tiles} tiles",
        f"  SRAM leakage    {sp.sram_leak_mw:.4g} mW"
        f" ({power.sram_leak_pw_per_bit(chip):.4g} pW per bit)",
        f"  logic leakage   {sp.logic_leak_mw:.4g} mW ({power.tile_gates(chip):.0f} GE per tile,"
        f" {power.gate_leak_nw_per_ge(chip):.4g} nW per GE)",
        f"  clock, control  {sp.clock_mw:.4g} mW"
        f" ({power.clock_pj_per_tile_cycle(chip, table):.4g} pJ per tile per cycle)",
    ]


def describe_chip(chip: Chip, table: EnergyTable | None = None) -> str:
    """Text description: tiles, memories, links, clock, node, area, energy table.

    Parameters
    ----------
    chip : Chip
        The chip.
    table : EnergyTable, optional
        The table that prices it (default: ``chip.energy_table()``).
    """
    table = table or chip.energy_table()
    t = chip.tile
    lines = [f"chip {chip.name}: {chip.node_nm:g} nm, {chip.clock_mhz:g} MHz, {chip.n_tiles} tiles"]
    if chip.description:
        lines.append(_wrap(chip.description, "  "))
    lines += [
        "",
        "tile",
        f"  synapses        {t.rows} x {t.cols} at {chip.weight_bits} bits (default weight width)",
        f"  MAC array       {t.macs_per_cycle} MACs/cycle",
        f"  activation LUT  {t.lut_lookups_per_cycle} lookups/cycle",
        f"  update unit     {t.update_per_cycle} synapses/cycle",
        "memories (per tile)",
        f"  weights         {_kib(t.sram_bits)}"
        f" (rows x cols x weight_bits needs {_kib(t.synapses * chip.weight_bits)})",
        f"  feedback C^h    {_kib(t.feedback_sram_bits)}, stored as {chip.feedback_storage}",
        f"  gradients       {_kib(t.grad_sram_bits)}",
        "links",
    ]
    for label, name in (
        ("forward", "forward"),
        ("skip bus", "skip_bus"),
        ("backward chain", "backward_chain"),
    ):
        link = getattr(chip.links, name)
        lines.append(
            f"  {label:<15} {link.width_bits} bits/cycle, {link.length_mm:g} mm, {link.arbitration}"
        )
    lines += [
        "",
        f"clock {chip.clock_mhz:g} MHz (cycle {chip.cycle_ns:g} ns), node {chip.node_nm:g} nm",
    ]
    ta = chip.tile_area()
    lines.append("area")
    if t.area_mm2 is not None:
        lines.append(f"  tile            {t.area_mm2:.4g} mm^2 (given in the chip file)")
        lines.append(f"  estimate        {ta.total_mm2:.4g} mm^2 (model below, for comparison)")
    else:
        lines.append(
            f"  tile            {ta.total_mm2:.4g} mm^2 = SRAM {ta.sram_mm2:.4g}"
            f" + MACs {ta.mac_mm2:.4g} + update {ta.update_mm2:.4g} (estimate)"
        )
    lines.append(
        f"  chip            {chip.area_mm2():.4g} mm^2 ({chip.n_tiles} tiles; no I/O, control)"
    )
    lines.append(
        "  model           SRAM bits x cell / efficiency + MACs x GE x NAND2 area + update adders,"
    )
    lines.append(
        f"                  x area factor {technology.factor(chip.node_nm, 'area'):.3g}"
        f" ({chip.node_nm:g} nm vs 45 nm); a lower bound (no LUTs, control, wiring)"
    )
    for r in _area.AREA_ROWS:
        lines.append(_wrap(f"{r.name} = {r.value:g} {r.unit}: {r.source}", "    "))

    lines += _power_lines(chip, table)
    lines += ["", "technology scaling (relative to 45 nm; Stillmaker & Baas 2017; wire: Vdd^2)"]
    lines.append("  node nm   Vdd V   logic energy   wire energy   area")
    for tn in technology.TECH_NODES:
        lines.append(
            f"  {tn.node_nm:>7g}   {tn.vdd_v:5.2f}   {technology.factor(tn.node_nm):12.4g}"
            f"   {technology.ratio(tn.node_nm, 45, 'wire'):11.4g}   {tn.area:4.3g}"
        )
    lines.append(
        f"  this chip {chip.node_nm:g} nm: logic x{technology.factor(chip.node_nm):.4g},"
        f" wire x{technology.ratio(chip.node_nm, 45, 'wire'):.4g}"
    )

    lines += ["", f"energy table (priced at {chip.node_nm:g} nm for this chip)"]
    at = _at_chip(chip, table)
    lines.append(
        f"  {'action':<11} {'reference pJ':>12}  {'reference point':<42} {'here pJ':>10}  at"
    )
    for v in table.rows():
        point, here = at[v.name]
        lines.append(
            f"  {v.name:<11} {v.energy_pj:>12.5g}  {v.reference:<42} {here:>10.5g}  {point}"
        )
        lines.append(_wrap(f"unit: {v.unit}; law: {v.law}", "      "))
        lines.append(_wrap(f"source: {v.source}", "      "))
    return "\n".join(lines) + "\n"
