"""Supply voltage, clock limit and static power, by hand."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from hw_models import power, technology
from hw_models.chip import chip_from_dict, load_chip
from hw_models.describe import describe_chip
from neurosim.errors import ConfigError


@pytest.mark.parametrize(
    "vdd, nominal, dynamic, leakage",
    [
        (1.0, 1.0, 1.0, 1.0),
        (0.9, 1.0, 0.81, 0.9 * math.exp(0.1 * -0.1 / (1.5 * 0.02585))),  # 0.6954
        (1.1, 1.0, 1.21, 1.1 * math.exp(0.1 * 0.1 / (1.5 * 0.02585))),  # 1.4236
        (0.7, 1.1, (0.7 / 1.1) ** 2, (0.7 / 1.1) * math.exp(0.1 * -0.4 / (1.5 * 0.02585))),
    ],
)
def test_voltage_laws(vdd, nominal, dynamic, leakage) -> None:
    assert power.dynamic_factor(vdd, nominal) == pytest.approx(dynamic)
    assert power.leakage_voltage_factor(vdd, nominal) == pytest.approx(leakage)


@pytest.mark.parametrize(
    "node, vdd, expected",
    [
        (45, 1.0, 1e6 / (40 * 0.5 * 45)),  # 1111 MHz: 40 FO4 of 22.5 ps
        (45, 0.8, 1111.111 * (0.5**1.3 / 0.8) / (0.7**1.3 / 1.0)),  # 896.8 MHz
        (65, 1.1, 1e6 / (40 * 0.5 * 65)),  # 769 MHz
    ],
)
def test_frequency_limit(node, vdd, expected) -> None:
    chip = chip_from_dict({"base": "ref45", "node_nm": node, "power": {"vdd_v": vdd}})
    assert power.supply(chip).fmax_mhz == pytest.approx(expected, rel=1e-6)


def test_clock_above_the_limit_is_refused() -> None:
    with pytest.raises(ConfigError) as ei:
        chip_from_dict({"base": "ref45", "clock_mhz": 1200})
    assert ei.value.field == "clock_mhz" and "1111" in str(ei.value)
    with pytest.raises(ConfigError) as ei:  # 0.8 V allows 897 MHz
        chip_from_dict({"base": "ref45", "clock_mhz": 900, "power": {"vdd_v": 0.8}})
    assert ei.value.field == "clock_mhz" and "896.8" in str(ei.value)
    with pytest.raises(ConfigError) as ei:  # at or below the threshold voltage
        chip_from_dict({"base": "ref45", "power": {"vdd_v": 0.3}})
    assert ei.value.field == "power.vdd_v"
    with pytest.raises(ConfigError) as ei:
        chip_from_dict({"base": "ref45", "power": {"alpha": 3.0}})
    assert ei.value.field == "power.alpha"
    # the presets run within their limits
    for name in ("ref45", "small", "dfa65", "ref45-prng"):
        load_chip(name)


def test_static_power_of_ref45_by_hand() -> None:
    chip = load_chip("ref45")
    sp = power.static_power(chip)
    # 16 tiles x (32 + 16 + 64) KiB x 8192 bits x 100 pW
    assert sp.sram_leak_mw == pytest.approx(16 * 112 * 8192 * 100e-9)
    # MAC lane: 16 x 16 multiplier x 8 GE + 39-bit accumulator x (7 + 6) GE = 2555 GE;
    # 8 lanes and 8 update adders of 16 x 7 GE = 21336 GE x 16 tiles x 1 nW
    assert power.tile_gates(chip) == 8 * 2555 + 8 * 112
    assert sp.logic_leak_mw == pytest.approx(16 * 21336 * 1e-6)
    # 8 x (16 + 16 + 39) + 8 x 32 = 824 flip-flops x 2 x 0.00375 pJ, 400 MHz, 16 tiles
    assert power.tile_flops(chip) == 824
    assert sp.clock_mw == pytest.approx(16 * 824 * 2 * 0.00375 * 400 * 1e-3)
    assert sp.total_mw == pytest.approx(sp.sram_leak_mw + sp.logic_leak_mw + sp.clock_mw)


def test_static_power_follows_node_and_supply() -> None:
    base = power.static_power(load_chip("ref45"))
    low = power.static_power(chip_from_dict({"base": "ref45", "power": {"vdd_v": 0.9}}))
    assert low.clock_mw == pytest.approx(base.clock_mw * 0.81)
    assert low.sram_leak_mw == pytest.approx(
        base.sram_leak_mw * power.leakage_voltage_factor(0.9, 1.0)
    )
    n28 = power.static_power(chip_from_dict({"base": "ref45", "node_nm": 28}))
    f = technology.leakage_factor(28)
    assert f == pytest.approx((28 / 45) * technology.nominal_vdd(28) / 1.0)
    assert n28.sram_leak_mw == pytest.approx(base.sram_leak_mw * f)
    given = chip_from_dict(
        {"base": "ref45", "power": {"sram_leak_pw_per_bit": 0, "gate_leak_nw_per_ge": 0,
                                    "clock_pj_per_tile_cycle": 1.0}}
    )  # fmt: skip
    sp = power.static_power(given)
    assert sp.sram_leak_mw == sp.logic_leak_mw == 0
    assert sp.clock_mw == pytest.approx(16 * 1.0 * 400 * 1e-3)


def test_dynamic_energy_scales_with_the_supply_squared() -> None:
    from neurosim.cost.bill import hardware_report
    from tests.test_hw_dram import _run

    plan, acct, eng = _run(n_tiles=2)
    nominal = hardware_report(plan, acct, dict(eng.counts))
    low_chip = chip_from_dict(
        {"base": "small", "n_tiles": 2, "tile": {"rows": 4, "cols": 4}, "power": {"vdd_v": 0.9}}
    )
    low = hardware_report(dataclasses.replace(plan, chip=low_chip), acct, dict(eng.counts))
    for phase in ("forward", "transport", "feedback", "update"):
        assert low["energy_pj_per_sample"]["by_phase"][phase] == pytest.approx(
            0.81 * nominal["energy_pj_per_sample"]["by_phase"][phase]
        )
    # DRAM is the off-chip memory's: no supply scaling
    assert low["energy_pj_per_sample"]["by_phase"]["dram"] == pytest.approx(
        nominal["energy_pj_per_sample"]["by_phase"]["dram"]
    )
    e, p = low["energy_pj_per_sample"], low["power_mw"]
    sps = low["samples_per_second"]
    assert e["total"] == pytest.approx(e["static"] + e["dynamic"])
    assert e["static"] == pytest.approx(p["static"] * 1e9 / sps)
    assert p["dynamic"] == pytest.approx(e["dynamic"] * sps * 1e-9)
    assert p["total"] == pytest.approx(p["static"] + p["dynamic"])
    assert low["vdd_v"] == 0.9
    json.dumps(low, allow_nan=False)


def test_describe_shows_dram_and_static_power() -> None:
    text = describe_chip(load_chip("ref45"))
    assert "dram_read" in text and "static power" in text and "102.4 Gbit/s" in text
