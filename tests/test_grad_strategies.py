"""Gradient strategies are chip choices (``[update] accumulate``, ``zero_skip``):
update-phase actions and memory counted by hand on a 6-4-3 net, the online
strategy's batch check, and the measured ordering on digits."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from hw_models.chip import chip_from_dict
from neurosim.config import TrainConfig
from neurosim.cost.factory import make_accountant
from neurosim.errors import ConfigError
from neurosim.plan import make_plan

SIZES = [6, 4, 3]  # srbp: W^1 (4, 6), W^2 (3, 4), C^1 (4, 3); one tile per layer
R1 = np.array([[1, 0, 0, 2], [0, 0, 3, 0]], np.int32)  # 3 non-zero of 8
R2 = np.array([[1, 0, -1], [0, 0, 0]], np.int32)  # 2 non-zero of 6
CHANGED = {"changed:W^1": 5, "changed:W^2": 4, "changed:b^1": 2, "changed:b^2": 1}
# widths (TrainConfig defaults): input and activations 8, error word 16,
# weights 16, accumulators 32, learning-rate register 16 fraction bits


def chip(accumulate: str, zero_skip: bool = True):
    return chip_from_dict(
        {"base": "ref45", "update": {"accumulate": accumulate, "zero_skip": zero_skip}}
    )


def run(accumulate: str, zero_skip: bool = True, **kw):
    """The plan and accountant of two samples (one batch of 2, or two of 1
    online) with the errors R1, R2; returns (plan, accountant, actions)."""
    batch = 1 if accumulate == "online" else 2
    kw.setdefault("rule", "srbp")
    cfg = TrainConfig(hidden=(4,), mode="fixed", batch=batch, **kw)
    plan = make_plan(cfg, 6, 3, chip=chip(accumulate, zero_skip))
    acct = make_accountant(plan)
    for rows in ([0, 1],) if batch == 2 else ([0], [1]):
        r1, r2 = R1[rows], R2[rows]
        acct.observe([r1, r2], {"skip": r2}, {0: r2})
    return plan, acct, acct.actions(CHANGED)


def phase(c: Counter, name: str) -> Counter:
    return Counter({k[1:]: v for k, v in c.items() if k[0] == name and v})


# work: error components doing gradient work, per layer: non-zero 3 and 2
# (zero skipping), else 4 x 2 = 8 and 3 x 2 = 6; products x n_in (6, 4)
PRODUCTS = {True: 3 * 6 + 2 * 4, False: 8 * 6 + 6 * 4}  # 26, 72
OPERAND_READS = {True: (3 * 6 + 2 * 4) * 8, False: (8 * 6 + 6 * 4) * 8}
PARAMS = 4 * 6 + 3 * 4  # 36 weights, written back once (one batch)
WRITE_BACK = {
    ("mult", (32, 16)): PARAMS,
    ("sram_read", ("weights",)): PARAMS * 16,
    ("add", (16,)): PARAMS,
    ("sram_write", ("weights",)): (5 + 4) * 16,
}


@pytest.mark.parametrize("zero_skip", [True, False])
def test_sram_by_hand(zero_skip: bool) -> None:
    plan, _, c = run("sram", zero_skip)
    p = PRODUCTS[zero_skip]
    # per product a 16 x 8 MAC and a 32-bit read-modify-write; per parameter the
    # accumulator's read and clear at the write-back
    want = Counter({
        ("mac", (16, 8)): p,
        ("sram_read", ("grad",)): (p + PARAMS) * 32,
        ("sram_write", ("grad",)): (p + PARAMS) * 32,
    }) + Counter(WRITE_BACK)  # fmt: skip
    assert phase(c, "update") == want
    assert plan.mapping.update.grad == PARAMS * 32 and plan.mapping.update.buffer == 0


@pytest.mark.parametrize("zero_skip", [True, False])
def test_register_by_hand(zero_skip: bool) -> None:
    plan, _, c = run("register", zero_skip)
    p = PRODUCTS[zero_skip]
    # per sample: layer 1 writes 6 inputs x 8 + 4 errors x 16 = 112 bits, layer 2
    # 4 x 8 + 3 x 16 = 80; at the batch's end one error word per row and sample
    # (4 + 3) x 2 x 16 = 224 bits and one 8-bit operand per product
    want = Counter({
        ("mac", (16, 8)): p,
        ("sram_write", ("buffer",)): (112 + 80) * 2,
        ("sram_read", ("buffer",)): 224 + OPERAND_READS[zero_skip],
    }) + Counter(WRITE_BACK)  # fmt: skip
    assert phase(c, "update") == want
    # batch x (n_in x act_bits + n_out x error_bits) per trained layer
    assert plan.mapping.update.buffer == 2 * (112 + 80) and plan.mapping.update.grad == 0


@pytest.mark.parametrize("zero_skip", [True, False])
def test_online_by_hand(zero_skip: bool) -> None:
    plan, acct, c = run("online", zero_skip)
    assert acct.batches == 2 and acct.samples == 2
    p = PRODUCTS[zero_skip]
    # per product: the MAC, the learning-rate multiply (of the product itself:
    # 16-bit error x 8-bit input = 24 bits, no accumulator in between), a
    # weight read and add; the changed words written; no gradient memory, no
    # write-back
    want = Counter({
        ("mac", (16, 8)): p,
        ("mult", (24, 16)): p,
        ("sram_read", ("weights",)): p * 16,
        ("add", (16,)): p,
        ("sram_write", ("weights",)): (5 + 4) * 16,
    })  # fmt: skip
    assert phase(c, "update") == want
    assert plan.mapping.update.grad == 0 and plan.mapping.update.buffer == 0


def test_online_with_momentum_moves_every_weight_every_sample() -> None:
    _, _, c = run("online", momentum=0.5)
    u = phase(c, "update")
    # every weight is read and added to per sample (2 samples), the products
    # still follow the non-zero errors
    assert u["sram_read", ("weights",)] == PARAMS * 2 * 16
    assert u["mac", (16, 8)] == PRODUCTS[True]
    # the lr multiply of each 24-bit product, and the decay multiply of each
    # 24-bit velocity word by mu per sample
    vb = TrainConfig().velocity_bits
    assert vb == 24 and u["mult", (24, 16)] == PRODUCTS[True] + PARAMS * 2
    assert u["sram_read", ("velocity",)] == PARAMS * 2 * vb


@pytest.mark.parametrize("accumulate", ["sram", "register", "online"])
def test_bias_follows_the_strategy(accumulate: str) -> None:
    _, _, c0 = run(accumulate)
    _, _, c1 = run(accumulate, bias=True)
    diff = phase(c1, "update")
    diff.subtract(phase(c0, "update"))
    diff = +diff
    work, n, b = 3 + 2, 4 + 3, 1  # working components, biases, batches
    if accumulate == "online":
        # per working component the lr multiply of its 16-bit error word, a bias
        # read and add; changed writes
        want = {("mult", (16, 16)): work, ("sram_read", ("weights",)): work * 16,
                ("add", (16,)): work, ("sram_write", ("weights",)): 3 * 16}  # fmt: skip
    else:
        want = {("add", (32,)): work, ("mult", (32, 16)): n * b,
                ("sram_read", ("weights",)): n * 16, ("add", (16,)): n,
                ("sram_write", ("weights",)): 3 * 16}  # fmt: skip
        if accumulate == "sram":  # RMW per working component, read and clear per bias
            want |= {("sram_read", ("grad",)): (work + n) * 32,
                     ("sram_write", ("grad",)): (work + n) * 32}  # fmt: skip
    assert diff == Counter(want)


def test_zero_skip_off_projects_zero_source_components() -> None:
    # C^1 (4 x 3) projects R^2: 2 non-zero source components of 6
    for skip, comps in ((True, 2), (False, 6)):
        _, _, c = run("sram", skip)
        assert phase(c, "feedback")["mac", (8, 16)] == 4 * comps
    # the sparse format: adds only for entries meeting a non-zero component
    _, _, c = run("sram", True, feedback="sparse", feedback_n=1)
    _, _, c_all = run("sram", False, feedback="sparse", feedback_n=1)
    # 4 rows x 1 expected non-zero, 2 samples: 8 entries walked, 8 * 2 / 6 adds
    assert phase(c, "feedback")["add", (16,)] == 3  # 8 * 2 / 6 = 2.67, rounded
    assert phase(c_all, "feedback")["add", (16,)] == 8
    both = phase(c, "feedback")["sram_read", ("feedback",)]
    assert both == phase(c_all, "feedback")["sram_read", ("feedback",)] == 8 * 2  # 2-bit index


def test_adaptive_dc_follows_the_strategy() -> None:
    # asrbp: dC^1 = O^1 (R^L)^T: per working source component 4 products
    for acc in ("sram", "register", "online"):
        _, _, c0 = run(acc)
        _, _, c1 = run(acc, rule="asrbp")
        d = phase(c1, "update")
        d.subtract(phase(c0, "update"))
        assert d["mac", (16, 8)] == 2 * 4
        assert d["sram_read", ("grad",)] == ((2 * 4 + 12) * 32 if acc == "sram" else 0)
        # register: per sample O^1 (4 x 8) and R^L (3 x 16) written, R^L read back
        assert d["sram_write", ("buffer",)] == ((32 + 48) * 2 if acc == "register" else 0)


def test_memory_in_the_record_and_fits() -> None:
    from neurosim.cost.bill import hardware_report

    for acc, grad, buf in (("sram", PARAMS * 32, 0), ("register", 0, 384), ("online", 0, 0)):
        plan, acct, _ = run(acc)
        h = hardware_report(plan, acct, CHANGED)
        assert h["memory_bits"]["grad"] == grad and h["memory_bits"]["buffer"] == buf
        assert h["update"] == {"accumulate": acc, "zero_skip": True}
        assert h["fits"]
    # a batch of 64 on a full 128 x 128 tile: 24 KiB, the buffer of 16 KiB is short
    small = chip_from_dict({"base": "ref45", "update": {"accumulate": "register"},
                            "tile": {"buffer_kib": 16}})  # fmt: skip
    plan = make_plan(TrainConfig(hidden=(128,), batch=64), 128, 10, chip=small)
    assert not plan.mapping.fits
    assert any(v.field == "tile.buffer_kib" for v in plan.mapping.violations)
    # 48-bit accumulators of a full tile overflow the 64 KiB gradient SRAM
    plan = make_plan(TrainConfig(hidden=(128,), acc_bits=48), 128, 10, chip=chip("sram"))
    assert [v.field for v in plan.mapping.violations] == ["tile.grad_sram_kib"]


def test_strategy_memory_and_area() -> None:
    ref = chip("sram")
    assert ref.memory_kib("buffer") == 32.0
    # the tile's area counts the memory its strategy uses, and ref45's is unchanged
    assert ref.tile_area_mm2() == chip_from_dict({"base": "ref45"}).tile_area_mm2()
    assert chip("online").tile_area_mm2() < chip("register").tile_area_mm2()
    assert chip("register").tile_area_mm2() < ref.tile_area_mm2()


def test_online_refuses_a_minibatch() -> None:
    cfg = TrainConfig(hidden=(4,), batch=8)
    with pytest.raises(ConfigError) as e:
        make_plan(cfg, 6, 3, chip=chip("online"))
    assert e.value.field == "batch" and e.value.value == 8
    assert "1" in e.value.allowed and "online" in e.value.allowed
    make_plan(TrainConfig(hidden=(4,), batch=1), 6, 3, chip=chip("online"))  # accepted


@pytest.mark.parametrize("rule", ["arbp", "asrbp"])
def test_adaptive_rules_refused_where_a_prng_regenerates_c(rule: str) -> None:
    # ARBP and ASRBP write C^h; a PRNG chip keeps no C^h to write
    prng = chip_from_dict({"base": "ref45", "feedback_storage": "prng"})
    with pytest.raises(ConfigError) as e:
        make_plan(TrainConfig(hidden=(4,), rule=rule), 6, 3, chip=prng)
    assert e.value.field == "rule" and e.value.value == rule and "prng" in e.value.allowed
    make_plan(TrainConfig(hidden=(4,), rule="srbp"), 6, 3, chip=prng)  # fixed C^h: accepted
    make_plan(TrainConfig(hidden=(4,), rule=rule), 6, 3, chip=chip("sram"))  # stored C^h


def test_digits_energy_ordering(tmp_path) -> None:
    from neurosim.experiments.train import train

    ratio = {}
    for acc in ("sram", "register", "online"):
        path = tmp_path / f"{acc}.toml"
        path.write_text(f'base = "ref45"\n[update]\naccumulate = "{acc}"\n')
        batch = 1 if acc == "online" else 16
        cfg = TrainConfig(data="digits", hidden=(32,), rule="srbp", mode="fixed", epochs=1,
                          limit=128, batch=batch, chip=str(path))  # fmt: skip
        result, _ = train(cfg)
        h = result.to_record()["hardware"]
        # the strategies change the update phase; static energy follows the
        # run's time and the DRAM input load is the same for all three
        ratio[acc] = h["energy_pj_per_sample"]["by_phase"]["update"] / h["inference_energy_pj"]
    assert ratio["register"] < ratio["sram"] / 2
    assert ratio["online"] < ratio["sram"] / 2


def test_uncoded_errors_take_a_multiplier_in_the_update() -> None:
    """Log-coded R^h multiply by shift-adds; with B^h coded before f'
    (``error_coding``) or the top layer on its full error (``top_error``)
    that layer's gradient products are MACs of the 16-bit error word."""
    _, _, coded = run("sram", error_bits=2)
    up = phase(coded, "update")
    n = PRODUCTS[True]
    assert up[("shift_add", (32,))] == n and not up[("mac", (16, 8))]
    _, _, top = run("sram", error_bits=2, top_error="full")
    up = phase(top, "update")  # W^2 (the top layer): 2 x 4 products
    assert (up[("shift_add", (32,))], up[("mac", (16, 8))]) == (3 * 6, 2 * 4)
    _, _, both = run("sram", error_bits=2, top_error="full", error_coding="before_derivative")
    up = phase(both, "update")
    assert up[("mac", (16, 8))] == n and not up[("shift_add", (32,))]
    # the rest of the bill is the same datapath
    assert phase(both, "feedback") == phase(coded, "feedback")


