"""Stochastic rounding of the log-coded weight updates (``update_code_rounding``).

Hand-computed table vectors of the update unit's quantizer given the random
words, the golden unit on the same table, the random bits counted by hand and
priced as update RNG, the config refusals, the CLI flag and a seeded learning
test (2-bit stochastic codes beat 2-bit nearest codes on digits).
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from neurosim.config import TrainConfig
from neurosim.errors import ConfigError
from neurosim.golden.update import RefUpdateUnit
from neurosim.numerics import kernels, streams
from neurosim.numerics.fixedpoint import FixedFormat, ref_random_word

KEY, C0 = 0x1234_5678_9ABC, 40

# d (the rounded integer updates, one array), 3-bit code over the array:
# max |d| = 8 -> top = 3, emax = min(2**2 - 2, 3) = 2, levels 2, 4, 8 (lo = 1)
# and 0. Per entry: the levels it lies between, the random bits n it draws
# and the threshold t: it goes up iff the top n bits of its word are < t.
D3 = [3, -5, 8, 1, 0, 6]
TABLE3 = [
    # (d, low, high, n, t)
    (3, 2, 4, 1, 1),  # 2 <= 3 < 4: up with p = (3 - 2) / 2 = 1/2
    (-5, -4, -8, 2, 1),  # 4 <= 5 < 8: up with p = (5 - 4) / 4
    (8, 8, 8, 0, 0),  # a level: certain, no bits
    (1, 0, 2, 1, 1),  # below the lowest level 2: 2 with p = 1/2, else 0
    (0, 0, 0, 0, 0),  # zero: no update, no bits
    (6, 4, 8, 2, 2),  # 4 <= 6 < 8: up with p = 2/4
]
# 2-bit code: levels {0, 2**top}; max |d| = 12 -> top = 4 (16), lo = top
D2 = [12, -3, 0, 16, -16, 9]
TABLE2 = [
    (12, 0, 16, 4, 12),  # below the only level 16: 16 with p = 12/16
    (-3, 0, -16, 4, 3),
    (0, 0, 0, 0, 0),
    (16, 16, 16, 0, 0),  # the level itself
    (-16, -16, -16, 0, 0),
    (9, 0, 16, 4, 9),
]


def _expected(table, key: int, counter0: int) -> tuple[list[int], int]:
    """The codes and bits of the table, from the words of the stream."""
    out, bits = [], 0
    for i, (_d, low, high, n, t) in enumerate(table):
        if n == 0:
            out.append(low)
            continue
        u = ref_random_word(key, counter0 + i) >> (64 - n)
        out.append(high if u < t else low)
        bits += n
    return out, bits


@pytest.mark.parametrize("k, d, table", [(3, D3, TABLE3), (2, D2, TABLE2)])
@pytest.mark.parametrize("key, counter0", [(KEY, C0), (KEY + 1, 0), (99, 2**33)])
def test_stochastic_update_code_table(k, d, table, key, counter0) -> None:
    want, bits = _expected(table, key, counter0)
    fmt = FixedFormat(16, 0)
    w = np.zeros((2, 3), np.float32)
    g = np.array(d, np.float64).reshape(2, 3)
    # shift 0, nearest: the update is g itself; the code rounds stochastically
    got = kernels.apply_update_coded(w, g, 1, 0, fmt, False, 0, counter0, k, None, None, key)
    assert w.ravel().astype(int).tolist() == want
    assert got[2:] == (0, bits)  # no update-rounding bits; the code's bits
    # the golden unit on the same array (rows of lists, counter r * cols + c)
    counts = Counter()
    ref = RefUpdateUnit(TrainConfig(update_bits=k, update_code_rounding="stochastic"), counts)
    q = ref.quantize_stochastic({(r, c): d[3 * r + c] for r in range(2) for c in range(3)},
                                k, key, counter0, 3)  # fmt: skip
    assert [q[r, c] for r in range(2) for c in range(3)] == want
    assert counts["rng_bits:update_code"] == bits


def test_hand_counted_bits_of_the_tables() -> None:
    # 3-bit table: 1 + 2 + 0 + 1 + 0 + 2 = 6 bits; 2-bit: 4 + 4 + 0 + 0 + 0 + 4 = 12
    fmt = FixedFormat(16, 0)
    for d, k, bits in ((D3, 3, 6), (D2, 2, 12)):
        w = np.zeros(6, np.float32)
        got = kernels.apply_update_coded(w, np.array(d, float), 1, 0, fmt, False, 0, 7, k,
                                         None, None, KEY)  # fmt: skip
        assert got[3] == bits


def test_nearest_codes_draw_nothing_and_match_apply_update() -> None:
    fmt = FixedFormat(16, 0)
    g = np.array(D3, float)
    w1, w2 = np.zeros(6, np.float32), np.zeros(6, np.float32)
    a = kernels.apply_update_coded(w1, g, 1, 0, fmt, False, 0, 0, 3)
    b = kernels.apply_update(w2, g, 1, 0, fmt, False, 0, 0, 3)
    assert a == (*b, 0)
    # nearest in the log domain: 3 -> 4 (3 >= 2**1.5), 5 -> 4 (5 < 2**2.5), 6 -> 8;
    # 1 is the level 2**0, below the lowest level 2**1: 0
    assert w1.astype(int).tolist() == [4, -4, 8, 0, 0, 8]


def test_stochastic_codes_are_unbiased() -> None:
    # 2-bit codes {0, 16}: the mean over many counters is the update itself
    fmt = FixedFormat(16, 0)
    d = np.array([16, 1, 5, -11, 8, 0, -3, 13], float)
    n = 4000
    total = np.zeros(d.size)
    for s in range(n):
        w = np.zeros(d.size, np.float32)
        kernels.apply_update_coded(w, d, 1, 0, fmt, False, 0, s * d.size, 2, None, None, KEY)
        total += w
    mean = total / n
    # the std of one entry is at most 16 / 2: the mean is within 5 sigma = 0.64
    np.testing.assert_allclose(mean, d, atol=0.64)
    assert mean[0] == 16 and mean[5] == 0


def test_momentum_codes_take_the_gradient_counters() -> None:
    # mu = 0, a velocity as fine as the weight: the momentum kernel's codes
    # are the plain kernel's, with the same words and the same bit count
    rng = np.random.default_rng(3)
    fmt = FixedFormat(12, 4)
    w = rng.integers(-300, 300, size=(5, 7)).astype(np.float32)
    g = rng.integers(-4000, 4000, size=w.shape).astype(np.float64)
    key, c0 = 4242, 35
    plain = w.copy()
    want = kernels.apply_update_coded(plain, g, 29, 11, fmt, True, key, c0, 3, None, None,
                                      KEY)  # fmt: skip
    mom, v = w.copy(), np.zeros(w.shape, np.int64)
    bases = (kernels._base(key, c0), kernels._base(9, 0), kernels._base(9, 1))
    got = kernels.apply_momentum(mom, v, g, 29, 11, 0, 0, 16, fmt, fmt, True, bases, 3, None,
                                 kernels._base(KEY, c0))  # fmt: skip
    np.testing.assert_array_equal(mom, plain)
    assert got[:3] == want[:3] and got[5] == want[3] > 0


# --------------------------------------------------------------------------- #
# the engine: counts and energy
# --------------------------------------------------------------------------- #


def test_engine_counts_code_bits_and_prices_them_as_update_rng() -> None:
    from hw_models.chip import load_chip
    from neurosim.cost.bill import hardware_report
    from neurosim.cost.factory import make_accountant
    from neurosim.experiments.train import one_hot
    from neurosim.nn.fixed import FixedEngine
    from neurosim.plan import make_plan

    def run(**kw):
        cfg = TrainConfig(mode="fixed", hidden=(12, 9), batch=5, rule="srbp", update_bits=2,
                          chip="small", **kw).validate()  # fmt: skip
        ch = load_chip("small")
        eng = FixedEngine(make_plan(cfg, 20, 4))
        acct = make_accountant(make_plan(cfg, 20, 4, chip=ch))
        eng.accountant = acct
        rng = np.random.default_rng(0)
        for _ in range(3):
            x = (rng.integers(0, 256, size=(5, 20)) / 256).astype(np.float32)
            eng.train_batch(x, one_hot(rng.integers(0, 4, size=5), 4))
        h = hardware_report(make_plan(cfg, 20, 4, chip=ch), acct, dict(eng.counts))
        return eng, acct, h

    eng, acct, h = run(update_code_rounding="stochastic")
    eng0, acct0, h0 = run()
    drawn = eng.counts["rng_bits:update_code"]
    assert drawn > 0 and "rng_bits:update_code" not in eng0.counts
    # the update unit's RNG: its rounding bits plus the codes' bits
    assert h["actions_per_sample"]["update.rng"] == pytest.approx(
        (eng.counts["rng_bits"] + drawn) / acct.samples
    )
    assert h0["actions_per_sample"]["update.rng"] == pytest.approx(
        eng0.counts["rng_bits"] / acct0.samples
    )


def test_first_step_bits_by_hand() -> None:
    # one array through the update unit of the golden reference and the fast
    # kernel: 2-bit codes of d = [3, 0, -2, 4] (top = 2, levels {0, 4}):
    # 3 and -2 draw top = 2 bits each, 0 and the level 4 none -> 4 bits
    counts = Counter()
    cfg = TrainConfig(update_bits=2, update_code_rounding="stochastic", rounding="nearest",
                      weight_bits=16)  # fmt: skip
    ref = RefUpdateUnit(cfg, counts)
    w = [[0, 0, 0, 0]]
    g = np.array([[3, 0, -2, 4]], dtype=object)
    ref.update(w, g, 1, 0, FixedFormat(16, 8), 0, "W^1", 2, 0)
    assert counts["rng_bits:update_code"] == 4
    key = streams.counter_key(0, "update_code", 0, 0)
    u0 = ref_random_word(key, 0) >> 62
    u2 = ref_random_word(key, 2) >> 62
    assert w == [[4 if u0 < 3 else 0, 0, -4 if u2 < 2 else 0, 4]]


# --------------------------------------------------------------------------- #
# config
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "fields, needle",
    [
        (dict(update_bits=0), "update_bits >= 2"),
        (dict(update_bits=1), "sign code"),
        (dict(update_bits=2, update_mode="sign"), "update_mode = sign"),
        (dict(update_bits=2, data="digits", conv="c2k3p2s2", hidden=(5,)), "conv"),
    ],
)
def test_config_refuses_stochastic_codes_where_they_make_no_sense(fields, needle) -> None:
    with pytest.raises(ConfigError) as e:
        TrainConfig(update_code_rounding="stochastic", **fields).validate()
    assert e.value.field == "update_code_rounding"
    assert e.value.value == "stochastic"
    assert needle in e.value.allowed


def test_config_refuses_unknown_rounding() -> None:
    with pytest.raises(ConfigError) as e:
        TrainConfig(update_bits=2, update_code_rounding="up").validate()
    assert (e.value.field, e.value.value) == ("update_code_rounding", "up")
    assert "nearest" in e.value.allowed and "stochastic" in e.value.allowed


def test_default_leaves_point_ids_and_order() -> None:
    from neurosim.experiments.sweep import point_id

    cfg = TrainConfig(update_bits=2).validate()
    assert TrainConfig.field_names()[-1] == "update_code_rounding"
    assert "update_code_rounding" not in cfg.to_toml()
    stoch = dataclasses.replace(cfg, update_code_rounding="stochastic").validate()
    assert point_id(stoch) != point_id(cfg)
    assert point_id(dataclasses.replace(stoch, update_code_rounding="nearest")) == point_id(cfg)


def test_cli_flag() -> None:
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "neurosim.cli", "train", "--data", "digits",
                               "--limit", "200", "--epochs", "1", *args],
                              capture_output=True, text=True, timeout=300)  # fmt: skip

    ok = cli("--update-bits", "2", "--update-code-rounding", "stochastic")
    assert ok.returncode == 0, ok.stderr
    bad = cli("--update-bits", "2", "--update-code-rounding", "sometimes")
    assert bad.returncode == 2 and "update_code_rounding" in bad.stderr
    refused = cli("--update-bits", "1", "--update-code-rounding", "stochastic")
    assert refused.returncode == 2 and "update_code_rounding" in refused.stderr


# --------------------------------------------------------------------------- #
# learning
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("mode", ["fixed", "float"])
def test_two_bit_stochastic_codes_beat_nearest_on_digits(mode: str) -> None:
    from neurosim.experiments.train import train

    base = dict(data="digits", rule="srbp", mode=mode, update_bits=2, epochs=5, lr=0.1,
                seed=0, chip="small")  # fmt: skip
    acc = {
        r: train(TrainConfig(update_code_rounding=r, **base), chip_accounting=False)[0]
        .test_accuracy
        for r in ("nearest", "stochastic")
    }
    # measured: fixed 0.078 vs 0.803, float 0.097 vs 0.817
    assert acc["stochastic"] > acc["nearest"] + 0.3, acc
