"""``neurosim validate``: every case stays in its documented band, the table's
keys, the CLI's exit code, and hand-computed checks of what the cases compute.

The bands are those of docs/validation.md: a row listed in ``IN_BAND`` has
the published direction and lies within a factor of 2; a row listed in
``OUT_OF_BAND`` does not, for the reason given (what the model lacks). A
change that moves a row across its band fails here, and the docs must follow.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import neurosim
from hw_models import technology
from hw_models.area import AREA_ROWS
from neurosim.cli import main
from neurosim.experiments import validation as v
from neurosim.experiments.validation import cases as vc
from neurosim.experiments.validation.runs import Runs, srbp_train_ops, variant_toml
from neurosim.nn.rules import RULES

HAS_SPOON_RULE = vc.SPOON_RULE in RULES
needs_spoon_rule = pytest.mark.skipif(
    not HAS_SPOON_RULE, reason=f"rule {vc.SPOON_RULE!r} is not in neurosim.nn.rules.RULES"
)

IN_BAND = {
    ("spoon28", "area, mm^2"),
    ("spoon28", "on-chip learning power overhead, %"),
    ("han-vlsi19", "pipelined DFA learning speed, % (2.2x)"),
    ("dflnpu65", "pipelining processing time, %"),
}

OUT_OF_BAND = {
    ("spoon28", "energy per classification, nJ (on chip)"):
        "no conv layer, event-driven control or neuron-state memory in the model",
    ("spoon28", "on-chip learning area overhead, %"):
        "below the chip with a shift-only update unit (+5.0 %), above it with a 24 x 16-bit "
        "multiplier per lane (+30.5 %); learning control and rounding logic not modelled",
    ("han-vlsi19", "energy efficiency, TOPS/W (on chip)"):
        "32-bit gradient SRAM read-modify-writes every sample dominate the energy at the "
        "assumed 1.1 V (0.7 V and register accumulation, both unsourced, would give 0.669)",
    ("han-vlsi19", "PRNG feedback energy efficiency, %"):
        "C^h is 10 columns wide: its DRAM traffic is small next to the weights'; conv "
        "blocks' C_b, which would be large, never cross DRAM in the model",
    ("han-vlsi19", "heterogeneous cores energy efficiency, %"):
        "no heterogeneous cores in the model",
    ("dflnpu65", "PRNG external memory access, %"):
        "C^h is 10 columns wide: its DRAM traffic is small next to the weights'; conv "
        "blocks are resident, so their C_b never crosses DRAM",
    ("dflnpu65", "adder-only binarized error area efficiency, %"):
        "the projection unit (16 lanes per tile, an assumption) is a small share of a tile "
        "whose SRAM dominates",
    ("dflnpu65", "adder-only binarized error energy efficiency, %"):
        "the projection is a tiny share of the training energy",
}

# rows out of band whose sign is still the published one
OUT_DIRECTION_OK = {
    ("spoon28", "on-chip learning area overhead, %"),
    ("dflnpu65", "adder-only binarized error area efficiency, %"),
    ("han-vlsi19", "PRNG feedback energy efficiency, %"),
    ("dflnpu65", "PRNG external memory access, %"),
    ("dflnpu65", "adder-only binarized error energy efficiency, %"),
}


@pytest.fixture(scope="module")
def dflnpu(tmp_path_factory):
    """dflnpu65's rows through the CLI (Markdown, CSV, JSON written)."""
    out = tmp_path_factory.mktemp("validation")
    rc = main(["validate", "--chip", "dflnpu65", "-o", str(out), "--json", str(out / "v.json")])
    assert rc == 0
    return out, json.loads((out / "v.json").read_text())


@pytest.fixture(scope="module")
def han():
    return neurosim.validate(chip="han-vlsi19")


@pytest.fixture(scope="module")
def spoon():
    if not HAS_SPOON_RULE:
        pytest.skip(f"rule {vc.SPOON_RULE!r} is not in neurosim.nn.rules.RULES")
    return neurosim.validate(chip="spoon28")


def test_every_case_is_documented():
    keys = {(c.chip, c.quantity) for c in vc.CASES}
    assert keys == IN_BAND | set(OUT_OF_BAND)
    assert not IN_BAND & set(OUT_OF_BAND)
    assert OUT_DIRECTION_OK <= set(OUT_OF_BAND)
    assert v.chips() == ["spoon28", "han-vlsi19", "dflnpu65"]


def _check_bands(rows):
    for r in rows:
        key = (r["chip"], r["quantity"])
        if key in IN_BAND:
            assert r["within_2x"], (key, r["simulated"], r["ratio"])
            assert r["direction_ok"] in (True, None), key
            assert 0.5 <= r["ratio"] <= 2.0
        else:
            assert not r["within_2x"], (key, "now within 2x: update docs/validation.md", r)
            if r["relative"]:
                assert r["direction_ok"] == (key in OUT_DIRECTION_OK), key


def test_han_bands(han):
    assert [r["chip"] for r in han] == ["han-vlsi19"] * 4
    _check_bands(han)


def test_dflnpu_bands(dflnpu):
    _, rows = dflnpu
    assert len(rows) == 4
    _check_bands(rows)


@needs_spoon_rule
def test_spoon_bands(spoon):
    assert len(spoon) == 4
    _check_bands(spoon)


def test_json_keys_and_files(dflnpu):
    out, rows = dflnpu
    need = {"chip", "quantity", "published", "simulated", "ratio", "relative",
            "direction_ok", "within_2x"}  # fmt: skip
    for r in rows:
        assert need <= set(r)
        assert isinstance(r["relative"], bool) and isinstance(r["within_2x"], bool)
    md = (out / "validation.md").read_text()
    assert md.startswith("| chip | quantity | published | simulated | ratio |")
    assert "-42.8 to -68.4" in md  # the published range, as a range
    csv_lines = (out / "validation.csv").read_text().splitlines()
    assert csv_lines[0].split(",")[:8] == [*v.COLUMNS[:8]]
    assert len(csv_lines) == 5


