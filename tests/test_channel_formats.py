"""The registry of learning-channel formats: draws, stored bits, projections, ternary."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter

import numpy as np
import pytest

from hw_models.chip import FEEDBACK_STORAGES, load_chip
from neurosim.channel.feedback import FEEDBACK_FORMATS, binary_scale, glorot_bound, make_feedback
from neurosim.channel.formats import FORMATS, get_format
from neurosim.channel.formats.sparse import index_bits
from neurosim.config import TrainConfig
from neurosim.cost.placement import chip_mapping, feedback_storage
from neurosim.errors import ConfigError
from neurosim.experiments.train import train
from neurosim.nn.rules import get_rule

SHAPE = (400, 20)  # C^h (N_h, N_src): fan-in 20
N, RANK, FB = 4, 3, 8  # feedback_n, rank, feedback_bits
S = binary_scale(SHAPE)


def draw(name: str, seed: int = 7) -> np.ndarray:
    return make_feedback(np.random.default_rng(seed), SHAPE, name, "uniform", 0.0, N, RANK)


def test_the_registry_lists_exactly_the_formats() -> None:
    assert list(FORMATS) == ["dense", "sparse", "binary", "lowrank", "ternary", "prng"]
    # the drawn ones are the config's `feedback` values (and the CLI's choices)
    assert FEEDBACK_FORMATS == ("dense", "sparse", "binary", "lowrank", "ternary")
    # a chip's `feedback_storage` takes exactly the registry's names
    assert set(FEEDBACK_STORAGES) == set(FORMATS)
    assert all(get_format(n).name == n for n in FORMATS)
    with pytest.raises(ConfigError) as ei:
        get_format("csr")
    assert ei.value.field == "feedback"
    TrainConfig(feedback="ternary", feedback_n=2).validate()
    with pytest.raises(ConfigError):
        TrainConfig(feedback="prng").validate()  # a storage, not a draw


def _old_draw(name: str, seed: int = 7) -> np.ndarray:
    """The constructions as they were written before the registry (same calls, same order)."""
    rng = np.random.default_rng(seed)
    if name == "dense":
        a = glorot_bound(SHAPE[1], SHAPE[0])
        return rng.uniform(-a, a, size=SHAPE) + 0.0
    if name == "sparse":
        return (rng.random(SHAPE) < N / SHAPE[1]) * S
    if name == "binary":
        return np.where(rng.random(SHAPE) < 0.5, -1.0, 1.0) * S
    a = glorot_bound(SHAPE[1], SHAPE[0])
    u, s, vt = np.linalg.svd(rng.uniform(-a, a, size=SHAPE) + 0.0, full_matrices=False)
    return (u[:, :RANK] * s[:RANK]) @ vt[:RANK]


@pytest.mark.parametrize("name", ["dense", "sparse", "binary", "lowrank"])
def test_existing_formats_draw_the_same_bits(name: str) -> None:
    assert np.array_equal(draw(name), _old_draw(name))


# name, allowed values (None: any), expected non-zero density, exact rank
DRAWS = [
    ("dense", None, 1.0, None),
    ("sparse", {0.0, S}, N / SHAPE[1], None),
    ("binary", {-S, S}, 1.0, None),
    ("ternary", {-S, 0.0, S}, N / SHAPE[1], None),
    ("lowrank", None, 1.0, RANK),
]


@pytest.mark.parametrize("name, values, density, rank", DRAWS)
def test_drawn_values(name: str, values: set | None, density: float, rank: int | None) -> None:
    c = draw(name)
    assert c.shape == SHAPE and c.dtype == np.float64
    if values is not None:
        assert set(np.unique(c).tolist()) <= values
    nz = np.count_nonzero(c) / c.size
    # 8000 entries: 5 standard deviations of a Bernoulli frequency
    assert abs(nz - density) <= 5 * math.sqrt(density * (1 - density) / c.size) + 1e-12
    if name == "dense":
        assert np.abs(c).max() <= glorot_bound(SHAPE[1], SHAPE[0])
    if rank is not None:
        assert np.linalg.matrix_rank(c) == rank


def test_ternary_signs_are_equiprobable_and_n_is_checked() -> None:
    c = draw("ternary")
    pos, neg = int((c > 0).sum()), int((c < 0).sum())
    assert abs(pos - neg) <= 5 * math.sqrt(pos + neg)
    zero = make_feedback(np.random.default_rng(0), SHAPE, "ternary", n=0)
    assert not zero.any()
    for bad in (None, SHAPE[1] + 1, -1):
        with pytest.raises(ConfigError) as ei:
            make_feedback(np.random.default_rng(0), SHAPE, "ternary", n=bad)
        assert ei.value.field == "feedback_n"
    with pytest.raises(ConfigError):
        get_format("prng").draw(np.random.default_rng(0), SHAPE)


# format, bits a tile stores for r rows of C^h with n_src columns (by hand), read bits per MAC
R, NSRC = 5, 20
STORED = [
    ("dense", R * NSRC * FB, FB),
    ("binary", R * NSRC, 1),
    ("ternary", R * NSRC * 2, 2),
    ("sparse", N * R * index_bits(NSRC), 1),  # {0,1} entries: the index says it (5 bits)
    ("lowrank", (R * RANK + RANK * NSRC) * FB, FB),  # rows of U and the whole V
    ("prng", 0, FB),
]


@pytest.mark.parametrize("name, bits, read", STORED)
def test_stored_bits_per_tile(name: str, bits: int, read: int) -> None:
    st = get_format(name).storage(FB, N, RANK)
    assert st.name == name
    assert st.slice_bits(R, NSRC, None, with_v=True) == bits
    assert get_format(name).read_bits(FB) == read
    if name == "lowrank":  # without V: only the rows of U
        assert st.slice_bits(R, NSRC, None, with_v=False) == R * RANK * FB
    if name == "sparse":  # the actual count when known; value bits when asked for
        assert st.slice_bits(R, NSRC, 7, with_v=False) == 7 * 5
        assert get_format(name).storage(FB, N, value_bits=FB).slice_bits(R, NSRC, None, False) == (
            N * R * (5 + FB)
        )


def test_a_ternary_run_maps_two_bits_per_entry() -> None:
    cfg = TrainConfig(hidden=(100,), feedback="ternary", feedback_n=2, feedback_bits=8).validate()
    c = load_chip("small")
    t = dataclasses.replace(c.tile, rows=64, cols=64, sram_kib=8, feedback_sram_kib=1)
    chip = dataclasses.replace(c, tile=t, weight_bits=8)
    m = chip_mapping(cfg, get_rule("srbp"), [784, 100, 10], chip)
    # C^1 (100, 10), replicated in the 13 column blocks of each row block (64 and 36 rows)
    held = [b.feedback_memory_bits for b in m.layers[0].blocks]
    assert held == [64 * 10 * 2] * 13 + [36 * 10 * 2] * 13
    assert feedback_storage(cfg, chip) == "ternary"
    prng = dataclasses.replace(chip, feedback_storage="prng")
    assert chip_mapping(cfg, get_rule("srbp"), [784, 100, 10], prng).feedback_memory_bits == 0
    assert feedback_storage(cfg, prng) == "prng"


@pytest.mark.parametrize("name", ["dense", "sparse", "binary", "ternary", "lowrank"])
def test_projection_actions(name: str) -> None:
    fmt = get_format(name)
    macs = fmt.projection_macs(10, 30, 6, RANK)
    assert macs == (RANK * 30 + 10 * RANK * 6 if name == "lowrank" else 10 * 30)
    c: Counter = Counter()
    fmt.project(c, macs, FB, 12, log=False)
    # every format is priced as dense feedback MACs; the reads are the format's own
    assert c == Counter({
        ("feedback", "mac", (FB, 12)): macs,
        ("feedback", "sram_read", ("feedback",)): macs * fmt.read_bits(FB),
    })  # fmt: skip
    c = Counter()
    fmt.project(c, macs, FB, 12, log=True)
    assert c["feedback", "shift_add", (FB,)] == macs
    get_format("prng").regenerate(c)
    assert ("feedback", "sram_read", ("feedback",)) not in c
    assert c["feedback", "rng", ()] == macs * fmt.read_bits(FB)


def test_fixed_ternary_run_learns_above_top_only() -> None:
    base = dict(data="digits", hidden=(16, 16), batch=32, lr=0.1, epochs=5, mode="fixed", seed=3)
    acc = {}
    for rule, extra in (("top-only", {}), ("srbp", {"feedback": "ternary", "feedback_n": 4})):
        cfg = TrainConfig(rule=rule, **base, **extra)
        res, _ = train(cfg, chip_accounting=rule != "top-only")
        acc[rule] = res.test_accuracy
        if rule == "srbp":  # the record prices two bits per C^h entry read
            hw = res.hardware
            assert hw["feedback_storage"] == "ternary"
            assert hw["memory_bits"]["feedback"] > 0
    assert acc["srbp"] >= acc["top-only"] + 0.1, acc  # 0.68 vs 0.50 at this seed
