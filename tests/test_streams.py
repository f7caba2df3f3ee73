"""The random-stream registry: one purpose per stream, the seeds it hands out."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.numerics import streams
from neurosim.numerics.fixedpoint import derive_key


@pytest.mark.parametrize("kind", ["generator", "counter"])
def test_no_id_serves_two_purposes(kind):
    ids = [s.id for s in streams.STREAMS.values() if s.kind == kind]
    assert len(ids) == len(set(ids))


def test_generator_is_seeded_by_seed_and_id():
    # the ids the committed records were made with
    assert streams.STREAMS["init_weights"].id == 1
    assert streams.STREAMS["feedback"].id == 2
    assert streams.STREAMS["train_order"].id == 3
    a = streams.generator(7, "feedback", 3).random(4)
    assert np.array_equal(a, np.random.default_rng([7, 2, 3]).random(4))
    # conv kernels and per-synapse feedback no longer share a stream
    w = streams.generator(7, "conv_weights").random(4)
    s = streams.generator(7, "synapse_feedback").random(4)
    assert not np.array_equal(w, s)


def test_counter_key_is_the_tile_purpose_path():
    assert streams.counter_key(5, "error_rounding", 3) == derive_key(5, 3, 2)
    assert streams.counter_key(5, "momentum", streams.CONV_TILE + 1, 1) == derive_key(
        5, 1001, 7, 1
    )


def test_kind_mismatch_is_refused():
    with pytest.raises(ValueError, match="counter stream"):
        streams.generator(1, "weight_update")
    with pytest.raises(ValueError, match="generator stream"):
        streams.counter_key(1, "feedback", 0)
