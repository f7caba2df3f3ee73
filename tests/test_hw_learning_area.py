"""Area of the learning hardware (hw_models.area): hand-computed gate counts."""

from __future__ import annotations

import dataclasses

import pytest

from hw_models import area
from hw_models.chip import load_chip

GE_UM2 = 0.798  # NAND2_X1, NanGate 45 nm


def test_projection_unit_by_format() -> None:
    s = area.LearningShape(feedback_bits=8, error_bits=16, acc_bits=32)
    # multiplier: 8 x 16 partial products x 8 GE + 32 x (7 + 6) GE of accumulator
    assert area.projection_ge(s, 1) == 8 * 16 * 8 + 32 * 13 == 1440
    # binary: the accumulator and 16 XORs of 2 GE (sign select), no multiplier
    adder = s._replace(projection="adder")
    assert area.projection_ge(adder, 4) == 4 * (32 * 13 + 16 * 2) == 4 * 448
    # sparse: the adder lane and a 4-bit index register for 10 sources
    assert area.projection_ge(s._replace(projection="sparse"), 1) == 448 + 4 * 6
    assert area.projection_ge(s._replace(projection="low_rank"), 1) == 2 * 1440
    assert area.projection_ge(s._replace(projection="none"), 16) == 0


def test_prng_label_and_update_lane() -> None:
    assert area.prng_ge() == 32 * 6 + 96 * 2 == 384  # xorshift32
    assert area.target_ge(10) == 4 * 6 + 10 * 1.33  # 4-bit label, 10 AND2
    assert area.update_lane_ge(8, None) == 8 * 7  # the adder alone
    # with learning: the 32 x 16 learning-rate multiplier too
    assert area.update_lane_ge(8, area.LearningShape()) == 8 * 7 + 32 * 16 * 8


def test_tile_learning_parts_at_45nm() -> None:
    chip = dataclasses.replace(load_chip("ref45"), feedback_storage="prng")
    chip = dataclasses.replace(chip, tile=dataclasses.replace(chip.tile, projection_lanes=2))
    s = area.LearningShape(projection="adder", target=True)
    ta = chip.tile_area(s)
    assert ta.projection_mm2 == pytest.approx(2 * 448 * GE_UM2 / 1e6, rel=1e-12)
    assert ta.prng_mm2 == pytest.approx(384 * GE_UM2 / 1e6, rel=1e-12)
    assert ta.target_mm2 == pytest.approx((24 + 13.3) * GE_UM2 / 1e6, rel=1e-12)
    # f' table: 256 entries of 8 bits per lookup port (2), as SRAM bits
    lut = 2 * 256 * 8 * 0.346 / 0.7 / 1e6
    assert ta.deriv_lut_mm2 == pytest.approx(lut, rel=1e-12)
    # a tile without learning drops exactly the learning parts and memories
    mem = (chip.tile.feedback_sram_kib + chip.tile.grad_sram_kib) * 8192 * 0.346 / 0.7 / 1e6
    upd = 8 * (16 * 7 + 32 * 16 * 8) * GE_UM2 / 1e6
    learning = upd + ta.projection_mm2 + ta.prng_mm2 + ta.target_mm2 + lut + mem
    assert chip.learning_area_mm2(s) == pytest.approx(learning, rel=1e-12)
    # without a shape the tile is the model it was (adders only)
    assert chip.tile_area().total_mm2 < ta.total_mm2


def test_binary_projection_unit_is_smaller() -> None:
    chip = load_chip("dflnpu65")
    dense = chip.area_mm2(area.LearningShape(projection="multiplier"))
    binary = chip.area_mm2(area.LearningShape(projection="adder"))
    # 16 tiles x 16 lanes x (1440 - 448) GE at 65 nm
    want = 16 * 16 * (1440 - 448) * GE_UM2 * area.technology.factor(65, "area") / 1e6
    assert dense - binary == pytest.approx(want, rel=1e-12)


def test_update_lane_scales_the_gradient_as_wide_as_it_is() -> None:
    # online: the multiplier takes one 16 x 8 product (24 bits), not the 32-bit accumulator
    online = area.LearningShape(grad_bits=24)
    assert area.update_lane_ge(8, online) == 8 * 7 + 24 * 16 * 8
    # shift-only (power-of-two lr): a 24-bit barrel shifter of 0..16 places,
    # ceil(log2 17) = 5 stages of 24 MUX2 (2.33 GE: 1.862 um^2 / 0.798)
    assert area.shifter_ge(24, 16) == pytest.approx(24 * 5 * 2.33)
    shift = online._replace(lr_shift=True)
    assert area.update_lane_ge(8, shift) == pytest.approx(8 * 7 + 24 * 5 * 2.33)
    assert area.shifter_ge(32, 15) == pytest.approx(32 * 4 * 2.33)  # 0..15: 4 stages


def test_learning_shape_follows_the_chip_update_unit() -> None:
    from hw_models.chip import chip_from_dict
    from neurosim.config import TrainConfig
    from neurosim.cost.bill import learning_shape
    from neurosim.plan import make_plan

    cfg = TrainConfig(hidden=(4,), mode="fixed", batch=1, lr=0.125)  # error 16, input 8 bits
    for accumulate, shift, g in (("online", False, 24), ("online", True, 24),
                                 ("sram", False, 32)):  # fmt: skip
        ch = chip_from_dict(
            {"base": "ref45", "update": {"accumulate": accumulate, "lr_shift": shift}}
        )
        s = learning_shape(make_plan(cfg, 6, 3, chip=ch))
        assert (s.grad_bits, s.lr_shift) == (g, shift)
