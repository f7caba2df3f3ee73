"""update.input_skip and update.zero_update_skip: hand-computed counts."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest

from hw_models.timing.graph import grad_products
from hw_models.timing.model import LayerTiming, TileWork
from hw_models.timing.options import GraphOptions
from neurosim.cost.gradients import Gradients, gradient_products


@pytest.mark.parametrize("mode", ["fixed", "float"])  # numba kernel, NumPy twin
def test_input_products_by_hand(mode: str) -> None:
    from neurosim.cost.accounting import Accountant

    acct = Accountant.__new__(Accountant)  # only the tallies are exercised
    acct.skips = Counter()
    acct.cfg = SimpleNamespace(mode=mode)
    R = [np.array([[1, 0, 2], [0, 0, 0]]), None]
    a = [np.array([[0, 3, 0, 0], [1, 1, 0, 5]]), np.zeros((2, 3))]
    acct.observe_inputs(R, a)
    # sample 0: 2 non-zero errors x 1 non-zero input; sample 1: 0 x 3
    assert acct.skips["in_R", 0] == 2 and acct.skips["in", 0] == 4
    assert ("in", 1) not in acct.skips  # no error for layer 2: nothing tallied
    update = SimpleNamespace(input_skip=True)
    fake = SimpleNamespace(plan=SimpleNamespace(chip=SimpleNamespace(update=update)),
                           zero_skip=True, skips=acct.skips, sizes=[4, 3, 2])  # fmt: skip
    assert gradient_products(fake, 0, 999) == 2
    fake.zero_skip = False  # every error component: 3 outputs x 4 non-zero inputs
    assert gradient_products(fake, 0, 999) == 12
    update.input_skip = False
    assert gradient_products(fake, 0, 999) == 999


def test_zero_update_skip_reads() -> None:
    c: Counter = Counter()
    # online: 100 products, 7 words changed: 7 reads of 8 bits, 7 adds, 7 writes
    Gradients("online", zero_update_skip=True, samples=1, batches=1).apply(c, 50, 8, 7, 100)
    assert c["update", "sram_read", ("weights",)] == 56
    assert c["update", "add", (8,)] == 7 and c["update", "sram_write", ("weights",)] == 56
    c.clear()
    Gradients("online", samples=1, batches=1).apply(c, 50, 8, 7, 100)
    assert c["update", "sram_read", ("weights",)] == 800  # every product reads
    c.clear()
    # sram: the accumulator is still read and cleared for all 50; the weight only for 7
    Gradients("sram", zero_update_skip=True, samples=4, batches=2).apply(c, 50, 16, 7, 0)
    assert c["update", "sram_read", ("grad",)] == 50 * 32 * 2
    assert c["update", "sram_read", ("weights",)] == 7 * 16
    assert c["update", "mult", (32, 16)] == 100 and c["update", "add", (16,)] == 7


def test_timing_share_of_products() -> None:
    tiles = tuple(TileWork(100, 112) for _ in range(7))
    lay = LayerTiming(tiles=tiles, row_blocks=1, col_blocks=7, n_out=100, n_in=784)
    # 1568 products per sample over 100 x 784 synapses; a 100 x 128 tile does 128/784
    opts = GraphOptions(grad_products={1: 1568.0})
    assert grad_products(lay, 1, 100, 128, opts) == 1568.0 * 128 / 784
    assert grad_products(lay, 1, 100, 128, GraphOptions()) == 100 * 128
    # grad_nnz alone: 10 of 100 rows
    assert grad_products(lay, 1, 100, 128, GraphOptions(grad_nnz={1: 10.0})) == 10 * 128