def _rbp(**kw) -> Counter:
    """RBP on the 6-4-3 net, one batch of 2: R^2 projected where it lives
    (``error_coding = "before_derivative"``), the chain carries ``Q(B^1)``."""
    cfg = TrainConfig(hidden=(4,), mode="fixed", batch=2, rule="rbp", error_bits=1,
                      error_scale="block", error_coding="before_derivative", **kw)  # fmt: skip
    acct = make_accountant(make_plan(cfg, 6, 3, chip=chip("sram")))
    acct.observe([R1, R2], {"chain1": np.sign(R1 + 0.5)}, {0: R2})
    return phase(acct.actions(CHANGED), "feedback")


def test_rbp_coding_b_projects_the_full_word_and_codes_the_chain_once() -> None:
    from neurosim.cost.accounting import message_specs
    from neurosim.nn.rules import get_rule

    kw = dict(hidden=(4,), rule="rbp", error_bits=1, error_scale="block")
    cfg = TrainConfig(**kw, error_coding="before_derivative")
    (spec,) = message_specs(cfg, get_rule("rbp"), SIZES)
    assert (spec.name, spec.layout.n, spec.layout.encoding) == ("chain1", 4, "log")
    after = message_specs(TrainConfig(**kw), get_rule("rbp"), SIZES)
    assert after[0].layout.n == 3  # R^2 itself goes down the chain
    fb = _rbp(top_error="full")
    # C^1 R^2 with R^2 a full error word: MACs, not shift-adds (2 non-zero x 4 rows)
    assert fb[("mac", (8, 16))] == 2 * 4 and not fb[("shift_add", (8,))]
    # the rms exponent squares and sums the chain words instead of a running max
    rms = _rbp(top_error="full", error_sign_scale="rms")
    assert rms[("mult", (16, 16))] == 4 * 2 and rms[("add", (32,))] == 4 * 2
    assert fb[("add", (16,))] - rms[("add", (16,))] == 4 * 2


