"""Mapping networks onto tiles: block grids, utilisation and memory bits by hand."""

from __future__ import annotations

import dataclasses

import pytest

from hw_models.chip import Chip, load_chip
from hw_models.mapping import Mapping, map_network
from neurosim.channel.formats import get_format
from neurosim.channel.formats.sparse import index_bits
from neurosim.errors import ConfigError


def chip64(**tile: float) -> Chip:
    """The small preset with 64 x 64 tiles (8-bit weights fit in 4 KiB)."""
    c = load_chip("small")
    t = dataclasses.replace(
        c.tile,
        **{"rows": 64, "cols": 64, "sram_kib": 4, "feedback_sram_kib": 1, **tile},
    )
    return dataclasses.replace(c, tile=t, weight_bits=8)


def place(
    chip: Chip,
    sizes: list[int],
    feedback_shapes: list,
    weight_bits: int,
    feedback_bits: int,
    feedback_storage: str,
    feedback_n: int | None = None,
    rank: int | None = None,
    *,
    sparse_value_bits: int | None = None,
    **kwargs,
) -> Mapping:
    """``map_network`` with the storage of the registry's format ``feedback_storage``
    (sparse lists keep ``feedback_bits`` value bits unless told otherwise)."""
    if feedback_storage == "sparse" and sparse_value_bits is None:
        sparse_value_bits = feedback_bits
    st = get_format(feedback_storage, "feedback_storage").storage(
        feedback_bits, feedback_n, rank, sparse_value_bits
    )
    return map_network(chip, sizes, feedback_shapes, weight_bits, st, **kwargs)


C64 = chip64()
NET = [784, 100, 10]
SRBP = [(100, 10)]  # C^1: (N_1, N_L)


def test_784_100_10_on_64x64_tiles():
    m = place(C64, NET, SRBP, 8, 8, "dense")
    l1, l2 = m.layers
    # layer 1: W 100 x 784 -> ceil(100/64) = 2 row blocks, ceil(784/64) = 13 column blocks
    assert (l1.row_blocks, l1.col_blocks, l1.tiles) == (2, 13, 26)
    # layer 2: W 10 x 100 -> 1 x 2
    assert (l2.row_blocks, l2.col_blocks, l2.tiles) == (1, 2, 2)
    assert m.tiles == 28 and m.col_blocks == [13, 2]
    assert l1.utilisation == 78400 / (26 * 4096)
    assert l2.utilisation == 1000 / (2 * 4096)
    assert m.utilisation == 79400 / (28 * 4096)
    # blocks: full 64 x 64, last column 784 - 12*64 = 16, last row 100 - 64 = 36
    shapes = {(b.row_block, b.col_block): (b.rows_used, b.cols_used) for b in l1.blocks}
    assert shapes[0, 0] == (64, 64) and shapes[0, 12] == (64, 16)
    assert shapes[1, 0] == (36, 64) and shapes[1, 12] == (36, 16)
    assert [(b.rows_used, b.cols_used) for b in l2.blocks] == [(10, 64), (10, 36)]
    bits = {(b.row_block, b.col_block): b.weight_memory_bits for b in l1.blocks}
    assert bits[0, 0] == 32768 and bits[0, 12] == 8192 and bits[1, 0] == 18432
    assert bits[1, 12] == 4608
    assert l1.weight_memory_bits == 627200 and l2.weight_memory_bits == 8000
    assert m.weight_memory_bits == 635200
    # tiles numbered row-block-major
    assert [(b.row_block, b.col_block) for b in l1.blocks][:14] == [
        *[(0, j) for j in range(13)],
        (1, 0),
    ]
    assert m.fits


# storage, bits of C^1's slice in row block 0 (64 rows) and row block 1 (36 rows)
# C^1 is 100 x 10, feedback_bits 8; sparse n = 2 -> nnz 2 per row, index 4 bits
STORAGE = [
    ("dense", 64 * 10 * 8, 36 * 10 * 8),  # 5120 + 2880 = 8000
    ("binary", 640, 360),  # 1000
    ("ternary", 1280, 720),  # 2000
    ("sparse", 128 * (4 + 8), 72 * (4 + 8)),  # 2400
    ("lowrank", (64 * 3 + 3 * 10) * 8, 36 * 3 * 8),  # (100*3 + 3*10) * 8 = 2640
    ("prng", 0, 0),
]


@pytest.mark.parametrize("storage, b0, b1", STORAGE)
def test_feedback_slices_by_format(storage, b0, b1):
    m = place(C64, NET, SRBP, 8, 8, storage, feedback_n=2, rank=3)
    l1, l2 = m.layers
    assert l1.feedback_shape == (100, 10) and l2.feedback_shape is None
    held = [b for b in l1.blocks if b.feedback_rows]
    # one slice per row block, in the tile of its last column block
    assert [(b.row_block, b.col_block, b.feedback_rows) for b in held] == [(0, 12, 64), (1, 12, 36)]
    assert [b.feedback_memory_bits for b in held] == [b0, b1]
    assert sum(b.feedback_memory_bits for b in l1.blocks) == b0 + b1
    assert m.feedback_memory_bits == b0 + b1 and l2.feedback_memory_bits == 0


def test_layer_totals_match_the_closed_forms():
    totals = {
        s: place(C64, NET, SRBP, 8, 8, s, feedback_n=2, rank=3).feedback_memory_bits
        for s, _, _ in STORAGE
    }
    assert totals == {
        "dense": 100 * 10 * 8,
        "binary": 1000,
        "ternary": 2000,
        "sparse": 2 * 100 * (4 + 8),
        "lowrank": (100 * 3 + 3 * 10) * 8,
        "prng": 0,
    }