def test_unknown_chip_exits_2(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    p = subprocess.run(
        [sys.executable, "-m", "neurosim.cli", "validate", "--chip", "nope", "-o", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert p.returncode == 2
    assert "chip = 'nope'" in p.stderr and "spoon28" in p.stderr
    assert p.stderr.count("\n") == 1  # one line, no traceback


def test_unknown_chip_api():
    with pytest.raises(neurosim.ConfigError, match="validation cases"):
        neurosim.validate(chip="ref45")


# --------------------------------------------------------------- by hand
def test_make_row_rules():
    case = vc.Case("c", "q", 20.0, "s", lambda runs: None, relative=True)
    r = v.make_row(case, 30.0)
    assert r["ratio"] == pytest.approx(1.5) and r["direction_ok"] and r["within_2x"]
    r = v.make_row(case, -30.0)
    assert r["ratio"] == pytest.approx(-1.5) and not r["direction_ok"] and not r["within_2x"]
    r = v.make_row(case, None)
    assert r["ratio"] is None and r["direction_ok"] is False and not r["within_2x"]
    rng = vc.Case("c", "q", -55.6, "s", lambda runs: None, relative=True,
                  published_range=(-68.4, -42.8))  # fmt: skip
    assert v.make_row(rng, -50.0)["ratio"] == 1.0  # inside the range
    assert v.make_row(rng, -21.4)["ratio"] == pytest.approx(0.5)  # half the nearest end
    assert v.make_row(rng, -136.8)["ratio"] == pytest.approx(2.0)
    absolute = vc.Case("c", "q", 313.0, "s", lambda runs: None)
    r = v.make_row(absolute, 156.5)
    assert r["ratio"] == pytest.approx(0.5) and r["direction_ok"] is None and r["within_2x"]


def test_ops_by_hand():
    # 784-512-512-10: forward and gradients 784*512 + 512*512 + 512*10 MACs each,
    # direct projections 512*10 per hidden layer; 2 ops per MAC
    assert srbp_train_ops([784, 512, 512, 10]) == 2 * (2 * 668672 + 2 * 5120) == 2695168


@needs_spoon_rule
def test_spoon_area_overhead_by_hand():
    """spoon28 learns online with PRNG feedback and DRTP: its learning
    hardware is the update unit (8 lanes of an 8-bit adder and a barrel
    shifter of the 24-bit gradient product, 16-bit error x 8-bit input, by 0
    to 16 places: 5 stages of MUX2, update.lr_shift), one xorshift32 PRNG, the
    label logic (4-bit register, 10 AND2) and the f' table (1 port x 256 x 8
    bits of SRAM). With a 24 x 16 multiplier per lane instead, the overhead
    would be above the published +11.8 %; with the shifter it is below."""
    ge = {r.name: r.value for r in AREA_ROWS}
    f = technology.factor(28, "area")
    fixed = (32 * 6 + 96 * 2) + (4 * 6 + 10 * 1.33)  # PRNG, label logic
    lut = 1 * 256 * 8 * ge["sram_cell"] / ge["sram_efficiency"] * f / 1e6
    chip = neurosim.load_chip("spoon28")
    plain = chip.tile_area().total_mm2  # SRAM, MACs, update adders
    adders = 8 * 8 * 7 * ge["nand2"] * f / 1e6

    def overhead(lane_scaling_ge: float) -> tuple[float, float]:
        logic = (8 * (8 * 7 + lane_scaling_ge) + fixed) * ge["nand2"] * f / 1e6  # mm^2
        tile = plain - adders + logic + lut
        return 100 * (tile / (tile - logic - lut) - 1), tile

    shift, tile = overhead(24 * 5 * 2.33)
    mult, _ = overhead(24 * 16 * 8)
    assert shift < 11.8 < mult
    case = next(c for c in vc.CASES if c.quantity == "on-chip learning area overhead, %")
    with Runs() as runs:
        assert case.compute(runs) == pytest.approx(shift)
        area = next(c for c in vc.CASES if c.quantity == "area, mm^2").compute(runs)
    assert area == pytest.approx(8 * tile)


def test_han_rows_from_their_runs(han, tmp_path):
    """The pipelining row is the ratio of two runs' samples/s, the TOPS/W row
    the hand-counted ops over the run's energy without DRAM."""
    chip_file = tmp_path / "nopipe.toml"
    chip_file.write_text(variant_toml("han-vlsi19", "nopipe", {"pipeline": False}))
    assert not neurosim.load_chip(chip_file).pipeline
    fields = dict(vc.HAN_FIELDS)
    pipe = neurosim.run(neurosim.make_config(fields, chip="han-vlsi19")).hardware
    nopipe = neurosim.run(neurosim.make_config(fields, chip=str(chip_file))).hardware
    rows = {r["quantity"]: r for r in han}
    speed = 100 * (pipe["samples_per_second"] / nopipe["samples_per_second"] - 1)
    assert rows["pipelined DFA learning speed, % (2.2x)"]["simulated"] == pytest.approx(speed)
    e = pipe["energy_pj_per_sample"]
    tops_w = 2695168 / (e["total"] - e["by_phase"]["dram"])
    assert rows["energy efficiency, TOPS/W (on chip)"]["simulated"] == pytest.approx(tops_w)
    assert math.isclose(rows["energy efficiency, TOPS/W (on chip)"]["ratio"], tops_w / 1.32)