def _shift_chip(accumulate: str):
    return chip_from_dict(
        {"base": "ref45", "update": {"accumulate": accumulate, "lr_shift": True}}
    )


def test_shift_only_update_unit_shifts_instead_of_multiplying() -> None:
    """update.lr_shift: every learning-rate scaling is a barrel shift of the
    gradient's width (online: the 24-bit product, a bias its 16-bit error
    word; sram: the 32-bit accumulator word); nothing else changes."""
    for accumulate, batch in (("online", 1), ("sram", 2)):
        # lr = batch / 16: the register 2^12 is a power of two
        cfg = TrainConfig(hidden=(4,), mode="fixed", batch=batch, rule="srbp", bias=True,
                          lr=batch / 16)  # fmt: skip
        counts = []
        for ch in (chip(accumulate), _shift_chip(accumulate)):
            acct = make_accountant(make_plan(cfg, 6, 3, chip=ch))
            for rows in ([0, 1],) if batch == 2 else ([0], [1]):
                acct.observe([R1[rows], R2[rows]], {"skip": R2[rows]}, {0: R2[rows]})
            counts.append(phase(acct.actions(CHANGED), "update"))
        mult, shift = counts
        if accumulate == "online":
            want = {("shift", (24,)): PRODUCTS[True], ("shift", (16,)): 3 + 2}
            gone = {("mult", (24, 16)): PRODUCTS[True], ("mult", (16, 16)): 3 + 2}
        else:
            want = {("shift", (32,)): PARAMS + 7}  # 36 weights and 7 biases, one batch
            gone = {("mult", (32, 16)): PARAMS + 7}
        assert +(shift - mult) == Counter(want)
        assert +(mult - shift) == Counter(gone)


