"""``neurosim paper``: every experiment in quick mode, and the claim checks."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from neurosim.cli import main
from neurosim.config import TrainConfig
from neurosim.experiments import theory as th
from neurosim.experiments.paper import (
    EXPERIMENTS,
    QUICK,
    Variant,
    _cooperation_claims,
    _dropout_claims,
    _error_bits_claims,
    _fixed_layers_claims,
    _resampled_claims,
    _rules_claims,
    _sign_claims,
    _sparsity_claims,
    run_experiment,
)
from neurosim.experiments.paper.error_bits import ERROR_BITS, MODES, RULES

MISSING = ["higgs", "convolution-cifar"]  # their data files are not in the empty data dir
RUN_HERE = [n for n in EXPERIMENTS if n not in MISSING]


@pytest.fixture(scope="module")
def quick_all(tmp_path_factory) -> tuple[Path, list, list]:
    out = tmp_path_factory.mktemp("paper")
    skipped: list = []
    empty = out / "no-data"
    empty.mkdir()
    res = run_experiment("all", out, data_dir=str(empty), quick=True, workers=2,
                         skipped=skipped)  # fmt: skip
    return out, res, skipped


def _runs(out: Path, name: str) -> dict[str, dict]:
    rows = csv.DictReader((out / name / f"{name}.csv").read_text().splitlines())
    return {r["label"]: r for r in rows}


def test_all_runs_every_experiment_and_skips_missing_higgs(quick_all) -> None:
    out, res, skipped = quick_all
    assert [r.name for r in res] == RUN_HERE
    assert [s[0] for s in skipped] == MISSING and all("not found" in s[1] for s in skipped)
    for r in res:
        d = out / r.name
        if r.name == "theory":
            continue
        for ext in ("md", "csv", "png", "svg", "db"):
            assert (d / f"{r.name}.{ext}").is_file(), (r.name, ext)
        md = (d / f"{r.name}.md").read_text()
        assert md.count("| yes |") + md.count("| **no** |") == len(r.claims) >= 1
        assert "digits" in md and "quick mode" in md
        cfg = TrainConfig.from_dict({**QUICK, "hidden": list(QUICK["hidden"])})
        assert len(_runs(out, r.name)) == len(EXPERIMENTS[r.name].variants(cfg))


def test_quick_runs_learn_and_no_feedback_equals_top_only(quick_all) -> None:
    out, _, _ = quick_all
    rules = _runs(out, "rules")
    top = float(rules["top-only"]["test_accuracy"])
    assert float(rules["BP"]["test_accuracy"]) >= top + 0.2
    assert float(rules["SRBP"]["test_accuracy"]) >= top + 0.1
    # no channel (rank 0, or n = 0 ones) leaves hidden weights alone: top-only, bit for bit
    rank, sparse = _runs(out, "rank"), _runs(out, "sparsity")
    assert rank["rank 0"]["test_accuracy"] == rank["top-only"]["test_accuracy"]
    assert sparse["sparse n=0"]["test_accuracy"] == sparse["top-only"]["test_accuracy"]
    # the chip: SRBP's error bits per sample are below RBP's and BP's
    bits = {k: float(rules[k]["transport_bits_per_sample"]) for k in ("BP", "RBP", "SRBP")}
    assert bits["SRBP"] < bits["RBP"] < bits["BP"]
    assert float(rules["top-only"]["energy_nj_per_sample"]) < float(
        rules["SRBP"]["energy_nj_per_sample"]
    )


def test_quick_convolution_rules_learn_through_conv_layers(quick_all) -> None:
    out, res, _ = quick_all
    conv = _runs(out, "convolution")
    assert list(conv) == ["BP", "RBP", "SRBP", "top-only"]
    top = float(conv["top-only"]["test_accuracy"])
    for rule in ("BP", "RBP", "SRBP"):
        assert float(conv[rule]["test_accuracy"]) >= top + 0.1, rule
    # the blocks' error traffic: SRBP's skip broadcast is the smallest
    bits = {k: float(conv[k]["transport_bits_per_sample"]) for k in ("BP", "RBP", "SRBP")}
    assert bits["SRBP"] < bits["RBP"] < bits["BP"]
    md = (out / "convolution" / "convolution.md").read_text()
    assert "conv c8k3p3s2" in md
    claims = next(r for r in res if r.name == "convolution").claims
    assert all(c.holds for c in claims)


def _fake(scores: dict[str, float]) -> dict[str, dict]:
    return {k: {"test_accuracy": v, "test_auc": None, "variant": Variant(k, {})}
            for k, v in scores.items()}  # fmt: skip


def test_claims_hold_and_fail_on_hand_made_numbers() -> None:
    good = {"BP": 0.9, "RBP": 0.88, "SRBP": 0.89, "SBP": 0.87, "top-only": 0.77}
    good |= {f"{r} (no f′)": 0.5 for r in ("BP", "RBP", "SRBP", "SBP")}
    assert all(c.holds for c in _rules_claims(_fake(good)))
    bad = good | {"RBP (no f′)": 0.895, "top-only": 0.875}
    assert [c.holds for c in _rules_claims(_fake(bad))] == [False, True, False, True, True]
    # error-bits: the claims are checked for each (rule, mode) series alone
    bits = {f"{r} {m} {b}-bit": 0.85 + 0.003 * b for r in RULES for m in MODES
            for b in ERROR_BITS}  # fmt: skip
    bits |= {f"{r} {m} linear": 0.875 for r in RULES for m in MODES}
    bits |= {f"top-only {m}": 0.7 for m in MODES}
    ok = _error_bits_claims(_fake(bits))
    assert len(ok) == 3 * len(RULES) * len(MODES) and all(c.holds for c in ok)
    assert ok[0].statement.endswith("(SRBP, float)") and ok[0].measured == (
        "1 bit 0.8530; top-only 0.7000 (Δ +0.1530)")
    # a cliff below 3 bits in one series; a 1-bit run above top-only by less
    # than 5 points in another
    cliff = bits | {"RBP fixed 2-bit": 0.2, "RBP fixed 1-bit": 0.1, "BP float 1-bit": 0.74}
    bad = [c.statement for c in _error_bits_claims(_fake(cliff)) if not c.holds]
    assert bad == [
        "With 1-bit (sign) errors BP beats top-only by 5 points (BP, float)",
        "Accuracy degrades gracefully: a step down in width never costs more than 5 points "
        "(BP, float)",
        "With 1-bit (sign) errors RBP beats top-only by 5 points (RBP, fixed)",
        "Accuracy degrades gracefully: a step down in width never costs more than 5 points "
        "(RBP, fixed)",
    ]
    # several seeds: the claims follow the 2 SE rule, not the means alone
    seeded = {k: {**v, "per_seed": {"test_accuracy": [v["test_accuracy"]] * 3,
                                    "test_auc": [None] * 3}}
              for k, v in _fake(bits).items()}  # fmt: skip

    def noisy(label: str, per: list[float]) -> None:
        seeded[label] = {**seeded[label], "test_accuracy": sum(per) / 3,
                         "per_seed": {"test_accuracy": per, "test_auc": [None] * 3}}  # fmt: skip

    # SRBP float 1-bit: 6 points above top-only on the mean, but one seed
    # below it: the difference does not count, the claim fails
    noisy("SRBP float 1-bit", [0.86, 0.86, 0.56])
    # RBP float 2-bit: 7 points below 3 bits on the mean, one seed only:
    # the loss does not count, the series still degrades gracefully
    noisy("RBP float 2-bit", [0.856, 0.856, 0.646])
    got = {c.statement: c.holds for c in _error_bits_claims(seeded)}
    assert [s for s, h in got.items() if not h] == [
        "With 1-bit (sign) errors SRBP beats top-only by 5 points (SRBP, float)"]
    sp = {f"sparse n={n}": 0.85 for n in range(11)} | {"sparse n=0": 0.7, "sparse n=10": 0.7}
    assert all(c.holds for c in _sparsity_claims(_fake(sp | {"dense SRBP": 0.86,
                                                             "top-only": 0.7})))  # fmt: skip


def test_channel_claims_on_hand_made_numbers() -> None:
    drop = {f"{r} p={p}": 0.85 for r in ("SRBP", "RBP") for p in (0.0, 0.1, 0.25, 0.5)}
    assert [c.holds for c in _dropout_claims(_fake(drop | {"top-only": 0.7}))] == [True, True]
    drop |= {"RBP p=0.5": 0.82}  # 3 points below p = 0: a large impact
    assert [c.holds for c in _dropout_claims(_fake(drop | {"top-only": 0.7}))] == [True, False]
    res = {"SRBP resampled": 0.71, "RBP resampled": 0.69, "SRBP fixed C": 0.9,
           "RBP fixed C": 0.88, "top-only": 0.7}  # fmt: skip
    assert [c.holds for c in _resampled_claims(_fake(res))] == [True, True]
    assert [c.holds for c in _resampled_claims(_fake(res | {"RBP resampled": 0.8}))] == [
        False, True]  # fmt: skip
    sm = {"SRBP magnitude": 0.1, "RBP magnitude": 0.705, "SRBP sign": 0.85, "RBP sign": 0.8,
          "top-only": 0.7}  # fmt: skip
    assert [c.holds for c in _sign_claims(_fake(sm))] == [True, True]
    assert [c.holds for c in _sign_claims(_fake(sm | {"RBP magnitude": 0.72}))] == [False, True]
    co = {"SRBP": 0.9, "SRBP per synapse": 0.715, "top-only": 0.7}
    assert [c.holds for c in _cooperation_claims(_fake(co))] == [False]
    assert [c.holds for c in _cooperation_claims(_fake(co | {"SRBP per synapse": 0.2}))] == [True]
    fl = {f"{r} {w} fixed": 0.3 for r in ("SRBP", "RBP", "BP") for w in ("top", "top two")}
    fl |= {"BP top fixed": 0.85, "top-only": 0.7}
    assert [c.holds for c in _fixed_layers_claims(_fake(fl))] == [True, True]
    assert [c.holds for c in _fixed_layers_claims(_fake(fl | {"BP top fixed": 0.71}))] == [
        True, False]  # fmt: skip


def test_quick_channel_variants_behave(quick_all) -> None:
    out, _, _ = quick_all
    fl = _runs(out, "fixed-layers")
    # the frozen top layer is never written: its write energy is gone
    assert float(fl["SRBP top fixed"]["energy_nj_per_sample"]) < float(
        fl["SRBP all trained"]["energy_nj_per_sample"]
    )
    res = _runs(out, "resampled")
    # a fresh C^h per minibatch costs random bits and writes on the chip
    assert float(res["SRBP resampled"]["energy_nj_per_sample"]) > float(
        res["SRBP fixed C"]["energy_nj_per_sample"]
    )
    sm = _runs(out, "sign-magnitude")
    assert float(sm["SRBP magnitude"]["test_accuracy"]) < float(sm["SRBP full"]["test_accuracy"])


def test_cli_quick_one_experiment(tmp_path: Path, capsys) -> None:
    argv = ["paper", "adaptive", "--quick", "-o", str(tmp_path), "--workers", "1",
            "--no-progress", "--epochs", "2"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "adaptive: " in out and "claims hold" in out
    assert "2 epochs" in (tmp_path / "adaptive" / "adaptive.md").read_text()


# ------------------------------ theory -------------------------------------- #


def _num_grad(loss, w: np.ndarray, h: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(w)
    for j in range(w.shape[1]):
        d = np.zeros_like(w)
        d[:, j] = h
        g[:, j] = (loss(w + d) - loss(w - d)) / (2 * h)
    return g


@pytest.mark.parametrize(
    "system",
    [th.chain(2, "bp"), th.chain(4, "bp"), th.expand(3, "bp", np.ones(3)),
     th.compress(3, "bp", np.ones(3))],
    ids=lambda s: s.name,
)  # fmt: skip
def test_bp_fields_are_minus_the_loss_gradient(system) -> None:
    w = np.random.default_rng(0).normal(size=(5, system.dim))
    np.testing.assert_allclose(system.field(w), -_num_grad(system.loss, w), rtol=1e-6, atol=1e-8)


def test_rbp_equals_bp_when_the_channel_equals_the_forward_weights() -> None:
    w = np.array([[0.7, -1.3, 0.4]])
    rbp = th.chain(3, "rbp", c=np.array([-1.3, 0.4]))  # g_1 = c_1 c_2 = a_2 a_3, g_2 = c_2 = a_3
    np.testing.assert_allclose(rbp.field(w), th.chain(3, "bp").field(w))
    a, b = np.array([0.5, -0.2]), np.array([1.1, 0.3])
    ex = th.expand(2, "rbp", c=b)
    np.testing.assert_allclose(ex.field(np.r_[a, b][None]), th.expand(2, "bp", b).field(
        np.r_[a, b][None]))  # fmt: skip


def test_power_moments_and_optimum() -> None:
    m1, m2 = th.power_moments(1.0)
    assert m1 == pytest.approx(1.0) and m2 == pytest.approx(1.0)  # E x^2 = 1
    m1, m2 = th.power_moments(1 / 3)
    rng = np.random.default_rng(0)
    x = rng.normal(size=2_000_000)
    assert m1 == pytest.approx(np.mean(np.abs(x) ** (4 / 3)), rel=5e-3)
    assert m2 == pytest.approx(np.mean(np.abs(x) ** (2 / 3)), rel=5e-3)
    s = th.power(1 / 3, True)
    p_opt = m1 / m2  # t = 1
    w = np.array([[1.0, p_opt]])  # f(1) = 1, so P = a2
    assert s.loss(w)[0] == pytest.approx(s.optimum)
    np.testing.assert_allclose(s.field(w), 0.0, atol=1e-12)
    # without f' the same point is not a fixed point: a1 still moves
    assert abs(th.power(1 / 3, False).field(w)[0, 0]) > 0.05


def test_theory_quick_claims(quick_all) -> None:
    out, res, _ = quick_all
    theory = next(r for r in res if r.name == "theory")
    # quick mode integrates for a shorter time: the deepest chain may still be on its way
    assert all(c.holds for c in theory.claims[1:]), theory.claims
    rows = _runs_by(out / "theory" / "theory.csv", "system")
    assert all(float(r["converged"]) >= 0.9 for r in rows.values() if r["kind"] == "chain")
    assert float(rows["[1,1,1] x^0.333333 RBP without f′"]["converged"]) == 0.0
    assert float(rows["[1,1,1] x^1 RBP without f′"]["converged"]) == 1.0
    assert (out / "theory" / "theory.png").read_bytes()[:4] == b"\x89PNG"


def _runs_by(path: Path, key: str) -> dict[str, dict]:
    return {r[key]: r for r in csv.DictReader(path.read_text().splitlines())}


def test_dropout_experiment_uses_inverted_dropout() -> None:
    from neurosim.experiments.paper import dropout

    variants = dropout._dropout_variants(TrainConfig())
    chained = [v for v in variants if v.label != "top-only"]
    assert len(chained) == 8
    for v in chained:
        assert v.fields["channel_dropout_rescale"] is True
        TrainConfig(**v.fields).validate()  # accepted, also at p = 0
    assert "channel_dropout_rescale" not in variants[-1].fields  # top-only: no dropout


def test_update_bits_experiment_rounds_codes_stochastically_from_two_bits() -> None:
    from neurosim.experiments.paper.update_bits import EXPERIMENT, UPDATE_BITS

    variants = {v.label: v for v in EXPERIMENT.variants(TrainConfig())}
    for b in UPDATE_BITS:
        fields = variants[f"SRBP {b}-bit dW"].fields
        assert fields["update_bits"] == b
        assert fields["update_code_rounding"] == ("stochastic" if b >= 2 else "nearest")
        TrainConfig(**fields).validate()  # every point is a valid run
    assert "update_code_rounding" not in variants["SRBP full dW"].fields
