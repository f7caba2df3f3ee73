"""The paper experiments' protocol: statistics over seeds and the claim rule,
learning-rate tuning on a held-out validation split, the per-seed CSV, and
He initialisation."""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from neurosim.config import TrainConfig
from neurosim.data.base import hold_out
from neurosim.data.datasets import load_dataset
from neurosim.errors import ConfigError
from neurosim.experiments.paper import Variant, _rules_claims, _sign_claims, run_experiment
from neurosim.experiments.paper.common import above
from neurosim.experiments.paper.protocol import Protocol, aggregate, choose_lr, lr_text
from neurosim.experiments.paper.stats import (
    beats,
    beyond,
    counts,
    mean_std,
    paired_diff,
    standard_error,
)
from neurosim.experiments.sweep import point_id
from neurosim.experiments.train import train
from neurosim.nn.draws import init_weights
from neurosim.nn.network import init_weights as glorot_weights


# ------------------------------------------------------------ statistics
def test_mean_std_and_standard_error_on_hand_made_numbers() -> None:
    assert mean_std([0.9]) == (0.9, 0.0)
    m, sd = mean_std([1.0, 2.0, 3.0])
    assert m == 2.0 and sd == pytest.approx(1.0)  # ddof = 1
    assert standard_error([1.0, 2.0, 3.0]) == pytest.approx(1 / math.sqrt(3))
    with pytest.raises(ValueError):
        mean_std([])


def test_paired_difference_and_its_standard_error() -> None:
    # per-seed differences 0.02, 0.03, 0.04: mean 0.03, sd 0.01, SE 0.01/sqrt(3)
    d, se = paired_diff([0.92, 0.93, 0.94], [0.90, 0.90, 0.90])
    assert d == pytest.approx(0.03) and se == pytest.approx(0.01 / math.sqrt(3))
    # a constant on the right (chance level)
    d, se = paired_diff([0.6, 0.7], 0.5)
    assert d == pytest.approx(0.15) and se == pytest.approx(0.05)
    with pytest.raises(ValueError):
        paired_diff([0.1, 0.2], [0.1])


def test_the_claim_rule_two_standard_errors_and_the_margin() -> None:
    assert counts(0.03, 0.01) and not counts(0.02, 0.01) and counts(-0.03, 0.01)
    # mean gap 0.03 >= margin 0.02, SE 0.0058: counts
    assert beats([0.92, 0.93, 0.94], [0.90, 0.90, 0.90], 0.02)
    # the same mean gap but noisy (differences -0.02, 0.03, 0.08: SE 0.029): not
    assert not beats([0.88, 0.93, 0.98], [0.90, 0.90, 0.90], 0.02)
    # a clean gap below the margin: not
    assert not beats([0.91, 0.91, 0.91], [0.90, 0.90, 0.90], 0.02)
    # "no better than": refuted only by a counting difference above the margin
    assert beyond([0.95, 0.95, 0.96], [0.90, 0.90, 0.90], 0.01)
    assert not beyond([0.85, 0.95, 1.05], [0.90, 0.90, 0.90], 0.01)
    # one seed: the margin alone, as the single-run verdicts were
    assert beats([0.92], [0.90], 0.02) and not beats([0.919], [0.90], 0.02)
    assert beyond([0.911], [0.90], 0.01) and not beyond([0.91], [0.90], 0.01)


def _runs(scores: dict[str, list[float]]) -> dict[str, dict]:
    out = {}
    for k, v in scores.items():
        agg = aggregate([{"test_accuracy": x, "test_auc": None, "energy_nj_per_sample": 1.0,
                          "transport_bits_per_sample": 0.0, "cycles_per_sample": 1.0,
                          "curve": [x]} for x in v], [0.1] * len(v), list(range(len(v))))
        out[k] = {"variant": Variant(k, {}), **agg}  # fmt: skip
    return out


