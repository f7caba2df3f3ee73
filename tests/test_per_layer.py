"""Per-layer weight formats (``weight_bits``, ``weight_int_bits``: one per dense layer).

The fast engine against the golden reference on mixed widths is in the shared
suite (:data:`tests.engine_cases.PER_LAYER_VARIANTS`); here: a uniform list is
the single value bit for bit, stored point ids of single values are unchanged,
hand-computed memory bits and MAC widths of a tiny mixed network, the errors of
bad lists, the CLI flag, a sweep and a search with a list value, the report.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from hw_models.chip import load_chip
from neurosim import api
from neurosim.config import TrainConfig
from neurosim.cost.accounting import Accountant
from neurosim.errors import ConfigError
from neurosim.experiments.search_spec import SearchSpec
from neurosim.experiments.sweep import SweepSpec, point_id
from neurosim.plan import make_plan
from tests.per_layer_cases import cli, run_small


# ----------------------------------------------------------------------- identity
def test_uniform_list_is_the_single_value_bit_for_bit(digits) -> None:
    one = run_small(digits, weight_bits=10, weight_int_bits=2)
    many = run_small(digits, weight_bits=[10, 10, 10], weight_int_bits=(2, 2, 2))
    for a, b in zip(one.engine.W, many.engine.W, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(one.weights, many.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    assert dict(one.engine.counts) == dict(many.engine.counts)
    h1, h2 = one.hardware, many.hardware
    assert h1["energy_pj_per_sample"] == h2["energy_pj_per_sample"]
    assert h1["memory_bits"] == h2["memory_bits"]
    assert one.test_accuracy == many.test_accuracy
    # the record shows what was asked
    assert many.to_record()["config"]["weight_bits"] == [10, 10, 10]


def test_point_ids_of_single_values_are_unchanged() -> None:
    # ids of stores written before per-layer formats existed
    assert point_id(TrainConfig()) == (
        "3291788b4f3d5d566a8a60f3369535c4d31415f41168bb659e8a246eec6b1ead"
    )
    cfg = TrainConfig(rule="bp", weight_bits=8, weight_int_bits=2, mode="fixed")
    assert point_id(cfg) == "a29e52c7389d7ce4e6bad1f686eb25d69ffcf1b4144390e6600fce44ef05dedb"
    assert point_id(TrainConfig(weight_bits=(16,) * 5)) != point_id(TrainConfig())


def test_mixed_widths_train_at_their_widths(digits) -> None:
    run = run_small(digits, weight_bits=(12, 6, 16), weight_int_bits=(1, 0, 2))
    # the real weights are codes times each layer's own LSB: 2**-(b - 1 - i)
    for w, code, frac in zip(run.weights, run.engine.W, (10, 5, 13), strict=True):
        np.testing.assert_array_equal(w, np.asarray(code, np.float64) * 2.0**-frac)
    assert np.abs(run.engine.W[1]).max() <= 31  # Q6.5: codes -32 .. 31


# ----------------------------------------------------------------------- the chip
def _plan(**kw):
    cfg = TrainConfig(**{"mode": "fixed", "data": "digits", "hidden": (5,), **kw})
    return make_plan(cfg, 64, 10, chip=load_chip("ref45"))


def test_memory_bits_per_layer_hand_computed() -> None:
    plan = _plan(weight_bits=(8, 16), bias=True)
    layers = plan.mapping.layers
    # W^1: 5 x 64 at 8 bits + 5 biases at 8; W^2: 10 x 5 at 16 + 10 biases at 16
    assert layers[0].weight_memory_bits == 5 * 64 * 8 + 5 * 8
    assert layers[1].weight_memory_bits == 10 * 5 * 16 + 10 * 16
    assert plan.mapping.weight_memory_bits == 2600 + 960
    assert plan.mapping.weight_bits == (8, 16)
    assert _plan(weight_bits=(8, 8)).mapping.weight_bits == 8  # uniform: one width


def test_mac_widths_per_layer_hand_computed() -> None:
    plan = _plan(weight_bits=(8, 16), act_bits=8, bias=True)
    c = Accountant.from_plan(plan).forward_per_sample()
    # layer 1: 64 x 5 MACs of an 8-bit weight and the 8-bit input; layer 2:
    # 5 x 10 MACs of a 16-bit weight and an 8-bit activation
    assert c["forward", "mac", (8, 8)] == 320
    assert c["forward", "mac", (16, 8)] == 50
    assert c["forward", "sram_read", ("weights",)] == 320 * 8 + 5 * 8 + 50 * 16 + 10 * 16
    # priced at their widths: mult linear in a x b through (64, 0.2 pJ) and
    # (1024, 3.1 pJ), Horowitz 45 nm, plus a 32-bit add (0.1 pJ)
    from neurosim.cost.bill import unit_energy_pj

    mult = lambda ab: 0.2 + (ab - 64) * (3.1 - 0.2) / (1024 - 64)  # noqa: E731
    assert unit_energy_pj(("forward", "mac", (8, 8)), plan) == pytest.approx(mult(64) + 0.1)
    assert unit_energy_pj(("forward", "mac", (16, 8)), plan) == pytest.approx(mult(128) + 0.1)


def test_bp_reads_the_transposed_weights_at_their_layer_width() -> None:
    plan = _plan(rule="bp", hidden=(5, 4), weight_bits=(8, 12, 16))
    c = Accountant.from_plan(plan).actions({})
    # R^3 carried to layer 2 through W^3 (16 bits), R^2 to layer 1 through W^2 (12 bits)
    macs = {k[2]: v for k, v in c.items() if k[:2] == ("feedback", "mac")}
    assert set(macs) == {(16, 16), (12, 16)}  # (weight bits, error word bits)


# ----------------------------------------------------------------------- bad lists
BAD = [
    (dict(weight_bits=[16, 8]), "weight_bits", "a list of 5"),
    (dict(weight_bits=[16, 8, 8, 8, 30]), "weight_bits[4]", "from 2 to 24"),
    (dict(weight_bits=[16, 1, 8, 8, 16]), "weight_bits[1]", "from 2 to 24"),
    (dict(weight_int_bits=[1, 1, 20, 1, 1]), "weight_int_bits[2]", "-8 to 15"),
    (dict(weight_bits=[16, 4, 8, 8, 16], weight_int_bits=4), "weight_int_bits", "-8 to 3"),
    (dict(weight_bits=[16, 8], data="digits", conv="c2k3p2s2", hidden=(8,)), "weight_bits",
     "conv blocks"),
    (dict(weight_bits=[16, 8, 8, 8, 16], mode="fixed", momentum=0.9), "momentum",
     "per-layer weight formats"),
]


@pytest.mark.parametrize("fields, name, allowed", BAD)
def test_bad_lists_name_the_field_and_index(fields, name, allowed) -> None:
    with pytest.raises(ConfigError) as ei:
        TrainConfig(**fields).validate()
    assert ei.value.field == name
    assert allowed in str(ei.value)


@pytest.mark.parametrize("value", [[], [16, "8"], [16, True], "16,8", 8.0])
def test_bad_list_types(value) -> None:
    with pytest.raises(ConfigError) as ei:
        TrainConfig.from_dict({"weight_bits": value})
    assert ei.value.field == "weight_bits"


def test_other_widths_refuse_lists() -> None:  # the LUT input: one width
    with pytest.raises(ConfigError) as ei:
        TrainConfig.from_dict({"lut_bits": [12, 12, 12, 12, 12]})
    assert ei.value.field == "lut_bits"
    assert ("weight_bits, weight_int_bits, act_bits, act_int_bits, error_bits, feedback_bits, "
            "feedback_int_bits only" in str(ei.value))  # fmt: skip


def test_toml_round_trip(tmp_path) -> None:
    cfg = TrainConfig(weight_bits=(16, 8, 8, 8, 16), weight_int_bits=(1, 0, 0, 0, 2))
    assert "weight_bits = [16, 8, 8, 8, 16]" in cfg.to_toml()
    cfg.to_toml(tmp_path / "c.toml")
    assert TrainConfig.from_toml(tmp_path / "c.toml") == cfg
    assert cfg.per_layer("weight_bits") == (16, 8, 8, 8, 16)
    assert TrainConfig().per_layer("weight_bits") == (16,) * 5


# ----------------------------------------------------------------------- CLI
def test_cli_wrong_length_exits_2() -> None:
    p = cli("train", "--weight-bits", "16,8", "--epochs", "1")
    assert p.returncode == 2
    assert "weight_bits = [16, 8]" in p.stderr and "a list of 5" in p.stderr


def test_cli_bad_entry_exits_2() -> None:
    p = cli("train", "--weight-bits", "16,8,x", "--epochs", "1")
    assert p.returncode == 2 and "--weight-bits" in p.stderr


def test_cli_trains_per_layer(tmp_path) -> None:
    out = tmp_path / "run.json"
    p = cli("train", "--data", "digits", "--mode", "fixed", "--hidden", "8", "--limit", "100",
             "--epochs", "1", "--weight-bits", "12,8", "--weight-int-bits", "1,0",
             "--json", str(out))  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert "W Q12.10/Q8.7" in p.stdout
    rec = json.loads(out.read_text())
    assert rec["config"]["weight_bits"] == [12, 8]
    assert rec["config"]["weight_int_bits"] == [1, 0]
    assert rec["hardware"]["memory_bits"]["forward"] == 8 * 64 * 12 + 10 * 8 * 8


# ----------------------------------------------------------------------- sweeps, search
def test_sweep_with_a_list_axis() -> None:
    spec = SweepSpec.from_dict({
        "base": {"data": "digits", "mode": "fixed", "hidden": [8, 8]},
        "axes": {"weight_bits": [[16, 8, 16], 8]},
    })  # fmt: skip
    pts = spec.points()
    assert [p.config.weight_bits for p in pts] == [(16, 8, 16), 8]
    assert [p.values["weight_bits"] for p in pts] == [[16, 8, 16], 8]
    assert len({p.id for p in pts}) == 2
    with pytest.raises(ConfigError) as ei:
        SweepSpec.from_dict({"base": {"hidden": [8]}, "axes": {"weight_bits": [[16, 8, 16]]}})
    assert ei.value.field.startswith("axes.weight_bits")


def test_search_with_a_list_choice() -> None:
    spec = SearchSpec.from_dict({
        "base": {"data": "digits", "mode": "fixed", "hidden": [8]},
        "space": {"weight_bits": [[16, 8], [8, 16], 8]},
    })  # fmt: skip
    enc = spec.space["weight_bits"].encoded()
    assert enc == ["16,8", "8,16", 8]
    assert spec.decode({"weight_bits": "8,16"}) == {"weight_bits": [8, 16]}
    assert spec.config(spec.decode({"weight_bits": "16,8"})).weight_bits == (16, 8)


def test_report_figure_with_list_widths(tmp_path) -> None:
    from types import SimpleNamespace

    from neurosim.experiments.report import _fig_accuracy_bits

    pts = [
        SimpleNamespace(config={"weight_bits": w}, accuracy=a, rule="srbp")
        for w, a in (([16, 8, 16], 90.0), (8, 85.0), (16, 91.0))
    ]
    fig = _fig_accuracy_bits(pts)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["8", "16,8,16", "16"]  # ordered by mean width


# ======================================================================= error code widths
# error_bits per layer: a code of an N_h-component vector has layer h's width
# (R^L the top's, RBP's chain word R^{h+1} its sender's, B^h its receiver's)


def test_uniform_error_list_is_the_single_value_bit_for_bit(digits) -> None:
    one = run_small(digits, error_bits=3, error_rounding="stochastic")
    many = run_small(digits, error_bits=[3, 3, 3], error_rounding="stochastic")
    for a, b in zip(one.engine.W, many.engine.W, strict=True):
        np.testing.assert_array_equal(a, b)
    assert dict(one.engine.counts) == dict(many.engine.counts)
    h1, h2 = one.hardware, many.hardware
    assert h1["energy_pj_per_sample"] == h2["energy_pj_per_sample"]
    assert h1["cycles_per_sample"] == h2["cycles_per_sample"]
    assert h1["memory_bits"] == h2["memory_bits"] and h1["bus"] == h2["bus"]
    assert many.to_record()["config"]["error_bits"] == [3, 3, 3]


def test_point_ids_with_single_error_bits_are_unchanged() -> None:
    cfg = TrainConfig(rule="srbp", error_bits=4, mode="fixed")
    assert point_id(cfg) == "a81c00cef7e62d7b03c65943aae4769a55b7352ca1c248be5b3c154a5d65c413"


def test_each_layer_codes_at_its_width() -> None:
    # the golden coder on one message per layer of 1-, 3- and 6-bit codes:
    # alpha = 1.0 = 2**12 LSBs of the 16-bit Q16.12 error word
    from neurosim.golden.error import RefErrorUnit
    from neurosim.nn.network import Formats

    cfg = TrainConfig(mode="fixed", hidden=(4, 4), error_bits=(1, 3, 6), error_int_bits=3)
    err = RefErrorUnit(cfg, Formats.from_config(cfg), __import__("collections").Counter(),
                       [0, 1, 2])  # fmt: skip
    # the nearest level in log2 (thresholds at geometric means: 3000 > 4096 /
    # sqrt 2 = 2896 goes up; 700 < 1024 / sqrt 2 = 724 goes down)
    row = [3000, -700, 90, 0]  # 0.73, -0.17, 0.022, 0 of alpha
    assert err.code(row, 0, 0, 0, 0) == [4096, -4096, 4096, 4096]  # sign only
    # 3 bits: levels alpha * 2**-(0..2) = 4096, 2048, 1024 and zero (below 724)
    assert err.code(row, 1, 0, 0, 0) == [4096, 0, 0, 0]
    # 6 bits: levels down to one LSB (emax = min(30, 12)); 90 < 64 * sqrt 2 = 90.5
    assert err.code(row, 2, 0, 0, 0) == [4096, -512, 64, 0]


def _bus(digits, **kw) -> dict:
    base = dict(data="digits", mode="fixed", hidden=(5, 4), epochs=1, limit=40, batch=20)
    run = api.run(TrainConfig(**{**base, **kw}), dataset=digits)
    return {k: v["bits_per_sample"] for k, v in run.hardware["bus"]["messages"].items()}


def test_bus_bits_per_layer_hand_computed(digits) -> None:
    # 64-5-4-10, dense packets: 1 kind bit, 5-bit source and destination
    # (the reference chip's 20 tiles and broadcast), ceil(log2(n + 1)) count bits
    def packet(n: int, w: int) -> int:
        return 1 + 5 + 5 + n.bit_length() + n * w

    # RBP: R^3 (10 components) down to layer 2 at layer 3's 5 bits, R^2 (4) at 3
    assert _bus(digits, rule="rbp", error_bits=(2, 3, 5)) == {
        "chain2": packet(10, 5), "chain1": packet(4, 3)}  # 65, 26
    # SRBP: one broadcast of R^L at the top's width
    assert _bus(digits, rule="srbp", error_bits=(2, 3, 5)) == {"skip": packet(10, 5)}
    # BP coding B^h before f': the projection to layer h at layer h's width
    assert _bus(digits, rule="bp", error_bits=(2, 3, 5),
                error_coding="before_derivative") == {
        "chain2": packet(4, 3), "chain1": packet(5, 2)}  # fmt: skip
    # SBP's chain signal B^h: the receiver's width too
    assert _bus(digits, rule="sbp", error_bits=(6, 2, 4)) == {
        "chain2": packet(4, 2), "chain1": packet(5, 6)}  # fmt: skip


def _register_plan(**kw):
    from hw_models.chip import chip_from_dict

    chip = chip_from_dict({"base": "ref45", "update": {"accumulate": "register"}})
    cfg = TrainConfig(hidden=(4,), mode="fixed", batch=2, **kw)
    return make_plan(cfg, 6, 3, chip=chip)


def test_buffer_memory_per_layer_hand_computed() -> None:
    # 6-4-3, batch 2, register: a tile buffers its inputs (8 bits) and its rows' errors
    plan = _register_plan(rule="srbp", error_bits=(2, 5))
    # layer 1: 6 inputs x 8 + 4 errors x 2; layer 2: 4 x 8 + 3 x 5; two samples
    assert plan.mapping.update.buffer_bits == ((48 + 8) * 2, (32 + 15) * 2)
    # asrbp: C^1's slice also keeps O^1 (4 x 8) and R^L (3 x the top's 5 bits)
    plan = _register_plan(rule="asrbp", error_bits=(2, 5))
    assert plan.mapping.update.buffer_bits == ((48 + 8 + 32 + 15) * 2, (32 + 15) * 2)
    # arbp on 6-4-4-3: C^1's source is R^2, layer 2's 6-bit code
    from hw_models.chip import chip_from_dict

    chip = chip_from_dict({"base": "ref45", "update": {"accumulate": "register"}})
    cfg = TrainConfig(hidden=(4, 4), mode="fixed", batch=1, rule="arbp", error_bits=(2, 6, 3))
    upd = make_plan(cfg, 6, 3, chip=chip).mapping.update
    assert upd.buffer_bits == (48 + 4 * 2 + 32 + 4 * 6, 32 + 4 * 6 + 32 + 3 * 3, 32 + 3 * 3)


def test_gradient_buffer_traffic_at_the_layer_width() -> None:
    # register: per sample a tile writes its inputs and its rows' error codes
    plan = _register_plan(rule="srbp", error_bits=(2, 5))
    acct = Accountant.from_plan(plan)
    r1, r2 = np.array([[1, 0, 0, 2], [0, 0, 3, 0]]), np.array([[1, 0, -1], [0, 0, 0]])
    acct.observe([r1, r2], {"skip": r2}, {0: r2})
    c = acct.actions({})
    writes = sum(v for k, v in c.items() if k[:3] == ("update", "sram_write", ("buffer",)))
    # two samples: layer 1 6 x 8 + 4 x 2 bits, layer 2 4 x 8 + 3 x 5 bits
    assert writes == 2 * (48 + 8) + 2 * (32 + 15)


ERROR_BAD = [
    (dict(error_bits=[4, 4]), "error_bits", "a list of 5"),
    (dict(error_bits=[4, 0, 4, 4, 4]), "error_bits[1]", "1 to 16 in a per-layer list"),
    (dict(error_bits=[4, 4, 4, 17, 4]), "error_bits[3]", "from 0 to 16"),
    (dict(error_bits=[1, 4, 4, 4, 4], packets="event"), "packets", "error_bits = 1 in any"),
    (dict(error_bits=[1, 1, 2, 1, 1], error_scale="block", error_sign_scale="rms"),
     "error_sign_scale", "error_bits = 1"),
    (dict(error_bits=[4, 4], data="digits", conv="c2k3p2s2", hidden=(8,)), "error_bits",
     "conv blocks"),
]


@pytest.mark.parametrize("fields, name, allowed", ERROR_BAD)
def test_bad_error_lists_name_the_field_and_index(fields, name, allowed) -> None:
    with pytest.raises(ConfigError) as ei:
        TrainConfig(**fields).validate()
    assert ei.value.field == name
    assert allowed in str(ei.value)


def test_cli_bad_error_entry_exits_2() -> None:
    p = cli("train", "--error-bits", "4,0,4,4,4", "--epochs", "1")
    assert p.returncode == 2
    assert "error_bits[1]" in p.stderr


def test_cli_trains_per_layer_error_bits(tmp_path) -> None:
    out = tmp_path / "run.json"
    p = cli("train", "--data", "digits", "--mode", "fixed", "--hidden", "8", "--limit", "100",
             "--epochs", "1", "--rule", "srbp", "--error-bits", "2,6",
             "--json", str(out))  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert "errors log 2/6-bit" in p.stdout
    rec = json.loads(out.read_text())
    assert rec["config"]["error_bits"] == [2, 6]
    # R^2 (10 components) broadcast at layer 2's 6 bits
    assert rec["hardware"]["bus"]["messages"]["skip"]["bits_per_sample"] == 11 + 4 + 60


def test_sweep_with_an_error_list_axis() -> None:
    spec = SweepSpec.from_dict({
        "base": {"data": "digits", "mode": "fixed", "hidden": [8, 8], "rule": "srbp"},
        "axes": {"error_bits": [[1, 4, 4], [4, 4, 1], 2, 4]},
    })  # fmt: skip
    pts = spec.points()
    assert [p.config.error_bits for p in pts] == [(1, 4, 4), (4, 4, 1), 2, 4]
    assert len({p.id for p in pts}) == 4
