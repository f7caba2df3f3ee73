"""Each feedback format prices its own projection: feedback-phase actions counted
by hand on a small net, the timing's projection work, and measured claims."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from hw_models.chip import load_chip
from neurosim.config import TrainConfig
from neurosim.cost.accounting import Accountant
from neurosim.cost.bill import projection_work
from neurosim.experiments.train import train
from neurosim.nn.rules import get_rule
from neurosim.plan import make_plan

SIZES = [16, 8, 8, 4]  # 16-8-8-4: C^1 and C^2 are (8, 4) under SRBP
S, NNZ = 5, 12  # samples of the one batch, non-zeros of R^L (of 20)
FORMATS = {
    "dense": {},
    "binary": {"feedback": "binary"},
    "ternary": {"feedback": "ternary", "feedback_n": 2},
    "sparse": {"feedback": "sparse", "feedback_n": 2},
    "lowrank": {"feedback": "lowrank", "rank": 2},
}


def r_top() -> np.ndarray:
    """``R^L`` of the batch: 5 samples x 4 outputs, 12 non-zero."""
    r = np.zeros((S, SIZES[-1]), dtype=np.int32)
    r.flat[[0, 1, 2, 5, 6, 9, 10, 11, 13, 15, 17, 19]] = 3
    return r


def feedback_actions(
    rule: str = "srbp",
    regenerated: bool = False,
    nnz: list[int] | None = None,
    zero_skip: bool = True,
    **kw,
) -> Counter:
    """Feedback-phase actions of one observed batch (zeros dropped); ``nnz``:
    the actual non-zeros of each drawn ``C^h``; ``zero_skip``: the chip's."""
    cfg = TrainConfig(rule=rule, hidden=tuple(SIZES[1:-1]), mode="fixed", **kw).validate()
    acct = Accountant(cfg, get_rule(rule), list(SIZES), regenerated=regenerated,
                      feedback_nnz=nnz, zero_skip=zero_skip)  # fmt: skip
    r = r_top()
    R = [np.ones((S, 8), np.int32), np.ones((S, 8), np.int32), r]
    acct.observe(R, {"skip": r}, {0: r, 1: r})  # SRBP: both layers project R^L
    assert acct.nnz_src == Counter({0: NNZ, 1: NNZ})
    return Counter({k[1:]: v for k, v in acct.actions({}).items() if k[0] == "feedback" and v})


# Per hidden layer (two of them): n_i = 8 rows, N_src = 4 columns, 12 non-zero
# source components over 5 samples, one tile; error word 16 bits, C^h entries 8.
# f' is one 8 x 16 multiply per neuron and sample: 8 * 5 = 40 per layer.
DERIV = {("mult", (8, 16)): 2 * 40}
ENTRIES = 8 * NNZ  # 96 entries a dense walk uses per layer
SHIFTS = 8 * S  # 40 output components per layer, one scale shift each
BY_HAND = {
    # a MAC and an 8-bit read per entry used
    "dense": {("mac", (8, 16)): 2 * ENTRIES, ("sram_read", ("feedback",)): 2 * ENTRIES * 8},
    # a sign bit and an add of the error word per entry used, a shift per output
    "binary": {("add", (16,)): 2 * ENTRIES, ("sram_read", ("feedback",)): 2 * ENTRIES,
               ("shift_add", (16,)): 2 * SHIFTS},
    # two bits per entry used; adds: 2 expected non-zeros x 8 rows = 16 met by
    # 12 of 4 columns' components, 16 * 12 / 4 = 48 per layer
    "ternary": {("add", (16,)): 2 * 48, ("sram_read", ("feedback",)): 2 * 2 * ENTRIES,
                ("shift_add", (16,)): 2 * SHIFTS},
    # each sample walks the 16 stored non-zeros: 80 per layer, an index of 2 bits
    # (4 columns) read each; nothing for the zeros of C^h; an add only where the
    # source component is non-zero (zero skipping): 16 * 12 / 4 = 48 per layer
    "sparse": {("add", (16,)): 2 * 48, ("sram_read", ("feedback",)): 2 * 80 * 2,
               ("shift_add", (16,)): 2 * SHIFTS},
    # V R: 2 * 12 = 24 MACs reading V, U (V R): 8 * 2 * 5 = 80 reading U
    "lowrank": {("mac", (8, 16)): 2 * 104, ("sram_read", ("feedback",)): 2 * 104 * 8},
}  # fmt: skip


@pytest.mark.parametrize("name", list(FORMATS))
def test_feedback_phase_by_hand(name: str) -> None:
    assert feedback_actions(**FORMATS[name]) == Counter(BY_HAND[name] | DERIV)


def test_sparse_without_zero_skipping_adds_every_entry_walked() -> None:
    # every one of the 80 entries walked per layer adds, zero source or not
    want = Counter(BY_HAND["sparse"] | DERIV)
    want["add", (16,)] = 2 * 80
    assert feedback_actions(zero_skip=False, **FORMATS["sparse"]) == want


@pytest.mark.parametrize("name", list(FORMATS))
def test_regenerated_feedback_draws_the_bits_it_would_read(name: str) -> None:
    stored = Counter(BY_HAND[name] | DERIV)
    read = stored.pop(("sram_read", ("feedback",)))
    stored["rng", ()] = read
    assert feedback_actions(regenerated=True, **FORMATS[name]) == stored


