"""The energy reference table: cited numbers, scaling laws, overrides."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hw_models import technology
from hw_models.energy import DEFAULT_ROWS, ROW_NAMES, EnergyTable, Override
from neurosim.errors import ConfigError

T = EnergyTable.default()
NODES = [tn.node_nm for tn in technology.TECH_NODES]  # largest first


# ------------------------------------------------------------ cited numbers

# (action, node, params, cited pJ, multiplier applied to the table's value)
CITED = [
    ("add", 45, {"bits": 8}, 0.03, 1),  # Horowitz ISSCC 2014
    ("add", 45, {"bits": 32}, 0.1, 1),
    ("mult", 45, {"a_bits": 8, "b_bits": 8}, 0.2, 1),
    ("mult", 45, {"a_bits": 32, "b_bits": 32}, 3.1, 1),
    ("sram_read", 45, {"kib": 8}, 10.0, 64),  # a 64-bit read
    ("sram_read", 45, {"kib": 32}, 20.0, 64),
    ("sram_read", 45, {"kib": 1024}, 100.0, 64),
    ("sram_write", 45, {"kib": 8}, 10.0, 64),
    ("wire", 40, {"length_mm": 10}, 310.0, 256),  # Keckler et al. 2011: 256 b x 10 mm
    ("reg", 45, {}, 0.00375, 1),
]


@pytest.mark.parametrize("action, node, params, cited, mult", CITED)
def test_reference_points_equal_the_cited_numbers_exactly(action, node, params, cited, mult):
    assert T.energy_pj(action, node, **params) * mult == cited


def test_node_factor_is_exactly_one_at_the_reference_node():
    assert technology.factor(45) == 1.0
    assert technology.factor(45, "area") == 1.0
    assert technology.ratio(40, 40, "wire") == 1.0


def test_composites_are_their_parts():
    e = T.energy_pj
    assert e("mac", 45, a_bits=8, b_bits=8, acc_bits=32) == pytest.approx(0.2 + 0.1, abs=0)
    assert e("mac", 28, a_bits=6, b_bits=4, acc_bits=20) == pytest.approx(
        e("mult", 28, a_bits=6, b_bits=4) + e("add", 28, bits=20), rel=1e-15
    )
    assert e("shift_add", 45, bits=32) == 0.2
    assert e("shift", 45, bits=16) == e("add", 45, bits=16)
    # a LUT of 2^10 x 8 bits is 1 KiB: 8 bit reads of a 1 KiB array
    assert e("lut", 45, in_bits=10, out_bits=8) == 8 * e("sram_read", 45, kib=1)
    assert e("rng_bit", 45) == pytest.approx((3 * 0.1 + 32 * 0.00375) / 32, rel=1e-15)


def test_laws_between_the_anchors():
    # add: linear in bits -> 20 bits is half way between 0.03 and 0.1
    assert T.energy_pj("add", 45, bits=20) == pytest.approx(0.065, rel=1e-12)
    # mult: linear in the product of widths
    assert T.energy_pj("mult", 45, a_bits=16, b_bits=34) == pytest.approx(
        0.2 + (3.1 - 0.2) * (544 - 64) / (1024 - 64), rel=1e-12
    )
    # sram: log energy linear in log size -> 16 KiB is the geometric mean
    assert T.energy_pj("sram_read", 45, kib=16) * 64 == pytest.approx(math.sqrt(200), rel=1e-12)
    # below 8 KiB the exponent 0.5 continues
    assert T.energy_pj("sram_read", 45, kib=2) * 64 == pytest.approx(5.0, rel=1e-12)
    # wire: proportional to length
    assert T.energy_pj("wire", 40, length_mm=2.5) == pytest.approx(2.5 * 310 / 2560, rel=1e-15)
    assert T.energy_pj("wire", 40, length_mm=0) == 0.0


# ------------------------------------------------------------ monotone laws

SCALED = [
    ("add", {"bits": 16}),
    ("mult", {"a_bits": 8, "b_bits": 8}),
    ("mac", {"a_bits": 16, "b_bits": 8, "acc_bits": 32}),
    ("shift_add", {"bits": 24}),
    ("sram_read", {"kib": 32}),
    ("sram_write", {"kib": 2}),
    ("lut", {"in_bits": 12, "out_bits": 8}),
    ("reg", {}),
    ("rng_bit", {}),
]


@pytest.mark.parametrize("action, params", SCALED)
def test_energy_falls_with_the_node(action, params):
    es = [T.energy_pj(action, n, **params) for n in NODES]
    assert all(a > b > 0 for a, b in zip(es, es[1:], strict=False))


def test_wire_energy_follows_vdd_squared():
    es = [T.energy_pj("wire", n) for n in NODES]
    assert all(a >= b > 0 for a, b in zip(es, es[1:], strict=False))
    assert es[0] > es[-1]
    assert T.energy_pj("wire", 7) / T.energy_pj("wire", 45) == pytest.approx(0.49, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.floats(7, 130), st.floats(7, 130))
def test_logic_energy_is_monotone_in_any_node(a, b):
    lo, hi = sorted((a, b))
    assert T.energy_pj("add", lo, bits=8) <= T.energy_pj("add", hi, bits=8)
    assert T.energy_pj("sram_read", lo, kib=4) <= T.energy_pj("sram_read", hi, kib=4)


def test_energy_rises_with_bits_and_array_size():
    adds = [T.energy_pj("add", 45, bits=b) for b in range(1, 65)]
    assert all(0 < a < b for a, b in zip(adds, adds[1:], strict=False))
    mults = [T.energy_pj("mult", 45, a_bits=b, b_bits=b) for b in range(1, 33)]
    assert all(0 < a < b for a, b in zip(mults, mults[1:], strict=False))
    assert T.energy_pj("mult", 45, a_bits=8, b_bits=4) < T.energy_pj("mult", 45, a_bits=8, b_bits=5)
    sizes = [2.0**k for k in range(-13, 13)]  # one bit .. 4 MiB
    srams = [T.energy_pj("sram_read", 45, kib=s) for s in sizes]
    assert all(0 < a < b for a, b in zip(srams, srams[1:], strict=False))
    luts = [T.energy_pj("lut", 45, in_bits=i, out_bits=8) for i in range(1, 17)]
    assert all(a < b for a, b in zip(luts, luts[1:], strict=False))


def test_interpolated_node_lies_between_its_neighbours():
    for action, params in SCALED[:3]:
        e32, e28, e20 = (T.energy_pj(action, n, **params) for n in (32, 28, 20))
        assert e32 > e28 > e20


# ------------------------------------------------------------ rows


def test_rows_have_sources_laws_and_reference_energies():
    rows = T.rows()
    assert [r.name for r in rows] == list(ROW_NAMES)
    assert len(set(ROW_NAMES)) == len(ROW_NAMES)
    for needed in ("add", "mult", "mac", "shift_add", "sram_read", "sram_write", "lut"):
        assert needed in ROW_NAMES
    for needed in ("rng_bit", "wire", "reg"):
        assert needed in ROW_NAMES
    for r in rows:
        assert r.source and r.law and r.unit.startswith("pJ") and r.energy_pj > 0
        assert "nm" in r.reference
    by = {r.name: r for r in rows}
    assert by["add"].energy_pj == 0.03 and "Horowitz" in by["add"].source
    assert by["wire"].energy_pj == 310 / 2560 and "Keckler" in by["wire"].source
    assert by["mac"].energy_pj == pytest.approx(0.3, rel=1e-15)


def test_first_anchor_is_the_reference_point():
    for row in DEFAULT_ROWS:
        if row.compose is None:
            assert row.abscissa(row.bind(dict(row.reference))) == row.anchors[0][0]
            assert row.energy_pj == row.anchors[0][1]


# ------------------------------------------------------------ overrides


def test_override_scales_the_row_and_keeps_its_law():
    t = T.with_overrides({"add": 0.05})
    assert t.energy_pj("add", 45, bits=8) == 0.05
    assert t.energy_pj("add", 45, bits=32) == pytest.approx(0.1 * 0.05 / 0.03, rel=1e-12)
    # composites follow their parts
    assert t.energy_pj("mac", 45, a_bits=8, b_bits=8, acc_bits=8) == pytest.approx(0.25, rel=1e-12)
    # the default table is unchanged
    assert T.energy_pj("add", 45, bits=8) == 0.03


def test_override_of_a_composite_row_and_of_a_node():
    t = T.with_overrides(
        {"mac": 1.0, "sram_read": {"energy_pj": 0.05, "node_nm": 28, "source": "compiler"}}
    )
    assert t.energy_pj("mac", 45, a_bits=8, b_bits=8, acc_bits=32) == 1.0
    assert t.energy_pj("sram_read", 28, kib=8) == 0.05
    assert t.energy_pj("sram_read", 28, kib=32) == pytest.approx(0.1, rel=1e-12)
    assert t.energy_pj("sram_read", 45, kib=8) > 0.05
    assert {r.name: r.source for r in t.rows()}["sram_read"] == "compiler"
    assert "override" in {r.name: r.source for r in t.rows()}["mac"]


def test_override_items_and_zero_energy():
    t = T.with_overrides([Override("wire", 0.0)])
    assert t.energy_pj("wire", 45, length_mm=3) == 0.0


def test_from_toml(tmp_path):
    p = tmp_path / "ert.toml"
    p.write_text('add = 0.04\n[mult]\nenergy_pj = 0.3\nsource = "my synthesis"\n')
    t = EnergyTable.from_toml(p)
    assert t.energy_pj("add", 45, bits=8) == 0.04
    assert t.energy_pj("mult", 45, a_bits=8, b_bits=8) == 0.3


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"bogus": 1.0}, "energy.bogus"),
        ({"add": -0.1}, "energy.add"),
        ({"add": "0.1"}, "energy.add"),
        ({"add": True}, "energy.add"),
        ({"add": float("nan")}, "energy.add"),
        ({"mult": {"energy_pj": -1}}, "energy.mult.energy_pj"),
        ({"mult": {}}, "energy.mult.energy_pj"),
        ({"mult": {"energy_pj": 1, "pj": 2}}, "energy.mult.pj"),
        ({"mult": {"energy_pj": 1, "node_nm": 3}}, "energy.mult.node_nm"),
        ({"mult": {"energy_pj": 1, "source": 5}}, "energy.mult.source"),
    ],
)
def test_bad_overrides_name_the_row(overrides, field):
    with pytest.raises(ConfigError) as ei:
        T.with_overrides(overrides)
    assert ei.value.field == field
    row = field.split(".")[1]
    assert row in str(ei.value)


def test_bad_override_items_and_files(tmp_path):
    with pytest.raises(ConfigError, match="nope"):
        T.with_overrides([Override("nope", 1.0)])
    with pytest.raises(ConfigError, match="sram_read"):
        T.with_overrides([Override("sram_read", -2.0)])
    bad = tmp_path / "bad.toml"
    bad.write_text("add = = 1\n")
    with pytest.raises(ConfigError) as ei:
        EnergyTable.from_toml(bad)
    assert ei.value.field == "energy" and str(bad) in str(ei.value)
    with pytest.raises(ConfigError):
        EnergyTable.from_toml(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    "action, node, params, field",
    [
        ("nope", 45, {}, "action"),
        ("add", 45, {}, "add.bits"),
        ("add", 45, {"bits": 0}, "add.bits"),
        ("add", 45, {"bits": "8"}, "add.bits"),
        ("add", 45, {"bits": 8, "width": 8}, "add.width"),
        ("sram_read", 45, {"kib": -1}, "sram_read.kib"),
        ("wire", 45, {"length_mm": -1}, "wire.length_mm"),
        ("add", 3, {"bits": 8}, "node_nm"),
        ("add", 180, {"bits": 8}, "node_nm"),
        ("add", float("nan"), {"bits": 8}, "node_nm"),
    ],
)
def test_bad_queries(action, node, params, field):
    with pytest.raises(ConfigError) as ei:
        T.energy_pj(action, node, **params)
    assert ei.value.field == field
