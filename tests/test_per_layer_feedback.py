"""Per-layer feedback widths (``feedback_bits``, ``feedback_int_bits``).

One entry per dense weight layer, as the other per-layer fields: entry
``h - 1`` is the width of ``C^h`` (kept in hidden layer ``h``'s tiles), the
output layer's entry has no ``C^h`` and is unused. The fast engine against
the golden reference on mixed widths is in the shared suite
(:data:`tests.engine_cases.PER_LAYER_FEEDBACK_VARIANTS`); here: a uniform
list is the single value bit for bit, single values keep their point ids,
each ``C^h``'s codes at its width (from the draw, by hand), hand-computed
feedback memory, projection widths and velocity memory, bad lists, the CLI.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from hw_models.chip import load_chip
from neurosim import api
from neurosim.config import TrainConfig
from neurosim.cost.accounting import Accountant, velocity_memory_bits
from neurosim.errors import ConfigError
from neurosim.experiments.sweep import point_id
from neurosim.nn.draws import build_feedback
from neurosim.nn.rules import RULES
from neurosim.plan import make_plan
from tests.per_layer_cases import SMALL, cli, run_small


# ----------------------------------------------------------------------- identity
@pytest.mark.parametrize("rule", ["srbp", "arbp"])
def test_uniform_list_is_the_single_value_bit_for_bit(digits, rule) -> None:
    one = run_small(digits, rule=rule, feedback_bits=6, feedback_int_bits=1)
    many = run_small(digits, rule=rule, feedback_bits=[6, 6, 6], feedback_int_bits=(1, 1, 1))
    for a, b in zip(one.engine.W + one.engine.C, many.engine.W + many.engine.C, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(one.feedback, many.feedback, strict=True):
        np.testing.assert_array_equal(a, b)
    assert dict(one.engine.counts) == dict(many.engine.counts)
    h1, h2 = one.hardware, many.hardware
    assert h1["energy_pj_per_sample"] == h2["energy_pj_per_sample"]
    assert h1["actions_per_sample"] == h2["actions_per_sample"]
    assert h1["memory_bits"] == h2["memory_bits"]
    assert one.test_accuracy == many.test_accuracy
    assert many.to_record()["config"]["feedback_bits"] == [6, 6, 6]


def test_point_ids_of_single_values_are_unchanged() -> None:
    # ids of stores written before per-layer feedback widths existed
    assert point_id(TrainConfig(feedback_bits=8)) == (
        "3291788b4f3d5d566a8a60f3369535c4d31415f41168bb659e8a246eec6b1ead"
    )
    cfg = TrainConfig(rule="srbp", feedback_bits=6, feedback_int_bits=1, mode="fixed")
    assert point_id(cfg) == "f5b8d59e751ba7f41389770cbb98db413e6a599261de15ff0f80644d306f6e73"
    cfg = TrainConfig(rule="rbp", feedback_bits=4, mode="fixed", feedback="binary")
    assert point_id(cfg) == "15694ab50505a7f39ab8de01eabb79bbad12df148005af758226965c55b90386"
    assert point_id(TrainConfig(feedback_bits=(8,) * 5)) != point_id(TrainConfig())


@pytest.mark.parametrize("rule", ["rbp", "srbp", "drtp", "asrbp"])
def test_each_c_at_its_width(digits, rule) -> None:
    from neurosim.nn.fixed import FixedEngine

    bits, ints = (9, 4, 12), (1, -1, 0)
    cfg = TrainConfig(**{**SMALL, "rule": rule, "feedback_bits": bits,
                         "feedback_int_bits": ints})  # fmt: skip
    engine = FixedEngine(make_plan(cfg, 64, 10))
    drawn = build_feedback(cfg, RULES[rule], [64, 6, 5, 10])
    assert len(drawn) == len(engine.C) == 2
    for c, code, b, k in zip(drawn, engine.C, bits, ints, strict=False):
        frac = b - 1 - k  # Q(b, k): b - 1 - k fraction bits
        hand = np.clip(np.round(c * 2.0**frac), -(2 ** (b - 1)), 2 ** (b - 1) - 1)
        np.testing.assert_array_equal(code, hand)
    # the record's real C^h: codes times each layer's own LSB
    run = run_small(digits, rule=rule, feedback_bits=bits, feedback_int_bits=ints)
    for real, code, b, k in zip(run.feedback, run.engine.C, bits, ints, strict=False):
        np.testing.assert_array_equal(real, np.asarray(code, np.float64) * 2.0 ** -(b - 1 - k))


def test_mixed_widths_move_therun_small(digits) -> None:
    a = run_small(digits, feedback_bits=(8, 8, 8))
    b = run_small(digits, feedback_bits=(8, 3, 8))  # C^2 coarser: R^2 changes
    c = run_small(digits, feedback_bits=(8, 8, 3))  # the output layer's entry: unused
    assert not np.array_equal(a.engine.W[1], b.engine.W[1])
    np.testing.assert_array_equal(a.engine.W[0], c.engine.W[0])
    assert dict(a.engine.counts) == dict(c.engine.counts)
    assert a.hardware["energy_pj_per_sample"] == c.hardware["energy_pj_per_sample"]


# ----------------------------------------------------------------------- the chip
def _plan(**kw):
    cfg = TrainConfig(**{"mode": "fixed", "data": "digits", "hidden": (5, 4), **kw})
    return make_plan(cfg, 64, 10, chip=load_chip("ref45"))


def _feedback_per_layer(plan) -> list[int]:
    return [lay.feedback_memory_bits for lay in plan.mapping.layers]


def test_feedback_memory_bits_per_layer_hand_computed() -> None:
    # 64-5-4-10 on 128 x 128 tiles: one tile per layer, each keeps its C^h
    fb = (8, 4, 16)
    # SRBP: C^1 5 x 10 at 8 bits, C^2 4 x 10 at 4; the output layer has none
    assert _feedback_per_layer(_plan(rule="srbp", feedback_bits=fb)) == [400, 160, 0]
    # RBP: C^1 5 x 4 at 8, C^2 4 x 10 at 4
    plan = _plan(rule="rbp", feedback_bits=fb)
    assert _feedback_per_layer(plan) == [160, 160, 0]
    assert plan.mapping.feedback_memory_bits == 320
    # low rank r = 2: U (N_h x 2) and V (2 x N_src) at each layer's width
    plan = _plan(rule="rbp", feedback="lowrank", rank=2, feedback_bits=fb)
    assert _feedback_per_layer(plan) == [(5 * 2 + 2 * 4) * 8, (4 * 2 + 2 * 10) * 4, 0]
    # binary: one bit an entry whatever the width (as for a single value)
    plan = _plan(rule="srbp", feedback="binary", feedback_bits=fb)
    assert _feedback_per_layer(plan) == [50, 40, 0]
    # a chip that regenerates C^h stores none
    from hw_models.chip import chip_from_dict

    prng = chip_from_dict({"base": "ref45", "feedback_storage": "prng"})
    cfg = TrainConfig(mode="fixed", hidden=(5, 4), rule="srbp", feedback_bits=fb)
    assert make_plan(cfg, 64, 10, chip=prng).mapping.feedback_memory_bits == 0


def test_feedback_memory_in_the_record(digits) -> None:
    run = api.run(TrainConfig(data="digits", mode="fixed", hidden=(5, 4), epochs=1, limit=40,
                              batch=20, rule="srbp", feedback_bits=(8, 4, 16)),
                  dataset=digits)  # fmt: skip
    m = run.hardware["memory_bits"]
    assert m["feedback"] == 5 * 10 * 8 + 4 * 10 * 4
    per = {t["layer"]: t["feedback"] for t in m["per_tile"]}
    assert per == {1: 400, 2: 160, 3: 0}
    from neurosim.experiments.summary import hardware_lines

    line = next(x for x in hardware_lines(run.hardware) if x.startswith("memory bits"))
    assert "feedback 560 (C^1 400, C^2 160)" in line


def test_projection_widths_per_layer() -> None:
    # linear errors (16-bit word): a MAC of C^h's width and the word per entry
    c = Accountant.from_plan(_plan(rule="srbp", feedback_bits=(8, 4, 16))).actions({})
    macs = {k[2] for k in c if k[:2] == ("feedback", "mac")}
    assert (8, 16) in macs and (4, 16) in macs and not any(m[0] == 16 for m in macs)
    # log-coded errors: a shift-add of C^h's width
    c = Accountant.from_plan(_plan(rule="rbp", feedback_bits=(6, 10, 3), error_bits=3)).actions(
        {})  # fmt: skip
    assert {k[2] for k in c if k[:2] == ("feedback", "shift_add")} == {(6,), (10,)}
    # DRTP: the label's column, f' times the selected C^h word
    c = Accountant.from_plan(_plan(rule="drtp", feedback_bits=(6, 10, 3))).actions({})
    mults = {k[2] for k in c if k[:2] == ("feedback", "mult")}
    assert (8, 6) in mults and (8, 10) in mults  # f' is UQ(8, 7)


def test_learning_datapath_built_for_the_widest_c() -> None:
    from neurosim.cost.bill import learning_shape

    assert learning_shape(_plan(rule="srbp", feedback_bits=(6, 10, 20))).feedback_bits == 10


def test_adaptive_velocity_memory_hand_computed() -> None:
    cfg = TrainConfig(mode="fixed", hidden=(5, 4), rule="arbp", momentum=0.9, velocity_bits=20,
                      weight_bits=16, feedback_bits=(8, 12, 4)).validate()  # fmt: skip
    sizes = [64, 5, 4, 10]
    weights = (5 * 64 + 4 * 5 + 10 * 4) * 20
    # C^h's velocity: feedback_bits[h - 1] + velocity_bits - weight_bits
    c = 5 * 4 * (8 + 4) + 4 * 10 * (12 + 4)
    assert velocity_memory_bits(cfg, RULES["arbp"], sizes) == weights + c


# ----------------------------------------------------------------------- bad lists
BAD = [
    (dict(feedback_bits=[8, 8]), "feedback_bits",
     "a list of 5 (one per dense weight layer: 4 hidden and the output; entry h sets C^h"),
    (dict(feedback_int_bits=[0, 0, 0]), "feedback_int_bits", "the output layer's entry is unused"),
    (dict(feedback_bits=[8, 1, 8, 8, 8]), "feedback_bits[1]", "from 2 to 24"),
    (dict(feedback_bits=[8, 8, 8, 8, 25]), "feedback_bits[4]", "from 2 to 24"),
    (dict(feedback_int_bits=[0, 0, 9, 0, 0]), "feedback_int_bits[2]", "-8 to 7"),
    (dict(feedback_bits=[8, 4, 8, 8, 8], feedback_int_bits=4), "feedback_int_bits", "-8 to 3"),
    (dict(feedback_bits=[8, 4, 8, 8, 8], feedback_int_bits=[0, -9, 0, 0, 0]),
     "feedback_int_bits[1]", "-8 to 3"),
    (dict(feedback_bits=[8, 8], data="digits", conv="c2k3p2s2", hidden=(8,)), "feedback_bits",
     "conv blocks"),
    (dict(rule="arbp", mode="fixed", momentum=0.9, velocity_bits=30,
          feedback_bits=[8, 24, 8, 8, 8]), "velocity_bits", "at most 24"),
]


@pytest.mark.parametrize("fields, name, allowed", BAD)
def test_bad_lists_name_the_field_and_index(fields, name, allowed) -> None:
    with pytest.raises(ConfigError) as ei:
        TrainConfig(**fields).validate()
    assert ei.value.field == name
    assert allowed in str(ei.value)


def test_adaptive_velocity_bound_ignores_the_unused_entry() -> None:
    # the output layer has no C^h: its entry does not widen any velocity
    TrainConfig(rule="arbp", mode="fixed", momentum=0.9, velocity_bits=30,
                feedback_bits=[8, 16, 8, 8, 24]).validate()  # fmt: skip


def test_toml_round_trip(tmp_path) -> None:
    cfg = TrainConfig(feedback_bits=(8, 4, 4, 6, 8), feedback_int_bits=(0, 1, 0, 0, 0))
    assert "feedback_bits = [8, 4, 4, 6, 8]" in cfg.to_toml()
    cfg.to_toml(tmp_path / "c.toml")
    assert TrainConfig.from_toml(tmp_path / "c.toml") == cfg


# ----------------------------------------------------------------------- CLI
def test_cli_bad_entry_exits_2() -> None:
    p = cli("train", "--feedback-bits", "8,4,x,8", "--epochs", "1")
    assert p.returncode == 2 and "--feedback-bits" in p.stderr


def test_cli_wrong_length_exits_2() -> None:
    p = cli("train", "--feedback-bits", "8,4", "--epochs", "1")
    assert p.returncode == 2
    assert "feedback_bits = [8, 4]" in p.stderr and "entry h sets C^h" in p.stderr


def test_cli_trains_per_layer(tmp_path) -> None:
    out = tmp_path / "run.json"
    p = cli("train", "--data", "digits", "--mode", "fixed", "--hidden", "6,5,4", "--limit",
             "100", "--epochs", "1", "--rule", "srbp", "--feedback-bits", "8,4,4,8",
             "--feedback-int-bits", "1,0,0,0", "--json", str(out))  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert "C Q8.6/Q4.3/Q4.3" in p.stdout
    rec = json.loads(out.read_text())
    assert rec["config"]["feedback_bits"] == [8, 4, 4, 8]
    assert rec["hardware"]["memory_bits"]["feedback"] == 6 * 10 * 8 + 5 * 10 * 4 + 4 * 10 * 4


def test_float_mode_ignores_the_widths(digits) -> None:
    one = run_small(digits, mode="float", feedback_bits=8)
    many = run_small(digits, mode="float", feedback_bits=(3, 12, 8))
    for a, b in zip(one.weights, many.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    assert one.test_accuracy == many.test_accuracy


# ----------------------------------------------------------------------- sweeps, search
def test_sweep_with_a_feedback_list_axis() -> None:
    from neurosim.experiments.sweep import SweepSpec

    spec = SweepSpec.from_dict({
        "base": {"data": "digits", "mode": "fixed", "hidden": [8, 8], "rule": "srbp"},
        "axes": {"feedback_bits": [[8, 4, 8], 8]},
    })  # fmt: skip
    pts = spec.points()
    assert [p.config.feedback_bits for p in pts] == [(8, 4, 8), 8]
    assert len({p.id for p in pts}) == 2
    with pytest.raises(ConfigError) as ei:
        SweepSpec.from_dict({"base": {"hidden": [8]}, "axes": {"feedback_bits": [[8, 4, 8]]}})
    assert ei.value.field.startswith("axes.feedback_bits")


def test_search_with_a_feedback_list_choice() -> None:
    from neurosim.experiments.search_spec import SearchSpec

    spec = SearchSpec.from_dict({
        "base": {"data": "digits", "mode": "fixed", "hidden": [8], "rule": "srbp"},
        "space": {"feedback_bits": [[8, 8], [4, 8], 6]},
    })  # fmt: skip
    assert spec.space["feedback_bits"].encoded() == ["8,8", "4,8", 6]
    assert spec.config(spec.decode({"feedback_bits": "4,8"})).feedback_bits == (4, 8)


def test_map_network_takes_one_storage_per_c() -> None:
    from hw_models.mapping import map_network
    from neurosim.channel.formats import get_format

    chip, sizes, shapes = load_chip("ref45"), [64, 5, 4, 10], [(5, 10), (4, 10)]
    dense = get_format("dense")
    m = map_network(chip, sizes, shapes, 8, [dense.storage(8), dense.storage(4)])
    assert [lay.feedback_memory_bits for lay in m.layers] == [5 * 10 * 8, 4 * 10 * 4, 0]
    with pytest.raises(ConfigError) as ei:  # one per C^h
        map_network(chip, sizes, shapes, 8, [dense.storage(8)] * 3)
    assert ei.value.field == "storage" and "2 of one format" in str(ei.value)
    with pytest.raises(ConfigError):  # one format for every C^h
        map_network(chip, sizes, shapes, 8, [dense.storage(8), get_format("binary").storage(8)])
