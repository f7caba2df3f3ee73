"""relu units on the chip need range for their outputs: the default activation
format Q(8, 7) clips every O^h at 1 (f' still 1 there), and fixed-mode relu
falls far below float; with the ``activations`` experiment's formats
(``act_int_bits = 3``, ``lut_int_bits = 5``) fixed follows float."""

from __future__ import annotations

import neurosim
from neurosim.experiments.paper.activations import FORMATS_FOR, _act_variants

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


def test_activations_experiment_gives_relu_its_formats() -> None:
    cfg = neurosim.make_config(None, data="digits", hidden=[16, 16])
    for v in _act_variants(cfg):
        want = FORMATS_FOR["relu"] if v.fields["act"] == "relu" else {}
        assert {k: v.fields[k] for k in want} == want
        assert ("act_int_bits" in v.fields) == (v.fields["act"] == "relu")
