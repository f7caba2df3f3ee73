"""A sweep on several workers starts its longest points first
(neurosim.experiments.order): hand-computed costs and the order they give."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from neurosim.config import TrainConfig
from neurosim.experiments.order import estimated_cost, longest_first


def cfg(**kw) -> TrainConfig:
    return TrainConfig(**{"data": "mnist5k", "mode": "fixed", **kw}).validate()


def test_costs_by_hand():
    # 784-100-10, SRBP, mnist5k (4000 samples), 2 epochs, 8-bit weights:
    # forward 784*100 + 100*10 = 79,400; skip projections 100*10 = 1,000
    assert estimated_cost(cfg(hidden=[100], rule="srbp", epochs=2, weight_bits=8)) == (
        2 * 4000 * (2 * 79_400 + 1_000)
    )
    # 16-bit weights (the default): the products with W count twice
    assert estimated_cost(cfg(hidden=[100], rule="srbp", epochs=2)) == 2 * 4000 * (
        2 * 2 * 79_400 + 1_000
    )
    # ... not in float mode
    assert estimated_cost(cfg(hidden=[100], rule="srbp", epochs=2, mode="float")) == (
        2 * 4000 * (2 * 79_400 + 1_000)
    )
    # 784-100-50-10, BP: forward 78,400 + 5,000 + 500; chain W^T 5,000 + 500
    assert estimated_cost(cfg(hidden=[100, 50], rule="bp", epochs=1, limit=300)) == 300 * (
        2 * 2 * 83_900 + 2 * 5_500
    )
    # RBP's chain is C^h, whatever the weights' width
    assert estimated_cost(cfg(hidden=[100, 50], rule="rbp", epochs=1, limit=300)) == 300 * (
        2 * 2 * 83_900 + 5_500
    )
    # top-only trains no hidden layer: no error path; a validation hold-out
    # leaves fewer training samples
    assert estimated_cost(
        cfg(hidden=[100], rule="top-only", epochs=1, validation=1000, weight_bits=8)
    ) == 3000 * (2 * 79_400)
    # conv block c4k3p2s2 on 1x28x28: conv 28*28*4 outputs x 9 inputs, x3;
    # pooled 14*14*4 = 784 inputs to the dense part
    c = estimated_cost(
        cfg(conv="c4k3p2s2", hidden=[10], rule="srbp", epochs=1, limit=10, weight_bits=8)
    )
    assert c == 10 * (3 * 28 * 28 * 4 * 9 + 2 * (784 * 10 + 10 * 10) + 10 * 10)


@dataclass
class P:
    config: TrainConfig
    name: str


def test_longest_first_keeps_ties_in_order():
    # per sample (16-bit weights: products with W count twice): wide
    # 4*635,200 + 8,000; long 9 epochs x (4*39,700 + 500); mid (BP)
    # 4*158,800 + 2*2,000; small 4*39,700 + 500
    pts = [
        P(cfg(hidden=[50], rule="srbp", seed=0, epochs=1), "small-0"),
        P(cfg(hidden=[800], rule="srbp", epochs=1), "wide"),
        P(cfg(hidden=[50], rule="srbp", seed=1, epochs=1), "small-1"),
        P(cfg(hidden=[200], rule="bp", epochs=1), "mid"),
        P(cfg(hidden=[50], rule="srbp", epochs=9), "long"),
    ]
    assert [p.name for p in longest_first(pts)] == ["wide", "long", "mid", "small-0", "small-1"]


def test_wider_weights_start_first():
    # the benchmark grid's measured order of step times (Fashion-MNIST, this
    # machine): BP w16 > RBP w16 > SRBP w16 > RBP w8 ~ BP w8 > SRBP w8
    net = {"hidden": [100, 100, 100, 100]}
    pts = [P(cfg(rule=r, weight_bits=w, **net), f"{r}{w}")
           for w in (8, 16) for r in ("bp", "rbp", "srbp")]  # fmt: skip
    order = [p.name for p in longest_first(pts)]
    assert order == ["bp16", "rbp16", "srbp16", "bp8", "rbp8", "srbp8"]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_sweep_starts_the_longest_points_first_on_several_workers(tmp_path, workers,
                                                                   monkeypatch):  # fmt: skip
    from neurosim.experiments import sweep as sw

    spec = tmp_path / "s.toml"
    spec.write_text(
        '[sweep]\nname = "o"\n[base]\ndata = "digits"\nmode = "float"\nepochs = 1\n'
        'limit = 50\nchip = "small"\n[axes]\nhidden = [[4], [64], [16]]\n'
    )
    submitted = []

    class Pool:  # records the submission order; runs nothing
        capacity = 1

        def __init__(self, *a):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def submit(self, point):
            submitted.append(list(point.config.hidden))
            return len(submitted)

        def wait(self, futures):
            return set(futures)

        def outcome(self, fut):
            return {"status": "failed", "error": "not run"}

    import neurosim.experiments.pools as pools

    monkeypatch.setattr(pools, "LocalPool", Pool)
    sw.run_sweep(spec, tmp_path / "s.db", workers=workers, progress=False)
    expected = [[64], [16], [4]] if workers > 1 else [[4], [64], [16]]
    assert submitted == expected
