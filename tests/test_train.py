"""Seeded "it learns" runs per rule, on real data, well above chance."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurosim.config import TrainConfig
from neurosim.data.datasets import load_dataset
from neurosim.errors import NumericalError
from neurosim.experiments.train import train, write_record


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist5k", seed=0)


# short runs: 2 epochs of 784-50-50-10 on 4,000 real digits; chance is 0.10
@pytest.mark.parametrize("rule", ["bp", "rbp", "srbp", "sbp", "arbp", "asrbp"])
@pytest.mark.parametrize("mode", ["float", "fixed"])
def test_rule_learns(mnist, rule: str, mode: str) -> None:
    cfg = TrainConfig(rule=rule, mode=mode, epochs=2, hidden=(50, 50), error_bits=4, seed=0)
    res, _ = train(cfg, mnist)
    assert res.test_accuracy > 0.70, res.test_accuracy


def test_top_only_is_the_weaker_baseline(mnist) -> None:
    base = dict(epochs=3, hidden=(50, 50), seed=0)
    top, _ = train(TrainConfig(rule="top-only", **base), mnist)
    srbp, _ = train(TrainConfig(rule="srbp", **base), mnist)
    assert 0.3 < top.test_accuracy < srbp.test_accuracy - 0.03


def test_8bit_weights_need_stochastic_rounding(mnist) -> None:
    base = dict(mode="fixed", epochs=1, hidden=(50,), weight_bits=8, error_bits=4, seed=0)
    near, _ = train(TrainConfig(rounding="nearest", **base), mnist)
    stoch, _ = train(TrainConfig(rounding="stochastic", **base), mnist)
    # with round-to-nearest the hidden 8-bit weights (almost) never change
    assert near.counts["changed:W^1"] * 100 < stoch.counts["changed:W^1"]
    assert stoch.test_accuracy > near.test_accuracy + 0.2


def test_fixed_run_is_deterministic_and_record_complete(mnist, tmp_path) -> None:
    cfg = dict(mode="fixed", epochs=1, hidden=(30,), error_bits=4, seed=5)
    a, _ = train(TrainConfig(**cfg), mnist)
    b, _ = train(TrainConfig(**cfg), mnist)
    assert a.weights_sha256 == b.weights_sha256
    assert a.counts == b.counts
    rec = a.to_record()
    path = tmp_path / "run.json"
    write_record(rec, path)
    back = json.loads(path.read_text())
    assert back["schema_version"] == 1
    assert back["config"]["weight_bits"] == 16 and back["config"]["hidden"] == [30]
    r = back["results"]
    assert 0.0 <= r["test_accuracy"] <= 1.0 and 0.0 <= r["train_accuracy"] <= 1.0
    assert len(r["epochs"]) == 1 and set(r["epochs"][0]) >= {"train_loss", "test_accuracy"}
    assert isinstance(r["saturations"], dict) and r["wall_seconds"] > 0
    assert r["weights_sha256"] == a.weights_sha256


def test_float_divergence_is_a_clear_error(mnist) -> None:
    cfg = TrainConfig(rule="bp", epochs=1, hidden=(50,), lr=900.0, act="linear", output="linear")
    with pytest.raises(NumericalError, match=r"epoch 1, step \d+"):
        train(cfg, mnist)


def test_fixed_mode_never_produces_nan(mnist) -> None:
    cfg = TrainConfig(
        mode="fixed",
        rule="bp",
        epochs=1,
        hidden=(50,),
        lr=900.0,
        act="relu",
        act_int_bits=3,
        output="linear",
    )
    res, eng = train(cfg, mnist)
    assert all(np.isfinite(w).all() for w in eng.W)
    assert sum(res.saturations().values()) > 0  # the overflow is counted, not hidden
