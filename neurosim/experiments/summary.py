"""The text summary of a run record's ``hardware`` section (``neurosim train``).

:func:`hardware_lines` turns the section into short lines, one per topic: the
chip, energy (static and dynamic), power, cycles, throughput, utilisation and
bottleneck, DRAM traffic, the gradient strategy, bus traffic, memory and
tiles. Records written before a field existed (old stores) simply lose the
line or the part of a line that needs it. Only the fields every record has
had are required: the chip's identity, the energy and cycle totals, ``bus``,
``memory_bits`` and ``tiles``.
"""

from __future__ import annotations

import math
from typing import Any

from neurosim.cost.bill import PHASES

UTIL_ORDER = ("mac", "skip", "chain", "forward", "sram")
"""Resource classes of ``hardware.utilization`` shown first, in this order."""
REL_TOL = 1e-9  # relative tolerance when telling a serial schedule from cycle sums


def _nj(pj: float) -> str:
    return f"{pj / 1e3:.1f}"


def is_pipelined(h: dict[str, Any]) -> bool | None:
    """Whether the run's samples overlapped in time, read from the record.

    ``hardware.pipeline`` when the record has it. Otherwise from the cycles:
    a serial schedule's ``train`` cycles are exactly the latency plus the
    shared update and the DRAM cycles (plus the conv blocks' cycles, added
    to both); any other ``train`` is a pipelined steady state. A pipelined
    chip whose samples could not overlap (batch 1) reads as serial, which is
    what its schedule was.

    Returns
    -------
    bool or None
        None when the record has no latency (written before it existed).
    """
    if isinstance(h.get("pipeline"), bool):
        return h["pipeline"]
    c, lat = h.get("cycles_per_sample") or {}, h.get("latency_cycles_per_sample")
    if lat is None or "train" not in c:
        return None
    cc = (h.get("conv") or {}).get("cycles_per_sample") or {}
    conv = sum(cc.get(k, 0.0) for k in ("forward", "backward", "update"))
    serial = lat + c.get("update", 0.0) + c.get("dram", 0.0) + conv - cc.get("update", 0.0)
    return not math.isclose(c["train"], serial, rel_tol=REL_TOL, abs_tol=1e-9)


def _energy_lines(h: dict[str, Any]) -> list[str]:
    e = h["energy_pj_per_sample"]
    ph = e["by_phase"]
    phases = [k for k in PHASES if k in ph] + sorted(set(ph) - set(PHASES))
    split = ""
    if "static" in e and "dynamic" in e:
        split = f" = static {_nj(e['static'])} + dynamic {_nj(e['dynamic'])} nJ"
    out = [
        f"energy/sample  {_nj(e['total'])} nJ{split}  "
        f"(inference {_nj(h['inference_energy_pj'])} nJ)",
        "  by phase     " + ", ".join(f"{k} {_nj(ph[k])} nJ" for k in phases),
        "  by action    "
        + ", ".join(
            f"{k} {_nj(v)}" for k, v in sorted(e["by_action"].items(), key=lambda kv: -kv[1])
        )
        + " nJ",
    ]
    p = h.get("power_mw")
    if p:
        parts = {k: v for k, v in (h.get("static_power_mw") or {}).items() if k != "total"}
        detail = ", ".join(f"{k} {v:.3g}" for k, v in parts.items())
        vdd = h.get("vdd_v")
        out.append(
            f"power          {p['total']:.1f} mW: static {p['static']:.1f}"
            + (f" ({detail})" if detail else "")
            + f", dynamic {p['dynamic']:.1f} mW"
            + (f" at {vdd:.2f} V" if vdd is not None else "")
        )
    return out


def _time_lines(h: dict[str, Any]) -> list[str]:
    c = h["cycles_per_sample"]
    dram = f", dram {c['dram']:.1f}" if "dram" in c else ""
    lat = h.get("latency_cycles_per_sample")
    line = (
        f"cycles/sample  train {c['train']:.0f} (forward {c['forward']:.0f}, backward "
        f"{c['backward']:.0f}, update {c['update']:.1f}{dram}), inference {c['inference']:.0f}"
    )
    pipelined = is_pipelined(h)
    if lat is None:  # an old record: the throughput stays on the cycles line
        return [f"{line}; {h['samples_per_second']:.0f} samples/s"]
    out = [f"{line}; latency {lat:.0f}"]
    how = "pipelined (samples overlap)" if pipelined else "serial (one sample at a time)"
    out.append(f"throughput     {h['samples_per_second']:.0f} samples/s, {how}")
    util = h.get("utilization")
    if util:
        keys = [k for k in UTIL_ORDER if k in util] + sorted(set(util) - set(UTIL_ORDER))
        line = "utilisation    " + ", ".join(f"{k} {util[k]:.0%}" for k in keys)
        if h.get("bottleneck"):
            line += f"; bottleneck {h['bottleneck']}"
        out.append(line)
    return out


