"""Inverted learning-channel dropout (``channel_dropout_rescale``): the
register, the rounding of the rescale by hand, its ``mult`` count by hand,
the config refusals, the CLI flag and the point id.

The engines' bit-exactness on rescaled runs is in ``tests/engine_cases.py``
(``RESCALE_VARIANTS``, ``CONV_RESCALE_VARIANTS``).
"""

from __future__ import annotations

import numpy as np
import pytest

from hw_models.chip import load_chip
from neurosim.cli import build_parser
from neurosim.config import TrainConfig
from neurosim.cost.factory import make_accountant
from neurosim.errors import ConfigError
from neurosim.experiments.sweep import point_id
from neurosim.golden.reference import ReferenceEngine
from neurosim.nn.conv import ConvFixedEngine
from neurosim.nn.draws import rescale_float, rescale_register
from neurosim.nn.fixed import FixedEngine
from neurosim.plan import make_plan
from tests.engine_cases import (
    HIDDEN,
    IMG,
    N_IN,
    N_OUT,
    B,
    _conv_batches,
    batches,
    engine_for,
    plan_for,
)  # fmt: skip

# p -> (k = min(255, round(256 p)), G = round_half_even(2**18 / (256 - k)))
REGISTER = [
    (0.0, 1024),  # k = 0: 1.0
    (0.25, 1365),  # k = 64: 262144 / 192 = 1365.33 -> 1365
    (0.3, 1464),  # k = round(76.8) = 77: 262144 / 179 = 1464.49
    (0.5, 2048),  # k = 128: exactly 2
    (0.9, 10082),  # k = 230: 262144 / 26 = 10082.46
    (0.999, 262144),  # k = 255: 2**18, the 19-bit register's top
]


@pytest.mark.parametrize(("p", "g"), REGISTER)
def test_register_by_hand(p: float, g: int) -> None:
    assert rescale_register(p) == g
    assert g < 1 << 19  # UQ9.10 fits 19 bits


def test_float_factor_by_hand() -> None:
    assert rescale_float(0.25) == 256 / 192
    assert rescale_float(0.5) == 2.0
    assert rescale_float(0.0) == 1.0


# R codes of a 16-bit error word (qmax 32767) at p = 0.25 (G = 1365):
# round half to even of R * 1365 / 1024
VECTORS = [
    (0, 0),
    (1, 1),  # 1.333 -> 1
    (3, 4),  # 3.999 -> 4
    (-3, -4),
    (512, 682),  # 682.5: tie, to even
    (1536, 2048),  # 2047.5: tie, to even
    (-512, -682),
    (1000, 1333),  # 1333.0078
    (24576, 32760),  # 32760.0 exactly
    (30000, 32767),  # 39990.2: saturates
    (-32768, -32768),  # -43680: saturates
]


def _fixed(**kw) -> FixedEngine:
    return engine_for("dense", channel_dropout=0.25, channel_dropout_rescale=True, **kw)


def test_fast_rescale_vectors_by_hand() -> None:
    eng = _fixed()
    r = np.array([[v for v, _ in VECTORS]], dtype=np.float64)
    out = eng.rescale(0, r)
    assert out.tolist() == [[w for _, w in VECTORS]]
    assert eng.counts["sat:R^1"] == 2


def test_reference_rescale_vectors_by_hand() -> None:
    ref = ReferenceEngine(_fixed())
    row = [v for v, _ in VECTORS]
    keep = np.ones(len(row), dtype=bool)
    keep[1] = False  # a dropped component stays 0
    out = ref._drop(row, keep, "sat:R^2")
    assert out == [0, 0] + [w for _, w in VECTORS[2:]]
    assert ref.counts["sat:R^2"] == 2


def test_float_rescale_scales_kept_errors() -> None:
    eng = engine_for("float", channel_dropout=0.5, channel_dropout_rescale=True)
    r = np.array([[0.25, -1.0, 0.0]], dtype=np.float32)
    assert eng.rescale(0, r).tolist() == [[0.5, -2.0, 0.0]]