def test_claims_are_judged_on_the_means_with_the_rule() -> None:
    good = _runs({"A": [0.90, 0.91, 0.92], "B": [0.70, 0.71, 0.69]})
    c = above(good, ["A"], "B", "A beats B")
    assert c.holds and "0.9100 ± 0.0100" in c.measured
    # the mean of A is 3 points above B, but one seed is below it: noise
    noisy = _runs({"A": [0.80, 0.71, 0.68], "B": [0.70, 0.71, 0.69]})
    assert noisy["A"]["test_accuracy"] - noisy["B"]["test_accuracy"] > 0.02
    assert not above(noisy, ["A"], "B", "A beats B").holds
    # dropping f′: a 0.5-point loss in the mean (within noise) does not hurt
    rules = {"BP": [0.9] * 3, "RBP": [0.9] * 3, "SRBP": [0.9] * 3, "SBP": [0.9] * 3,
             "top-only": [0.7] * 3, "BP (no f′)": [0.8] * 3, "RBP (no f′)": [0.8] * 3,
             "SRBP (no f′)": [0.905, 0.88, 0.9], "SBP (no f′)": [0.8] * 3}  # fmt: skip
    assert [c.holds for c in _rules_claims(_runs(rules))] == [True, True, True, False, True]
    sm = {"SRBP magnitude": [0.72, 0.69, 0.70], "RBP magnitude": [0.70] * 3,
          "top-only": [0.70, 0.70, 0.70], "SRBP sign": [0.8] * 3, "RBP sign": [0.8] * 3}
    assert [c.holds for c in _sign_claims(_runs(sm))] == [True, True]


# ------------------------------------------------------------ tuning
def test_choose_lr_best_validation_score_smaller_on_ties() -> None:
    assert choose_lr({0.01: 0.5, 0.03: 0.8, 0.1: 0.7, 0.3: None}) == 0.03
    assert choose_lr({0.3: 0.8, 0.1: 0.8, 0.01: 0.2}) == 0.1
    assert choose_lr({0.1: float("nan"), 0.3: 0.4}) == 0.3
    with pytest.raises(ValueError):
        choose_lr({0.1: None})
    assert lr_text([0.1, 0.1]) == "0.1" and lr_text([0.1, 0.3]) == "0.1/0.3"


def test_protocol_defaults() -> None:
    assert Protocol.default(False, {}) == Protocol(seeds=3, tune=True)
    assert Protocol.default(True, {}) == Protocol(seeds=1, tune=False)
    assert not Protocol.default(False, {"lr": 0.1}).tune  # --lr: the fixed-lr runs
    assert Protocol.default(False, {}, tune=False).seeds == 3
    assert Protocol().epochs_for_tuning(20) == 10 and Protocol().epochs_for_tuning(1) == 1
    with pytest.raises(ConfigError):
        Protocol.default(False, {}, seeds=0)
    # --tune-epochs: the tuning runs' length, whatever the experiment's epochs
    assert Protocol.default(False, {}, tune_epochs=2).epochs_for_tuning(20) == 2
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ConfigError, match="tune_epochs"):
            Protocol.default(False, {}, tune_epochs=bad)


def test_hold_out_takes_the_last_training_samples_and_drops_the_test_set() -> None:
    ds = load_dataset("digits", seed=0, limit=100)
    h = hold_out(ds, 20)
    assert h.x_train.shape[0] == 80 and h.x_test.shape[0] == 20
    assert np.array_equal(h.x_test, ds.x_train[80:]) and np.array_equal(h.y_test, ds.y_train[80:])
    assert np.array_equal(h.x_train, ds.x_train[:80])
    assert hold_out(ds, None) is ds
    for bad in (0, 100):
        with pytest.raises(ConfigError, match="validation"):
            hold_out(ds, bad)


