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
from neurosim.channel.formats.base import Projection
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


# a copy projects 10 rows of a C^h with N_SRC = 20 columns, 30 non-zero source
# components over 6 samples, in 2 tiles; error word 12 bits, entries FB = 8 bits
PROJ = Projection(rows=10, n_src=NSRC, nnz_src=30, samples=6, copies=2, n=N, rank=RANK)
ENTRIES = 10 * 30 * 2  # 600 entries used by a dense walk
SHIFTS = 10 * 6 * 2  # 120 output components, one scale shift each
# format: (linear-error actions, log-error actions, operations on the MAC array), by hand
PROJECTED = {
    "dense": (
        {("mac", (FB, 12)): ENTRIES, ("sram_read", ("feedback",)): ENTRIES * FB},
        {("shift_add", (FB,)): ENTRIES, ("sram_read", ("feedback",)): ENTRIES * FB},
        ENTRIES,
    ),
    # a sign bit and an add per entry used, a shift per output component
    "binary": (
        {("add", (12,)): ENTRIES, ("sram_read", ("feedback",)): ENTRIES,
         ("shift_add", (12,)): SHIFTS},
        None,
        ENTRIES,
    ),
    # two bits per entry used; adds: 4 non-zeros per row x 10 rows met by 30 of 20
    # columns' components: 40 * 30 / 20 = 60 per copy
    "ternary": (
        {("add", (12,)): 120, ("sram_read", ("feedback",)): 2 * ENTRIES,
         ("shift_add", (12,)): SHIFTS},
        None,
        120,
    ),
    # every stored non-zero (4 x 10 rows) per sample and copy: 480 index reads
    # of index_bits(20) = 5 bits; adds only where the source component works:
    # 40 * 30 / 20 = 60 per copy (as ternary)
    "sparse": (
        {("add", (12,)): 120, ("sram_read", ("feedback",)): 480 * 5,
         ("shift_add", (12,)): SHIFTS},
        None,
        120,
    ),
    # V R: 3 x 30 x 2 = 180 MACs reading V; U (V R): 10 x 3 x 6 x 2 = 360 reading U
    "lowrank": (
        {("mac", (FB, 12)): 540, ("sram_read", ("feedback",)): 540 * FB},
        {("shift_add", (FB,)): 180, ("mac", (FB, 12)): 360,
         ("sram_read", ("feedback",)): 540 * FB},
        540,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(PROJECTED))
def test_projection_actions(name: str) -> None:
    fmt = get_format(name)
    linear, log, ops = PROJECTED[name]
    assert fmt.projection_ops(PROJ) == ops
    for coded, want in ((False, linear), (True, log or linear)):
        c: Counter = Counter()
        fmt.project(c, PROJ, FB, 12, log=coded)
        assert c == Counter({("feedback", a, d): v for (a, d), v in want.items()}), coded
    # a chip that regenerates C^h: the same datapath, every bit read a random bit
    c = Counter()
    fmt.project(c, PROJ, FB, 12, log=False)
    read = c["feedback", "sram_read", ("feedback",)]
    get_format("prng").regenerate(c)
    assert ("feedback", "sram_read", ("feedback",)) not in c
    assert c["feedback", "rng", ()] == read
    assert c == Counter({("feedback", a, d): v for (a, d), v in linear.items()
                         if a != "sram_read"}) + Counter({("feedback", "rng", ()): read})


def test_projection_uses_the_actual_nonzeros_when_given() -> None:
    p = dataclasses.replace(PROJ, nnz=7)  # 7 non-zeros in the 10 rows, not 4 x 10
    assert get_format("sparse").projection_ops(p) == 11 * 2  # 7 * 30 / 20 = 10.5, halves up
    assert get_format("ternary").projection_ops(p) == 11 * 2
    # every source component working (no zero skipping): every entry walked adds
    every = dataclasses.replace(p, nnz_src=20 * 6)
    assert get_format("sparse").projection_ops(every) == 7 * 6 * 2
    with pytest.raises(ConfigError):  # neither counted nor expected
        get_format("sparse").projection_ops(dataclasses.replace(PROJ, n=None))


# per row and per tile operations of a tile's projection of one sample (timing)
WORK = {"dense": (20, 0), "binary": (20, 0), "ternary": (N, 0), "sparse": (N, 0),
        "lowrank": (RANK, RANK * 20)}  # fmt: skip


@pytest.mark.parametrize("name", list(WORK))
def test_projection_work(name: str) -> None:
    assert get_format(name).projection_work(20, N, RANK) == WORK[name]


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
