"""Chip dataclasses, presets and chip files; the area model; describe_chip."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

import pytest

import hw_models.chip as chip_mod
from hw_models import area, technology
from hw_models.chip import Chip, LinkSpec, chip_from_dict, load_chip, preset_names
from hw_models.describe import describe_chip
from hw_models.energy import EnergyTable
from neurosim.errors import ConfigError

PRESETS = ("small", "ref45", "dfa65")


def write(tmp_path: Path, text: str, name: str = "chip.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


# ------------------------------------------------------------ presets


def test_presets_are_shipped():
    assert set(PRESETS) <= set(preset_names())


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_loads_and_describes(name):
    c = load_chip(name)
    assert c.name == name and c.description
    t = c.tile
    assert t.synapses * c.weight_bits <= t.sram_bits
    assert c.area_mm2() > 0 and c.cycle_ns > 0
    text = describe_chip(c, c.energy_table())
    for needle in (name, "KiB", "MHz", "mm^2", "Horowitz", "Keckler", "Stillmaker", "skip bus"):
        assert needle in text
    for row in c.energy_table().names:
        assert f"\n  {row} " in text
    # the chip-file schema round-trips
    assert chip_from_dict(c.to_dict()) == c


def test_preset_shapes():
    small, ref, dfa = (load_chip(n) for n in PRESETS)
    assert (small.tile.rows, small.tile.cols) == (16, 16)
    assert (ref.node_nm, ref.tile.rows, ref.tile.cols, ref.tile.macs_per_cycle) == (45, 128, 128, 8)
    assert (dfa.node_nm, dfa.clock_mhz, dfa.feedback_storage) == (65, 200, "prng")
    assert dfa.tile.feedback_sram_kib == 0


def test_default_chip_is_ref45():
    assert dataclasses.replace(load_chip("ref45"), description="", name="ref45") == Chip()


# ------------------------------------------------------------ chip files


def test_user_file_in_the_preset_schema(tmp_path):
    p = write(
        tmp_path,
        """
