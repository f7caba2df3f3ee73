"""Chip accounting: packet bits from the real errors, memory, cycles, energy."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from hw_models.chip import load_chip
from neurosim.channel import packets
from neurosim.config import TrainConfig
from neurosim.cost.bill import hardware_report
from neurosim.cost.factory import make_accountant
from neurosim.cost.placement import chip_mapping
from neurosim.data.datasets import load_dataset
from neurosim.experiments.train import one_hot, train
from neurosim.nn.engine import FixedEngine
from neurosim.plan import make_plan

N_IN, N_OUT, B = 20, 4, 6


def _run(steps: int = 3, chip: str = "small", **kw):
    """A small fixed run with an accountant; also returns every message sent."""
    cfg = TrainConfig(mode="fixed", hidden=(12, 9), batch=B, chip=chip, **kw).validate()
    eng = FixedEngine(make_plan(cfg, N_IN, N_OUT))
    ch = load_chip(chip)
    acct = make_accountant(make_plan(cfg, N_IN, N_OUT, chip=ch))
    sent = []
    observe = acct.observe

    def spy(R, msgs, srcs):
        sent.append({k: v.copy() for k, v in msgs.items()})
        observe(R, msgs, srcs)

    acct.observe = spy
    eng.accountant = acct
    rng = np.random.default_rng(0)
    for _ in range(steps):
        x = (rng.integers(0, 256, size=(B, N_IN)) / 256).astype(np.float32)
        eng.train_batch(x, one_hot(rng.integers(0, N_OUT, size=B), N_OUT))
    return cfg, eng, acct, ch, sent


def _codes(cfg, eng, layout, values) -> list[int]:
    if layout.encoding == "log":
        return packets.log_codes(values, eng.err.lq).tolist()
    return packets.linear_codes(values, layout.value_bits).tolist()


@pytest.mark.parametrize("kind", ["dense", "event"])
@pytest.mark.parametrize("rule", ["srbp", "rbp", "bp", "sbp"])
def test_message_bits_equal_the_encoder_on_the_real_errors(kind: str, rule: str) -> None:
    cfg, eng, acct, _, sent = _run(rule=rule, error_bits=4, packets=kind)
    assert acct.specs, "the rule sends messages"
    for spec in acct.specs:
        expected = 0
        for batch in sent:
            for row in batch[spec.name]:
                codes = _codes(cfg, eng, spec.layout, row.astype(np.int64))
                expected += len(packets.encode(spec.layout, 0, 1, codes))
        assert acct.msg_bits[spec.name] == expected, spec.name


def test_dense_srbp_broadcast_is_the_layout_length() -> None:
    cfg, eng, acct, _, _ = _run(rule="srbp", error_bits=4, packets="dense")
    (spec,) = acct.specs
    # header: kind 1 + src 7 + dst 7 (64 tiles + broadcast) + count 3 (n = 4);
    # payload 4 components x 4 bits
    assert spec.layout.n == N_OUT
    assert packets.dense_bits(spec.layout) == 1 + 7 + 7 + 3 + 4 * 4
    assert acct.msg_bits["skip"] == acct.samples * (1 + 7 + 7 + 3 + 16)


def test_binary_feedback_uses_one_bit_per_entry() -> None:
    ch = load_chip("small")
    sizes = [N_IN, 12, 9, N_OUT]
    dense = TrainConfig(mode="fixed", rule="srbp", hidden=(12, 9)).validate()
    binary = TrainConfig(mode="fixed", rule="srbp", hidden=(12, 9), feedback="binary").validate()
    from neurosim.nn.rules import get_rule

    m_dense = chip_mapping(dense, get_rule("srbp"), sizes, ch)
    m_bin = chip_mapping(binary, get_rule("srbp"), sizes, ch)
    # C^1 is 12 x 4, kept by both tiles of layer 1 (20 inputs = 2 blocks of 16);
    # C^2 is 9 x 4 in the single tile of layer 2
    entries = 2 * 12 * 4 + 9 * 4
    assert m_bin.feedback_memory_bits == entries * 1
    assert m_dense.feedback_memory_bits == entries * 8
    # forward weights: 16-bit codes of every synapse
    assert m_dense.weight_memory_bits == 16 * (20 * 12 + 12 * 9 + 9 * 4)


def test_prng_feedback_stores_nothing_and_draws_bits() -> None:
    cfg, eng, acct, ch, _ = _run(rule="srbp", error_bits=4, chip="dfa65")
    h = hardware_report(make_plan(cfg, N_IN, N_OUT, chip=ch), acct, dict(eng.counts))
    assert h["feedback_storage"] == "prng" and h["memory_bits"]["feedback"] == 0
    assert h["actions_per_sample"]["feedback.rng"] > 0
    assert "feedback.sram_read.feedback" not in h["actions_per_sample"]


@pytest.mark.parametrize("scale", ["fixed", "block"])
def test_stochastic_error_rounding_bits_are_feedback_rng(scale: str) -> None:
    # the error unit's random bits are priced as feedback RNG, like dropout masks
    kw = dict(rule="srbp", error_bits=2, error_scale=scale)
    cfg, eng, acct, ch, _ = _run(error_rounding="stochastic", **kw)
    drawn = eng.counts["rng_bits:error"]
    assert drawn > 0
    h = hardware_report(make_plan(cfg, N_IN, N_OUT, chip=ch), acct, dict(eng.counts))
    assert h["actions_per_sample"]["feedback.rng"] == pytest.approx(drawn / acct.samples)
    cfg0, eng0, acct0, _, _ = _run(**kw)
    h0 = hardware_report(make_plan(cfg0, N_IN, N_OUT, chip=ch), acct0, dict(eng0.counts))
    assert "feedback.rng" not in h0["actions_per_sample"]


def test_transport_energy_is_bits_times_wire_energy() -> None:
    cfg, eng, acct, ch, _ = _run(rule="srbp", error_bits=4, packets="dense")
    h = hardware_report(make_plan(cfg, N_IN, N_OUT, chip=ch), acct, dict(eng.counts))
    per_bit = ch.energy_table().energy_pj("wire", ch.node_nm, length_mm=ch.link("skip").length_mm)
    bits = 1 + 7 + 7 + 3 + 16
    assert h["energy_pj_per_sample"]["by_phase"]["transport"] == pytest.approx(bits * per_bit)
    assert h["bus"]["bits_per_sample"]["skip"] == bits
    assert h["bus"]["packets_per_sample"]["skip"] == 1


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=0)


def _hw(digits, **kw):
    cfg = TrainConfig(mode="fixed", epochs=1, error_bits=4, batch=32, **kw)
    res, _ = train(cfg, digits)
    return res.hardware


def test_srbp_backward_is_shorter_than_rbp_with_three_hidden_layers(digits) -> None:
    base = dict(hidden=(32, 32, 32), chip="small")
    srbp = _hw(digits, rule="srbp", **base)["cycles_per_sample"]
    rbp = _hw(digits, rule="rbp", **base)["cycles_per_sample"]
    assert srbp["backward"] < rbp["backward"]
    assert srbp["forward"] == rbp["forward"]
    assert srbp["train"] < rbp["train"]


def test_energy_falls_with_weight_bits(digits) -> None:
    base = dict(hidden=(32, 32), rule="srbp", chip="ref45")
    e16 = _hw(digits, weight_bits=16, **base)["energy_pj_per_sample"]
    e8 = _hw(digits, weight_bits=8, **base)["energy_pj_per_sample"]
    assert e8["total"] < e16["total"]
    assert e8["by_phase"]["forward"] < e16["by_phase"]["forward"]


def test_record_has_hardware_section(digits) -> None:
    cfg = TrainConfig(mode="fixed", epochs=1, hidden=(16,), batch=32, chip="small")
    res, _ = train(cfg, digits)
    h = res.to_record()["hardware"]
    assert set(h["energy_pj_per_sample"]) == {
        "total", "by_action", "by_phase", "static", "dynamic"
    }
    assert set(h["cycles_per_sample"]) >= {"train", "inference"}
    assert h["samples_per_second"] > 0 and h["area_mm2"] > 0 and h["tiles"]["used"] >= 2
    assert set(h["memory_bits"]) >= {"forward", "feedback", "per_tile"}
    # by_phase holds the actions (DRAM included); static energy is the rest
    assert h["energy_pj_per_sample"]["dynamic"] == pytest.approx(
        sum(h["energy_pj_per_sample"]["by_phase"].values())
    )
    assert h["energy_pj_per_sample"]["total"] == pytest.approx(
        h["energy_pj_per_sample"]["dynamic"] + h["energy_pj_per_sample"]["static"]
    )


def test_chip_command() -> None:
    p = subprocess.run([sys.executable, "-m", "neurosim.cli", "chip", "ref45"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "Horowitz" in p.stdout and "skip bus" in p.stdout
    bad = subprocess.run([sys.executable, "-m", "neurosim.cli", "chip", "nonexistent"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


@pytest.mark.parametrize("rule", ["srbp", "rbp", "sbp"])
def test_message_size_tuples_per_sample(rule: str) -> None:
    # the accountant keeps a histogram of mixed-radix codes; decoded, it must
    # be the per-sample tuple of message bits, counted sample by sample
    cfg, eng, acct, _, sent = _run(rule=rule, error_bits=4, packets="event")
    expected: dict = {}
    for batch in sent:
        for b in range(B):
            tup = tuple(
                int(packets.message_bits(s.layout, int(np.count_nonzero(batch[s.name][b]))))
                for s in acct.specs
            )
            expected[tup] = expected.get(tup, 0) + 1
    assert dict(acct.msg_tuples) == expected


@pytest.mark.parametrize(
    "rule, sizes, scale, expected",
    [
        # SRBP, [64, 5, 3]: one skip message of n = 3; 2 tiles -> 2-bit
        # addresses (ceil(log2 3)), count 2 bits; block adds 5 exponent bits
        # (16-bit error word): 1 + 2 + 2 + 2 + 5 = 12, + 3 codes x 3 bits
        ("srbp", [64, 5, 3], "block", {"skip": 12 + 9}),
        ("srbp", [64, 5, 3], "fixed", {"skip": 7 + 9}),
        # RBP, [64, 5, 4, 3]: chain2 carries R^3 (n = 3), chain1 R^2 (n = 4,
        # count 3 bits): 1 + 2 + 2 + 2 + 5 + 9 and 1 + 2 + 2 + 3 + 5 + 12
        ("rbp", [64, 5, 4, 3], "block", {"chain2": 21, "chain1": 25}),
        # BP sends the projections to layers 2 (n = 4) and 1 (n = 5) as
        # linear 16-bit words, count 3 bits each: no exponent field
        ("bp", [64, 5, 4, 3], "block", {"chain2": 8 + 4 * 16, "chain1": 8 + 5 * 16}),
        # SBP's chain is log-coded: it carries the exponent (1+2+2+3+5 = 13)
        ("sbp", [64, 5, 4, 3], "block", {"chain2": 13 + 4 * 3, "chain1": 13 + 5 * 3}),
    ],
)
def test_block_exponent_bits_per_message_by_hand(rule, sizes, scale, expected) -> None:
    from neurosim.cost.accounting import Accountant, message_specs
    from neurosim.nn.rules import get_rule

    cfg = TrainConfig(rule=rule, hidden=tuple(sizes[1:-1]), error_bits=3, error_scale=scale)
    specs = message_specs(cfg, get_rule(rule), sizes)
    assert {s.name: packets.dense_bits(s.layout) for s in specs} == expected
    # a batch of two samples: the bus bits the accountant tallies include the header
    acct = Accountant(cfg, get_rule(rule), sizes)
    msgs = {s.name: np.ones((2, s.layout.n), dtype=np.float32) for s in specs}
    R = [np.ones((2, n), dtype=np.float32) for n in sizes[1:]]
    acct.observe(R, msgs, {i: R[-1] for i in range(len(sizes) - 2)})
    assert dict(acct.msg_bits) == {k: 2 * v for k, v in expected.items()}
    wire = {k[2][0]: v for k, v in acct.actions({}).items() if k[:2] == ("transport", "wire")}
    assert sum(wire.values()) == 2 * sum(expected.values())


def test_bias_actions_and_memory_by_hand() -> None:
    # 20-12-9-4, srbp, 16-bit weights, 32-bit accumulators, 3 batches of 6
    import dataclasses

    cfg, eng, acct, ch, _ = _run(rule="srbp", bias=True)
    plain = dataclasses.replace(acct, cfg=dataclasses.replace(cfg, bias=False))
    with_b, without = acct.actions(dict(eng.counts)), plain.actions(dict(eng.counts))
    delta = {k: with_b[k] - without.get(k, 0) for k in with_b if with_b[k] != without.get(k, 0)}
    n, batches, neurons = 18, 3, 12 + 9 + 4
    nnz = sum(acct.nnz_R[i] for i in range(3))
    changed = sum(eng.counts[f"changed:b^{h}"] for h in (1, 2, 3))
    assert changed > 0
    expected = {
        # forward: one 16-bit bias read and one 32-bit add per neuron and sample
        ("forward", "sram_read", ("weights",)): n * neurons * 16,
        ("forward", "add", (32,)): n * neurons,
        # update: sum R^h per non-zero component, then the per-batch write-back
        ("update", "add", (32,)): nnz,
        ("update", "sram_read", ("grad",)): nnz * 32 + neurons * 32 * batches,
        ("update", "sram_write", ("grad",)): nnz * 32 + neurons * 32 * batches,
        ("update", "mult", (32, 16)): neurons * batches,
        ("update", "sram_read", ("weights",)): neurons * 16 * batches,
        ("update", "add", (16,)): neurons * batches,
        ("update", "sram_write", ("weights",)): changed * 16,
    }
    assert delta == expected
    h = hardware_report(make_plan(cfg, N_IN, N_OUT, chip=ch), acct, dict(eng.counts))
    assert h["memory_bits"]["bias"] == 16 * neurons
    assert h["memory_bits"]["forward"] == 16 * (20 * 12 + 12 * 9 + 9 * 4 + neurons)
    m = chip_mapping(cfg, eng.rule, eng.sizes, ch)
    # the bias of a row sits in the first tile of its row block
    first = [b for lay in m.layers for b in lay.blocks if b.col_block == 0]
    assert sum(b.weight_memory_bits - b.rows_used * b.cols_used * 16 for b in first) == 16 * neurons
    cfg0, eng0, acct0, _, _ = _run(rule="srbp")
    h0 = hardware_report(make_plan(cfg0, N_IN, N_OUT, chip=ch), acct0, dict(eng0.counts))
    assert "bias" not in h0["memory_bits"]
    assert h0["memory_bits"]["forward"] == 16 * (20 * 12 + 12 * 9 + 9 * 4)


@pytest.mark.parametrize("rule", ["srbp", "rbp", "bp"])
def test_message_histogram_rounds_and_merges_in_order(rule: str) -> None:
    # the link-cycle histogram (NumPy over the code arrays) equals rounding
    # each counted tuple up to whole link words in a loop, order included
    # (the representative batch and the schedule follow that order)
    from collections import Counter

    from neurosim.cost.bill import _chip, _message_histogram

    cfg, eng, acct, ch, _ = _run(steps=6, chip="ref45", rule=rule, error_bits=4, packets="event")
    plan = make_plan(cfg, N_IN, N_OUT, chip=ch)
    chip = _chip(plan)
    widths = [chip.link(s.link).width_bits for s in acct.specs]
    expected: Counter = Counter()
    for tup, count in acct.msg_tuples.items():
        expected[tuple(-(-b // w) * w for b, w in zip(tup, widths, strict=True))] += count
    rows, counts = _message_histogram(plan, acct)
    assert rows.dtype == counts.dtype == np.int64
    got = list(zip(map(tuple, rows.tolist()), counts.tolist(), strict=True))
    assert got == list(expected.items())


def test_round_and_merge_equals_the_row_loop() -> None:
    # many tuples, repeats and ties: the same keys, counts and order as a loop
    from collections import Counter

    from neurosim.cost.bill import round_and_merge

    rng = np.random.default_rng(3)
    for case in range(30):
        t, s = int(rng.integers(1, 300)), int(rng.integers(1, 5))
        # the last ten: sizes whose rows do not fit one int64 key (a row-wise unique)
        top = 200 if case < 20 else 1 << 40
        bits = rng.integers(0, top, size=(t, s)).astype(np.int64)
        bits[rng.integers(0, t, size=t // 2)] = bits[0]  # repeats
        samples = rng.integers(1, 50, size=t).astype(np.int64)
        widths = rng.integers(1, 64, size=s).tolist()
        expected: Counter = Counter()
        for row, n in zip(bits.tolist(), samples.tolist(), strict=True):
            expected[tuple(-(-b // w) * w for b, w in zip(row, widths, strict=True))] += n
        got = round_and_merge(bits, samples, widths)
        assert list(got.items()) == list(expected.items())