def test_shift_only_update_unit_refuses_other_learning_rates() -> None:
    ch = _shift_chip("online")
    # 0.1 x 2^16 = 6553.6 rounds to 6554, not a power of two: refused, not rounded
    with pytest.raises(ConfigError, match="lr"):
        make_plan(TrainConfig(hidden=(4,), mode="fixed", batch=1, lr=0.1), 6, 3, chip=ch)
    # 2^-3: the register is 2^13
    make_plan(TrainConfig(hidden=(4,), mode="fixed", batch=1, lr=0.125), 6, 3, chip=ch)
    # a decaying lr must stay a power of two every epoch (0.125 x 0.75 is not)
    with pytest.raises(ConfigError, match="lr"):
        make_plan(TrainConfig(hidden=(4,), mode="fixed", batch=1, lr=0.125, lr_decay=0.75,
                              epochs=2), 6, 3, chip=ch)  # fmt: skip


def test_shift_only_update_unit_trains_the_same_weights() -> None:
    """A power-of-two register makes the multiply a shift: the engine on a
    shift-only chip trains bit for bit as on the plain chip; a last, smaller
    minibatch whose register is no power of two is refused, not rounded."""
    from neurosim.experiments.train import one_hot
    from neurosim.nn.engine import FixedEngine

    cfg = TrainConfig(hidden=(5,), mode="fixed", batch=4, rule="srbp", lr=0.25)  # M = 2^12
    rng = np.random.default_rng(1)
    x = (rng.integers(0, 256, size=(4, 6)) / 256).astype(np.float32)
    y = one_hot(rng.integers(0, 3, size=4), 3)
    weights = []
    for ch in (chip("sram"), _shift_chip("sram")):
        eng = FixedEngine(make_plan(cfg, 6, 3, chip=ch))
        for _ in range(3):
            eng.train_batch(x, y)
        weights.append([w.copy() for w in eng.mem.W])
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ConfigError, match="lr"):  # a batch of 3: 0.25 / 3 x 2^16
        eng.train_batch(x[:3], y[:3])