def _dram_line(h: dict[str, Any]) -> list[str]:
    d = h.get("dram_bits_per_sample")
    if not d:
        return []
    detail = ", ".join(f"{k} {v:.0f}" for k, v in (d.get("by_detail") or {}).items())
    groups = (h.get("tiles") or {}).get("groups", 1)
    mux = f"; {groups} tile groups, time-multiplexed" if groups and groups > 1 else ""
    return [
        f"DRAM/sample    {d['total']:.0f} bits (read {d.get('read', 0):.0f}, "
        f"write {d.get('write', 0):.0f}" + (f": {detail}" if detail else "") + f"){mux}"
    ]


def _update_line(h: dict[str, Any]) -> list[str]:
    u = h.get("update")
    if not u:
        return []
    where = {
        "sram": "minibatch gradients accumulated in a gradient SRAM",
        "register": "minibatch gradients accumulated in the tile's registers",
        "online": "online: weights updated after every sample",
    }.get(u.get("accumulate"), f"accumulate {u.get('accumulate')}")
    skip = "zero errors skipped" if u.get("zero_skip") else "no zero skipping"
    return [f"gradients      {where}; {skip}"]


def _memory_lines(h: dict[str, Any]) -> list[str]:
    bus = h["bus"]
    links = ", ".join(f"{k} {v:.1f} bits" for k, v in bus["bits_per_sample"].items())
    pk = ", ".join(f"{k} {v}" for k, v in bus["packets_per_sample"].items()) or "none"
    m = h["memory_bits"]
    extra = "".join(
        f", {k} {m[k]}" for k in ("grad", "buffer", "velocity") if m.get(k)
    )
    t = h["tiles"]
    per = ", ".join(
        f"W^{i + 1} {n} ({u:.0%})"
        for i, (n, u) in enumerate(zip(t["per_layer"], t["utilisation"], strict=True))
    )
    return [
        f"bus/sample     {links}; error packets {pk}",
        f"memory bits    forward {m['forward']}, feedback {m['feedback']}"
        f"{_feedback_per_layer(m)}{extra}",
        f"tiles (used)   {per}",
    ]


def _feedback_per_layer(m: dict[str, Any]) -> str:
    """`` (C^1 a, C^2 b)``: the feedback memory of each layer that holds a
    ``C^h`` (per-layer ``feedback_bits``), from the per-tile memory; empty
    when fewer than two layers hold one or the record has no per-tile list."""
    per: dict[int, int] = {}
    for t in m.get("per_tile", []):
        if t.get("feedback"):
            per[t["layer"]] = per.get(t["layer"], 0) + t["feedback"]
    if len(per) < 2:
        return ""
    return " (" + ", ".join(f"C^{h} {b}" for h, b in sorted(per.items())) + ")"


def hardware_lines(h: dict[str, Any]) -> list[str]:
    """The summary of a record's ``hardware`` section, one topic a line.

    Parameters
    ----------
    h : dict
        The record's ``hardware`` section (:func:`neurosim.cost.bill.hardware_report`);
        fields added later (power, DRAM, latency, utilisation, gradient
        strategy) are shown when present.

    Returns
    -------
    list of str
        The lines, without newlines.
    """
    out = [
        f"chip           {h['chip']} ({h['node_nm']:g} nm, {h['clock_mhz']:g} MHz), "
        f"{h['tiles']['used']} tiles, area {h['area_mm2']:.2f} mm^2, "
        f"C^h {h['feedback_storage']}"
    ]
    out += _energy_lines(h) + _time_lines(h) + _dram_line(h) + _update_line(h)
    out += _memory_lines(h)
    if h.get("conv"):
        c = h["conv"]
        blocks = ", ".join(f"K^{i + 1} {n}" for i, n in enumerate(c["tiles"]))
        cc = c["cycles_per_sample"]
        out.append(
            f"conv blocks    tiles {blocks}; cycles/sample forward {cc['forward']:.0f}, "
            f"backward {cc['backward']:.0f}, update {cc['update']:.1f} (included above)"
        )
    if not h.get("fits", True):
        out.append("warning: the network does not fit this chip: " + "; ".join(h["violations"]))
    return out