node_nm = 28
clock_mhz = 1000
n_tiles = 4
weight_bits = 8
feedback_storage = "binary"
[tile]
rows = 32
cols = 64
macs_per_cycle = 16
sram_kib = 2
feedback_sram_kib = 0.25
grad_sram_kib = 8
lut_lookups_per_cycle = 1
update_per_cycle = 4
area_mm2 = 0.05
[links.forward]
width_bits = 128
length_mm = 0.3
arbitration = "fixed_priority"
[energy_overrides]
add = 0.02
""",
        name="mine.toml",
    )
    c = load_chip(str(p))
    assert c.name == "mine"  # the file's stem
    assert (c.node_nm, c.tile.rows, c.tile.cols, c.tile.sram_kib) == (28.0, 32, 64, 2.0)
    assert isinstance(c.node_nm, float) and isinstance(c.tile.sram_kib, float)
    assert c.links.forward == LinkSpec(128, 0.3, "fixed_priority")
    assert c.links.skip_bus == Chip().links.skip_bus  # not given: default
    assert c.tile_area_mm2() == 0.05 and c.area_mm2() == pytest.approx(0.2)
    assert c.energy_table().energy_pj("add", 45, bits=8) == 0.02
    assert load_chip(p) == c  # a Path works too


def test_base_preset_and_overrides_file(tmp_path):
    write(tmp_path, "mult = 0.5\n", name="ert.toml")
    p = write(tmp_path, 'base = "small"\nenergy_overrides = "ert.toml"\n[tile]\nrows = 8\n')
    c = load_chip(p)
    small = load_chip("small")
    assert c.tile.rows == 8 and c.tile.cols == small.tile.cols
    assert c.name == "chip" and c.description.startswith("Preset small with changes.")
    assert c.energy_table().energy_pj("mult", 45, a_bits=8, b_bits=8) == 0.5


# field path, file text
BAD_FILES = [
    ("bogus", "bogus = 1\n"),
    ("tile.bogus", "[tile]\nbogus = 1\n"),
    ("links.skip_bus.bogus", "[links.skip_bus]\nbogus = 1\n"),
    ("links.bogus", "[links.bogus]\nwidth_bits = 1\n"),
    ("links.forward.width_bits", "[links.forward]\nwidth_bits = -8\n"),
    ("links.backward_chain.length_mm", "[links.backward_chain]\nlength_mm = 0\n"),
    ("links.forward.arbitration", '[links.forward]\narbitration = "lottery"\n'),
    ("tile.sram_kib", "[tile]\nsram_kib = 31.5\n"),  # 128 x 128 x 16 bits need 32 KiB
    ("tile.sram_kib", "weight_bits = 17\n"),
    ("tile.rows", '[tile]\nrows = "128"\n'),
    ("tile.rows", "[tile]\nrows = 128.0\n"),
    ("tile.rows", "[tile]\nrows = true\n"),
    ("tile.rows", "[tile]\nrows = 0\n"),
    ("tile.macs_per_cycle", "[tile]\nrows = 2\ncols = 2\nmacs_per_cycle = 5\n"),
    (
        "tile.update_per_cycle",
        "[tile]\nrows = 2\ncols = 2\nmacs_per_cycle = 4\nupdate_per_cycle = 5\n",
    ),
    ("tile.feedback_sram_kib", "[tile]\nfeedback_sram_kib = -1\n"),
    ("tile.area_mm2", "[tile]\narea_mm2 = 0\n"),
    ("tile", "tile = 5\n"),
    ("node_nm", "node_nm = 3\n"),
    ("clock_mhz", "clock_mhz = 0\n"),
    ("clock_mhz", "clock_mhz = inf\n"),
    ("feedback_storage", 'feedback_storage = "csr"\n'),
    ("name", "name = 5\n"),
    ("base", 'base = "nope"\n'),
    ("energy_overrides.bogus", "[energy_overrides]\nbogus = 1\n"),
    ("energy_overrides.add", "[energy_overrides]\nadd = -1\n"),
    ("energy_overrides", "energy_overrides = 5\n"),
    ("energy_overrides", 'energy_overrides = "missing.toml"\n'),
]


@pytest.mark.parametrize("field, text", BAD_FILES)
def test_bad_chip_files_name_the_field(tmp_path, field, text):
    with pytest.raises(ConfigError) as ei:
        load_chip(write(tmp_path, text))
    assert ei.value.field == field
    assert field in str(ei.value)


def test_toml_syntax_error_names_the_file(tmp_path):
    p = write(tmp_path, "[tile]\nrows = = 3\n")
    with pytest.raises(ConfigError) as ei:
        load_chip(str(p))
    assert ei.value.field == "chip" and str(p) in str(ei.value)
    assert "TOML" in str(ei.value)


def test_unknown_preset_or_missing_file(tmp_path):
    with pytest.raises(ConfigError) as ei:
        load_chip("nonesuch")
    assert ei.value.field == "chip" and "ref45" in str(ei.value)
    with pytest.raises(ConfigError) as ei:
        load_chip(tmp_path / "missing.toml")
    assert ei.value.field == "chip"


def test_direct_construction_is_validated():
    c = Chip()
    with pytest.raises(ConfigError) as ei:
        dataclasses.replace(c, tile=dataclasses.replace(c.tile, cols=256))
    assert ei.value.field == "tile.sram_kib"
    with pytest.raises(ConfigError) as ei:
        dataclasses.replace(c, links=dataclasses.replace(c.links, skip_bus=LinkSpec(0, 1.0)))
    assert ei.value.field == "links.skip_bus.width_bits"
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.node_nm = 7  # type: ignore[misc]
    c2 = Chip(energy_overrides={"reg": 0.001})
    assert c2.energy_table().energy_pj("reg", 45) == 0.001


def test_every_field_has_a_docstring():
    tree = ast.parse(inspect.getsource(chip_mod))
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    assert {c.name for c in classes} >= {"Chip", "TileSpec", "Links", "LinkSpec"}
    for cls in classes:
        body = cls.body
        for i, node in enumerate(body):
            if isinstance(node, ast.AnnAssign):
                nxt = body[i + 1] if i + 1 < len(body) else None
                ok = (
                    isinstance(nxt, ast.Expr)
                    and isinstance(nxt.value, ast.Constant)
                    and isinstance(nxt.value.value, str)
                )
                assert ok, f"{cls.name}.{node.target.id} has no docstring"


# ------------------------------------------------------------ area model


def test_area_model():
    c = load_chip("ref45")
    ta = c.tile_area()
    # SRAM: (32 + 16 + 64) KiB x 0.346 um^2 / 0.7 at 45 nm
    assert ta.sram_mm2 == pytest.approx(112 * 8192 * 0.346 / 0.7 / 1e6, rel=1e-12)
    # MAC: 16 x 16 x 8 GE + 39 x 13 GE, x 0.798 um^2, 8 of them
    assert ta.mac_mm2 == pytest.approx(8 * (16 * 16 * 8 + 39 * 13) * 0.798 / 1e6, rel=1e-12)
    assert c.tile_area_mm2() == pytest.approx(ta.total_mm2)
    smaller = dataclasses.replace(c, node_nm=7.0)
    assert smaller.tile_area().total_mm2 == pytest.approx(0.059 * ta.total_mm2, rel=1e-12)
    areas = [area.sram_mm2(8192, tn.node_nm) for tn in technology.TECH_NODES]
    assert all(a > b for a, b in zip(areas, areas[1:], strict=False))
    assert area.sram_mm2(2 * 8192, 45) == 2 * area.sram_mm2(8192, 45)


def test_memories_and_links_by_accounting_name():
    c = load_chip("ref45")
    assert [c.memory_kib(m) for m in ("weights", "feedback", "grad")] == [32, 16, 64]
    assert c.link("skip") is c.links.skip_bus and c.link("chain") is c.links.backward_chain
    assert c.link("forward").width_bits == 64
    with pytest.raises(ConfigError):
        c.memory_kib("dram")
    with pytest.raises(ConfigError):
        c.link("ring")


def test_energy_table_of_a_chip_defaults_to_the_default_table():
    c = load_chip("small")
    t = c.energy_table()
    assert [r.energy_pj for r in t.rows()] == [r.energy_pj for r in EnergyTable.default().rows()]