def test_a_validation_run_never_reads_the_test_set() -> None:
    # scrambling the test set (features and labels) changes nothing of a
    # held-out run: what the tuning chooses cannot depend on it
    cfg = TrainConfig.from_dict(dict(data="digits", hidden=[8], batch=32, epochs=2, limit=300,
                                     validation=60, mode="fixed")).validate()  # fmt: skip
    ds = load_dataset("digits", seed=0)
    rng = np.random.default_rng(1)
    scrambled = dataclasses.replace(
        ds, x_test=np.ascontiguousarray(ds.x_test[::-1]),
        y_test=rng.integers(0, 10, ds.y_test.shape[0]),
    )  # fmt: skip
    a, _ = train(cfg, dataset=ds, chip_accounting=False)
    b, _ = train(cfg, dataset=scrambled, chip_accounting=False)
    assert a.weights_sha256 == b.weights_sha256
    assert [e.test_accuracy for e in a.epochs] == [e.test_accuracy for e in b.epochs]
    # and it is scored on the 60 held-out training samples
    assert all(round(e.test_accuracy * 60) == e.test_accuracy * 60 for e in a.epochs)


def test_new_fields_at_their_default_keep_point_ids() -> None:
    cfg = TrainConfig()
    assert cfg.init == "glorot" and cfg.validation is None
    with pytest.raises(ConfigError):
        TrainConfig.from_dict({"init": "lecun"}).validate()
    import hashlib
    import json

    d = {k: v for k, v in cfg.to_dict().items() if k not in ("init", "validation")}
    old = {k: v for k, v in d.items()}
    from neurosim.experiments.sweep import ID_NEUTRAL

    old = {k: v for k, v in old.items() if k not in ID_NEUTRAL or v != ID_NEUTRAL[k]}
    text = json.dumps(old, sort_keys=True, separators=(",", ":"))
    assert point_id(cfg) == hashlib.sha256(text.encode()).hexdigest()
    assert point_id(dataclasses.replace(cfg, init="he")) != point_id(cfg)


# ------------------------------------------------------------ initialisation
def test_glorot_init_draws_what_it_always_drew() -> None:
    sizes = [64, 32, 16, 10]
    cfg = TrainConfig(seed=3)
    for a, b in zip(init_weights(cfg, sizes), glorot_weights(3, sizes), strict=True):
        assert np.array_equal(a, b)


def test_he_init_has_variance_two_over_fan_in() -> None:
    sizes = [784, 400, 400, 10]
    cfg = TrainConfig(init="he", seed=0)
    ws = init_weights(cfg, sizes)
    for w, n_in in zip(ws[:-1], sizes[:-2], strict=True):
        assert np.var(w) == pytest.approx(2.0 / n_in, rel=0.02)
        assert np.abs(w).max() <= math.sqrt(6.0 / n_in)
    # the output layer stays Glorot, the same uniform numbers scaled
    g = glorot_weights(0, sizes)
    assert np.array_equal(ws[-1], g[-1])
    assert np.allclose(ws[0] / math.sqrt(6 / 784), g[0] / math.sqrt(6 / (784 + 400)))


def test_glorot_logistic_init_is_glorot_times_four_on_hidden_layers() -> None:
    sizes = [64, 32, 16, 10]
    ws = init_weights(TrainConfig(init="glorot-logistic", seed=2), sizes)
    g = glorot_weights(2, sizes)
    for w, gw in zip(ws[:-1], g[:-1], strict=True):
        assert np.array_equal(w, 4.0 * gw)
    assert np.array_equal(ws[-1], g[-1])  # the output layer stays Glorot
    # the bound of Glorot and Bengio (2010) for the logistic sigmoid
    assert np.abs(ws[0]).max() <= 4 * math.sqrt(6 / (64 + 32))


