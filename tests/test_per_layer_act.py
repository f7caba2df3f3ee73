"""Per-layer activation widths (``act_bits``, ``act_int_bits``: one per dense layer).

Entry ``h - 1`` sets hidden ``O^h`` and ``f'(S^h)``, the last entry the output
``O^L``; the input ``O^0`` is as wide as the first entry. The fast engine
against the golden reference on mixed widths is in the shared suite
(:data:`tests.engine_cases.PER_LAYER_ACT_VARIANTS`); here: a uniform list is
the single value bit for bit (weights, counts, energy, cycles), each layer's
formats and tables, hand-computed MAC, wire, ``f'``, gradient, buffer, DRAM
and forward-link widths of small networks, bad lists, the CLI flag, TOML, a
sweep axis and a search choice.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from hw_models.chip import chip_from_dict, load_chip
from hw_models.timing import ChipTiming, build_inference_graph, tiles_for_network
from neurosim.config import TrainConfig
from neurosim.cost.accounting import Accountant
from neurosim.errors import ConfigError
from neurosim.experiments.search_spec import SearchSpec
from neurosim.experiments.sweep import SweepSpec, point_id
from neurosim.nn.network import Formats, Luts
from neurosim.numerics.fixedpoint import FixedFormat
from neurosim.plan import make_plan
from tests.per_layer_cases import cli, run_small


# ----------------------------------------------------------------------- identity
@pytest.mark.parametrize("rule", ["srbp", "bp", "rbp", "asrbp", "drtp", "sbp"])
def test_uniform_list_is_the_single_value_bit_for_bit(digits, rule) -> None:
    one = run_small(digits, rule=rule, act_bits=7, act_int_bits=1)
    many = run_small(digits, rule=rule, act_bits=[7, 7, 7], act_int_bits=(1, 1, 1))
    for a, b in zip(one.engine.W, many.engine.W, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(one.engine.C, many.engine.C, strict=True):
        np.testing.assert_array_equal(a, b)
    assert dict(one.engine.counts) == dict(many.engine.counts)
    h1, h2 = one.hardware, many.hardware
    assert h1["energy_pj_per_sample"] == h2["energy_pj_per_sample"]
    assert h1["cycles_per_sample"] == h2["cycles_per_sample"]
    assert h1["memory_bits"] == h2["memory_bits"] and h1["bus"] == h2["bus"]
    assert one.test_accuracy == many.test_accuracy
    assert many.to_record()["config"]["act_bits"] == [7, 7, 7]


def test_point_ids_of_single_values_are_unchanged() -> None:
    # ids of stores written before per-layer activation widths existed
    assert point_id(TrainConfig()) == (
        "3291788b4f3d5d566a8a60f3369535c4d31415f41168bb659e8a246eec6b1ead"
    )
    assert point_id(TrainConfig(act_bits=(8,) * 5)) != point_id(TrainConfig())


def test_float_mode_ignores_the_widths(digits) -> None:
    one = run_small(digits, mode="float", act_bits=8)
    many = run_small(digits, mode="float", act_bits=(4, 12, 6))
    for a, b in zip(one.engine.W, many.engine.W, strict=True):
        np.testing.assert_array_equal(a, b)
    assert one.test_accuracy == many.test_accuracy


# ----------------------------------------------------------------------- formats
def test_formats_per_layer() -> None:
    cfg = TrainConfig(mode="fixed", hidden=(5, 4), act_bits=(6, 10, 7),
                      act_int_bits=(1, 2, 0))  # fmt: skip
    fm = Formats.from_config(cfg)
    # O^1 Q6 with 1 integer bit: 4 fraction bits; O^2 Q10 with 2: 7; the linear
    # output's entry Q7.6
    assert fm.acts == (FixedFormat(6, 4), FixedFormat(10, 7), FixedFormat(7, 6))
    assert fm.inp == FixedFormat(6, 6, signed=False)  # as wide as the first entry
    assert fm.out == FixedFormat(7, 6, signed=False)  # softmax: UQ(7, 6)
    assert fm.derivs[:2] == (FixedFormat(6, 5, signed=False), FixedFormat(10, 9, signed=False))
    assert [fm.src(i) for i in range(3)] == [fm.inp, fm.acts[0], fm.acts[1]]
    assert fm.lut_entry_bits == 10
    with pytest.raises(ValueError, match="Formats.acts"):
        _ = fm.act
    with pytest.raises(ValueError, match="Formats.derivs"):
        _ = fm.deriv
    lin = Formats.from_config(TrainConfig(mode="fixed", hidden=(5, 4), output="linear",
                                          act_bits=(6, 10, 7), act_int_bits=(1, 2, 3)))
    assert lin.out == FixedFormat(7, 3)  # a linear output: the last entry's signed format
    higgs = Formats.from_config(TrainConfig(data="higgs", hidden=(5,), act_bits=(12, 8),
                                            input_int_bits=3))  # fmt: skip
    assert higgs.inp == FixedFormat(12, 8)  # signed input: the first width, 3 integer bits


def test_each_hidden_layer_has_its_own_tables() -> None:
    cfg = TrainConfig(mode="fixed", hidden=(5, 4, 3), act_bits=(6, 10, 6, 8))
    fm = Formats.from_config(cfg)
    luts = Luts.per_layer("tanh", "softmax", fm)
    assert len(luts) == 3 and luts[0] is luts[2]  # O^1 and O^3: one format, one table
    for h, b in ((1, 6), (2, 10)):
        # the table of a run whose every layer has width b
        one = Luts.build("tanh", "softmax", Formats.from_config(TrainConfig(mode="fixed",
                                                                            act_bits=b)))
        np.testing.assert_array_equal(luts[h - 1].f, one.f)
        np.testing.assert_array_equal(luts[h - 1].df, one.df)
    # tanh(S) at the LUT's largest input is about 1: Q6.5's and Q10.9's largest codes
    assert luts[0].f.max() == 31 and luts[1].f.max() == 511
    # f' of tanh at 0 is 1.0: UQ6.5 and UQ10.9
    assert luts[0].df.max() == 32 and luts[1].df.max() == 512


def test_each_layer_computes_at_its_width(digits) -> None:
    run = run_small(digits, rule="bp", act_bits=(5, 12, 8), act_int_bits=(0, 0, 0))
    fast = run.engine
    x = digits.x_test[:20].astype(np.float32)
    a0 = fast.fwd.quantize_input(x)
    A, D = fast.fwd.forward(a0, count=False)
    assert a0.max() <= 31 and a0.max() >= 16  # O^0: UQ5.5 codes 0 .. 31
    assert np.abs(A[1]).max() <= 15  # O^1: Q5.4
    assert np.abs(A[2]).max() > 15  # O^2: Q12.11, finer than O^1
    assert D[0].max() <= 16 and D[1].max() > 16  # f': UQ5.4 and UQ12.11
    assert A[3].max() <= 128  # softmax O^3: UQ8.7


# ----------------------------------------------------------------------- the chip
def _plan(chip=None, **kw):
    cfg = TrainConfig(**{"mode": "fixed", "data": "digits", "hidden": (5, 4), **kw})
    return make_plan(cfg, 64, 10, chip=chip or load_chip("ref45"))


def test_forward_widths_per_layer_hand_computed() -> None:
    # 64-5-4-10 on one 128 x 128 tile per layer; O^0 6 bits, O^1 6, O^2 10, O^3 8
    plan = _plan(act_bits=(6, 10, 8), weight_bits=(16, 12, 8))
    c = Accountant.from_plan(plan).forward_per_sample()
    macs = {k[2]: v for k, v in c.items() if k[:2] == ("forward", "mac")}
    assert macs == {(16, 6): 64 * 5, (12, 6): 5 * 4, (8, 10): 4 * 10}
    # the forward link carries O^1 (5 x 6 bits) and O^2 (4 x 10 bits)
    assert c["forward", "wire", ("forward",)] == 5 * 6 + 4 * 10
    # softmax: the division's add steps at the output's width (UQ8.7)
    assert c["forward", "add", (17,)] == 10 + 10 * 8


def test_forward_link_cycles_per_layer() -> None:
    # the timing model's forward transfer of O^h at O^h's width: 64-bit link
    layers = tiles_for_network([64, 5, 4, 10], 128, 128)
    ct = ChipTiming(8, 2, 8, 64, 32, 32, 8, 32, 4, layer_act_bits=(16, 20))
    ops = {op.name: op.duration for op in build_inference_graph(layers, ct)}
    assert ops["fact1"] == math.ceil(5 * 16 / 64) == 2
    assert ops["fact2"] == math.ceil(4 * 20 / 64) == 2
    one = {op.name: op.duration for op in build_inference_graph(
        layers, ChipTiming(8, 2, 8, 64, 32, 32, 8, 32, 4))}  # fmt: skip
    assert one["fact1"] == 1 and one["fact2"] == 1  # 40 and 32 bits at 8 bits each
    with pytest.raises(ConfigError) as ei:
        ChipTiming(8, 2, 8, 64, 32, 32, 8, 32, 4, layer_act_bits=(8, 0))
    assert ei.value.field == "chip.layer_act_bits[1]"


def test_record_forward_bus_bits_per_layer(digits) -> None:
    run = run_small(digits, act_bits=(6, 10, 8), rule="srbp")
    # 64-6-5-10: O^1 6 x 6 bits and O^2 5 x 10 bits per sample on the forward link
    assert run.hardware["bus"]["bits_per_sample"]["forward"] == 6 * 6 + 5 * 10


def test_derivative_and_gradient_widths_per_layer() -> None:
    plan = _plan(act_bits=(6, 10, 8), rule="asrbp", batch=2, error_bits=0)
    acct = Accountant.from_plan(plan)
    c = acct.actions({})
    ew = plan.formats.error.bits
    # f' times the projection: UQ6.5 at layer 1, UQ10.9 at layer 2, per sample
    fmult = {k[2]: v for k, v in c.items() if k[:2] == ("feedback", "mult")}
    assert set(fmult) == {(6, ew), (10, ew)}
    # dW^h: R^h times the layer's input (O^0 6, O^1 6, O^2 10 bits); dC^h: O^h
    # (O^1 6 bits, O^2 10) times R^L
    macs = {k[2] for k in c if k[:2] == ("update", "mac")}
    assert macs == {(ew, 6), (ew, 10)}


def _register_plan(**kw):
    chip = chip_from_dict({"base": "ref45", "update": {"accumulate": "register"}})
    cfg = TrainConfig(hidden=(4, 4), mode="fixed", batch=2, error_bits=3, **kw)
    return make_plan(cfg, 6, 3, chip=chip)


def test_buffer_memory_per_layer_hand_computed() -> None:
    # 6-4-4-3, batch 2, register: a tile buffers its inputs at their width and
    # its rows' 3-bit error codes; O^0 and O^1 6 bits, O^2 10 bits
    plan = _register_plan(rule="srbp", act_bits=(6, 10, 8))
    assert plan.mapping.update.buffer_bits == (
        (6 * 6 + 4 * 3) * 2, (4 * 6 + 4 * 3) * 2, (4 * 10 + 3 * 3) * 2)
    # asrbp: C^h's slice also keeps O^h (O^1 4 x 6, O^2 4 x 10) and R^L (3 x 3)
    plan = _register_plan(rule="asrbp", act_bits=(6, 10, 8))
    assert plan.mapping.update.buffer_bits == (
        (6 * 6 + 4 * 3 + 4 * 6 + 3 * 3) * 2, (4 * 6 + 4 * 3 + 4 * 10 + 3 * 3) * 2,
        (4 * 10 + 3 * 3) * 2)  # fmt: skip


def test_dram_activation_stash_per_layer() -> None:
    # 6-4-4-3 on a chip of one 8 x 8 tile: each layer is its own group (g0, g1,
    # g2), visited g0, g1, g2 forward and g1, g0 backward; asrbp, every layer trains
    from neurosim.cost.dram import traffic

    chip = chip_from_dict({"base": "ref45", "n_tiles": 1, "tile": {"rows": 8, "cols": 8}})
    cfg = TrainConfig(hidden=(4, 4), mode="fixed", rule="asrbp", act_bits=(6, 10, 8))
    plan = make_plan(cfg, 6, 3, chip=chip)
    t = traffic(plan, Accountant.from_plan(plan))
    b0, b1, b2 = 6, 6, 10  # O^0 as wide as the first entry, O^1 6 bits, O^2 10
    # the input: read by g0 forward and again backward
    assert t["dram_read", "input"] == 6 * 2 * b0
    # O^1 (g0 -> g1, again for g1's backward) and O^2 (g1 -> g2, resident g2);
    # the adaptive rule's O^h of g0 and g1 for dC^h, written and read once
    assert t["dram_write", "activations"] == 4 * b1 + 4 * b2 + 4 * b1 + 4 * b2
    assert t["dram_read", "activations"] == 2 * 4 * b1 + 4 * b2 + 4 * b1 + 4 * b2
    # f'(S^1) and f'(S^2) of g0 and g1 at their widths (UQ6.5, UQ10.9)
    assert t["dram_write", "derivatives"] == t["dram_read", "derivatives"] == 4 * 6 + 4 * 10


def test_lut_priced_at_the_widest_entry() -> None:
    from neurosim.cost.bill import pricing, unit_energy_pj

    plan = _plan(act_bits=(6, 10, 8))
    assert pricing(plan).widths.act_bits == 10
    wide = _plan(act_bits=10)
    key = ("forward", "lut", ())
    assert unit_energy_pj(key, plan) == unit_energy_pj(key, wide)


# ----------------------------------------------------------------------- bad lists
BAD = [
    (dict(act_bits=[8, 8]), "act_bits", "a list of 5"),
    (dict(act_bits=[8, 8, 8, 17, 8]), "act_bits[3]", "from 2 to 16"),
    (dict(act_bits=[8, 1, 8, 8, 8]), "act_bits[1]", "from 2 to 16"),
    (dict(act_int_bits=[0, 0, 9, 0, 0]), "act_int_bits[2]", "-8 to 7"),
    (dict(act_bits=[8, 4, 8, 8, 8], act_int_bits=4), "act_int_bits", "-8 to 3"),
    (dict(act_int_bits=[0, 0, 0, 0]), "act_int_bits", "a list of 5"),
    (dict(act_bits=[4, 8, 8, 8, 8], input_int_bits=4), "input_int_bits", "act_bits[0] = 4"),
    (dict(act_bits=[8, 8], data="digits", conv="c2k3p2s2", hidden=(8,)), "act_bits",
     "conv blocks"),
    (dict(act_int_bits=[0, 1], data="digits", conv="c2k3p2s2", hidden=(8,)), "act_int_bits",
     "conv blocks"),
]


@pytest.mark.parametrize("fields, name, allowed", BAD)
def test_bad_lists_name_the_field_and_index(fields, name, allowed) -> None:
    with pytest.raises(ConfigError) as ei:
        TrainConfig(**fields).validate()
    assert ei.value.field == name
    assert allowed in str(ei.value)


def test_what_the_entries_set_is_in_the_message() -> None:
    with pytest.raises(ConfigError) as ei:
        TrainConfig(act_bits=[8, 8]).validate()
    assert "entry h sets O^h and f'(S^h), the last the output O^L" in str(ei.value)


@pytest.mark.parametrize("value", [[], [8, "8"], [8, True], 8.0])
def test_bad_list_types(value) -> None:
    with pytest.raises(ConfigError) as ei:
        TrainConfig.from_dict({"act_bits": value})
    assert ei.value.field == "act_bits"


def test_toml_round_trip(tmp_path) -> None:
    cfg = TrainConfig(act_bits=(8, 6, 6, 6, 8), act_int_bits=(0, 1, 1, 1, 0))
    assert "act_bits = [8, 6, 6, 6, 8]" in cfg.to_toml()
    cfg.to_toml(tmp_path / "c.toml")
    assert TrainConfig.from_toml(tmp_path / "c.toml") == cfg
    assert cfg.per_layer("act_int_bits") == (0, 1, 1, 1, 0)


# ----------------------------------------------------------------------- CLI
def test_cli_trains_per_layer(tmp_path) -> None:
    out = tmp_path / "run.json"
    p = cli("train", "--data", "digits", "--mode", "fixed", "--hidden", "8,8,8", "--limit",
             "100", "--epochs", "1", "--act-bits", "8,6,6,8", "--json", str(out))  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert "O Q8.7/Q6.5/Q6.5 out UQ8.7" in p.stdout
    rec = json.loads(out.read_text())
    assert rec["config"]["act_bits"] == [8, 6, 6, 8]
    # O^1 8 x 8 bits, O^2 and O^3 8 x 6 bits per sample on the forward link
    assert rec["hardware"]["bus"]["bits_per_sample"]["forward"] == 64 + 48 + 48


def test_cli_bad_entry_exits_2() -> None:
    p = cli("train", "--act-bits", "8,x,6,8", "--epochs", "1")
    assert p.returncode == 2 and "--act-bits" in p.stderr


def test_cli_wrong_entry_names_the_index() -> None:
    p = cli("train", "--act-bits", "8,6,20,6,8", "--epochs", "1")
    assert p.returncode == 2 and "act_bits[2]" in p.stderr


# ----------------------------------------------------------------------- sweeps, search
def test_sweep_with_an_act_list_axis() -> None:
    spec = SweepSpec.from_dict({
        "base": {"data": "digits", "mode": "fixed", "hidden": [8, 8]},
        "axes": {"act_bits": [[8, 6, 8], 6, 8]},
    })  # fmt: skip
    pts = spec.points()
    assert [p.config.act_bits for p in pts] == [(8, 6, 8), 6, 8]
    assert [p.values["act_bits"] for p in pts] == [[8, 6, 8], 6, 8]
    assert len({p.id for p in pts}) == 3
    with pytest.raises(ConfigError) as ei:
        SweepSpec.from_dict({"base": {"hidden": [8]}, "axes": {"act_bits": [[8, 6, 8]]}})
    assert ei.value.field.startswith("axes.act_bits")


def test_search_with_an_act_list_choice() -> None:
    spec = SearchSpec.from_dict({
        "base": {"data": "digits", "mode": "fixed", "hidden": [8]},
        "space": {"act_bits": [[8, 6], [6, 8], 8]},
    })  # fmt: skip
    assert spec.space["act_bits"].encoded() == ["8,6", "6,8", 8]
    assert spec.decode({"act_bits": "6,8"}) == {"act_bits": [6, 8]}
    assert spec.config(spec.decode({"act_bits": "8,6"})).act_bits == (8, 6)


def test_mixed_widths_move_therun_small(digits) -> None:
    one = run_small(digits, act_bits=8)
    mixed = run_small(digits, act_bits=(8, 4, 8))
    assert any(not np.array_equal(a, b) for a, b in zip(one.engine.W, mixed.engine.W,
                                                         strict=True))  # fmt: skip
    assert mixed.engine.counts["sat:O^2"] >= 0