def test_log_coded_errors() -> None:
    # the log encoder adds one 16-bit add per neuron and sample (40 per layer)
    enc = Counter({("add", (16,)): 2 * 40})
    dense = Counter({("shift_add", (8,)): 2 * ENTRIES, ("sram_read", ("feedback",)): 2 * 768})
    assert feedback_actions(error_bits=4) == dense + Counter(DERIV) + enc
    # a sign format adds the decoded error word as for linear errors
    binary = Counter(BY_HAND["binary"] | DERIV) + enc
    assert feedback_actions(error_bits=4, feedback="binary") == binary
    # low rank: V R on log-coded errors is shift-adds, U (V R) on a linear word MACs
    low = Counter({("shift_add", (8,)): 2 * 24, ("mac", (8, 16)): 2 * 80,
                   ("sram_read", ("feedback",)): 2 * 104 * 8})  # fmt: skip
    assert feedback_actions(error_bits=4, feedback="lowrank", rank=2) == low + Counter(DERIV) + enc


def test_actual_nonzeros_of_the_drawn_matrices() -> None:
    # C^1 holds 13 non-zeros, C^2 17: ternary adds 13 * 12 / 4 = 39 and 17 * 12 / 4 = 51;
    # sparse walks 13 and 17 per sample, adding as ternary does (all of them
    # without zero skipping)
    tern = feedback_actions(feedback="ternary", feedback_n=2, nnz=[13, 17])
    assert tern["add", (16,)] == 39 + 51
    sparse = feedback_actions(feedback="sparse", feedback_n=2, nnz=[13, 17])
    assert sparse["add", (16,)] == 39 + 51
    assert sparse["sram_read", ("feedback",)] == (13 + 17) * S * 2
    dense_walk = feedback_actions(feedback="sparse", feedback_n=2, nnz=[13, 17], zero_skip=False)
    assert dense_walk["add", (16,)] == (13 + 17) * S
    assert dense_walk["sram_read", ("feedback",)] == (13 + 17) * S * 2


def test_tile_copies_and_rbp_sources() -> None:
    # RBP, C^1 (8, 8) projects R^2, C^2 (8, 4) R^3; layer 1's rows sit in 2 tiles
    cfg = TrainConfig(rule="rbp", hidden=(8, 8), mode="fixed", feedback="binary").validate()
    acct = Accountant(cfg, get_rule("rbp"), list(SIZES), col_blocks=[2, 1, 1])
    r2 = np.zeros((S, 8), np.int32)
    r2[:, :3] = 1  # 15 non-zeros
    r = r_top()
    acct.observe([np.ones((S, 8), np.int32), r2, r], {"chain2": r, "chain1": r2}, {0: r2, 1: r})
    c = acct.actions({})
    entries = 2 * 8 * 15 + 8 * NNZ  # layer 1 in both of its tiles, layer 2 once
    assert c["feedback", "add", (16,)] == entries
    assert c["feedback", "sram_read", ("feedback",)] == entries
    assert c["feedback", "shift_add", (16,)] == 2 * 8 * S + 8 * S


def test_timing_takes_the_formats_projection_work() -> None:
    chip = load_chip("ref45")
    want = {"dense": (10, 0), "binary": (10, 0), "ternary": (2, 0), "sparse": (2, 0),
            "lowrank": (2, 20)}  # fmt: skip
    for name, kw in FORMATS.items():
        plan = make_plan(TrainConfig(hidden=(16, 16), **kw), 64, 10, chip=chip)
        work = projection_work(plan)
        assert [(w.per_row, w.per_tile) for w in work.values()] == [want[name]] * 2
    bp = make_plan(TrainConfig(rule="bp", hidden=(16, 16)), 64, 10, chip=chip)
    assert projection_work(bp) == {}
    # an adaptive rule's updates make C^h feedback_bits words: a dense projection
    asrbp = make_plan(TrainConfig(rule="asrbp", hidden=(16, 16), feedback="binary"), 64, 10,
                      chip=chip)  # fmt: skip
    assert [(w.per_row, w.per_tile) for w in projection_work(asrbp).values()] == [(10, 0)] * 2


def test_adaptive_rules_project_densely() -> None:
    # ASRBP drawn binary: after its first update C^h is no longer +-1
    dense = feedback_actions(rule="asrbp")
    assert feedback_actions(rule="asrbp", feedback="binary") == dense
    assert dense == Counter(BY_HAND["dense"] | DERIV)


def _feedback(**kw) -> tuple[float, float]:
    """Feedback-phase energy (pJ per sample) and backward cycles of a small run."""
    cfg = TrainConfig(data="digits", hidden=(16, 16), epochs=1, mode="fixed", rule="srbp", **kw)
    hw = train(cfg, progress=False)[0].hardware
    return hw["energy_pj_per_sample"]["by_phase"]["feedback"], hw["cycles_per_sample"]["backward"]


def test_measured_claims_on_a_small_run() -> None:
    dense, dense_cyc = _feedback()
    binary, binary_cyc = _feedback(feedback="binary")
    sparse2, sparse2_cyc = _feedback(feedback="sparse", feedback_n=2)
    sparse8, sparse8_cyc = _feedback(feedback="sparse", feedback_n=8)
    # binary: an add and a bit per entry instead of an 8 x 16 MAC and 8 bits
    assert binary <= dense / 5, (binary, dense)
    assert binary_cyc == dense_cyc  # the adds take the MACs' lanes
    # sparse: work follows the stored non-zeros
    assert sparse2 <= sparse8 / 3, (sparse2, sparse8)
    assert sparse2_cyc < sparse8_cyc < dense_cyc
    # regenerating C^h: random bits instead of SRAM reads, the same datapath and cycles
    for kw, stored, cyc in (({}, dense, dense_cyc), ({"feedback": "binary"}, binary, binary_cyc)):
        regen, regen_cyc = _feedback(chip="ref45-prng", **kw)
        assert regen < stored and regen_cyc == cyc, kw
