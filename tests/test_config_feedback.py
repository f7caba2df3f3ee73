"""Config validation and the learning-channel constructions."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.channel.feedback import binary_scale, make_feedback
from neurosim.config import TrainConfig
from neurosim.errors import ConfigError
from neurosim.nn.rules import RULES, feedback_shapes, get_rule


@pytest.mark.parametrize(
    "field, value",
    [
        ("weight_bits", 1),
        ("weight_bits", 25),
        ("act_bits", "8"),
        ("error_bits", 17),
        ("rounding", "up"),
        ("mode", "analog"),
        ("batch", 0),
        ("lr", float("nan")),
        ("no_derivative", 1),
        ("hidden", [10, "a"]),
        ("lr_decay", 1.5),
        ("feedback_int_bits", 8),
        ("output", "tanh"),
    ],
)
def test_bad_field_names_field_value_and_allowed(field: str, value: object) -> None:
    with pytest.raises(ConfigError) as ei:
        TrainConfig.from_dict({field: value}).validate()
    e = ei.value
    assert e.field == field and e.allowed
    assert field in str(e)


def test_unknown_field() -> None:
    with pytest.raises(ConfigError, match="not a field"):
        TrainConfig.from_dict({"wieght_bits": 8})


def test_round_trip_dict() -> None:
    cfg = TrainConfig(rule="bp", hidden=(5, 6), weight_bits=9)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_feedback_shapes_follow_rule() -> None:
    sizes = [784, 100, 50, 20, 10]
    assert feedback_shapes(get_rule("srbp"), sizes) == [(100, 10), (50, 10), (20, 10)]
    assert feedback_shapes(get_rule("rbp"), sizes) == [(100, 50), (50, 20), (20, 10)]
    assert feedback_shapes(get_rule("bp"), sizes) == []
    assert feedback_shapes(get_rule("top-only"), sizes) == []
    assert set(RULES) == {"bp", "rbp", "srbp", "sbp", "arbp", "asrbp", "top-only"}


def test_binary_feedback_is_one_bit_of_sign() -> None:
    c = make_feedback(np.random.default_rng(0), (100, 10), "binary")
    s = binary_scale((100, 10))
    assert set(np.unique(c)) == {-s, s}
    assert s == 2.0 ** round(np.log2(np.sqrt(6 / 110)))


@pytest.mark.parametrize("n", [0, 1, 5, 10])
def test_sparse_feedback_bernoulli_p_n_over_fan_in(n: int) -> None:
    c = make_feedback(np.random.default_rng(0), (2000, 10), "sparse", n=n)
    ones = c != 0
    assert abs(ones.mean() - n / 10) < 0.02
    assert set(np.unique(c)) <= {0.0, binary_scale((2000, 10))}


def test_sparse_n_above_fan_in_is_rejected() -> None:
    with pytest.raises(ConfigError, match="feedback_n"):
        make_feedback(np.random.default_rng(0), (100, 10), "sparse", n=11)


@pytest.mark.parametrize("r", [0, 1, 3, 10])
def test_lowrank_has_exact_rank(r: int) -> None:
    c = make_feedback(np.random.default_rng(0), (50, 10), "lowrank", rank=r)
    assert np.linalg.matrix_rank(c) == r


def test_dense_uniform_glorot_and_mean() -> None:
    c = make_feedback(np.random.default_rng(0), (100, 10), "dense", "uniform", mean=0.5)
    a = np.sqrt(6 / 110)
    assert c.min() >= 0.5 - a and c.max() <= 0.5 + a
    assert abs(c.mean() - 0.5) < 0.02