def test_rbp_shapes_784_100_100_10():
    # RBP: C^1 (100, 100), C^2 (100, 10); sparse n = 5, {0,1} entries (value bits 0)
    m = place(
        C64, [784, 100, 100, 10], [(100, 100), (100, 10)], 8, 8, "sparse", feedback_n=5,
        sparse_value_bits=0,
    )  # fmt: skip
    l1, l2, l3 = m.layers
    assert [lay.tiles for lay in m.layers] == [26, 4, 2]
    assert l1.feedback_memory_bits == 5 * 100 * index_bits(100)  # 7 index bits
    assert l2.feedback_memory_bits == 5 * 100 * 4
    assert index_bits(100) == 7 and index_bits(10) == 4 and index_bits(16) == 4
    assert index_bits(17) == 5 and index_bits(1) == 0 and index_bits(2) == 1


def test_sparse_with_actual_counts():
    rows = [1] * 50 + [3] * 50  # 200 non-zeros
    m = place(C64, NET, SRBP, 8, 8, "sparse", nnz=[rows])
    held = [b.feedback_memory_bits for b in m.layers[0].blocks if b.feedback_rows]
    # row block 0: 50*1 + 14*3 = 92 non-zeros; row block 1: 36*3 = 108
    assert held == [92 * 12, 108 * 12]
    # a layer total is apportioned by rows: 201 * 64 // 100 = 128, the rest 73
    m = place(C64, NET, SRBP, 8, 8, "sparse", nnz=[201])
    held = [b.feedback_memory_bits for b in m.layers[0].blocks if b.feedback_rows]
    assert held == [128 * 12, 73 * 12] and m.feedback_memory_bits == 201 * 12


def test_replicated_feedback():
    dense = place(C64, NET, SRBP, 8, 8, "dense", replicate_feedback=True)
    assert dense.feedback_memory_bits == 13 * 8000
    assert all(b.feedback_rows == b.rows_used for b in dense.layers[0].blocks)
    low = place(C64, NET, SRBP, 8, 8, "lowrank", rank=3, replicate_feedback=True)
    # every copy keeps its rows of U and the whole V
    assert low.feedback_memory_bits == 13 * ((64 * 3 + 30) + (36 * 3 + 30)) * 8


def test_no_feedback_for_bp():
    m = place(C64, [784, 100, 100, 10], [], 8, 8, "dense")
    assert m.feedback_memory_bits == 0 and all(lay.feedback_shape is None for lay in m.layers)


def test_capacity_violations():
    # 784-100-10 needs 28 tiles; small has 64. With 16-bit weights the tile's
    # 4 KiB = 32768 bits hold 64 x 16 (16384) and 36 x 16 blocks, not 64 x 64
    # (65536) or 36 x 64 (36864): 12 + 12 blocks of layer 1 overflow. The dense
    # C^1 slice of row block 0 is 5120 bits > 0.5 KiB (row block 1's 2880 fit).
    m = place(chip64(feedback_sram_kib=0.5), NET, SRBP, 16, 8, "dense")
    fields = [v.field for v in m.violations]
    assert fields.count("tile.sram_kib") == 24 and fields.count("tile.feedback_sram_kib") == 1
    assert len(fields) == 25 and not m.fits
    with pytest.raises(ConfigError) as ei:
        m.check()
    assert ei.value.field == "tile.sram_kib"
    few = dataclasses.replace(C64, n_tiles=20)
    m = place(few, NET, SRBP, 8, 1, "binary")
    assert [v.field for v in m.violations] == ["n_tiles"]
    with pytest.raises(ConfigError, match="28"):
        m.check()
    assert place(C64, NET, SRBP, 8, 1, "binary").check().fits


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"feedback_storage": "csr"}, "feedback_storage"),
        ({"feedback_storage": "lowrank"}, "rank"),
        ({"feedback_storage": "lowrank", "rank": 11}, "rank"),
        ({"feedback_storage": "sparse"}, "feedback_n"),
        ({"feedback_storage": "sparse", "feedback_n": 11}, "feedback_n"),
        ({"feedback_storage": "sparse", "nnz": [[1] * 99]}, "nnz[0]"),
        ({"feedback_storage": "sparse", "nnz": [[11] * 100]}, "nnz[0][0]"),
        ({"feedback_storage": "sparse", "nnz": [1001]}, "nnz[0]"),
        ({"feedback_storage": "sparse", "nnz": [1, 2]}, "nnz"),
        ({"feedback_shapes": [(99, 10)]}, "feedback_shapes[0]"),
        ({"feedback_shapes": [(100, 10), (10, 10)]}, "feedback_shapes"),
        ({"sizes": [784]}, "sizes"),
        ({"sizes": [784, 0, 10]}, "sizes[1]"),
        ({"weight_bits": 0}, "weight_bits"),
        ({"feedback_bits": 2.5}, "feedback_bits"),
    ],
)
def test_bad_arguments(kwargs, field):
    args = {
        "sizes": NET,
        "feedback_shapes": SRBP,
        "weight_bits": 8,
        "feedback_bits": 8,
        "feedback_storage": "dense",
        **kwargs,
    }
    with pytest.raises(ConfigError) as ei:
        place(C64, **args)
    assert ei.value.field == field