def _mults(pair: str, **kw) -> dict:
    cfg = plan_for(pair, **kw).cfg
    chip = load_chip("ref45")
    plan = (make_plan(cfg, N_IN, N_OUT, chip=chip) if pair == "dense"
            else make_plan(cfg, int(np.prod(IMG)), N_OUT, IMG, chip=chip))  # fmt: skip
    eng = (FixedEngine if pair == "dense" else ConvFixedEngine)(plan)
    acct = eng.accountant = make_accountant(plan)
    x, t = next(batches(3, 1) if pair == "dense" else _conv_batches(1))
    eng.train_batch(x, t)
    c = acct.actions(dict(eng.counts))
    return {k[2]: v for k, v in c.items() if k[:2] == ("feedback", "mult")}


def test_dense_rescale_mults_by_hand() -> None:
    off = _mults("dense", rule="rbp", channel_dropout=0.25)
    on = _mults("dense", rule="rbp", channel_dropout=0.25, channel_dropout_rescale=True)
    # one 16 x 19-bit product per component of R^1..R^3 (12 + 9 + 7) per sample
    assert on == {**off, (16, 19): (12 + 9 + 7) * B}
    assert sum(HIDDEN) == 28


def test_conv_rescale_mults_by_hand() -> None:
    off = _mults("conv", rule="srbp", channel_dropout=0.5)
    on = _mults("conv", rule="srbp", channel_dropout=0.5, channel_dropout_rescale=True)
    # 3 samples x (block 1: 6 x 6 x 2 = 72, block 2: 3 x 3 x 3 = 27, dense hidden 5)
    assert on == {**off, (16, 19): 3 * (72 + 27 + 5)}


def test_inert_without_dropout() -> None:
    """With ``channel_dropout = 0`` the switch is accepted and changes nothing."""
    a = engine_for("dense", rule="rbp", channel_dropout_rescale=True)
    b = engine_for("dense", rule="rbp")
    for x, t in batches(1, 2):
        a.train_batch(x, t)
        b.train_batch(x, t)
    for wa, wb in zip(a.W, b.W, strict=True):
        assert np.array_equal(wa, wb)
    assert dict(a.counts) == dict(b.counts)
    assert _mults("dense", rule="rbp", channel_dropout_rescale=True) == _mults("dense", rule="rbp")
    TrainConfig(rule="top-only", channel_dropout_rescale=True).validate()


@pytest.mark.parametrize(
    "fields",
    [
        dict(error_bits=3),  # R^h log-coded after f'
        dict(error_bits=1, error_scale="block"),
        dict(error_bits=3, conv="c2k3p2s2", data="digits"),  # a block's R_b is coded
    ],
)
def test_refused_with_log_coded_hidden_errors(fields: dict) -> None:
    cfg = TrainConfig(rule="rbp", channel_dropout=0.25, channel_dropout_rescale=True, **fields)
    with pytest.raises(ConfigError) as e:
        cfg.validate()
    assert e.value.field == "channel_dropout_rescale"


def test_allowed_with_codes_before_the_derivative() -> None:
    TrainConfig(rule="rbp", channel_dropout=0.25, channel_dropout_rescale=True, error_bits=3,
                error_coding="before_derivative").validate()  # fmt: skip


def test_cli_flag() -> None:
    args = build_parser().parse_args(
        ["train", "--channel-dropout", "0.5", "--channel-dropout-rescale"]
    )
    assert args.channel_dropout_rescale is True
    assert build_parser().parse_args(["train"]).channel_dropout_rescale in (None, False)


def test_point_id_ignores_the_default() -> None:
    cfg = TrainConfig(channel_dropout=0.5)
    d = cfg.to_dict()
    assert d["channel_dropout_rescale"] is False and "channel_dropout_rescale" in list(d)[-2:]
    on = TrainConfig(channel_dropout=0.5, channel_dropout_rescale=True)
    assert point_id(on) != point_id(cfg)

