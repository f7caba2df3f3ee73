"""Off-chip DRAM: the energy row, the part, and the traffic of a run, by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hw_models.chip import chip_from_dict
from hw_models.energy import EnergyTable
from hw_models.parts import REGISTRY, Dram
from neurosim.config import TrainConfig
from neurosim.cost import dram
from neurosim.cost.bill import hardware_report
from neurosim.cost.factory import make_accountant
from neurosim.experiments.train import one_hot
from neurosim.nn.engine import FixedEngine
from neurosim.plan import make_plan

N_IN, N_OUT, B, STEPS = 4, 2, 3, 2
PJ_PER_BIT = 1300.0 / 64  # Horowitz, ISSCC 2014: 1.3 nJ per 64-bit access


def _tiny(n_tiles: int):
    # 4 x 4 tiles: 4-4-2 needs one tile per layer
    return chip_from_dict({"base": "small", "n_tiles": n_tiles, "tile": {"rows": 4, "cols": 4}})


def _run(n_tiles: int, rule: str = "srbp"):
    chip = _tiny(n_tiles)
    cfg = TrainConfig(mode="fixed", hidden=(4,), batch=B, chip="small", rule=rule).validate()
    plan = make_plan(cfg, N_IN, N_OUT, chip=chip)
    acct = make_accountant(plan)
    eng = FixedEngine(make_plan(cfg, N_IN, N_OUT))
    eng.accountant = acct
    rng = np.random.default_rng(0)
    for _ in range(STEPS):
        x = (rng.integers(0, 256, size=(B, N_IN)) / 256).astype(np.float32)
        eng.train_batch(x, one_hot(rng.integers(0, N_OUT, size=B), N_OUT))
    return plan, acct, eng


def test_dram_rows_and_part() -> None:
    t = EnergyTable.default()
    assert t.energy_pj("dram_read", 45, bits=64) == 1300.0
    # off-chip energy does not follow the logic node
    assert t.energy_pj("dram_write", 7, bits=64) == t.energy_pj("dram_read", 130, bits=64) == 1300.0
    assert REGISTRY["dram_read"] is REGISTRY["dram_write"]
    assert isinstance(REGISTRY["dram_read"], Dram)


def test_resident_network_moves_only_inputs_and_labels() -> None:
    plan, acct, _ = _run(n_tiles=2)
    total = dram.traffic(plan, acct)
    n = acct.samples
    # 4 inputs x 8 bits and a 1-bit class index (2 classes) per sample
    assert dict(total) == {("dram_read", "input"): 32 * n, ("dram_read", "label"): 1 * n}
    assert dram.groups_needed(plan) == 1


def test_multiplexed_network_by_hand() -> None:
    # one tile for two layers: group 0 = W^1 (and C^1), group 1 = W^2
    plan, acct, _ = _run(n_tiles=1)
    assert dram.groups_needed(plan) == 2
    n, batches = acct.samples, acct.batches
    skip = acct.msg_bits["skip"]
    assert n == STEPS * B and batches == STEPS and skip > 0
    expected = {
        # x read in the forward pass and again for W^1's gradient (group 0 is not resident)
        ("dram_read", "input"): 2 * 4 * 8 * n,
        ("dram_read", "label"): 1 * n,
        # O^1 (4 x 8 bits) waits for group 1
        ("dram_write", "activations"): 4 * 8 * n,
        ("dram_read", "activations"): 4 * 8 * n,
        # f'(S^1) (4 x 8 bits) waits for group 0's backward pass
        ("dram_write", "derivatives"): 4 * 8 * n,
        ("dram_read", "derivatives"): 4 * 8 * n,
        # the skip message e^L, from group 1 to group 0
        ("dram_write", "errors"): skip,
        ("dram_read", "errors"): skip,
        # per batch: visits 0, 1, 0 -> load W^2 (2x4x16) and W^1 (4x4x16) with
        # C^1 (4x2x8); both written back after their update
        ("dram_read", "weights"): (8 * 16 + 16 * 16) * batches,
        ("dram_read", "feedback"): 4 * 2 * 8 * batches,
        ("dram_write", "weights"): (8 * 16 + 16 * 16) * batches,
    }
    total = dram.traffic(plan, acct)
    assert dict(total) == expected
    bits = dram.bits_per_sample(total, n)
    assert bits["total"] == pytest.approx(sum(expected.values()) / n)
    assert bits["read"] + bits["write"] == pytest.approx(bits["total"])


@pytest.mark.parametrize("n_tiles", [1, 2])
def test_energy_and_cycles_are_bits_times_the_cited_row(n_tiles: int) -> None:
    plan, acct, eng = _run(n_tiles=n_tiles)
    h = hardware_report(plan, acct, dict(eng.counts))
    bits = h["dram_bits_per_sample"]["total"]
    assert h["energy_pj_per_sample"]["by_phase"]["dram"] == pytest.approx(bits * PJ_PER_BIT)
    chip = plan.chip
    cyc = bits / (chip.dram.bandwidth_gbit_s * 1e9) * chip.clock_mhz * 1e6
    assert h["cycles_per_sample"]["dram"] == pytest.approx(cyc)
    assert h["tiles"]["groups"] == (2 if n_tiles == 1 else 1)
    json.dumps(h, allow_nan=False)  # strict JSON


def test_inference_energy_includes_the_input_load() -> None:
    plan, acct, eng = _run(n_tiles=2)
    h = hardware_report(plan, acct, dict(eng.counts))
    from neurosim.cost.bill import unit_energy_pj

    forward = sum(v * unit_energy_pj(k, plan) for k, v in acct.forward_per_sample().items())
    assert h["inference_energy_pj"] == pytest.approx(forward + 32 * PJ_PER_BIT)


def test_regenerated_feedback_is_not_loaded() -> None:
    chip = chip_from_dict(
        {"base": "small", "n_tiles": 1, "feedback_storage": "prng",
         "tile": {"rows": 4, "cols": 4, "feedback_sram_kib": 0}}
    )  # fmt: skip
    cfg = TrainConfig(mode="fixed", hidden=(4,), batch=B, chip="small").validate()
    plan = make_plan(cfg, N_IN, N_OUT, chip=chip)
    acct = make_accountant(plan)
    acct.samples, acct.batches = 6, 2
    total = dram.traffic(plan, acct)
    assert ("dram_read", "feedback") not in total
    assert total["dram_read", "weights"] == (8 * 16 + 16 * 16) * 2


def test_tile_groups_pack_whole_row_blocks() -> None:
    # 784-100-10 on 16 x 16 tiles: layer 1 is 7 row blocks of 49 tiles, layer 2 one
    # of 7, which joins the last row block of layer 1 (49 + 7 <= 64)
    chip = chip_from_dict({"base": "small", "n_tiles": 64})
    cfg = TrainConfig(mode="fixed", hidden=(100,), batch=B, chip="small").validate()
    plan = make_plan(cfg, 784, 10, chip=chip)
    groups = dram.tile_groups(plan.mapping, 64)
    assert [len(g) for g in groups] == [49] * 6 + [56]
    # a row block larger than the chip is cut into chunks
    assert [len(g) for g in dram.tile_groups(plan.mapping, 20)][:3] == [20, 20, 9]
