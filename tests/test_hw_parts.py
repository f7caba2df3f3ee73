"""The chip's parts: each prices its actions from the energy table's rows.

The expected energies are worked out by hand from the table's cited points
(Horowitz, ISSCC 2014; Keckler et al. 2011) and the Stillmaker & Baas node
table, not from the code under test.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from hw_models import parts
from hw_models.chip import chip_from_dict
from hw_models.energy import ROW_NAMES
from neurosim.config import TrainConfig
from neurosim.experiments.train import train

# logic factor of 65 nm vs 45 nm: E(V) = a V^2 + b V + c at each node's nominal Vdd
LOGIC_65 = (3.755 * 1.1**2 - 4.398 * 1.1 + 1.975) / (1.103 - 0.362 + 0.2767)
# wire factor Vdd^2 of 40 nm (the wire row's node): log-node interpolation of
# log(Vdd^2) between 45 nm (1.0 V) and 32 nm (0.9 V)
VDD2_40 = 0.81 ** (math.log(45 / 40) / math.log(45 / 32))
WIRE = {45: 1.0 / VDD2_40, 65: 1.1**2 / VDD2_40}
LOGIC = {45: 1.0, 65: LOGIC_65}
WIRE_PJ_PER_BIT_MM = 310 / 2560  # Keckler 2011: 256 bits x 10 mm = 310 pJ at 40 nm


def _add(bits: float) -> float:
    """H14 add: linear through 8 b 0.03 pJ and 32 b 0.1 pJ."""
    return 0.03 + (0.1 - 0.03) * (bits - 8) / 24


def _mult(a: float, b: float) -> float:
    """H14 multiply: linear in a*b through 8x8 0.2 pJ and 32x32 3.1 pJ."""
    return 0.2 + (3.1 - 0.2) * (a * b - 64) / (1024 - 64)


# (action, detail, pJ at 45 nm, scaling law): the chip below has weight and
# velocity SRAMs of 32 KiB, a feedback SRAM of 8 KiB, a gradient SRAM of 128 KiB,
# a 0.7 mm forward link and a 2 mm skip bus; the run has 32-bit accumulators
# and a LUT of 2^10 entries of 8 bits (a 1 KiB array)
CASES = [
    ("mac", (8, 8), _mult(8, 8) + _add(32), "logic"),
    ("mac", (16, 8), _mult(16, 8) + _add(32), "logic"),
    ("mult", (32, 32), 3.1, "logic"),
    ("mult", (16, 16), 0.78, "logic"),
    ("add", (8,), 0.03, "logic"),
    ("add", (16,), 0.03 + 0.07 / 3, "logic"),
    ("add", (64,), 0.03 + 0.07 * 56 / 24, "logic"),  # extended linearly past 32 b
    ("shift_add", (32,), 2 * 0.1, "logic"),  # shift priced as an add of the same width
    # H14 per-bit reads: 10/64 pJ at 8 KiB, 20/64 at 32 KiB, power law 32 KiB -> 1 MiB
    ("sram_read", ("weights",), 20 / 64, "logic"),
    ("sram_write", ("velocity",), 20 / 64, "logic"),
    ("sram_write", ("feedback",), 10 / 64, "logic"),
    ("sram_read", ("grad",), 20 / 64 * 5**0.4, "logic"),  # (128/32)^(log 5/log 32)
    # one 8-bit entry of a 1 KiB array: exponent 0.5 continued below 8 KiB
    ("lut", (), 8 * 10 / 64 * (1 / 8) ** 0.5, "logic"),
    # xorshift32: 3 x add(32) + 32 register bits (0.03/8 pJ each), per 32 bits
    ("rng", (), (3 * 0.1 + 32 * 0.03 / 8) / 32, "logic"),
    ("wire", ("forward",), WIRE_PJ_PER_BIT_MM * 0.7, "wire"),
    ("wire", ("skip",), WIRE_PJ_PER_BIT_MM * 2.0, "wire"),
    ("packet", ("skip",), 0.0, "logic"),  # its bits are the wire's
]


def _pricing(node: int, **chip_fields) -> parts.Pricing:
    chip = chip_from_dict(
        {
            "base": "ref45",
            "node_nm": node,
            "tile": {"sram_kib": 32, "feedback_sram_kib": 8, "grad_sram_kib": 128},
            "links": {"forward": {"length_mm": 0.7}, "skip_bus": {"length_mm": 2.0}},
            **chip_fields,
        }
    )
    widths = parts.Widths(acc_bits=32, lut_in_bits=10, act_bits=8)
    return parts.Pricing(chip.energy_table(), chip, widths)


@pytest.mark.parametrize("node", [45, 65])
@pytest.mark.parametrize(("action", "detail", "pj_45", "law"), CASES)
def test_part_energy_by_hand(node: int, action: str, detail: tuple, pj_45: float, law: str) -> None:
    factor = (WIRE if law == "wire" else LOGIC)[node]
    key = ("update", action, detail)
    got = parts.unit_energy_pj(key, _pricing(node))
    assert got == pytest.approx(pj_45 * factor, rel=1e-12, abs=1e-15)
    # the phase says where the action happens, not what it costs
    assert parts.unit_energy_pj(("forward", action, detail), _pricing(node)) == got


def test_an_override_of_add_reaches_the_mac_array() -> None:
    # add doubled: add(32) = 0.2 pJ, so mac(8, 8) = 0.2 + 0.2
    p = _pricing(45, energy_overrides={"add": 0.06})
    assert parts.unit_energy_pj(("forward", "mac", (8, 8)), p) == pytest.approx(0.4)
    assert parts.unit_energy_pj(("forward", "mult", (8, 8)), p) == pytest.approx(0.2)


def test_registry_has_one_part_per_action_and_only_table_rows() -> None:
    owned = [a for part in parts.PARTS for a in part.actions]
    assert len(owned) == len(set(owned)) == len(parts.REGISTRY)
    for action, part in parts.REGISTRY.items():
        assert action in part.actions
        assert set(part.rows) <= set(ROW_NAMES), part
        if part.rows:  # a priced part cites its source and scaling law
            assert "Source and scaling" in (part.__doc__ or ""), part
    with pytest.raises(KeyError, match="no part performs action 'teleport'"):
        parts.unit_energy_pj(("forward", "teleport", ()), _pricing(45))


_ACCOUNTANTS = ("neurosim/cost/accounting.py", "neurosim/cost/conv_accounting.py")
_KEY = re.compile(
    r'c\[\s*"(?:forward|transport|feedback|update)",\s*'
    r'(?:"(\w+)"\s+if\s+\w+\s+else\s+"(\w+)"|"(\w+)")'
)


def test_every_action_the_accountants_name_has_a_part() -> None:
    root = Path(__file__).resolve().parents[1]
    named = set()
    for f in _ACCOUNTANTS:
        for m in _KEY.finditer((root / f).read_text()):
            named |= {a for a in m.groups() if a}
    assert {"mac", "lut", "wire", "packet", "rng", "sram_write"} <= named  # the pattern works
    assert named <= set(parts.REGISTRY), named - set(parts.REGISTRY)


def test_every_counted_action_of_a_full_run_is_priced() -> None:
    cfg = TrainConfig(
        data="digits", mode="fixed", rule="srbp", hidden=(8,), epochs=1, conv="c2k3p2s2",
        bias=True, momentum=0.9, error_bits=4, packets="event", error_rounding="stochastic",
    )  # fmt: skip
    result, engine = train(cfg)
    acct = engine.accountant
    keys = set(acct.actions(result.counts)) | set(acct.forward_per_sample())
    assert {k[1] for k in keys} <= set(parts.REGISTRY)
    assert {"mac", "mult", "add", "shift_add", "sram_read", "sram_write", "lut", "rng"} <= {
        k[1] for k in keys
    }
    assert result.hardware["energy_pj_per_sample"]["total"] > 0