# ------------------------------------------------------------ outputs
def test_per_seed_values_in_the_csv(tmp_path: Path) -> None:
    res = run_experiment("adaptive", tmp_path, quick=True, workers=2,
                         protocol=Protocol(seeds=2, tune=False))[0]  # fmt: skip
    with open(tmp_path / "adaptive" / "adaptive_seeds.csv") as fh:
        long = list(csv.DictReader(fh))
    with open(tmp_path / "adaptive" / "adaptive.csv") as fh:
        rows = {r["label"]: r for r in csv.DictReader(fh)}
    assert len(long) == 2 * len(rows)
    for label, r in rows.items():
        mine = [float(x["test_accuracy"]) for x in long if x["label"] == label]
        assert sorted(int(x["seed"]) for x in long if x["label"] == label) == [0, 1]
        assert float(r["test_accuracy"]) == pytest.approx(sum(mine) / 2)
        assert float(r["test_accuracy_std"]) == pytest.approx(mean_std(mine)[1])
        assert r["lr"] == "0.1" and r["seeds"] == "2"
    assert res.runs["SRBP"]["per_seed"]["test_accuracy"] == [
        float(x["test_accuracy"]) for x in long if x["label"] == "SRBP"
    ]
    md = (tmp_path / "adaptive" / "adaptive.md").read_text()
    assert "± " in md and "| lr |" in md and "seeds 0–1" in md


def test_tuning_runs_hold_out_a_validation_split(tmp_path: Path) -> None:
    from neurosim.experiments.store import Store

    proto = Protocol(seeds=1, tune=True, grid=(0.03, 0.3), tune_epochs=1)
    res = run_experiment("adaptive", tmp_path, quick=True, workers=2, protocol=proto)[0]
    with Store(tmp_path / "adaptive" / "adaptive.db") as st:
        pts = st.points()
    tuning = [p for p in pts if p["record"]["config"].get("validation")]
    assert len(tuning) == 5 * 2 and len(pts) == 5 * 3
    # digits: 1,437 training samples, the last 287 held out
    assert {p["record"]["config"]["validation"] for p in tuning} == {287}
    assert all(p["record"]["config"]["epochs"] == 1 for p in tuning)
    for r in res.runs.values():
        assert r["lr"][0] in (0.03, 0.3)
    assert "lr tuned per run" in res.setting


@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist").is_dir(),
                    reason="dataset-fashion-mnist is not installed")
def test_tune_seeds_tunes_the_first_seeds_and_runs_every_seed_at_their_mean_best(
    tmp_path: Path,
) -> None:
    from neurosim.experiments.store import Store

    proto = Protocol(seeds=3, tune=True, grid=(0.03, 0.3), tune_epochs=1, tune_seeds=2)
    over = {"data": "fashion-mnist", "limit": 400}
    res = run_experiment("adaptive", tmp_path, quick=True, workers=2, overrides=over,
                         protocol=proto)[0]  # fmt: skip
    with Store(tmp_path / "adaptive" / "adaptive.db") as st:
        pts = [p["record"] for p in st.points()]
    tuning = [r for r in pts if r["config"].get("validation")]
    assert len(tuning) == 5 * 2 * 2 and len(pts) == 5 * 2 * 2 + 5 * 3
    assert {r["config"]["seed"] for r in tuning} == {0, 1}
    for label, run in res.runs.items():
        # the best mean validation accuracy of seeds 0 and 1, computed here from the store
        mine = {}
        for lr in (0.03, 0.3):
            acc = [r["results"]["test_accuracy"] for r in tuning
                   if r["config"]["lr"] == lr and run["variant"].fields.items()
                   <= r["config"].items()]  # fmt: skip
            assert len(acc) == 2
            mine[lr] = sum(acc) / 2
        best = 0.03 if mine[0.03] >= mine[0.3] else 0.3
        assert run["lr"] == [best] * 3, label
    assert "chosen on the mean of seeds 0–1 for every seed" in res.setting


def test_tune_seeds_refused_where_one_seeds_validation_is_anothers_test_set(
    tmp_path: Path,
) -> None:
    proto = Protocol(seeds=3, tune=True, tune_seeds=1)
    with pytest.raises(ConfigError, match="tune_seeds"):
        run_experiment("adaptive", tmp_path, quick=True, protocol=proto)  # digits
    assert not (tmp_path / "adaptive" / "adaptive.db").exists()
    for bad in (0, 1.5, True):
        with pytest.raises(ConfigError, match="tune_seeds"):
            Protocol.default(False, {}, tune_seeds=bad)
