"""relu units on the chip need range for their outputs: the default activation
format Q(8, 7) clips every O^h at 1 (f' still 1 there), and fixed-mode relu
falls far below float; with the ``activations`` experiment's formats
(``act_int_bits = 3``, ``lut_int_bits = 5``) fixed follows float."""

from __future__ import annotations

import pytest

import neurosim
from neurosim.experiments.paper.activations import FORMATS_FOR, _act_variants
from tests.engine_cases import Case, assert_bit_exact, run_pair

BASE = dict(data="digits", act="relu", init="he", rule="srbp", hidden=[32, 32, 32],
            epochs=10, batch=32, lr=0.03, seed=0)  # fmt: skip


def _acc(**fields) -> float:
    return neurosim.run(neurosim.make_config(None, **BASE, **fields)).test_accuracy


def test_relu_fixed_follows_float_with_output_range() -> None:
    flt = _acc(mode="float")
    clipped = _acc(mode="fixed")
    ranged = _acc(mode="fixed", **FORMATS_FOR["relu"])
    assert ranged >= flt - 0.04, (ranged, flt)
    # the clipped default is the defect the formats fix
    assert clipped <= flt - 0.08, (clipped, flt)


def test_activations_experiment_gives_each_unit_its_formats() -> None:
    cfg = neurosim.make_config(None, data="digits", hidden=[16, 16])
    # unbounded units: output range; bounded units: the defaults
    assert FORMATS_FOR["relu"] == FORMATS_FOR["linear"] == {"act_int_bits": 3, "lut_int_bits": 5}
    assert "logistic" not in FORMATS_FOR and "tanh" not in FORMATS_FOR
    for v in _act_variants(cfg):
        want = FORMATS_FOR.get(v.fields["act"], {})
        assert {k: v.fields.get(k) for k in ("act_int_bits", "lut_int_bits")} == {
            "act_int_bits": want.get("act_int_bits"), "lut_int_bits": want.get("lut_int_bits")
        }


def test_unclipped_interval_by_hand() -> None:
    # Q(8, 7) outputs hold [-1, 127/128]: a real f(S) more than one LSB
    # (1/128) outside is clipped; LUT input Q(12, 8): index = 256 s + 2048
    from neurosim.nn.network import Formats, Luts

    fm = Formats.from_config(neurosim.make_config(None, data="digits", mode="fixed"))
    assert Luts.build("tanh", "softmax", fm).unclipped == (0, 4095)  # bounded: never
    assert Luts.build("logistic", "softmax", fm).unclipped == (0, 4095)
    # relu: clipped for s > 1.0 (s = 1.0 is 128/128, one LSB above 127/128)
    assert Luts.build("relu", "softmax", fm).unclipped == (0, 256 + 2048)
    # linear: also below -1 - 1/128 = -258/256
    assert Luts.build("linear", "softmax", fm).unclipped == (-258 + 2048, 256 + 2048)


def test_clipped_relu_outputs_are_counted() -> None:
    clipped = neurosim.run(neurosim.make_config(None, **{**BASE, "epochs": 1}, mode="fixed"))
    ranged = neurosim.run(neurosim.make_config(None, **{**BASE, "epochs": 1}, mode="fixed",
                                               **FORMATS_FOR["relu"]))  # fmt: skip
    def out_clips(run: neurosim.Run) -> int:
        sat = run.to_record()["results"]["saturations"]
        return sum(v for k, v in sat.items() if k.startswith("O^") and k != "O^0")

    assert out_clips(clipped) > 0
    assert out_clips(ranged) == 0


@pytest.mark.parametrize("pair", ["dense", "conv"])
@pytest.mark.parametrize("act", ["relu", "linear"])
def test_clipped_outputs_counted_bit_exact_against_golden(pair: str, act: str) -> None:
    # He-scaled big weights and a large rate push S^h past 1: outputs clip;
    # the golden reference decides each clip from the real function
    case = Case(pair, dict(rule="srbp", act=act, init="he", lr=0.5), steps=3)
    fast, ref, x = run_pair(case)
    assert_bit_exact(fast, ref, x)
    key = "sat:O^" if pair == "dense" else "sat:OK^"
    assert sum(v for k, v in fast.counts.items() if k.startswith(key)) > 0
