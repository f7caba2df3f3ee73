"""HIGGS: the streaming reader, its cache, the split, standardisation, AUC,
binary training and the ``higgs`` preset, on small files in the standard format."""

from __future__ import annotations

import csv
import gzip
import json
import os
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import neurosim.data.higgs as higgs
from neurosim.cli import main
from neurosim.config import PRESETS, TrainConfig
from neurosim.data.datasets import clear_cache, load_dataset
from neurosim.errors import ConfigError, DataError
from neurosim.experiments.metrics import roc_auc
from neurosim.experiments.train import train
from neurosim.golden.reference import ReferenceEngine
from neurosim.nn.engine import FixedEngine
from neurosim.numerics.fixedpoint import FixedFormat
from neurosim.plan import make_plan


def write_higgs(path: Path, n: int, seed: int = 0, shift: float = 1.5) -> np.ndarray:
    """A HIGGS-format file: label then 28 features, ``%.18e``, as in the real file.

    Signal events have features 0..3 shifted by `shift` (a separable signal);
    feature 10 is positive and skewed like a transverse momentum.  Returns the
    ``(n, 29)`` float64 values written.
    """
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.standard_normal((n, 28))
    x[:, :4] += shift * y[:, None]
    x[:, 10] = np.abs(x[:, 10]) * 3 + 1
    rows = np.column_stack([y, x])
    text = "".join(",".join(f"{v:.18e}" for v in r) + "\n" for r in rows)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt") as f:
        f.write(text)
    return rows


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def small(tmp_path: Path) -> tuple[Path, np.ndarray]:
    path = tmp_path / "HIGGS.csv.gz"
    return path, write_higgs(path, 3000)


# ------------------------------ reader ------------------------------------ #


@pytest.mark.parametrize("name", ["HIGGS.csv.gz", "HIGGS.csv"])
def test_reader_matches_loadtxt(tmp_path: Path, name: str) -> None:
    rows = write_higgs(tmp_path / name, 500)
    got = higgs.read_higgs_csv(tmp_path / name)
    assert got.dtype == np.float32 and got.shape == (500, 29)
    np.testing.assert_array_equal(got, rows.astype(np.float32))


def test_blocks_split_lines_anywhere(small, monkeypatch) -> None:
    path, rows = small
    whole = higgs.read_higgs_csv(path)
    monkeypatch.setattr(higgs, "_BLOCK_BYTES", 997)  # cuts through lines and numbers
    np.testing.assert_array_equal(higgs.read_higgs_csv(path), whole)
    np.testing.assert_array_equal(whole, rows.astype(np.float32))


def _lines(path: Path) -> list[str]:
    with gzip.open(path, "rt") as f:
        return f.read().splitlines()


def _rewrite(path: Path, lines: list[str], newline_at_end: bool = True) -> None:
    with gzip.open(path, "wt") as f:
        f.write("\n".join(lines) + ("\n" if newline_at_end else ""))


@pytest.mark.parametrize("block", [1 << 24, 1500])
def test_wrong_column_count_names_the_line(small, monkeypatch, block: int) -> None:
    path, _ = small
    monkeypatch.setattr(higgs, "_BLOCK_BYTES", block)
    lines = _lines(path)
    lines[2020] = lines[2020].rsplit(",", 1)[0]  # 28 columns on line 2021
    _rewrite(path, lines)
    with pytest.raises(DataError, match=r"line 2021: 28 columns, expected 29"):
        higgs.read_higgs_csv(path)


def test_not_a_number_names_line_and_column(small) -> None:
    path, _ = small
    lines = _lines(path)
    fields = lines[6].split(",")
    fields[5] = "nan?"
    lines[6] = ",".join(fields)
    _rewrite(path, lines)
    with pytest.raises(DataError, match=r"line 7, column 6: 'nan\?' is not a number"):
        higgs.read_higgs_csv(path)


def test_bad_label_and_empty_file(small, tmp_path: Path) -> None:
    path, _ = small
    lines = _lines(path)
    lines[9] = "2" + lines[9][lines[9].index(",") :]
    _rewrite(path, lines)
    with pytest.raises(DataError, match=r"line 10: label 2\.0 is not 0 or 1"):
        higgs.read_higgs_csv(path)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="no data lines"):
        higgs.read_higgs_csv(empty)


def test_last_line_without_newline(small) -> None:
    path, rows = small
    _rewrite(path, _lines(path), newline_at_end=False)
    np.testing.assert_array_equal(higgs.read_higgs_csv(path), rows.astype(np.float32))


def test_truncated_gzip_is_a_clear_error(small) -> None:
    path, _ = small
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"HIGGS\.csv\.gz: cannot read past line \d+ .*truncated"):
        higgs.read_higgs_csv(path)


# ------------------------------ split, scaling ----------------------------- #


def test_standard_split() -> None:
    assert higgs.higgs_split(11_000_000) == (10_500_000, 500_000)
    assert higgs.higgs_split(1_000_001) == (500_001, 500_000)
    assert higgs.higgs_split(1_000_000) == (900_000, 100_000)
    assert higgs.higgs_split(3000) == (2700, 300)
    assert higgs.higgs_split(7) == (6, 1)


def test_dataset_split_standardisation_and_limit(small) -> None:
    path, rows = small
    ds = load_dataset("higgs", path.parent)
    assert (ds.x_train.shape, ds.x_test.shape, ds.n_classes, ds.signed) == (
        (2700, 28), (300, 28), 2, True
    )  # fmt: skip
    f32 = rows.astype(np.float32).astype(np.float64)
    mean, std = f32[:2700, 1:].mean(0), f32[:2700, 1:].std(0)
    np.testing.assert_allclose(ds.x_train, (f32[:2700, 1:] - mean) / std, rtol=0, atol=2e-6)
    np.testing.assert_allclose(ds.x_test, (f32[2700:, 1:] - mean) / std, rtol=0, atol=2e-6)
    np.testing.assert_array_equal(ds.y_test, rows[2700:, 0].astype(np.int64))
    assert ds.x_train.dtype == np.float32 and ds.x_train.flags.c_contiguous
    assert not ds.x_train.flags.writeable
    # limit: the first rows only, with their own statistics; the test set is unchanged
    lim = load_dataset("higgs", path.parent, limit=500)
    m5, s5 = f32[:500, 1:].mean(0), f32[:500, 1:].std(0)
    assert lim.x_train.shape == (500, 28) and lim.x_test.shape == (300, 28)
    np.testing.assert_allclose(lim.x_test, (f32[2700:, 1:] - m5) / s5, rtol=0, atol=2e-6)
    np.testing.assert_array_equal(lim.y_train, rows[:500, 0].astype(np.int64))


def test_limit_on_other_data_sets() -> None:
    ds = load_dataset("digits", limit=100)
    assert ds.x_train.shape == (100, 64) and ds.x_test.shape == (360, 64)
    with pytest.raises(ConfigError, match="limit"):
        load_dataset("digits", limit=0)


# ------------------------------ cache -------------------------------------- #


def test_cache_written_once_and_bit_identical(small) -> None:
    path, _ = small
    rows, origin = higgs.load_higgs_rows(path)
    assert origin == "csv"
    cache = path.with_name("HIGGS.neurosim-f32.npy")
    assert cache.is_file() and cache.with_suffix(".json").is_file()
    again, origin2 = higgs.load_higgs_rows(path)
    assert origin2 == "cache" and isinstance(again, np.memmap)
    np.testing.assert_array_equal(np.asarray(again), higgs.read_higgs_csv(path))
    assert np.load(cache).shape == (3000, 29)  # a valid .npy for any reader
    # a changed source rebuilds it
    write_higgs(path, 100, seed=5)
    os.utime(path, ns=(1, 1))
    third, origin3 = higgs.load_higgs_rows(path)
    assert origin3 == "csv" and third.shape == (100, 29)
    assert json.loads(cache.with_suffix(".json").read_text())["size"] == path.stat().st_size


def test_cache_elsewhere_when_directory_is_read_only(small, tmp_path, monkeypatch) -> None:
    path, _ = small
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    real_access = os.access
    monkeypatch.setattr(
        higgs.os, "access", lambda p, m: False if Path(p) == path.parent else real_access(p, m)
    )
    target = higgs.cache_path(path)
    assert target.parent == tmp_path / "xdg" / "neurosim"
    higgs.load_higgs_rows(path)
    assert target.is_file() and not path.with_name("HIGGS.neurosim-f32.npy").exists()


def test_corrupt_cache_is_rebuilt_or_reported(small) -> None:
    path, _ = small
    higgs.load_higgs_rows(path)
    cache = path.with_name("HIGGS.neurosim-f32.npy")
    cache.write_bytes(b"not an npy file")
    with pytest.raises(DataError, match="unreadable cache.*delete it"):
        higgs.load_higgs_rows(path)
    cache.with_suffix(".json").unlink()  # no stamp: rebuilt from the CSV
    rows, origin = higgs.load_higgs_rows(path)
    assert origin == "csv" and rows.shape == (3000, 29)


def test_missing_file_says_where_and_how(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("NEUROSIM_DATA", raising=False)
    with pytest.raises(DataError, match=r"'higgs' not found; searched .*archive\.ics\.uci\.edu"):
        load_dataset("higgs", tmp_path)
    assert main(["train", "--preset", "higgs", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "HIGGS.csv.gz" in err[0]


# ------------------------------ AUC ---------------------------------------- #


def test_auc_hand_computed() -> None:
    assert roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == 0.75
    # ties count one half: (0.5 vs 0.5) = 1/2, three clear wins -> 3.5 / 4
    assert roc_auc(np.array([0, 1, 0, 1]), np.array([0.5, 0.5, 0.2, 0.9])) == 0.875
    assert roc_auc(np.array([1, 1, 0]), np.array([0.0, 0.1, 0.9])) == 0.0
    assert np.isnan(roc_auc(np.array([1, 1]), np.array([0.2, 0.3])))


def test_auc_matches_scikit_learn_on_quantized_scores() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 5000)
    s = np.round(rng.random(5000) + 0.3 * y, 2)  # many ties, as a fixed-point output has
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


# ------------------------------ engine, training --------------------------- #


@pytest.mark.parametrize("rule", ["srbp", "bp", "rbp"])
def test_signed_input_and_one_sigmoid_output_bit_exact(rule: str) -> None:
    cfg = TrainConfig(
        mode="fixed", data="higgs", output="sigmoid", hidden=(12, 9), batch=5, rule=rule,
        error_bits=4,
    ).validate()  # fmt: skip
    fast = FixedEngine(make_plan(cfg, 28, 1))
    assert fast.fm.inp == FixedFormat(8, 5, signed=True)  # [-4, 4), LSB 1/32
    ref = ReferenceEngine(fast)
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = (rng.standard_normal((5, 28)) * 2).astype(np.float32)  # some beyond 4: saturate
        t = rng.integers(0, 2, (5, 1)).astype(np.float32)
        fast.train_batch(x, t)
        ref.train_batch(x, t)
    for a, b in zip(ref.W, fast.W, strict=True):
        np.testing.assert_array_equal(np.array(a, dtype=np.float64), b)
    events = {k: v for k, v in fast.counts.items() if v and not k.endswith(":init")}
    assert events == {k: v for k, v in ref.counts.items() if v and not k.endswith(":init")}
    assert fast.counts["sat:O^0"] > 0


def test_preset_is_defaults_only() -> None:
    cfg = TrainConfig.from_preset("higgs")
    assert cfg.hidden == (300,) * 5 and cfg.output == "sigmoid" and cfg.data == "higgs"
    assert cfg.n_outputs() == 1
    mine = TrainConfig.from_dict({"preset": "higgs", "hidden": [16], "lr": 0.2})
    assert mine.hidden == (16,) and mine.lr == 0.2 and mine.batch == PRESETS["higgs"]["batch"]
    with pytest.raises(ConfigError, match="preset"):
        TrainConfig.from_preset("cifar")


@pytest.mark.parametrize("mode", ["float", "fixed"])
def test_learns_a_separable_signal(tmp_path: Path, mode: str) -> None:
    write_higgs(tmp_path / "HIGGS.csv.gz", 6000, seed=1)
    cfg = TrainConfig.from_dict(
        dict(preset="higgs", data_dir=str(tmp_path), hidden=[32, 32], epochs=3, mode=mode,
             error_bits=4 if mode == "fixed" else 0, seed=2)
    )  # fmt: skip
    result, _ = train(cfg)
    # the Bayes AUC of this signal is Phi(3 / sqrt 2) = 0.983
    assert result.test_auc > 0.95
    assert result.test_accuracy > 0.85
    rec = result.to_record()
    assert rec["results"]["test_auc"] == result.test_auc
    assert all(e["test_auc"] is not None for e in rec["results"]["epochs"])
    assert rec["hardware"]["energy_pj_per_sample"]["total"] > 0


def test_softmax_on_binary_data_uses_two_outputs(tmp_path: Path) -> None:
    write_higgs(tmp_path / "HIGGS.csv.gz", 2000, seed=1)
    cfg = TrainConfig(data="higgs", data_dir=str(tmp_path), hidden=(16,), epochs=2)
    result, engine = train(cfg)
    assert engine.sizes == [28, 16, 2] and result.test_auc > 0.9


def test_cli_train_prints_and_records_auc(tmp_path: Path, capsys) -> None:
    write_higgs(tmp_path / "HIGGS.csv.gz", 2000, seed=1)
    out = tmp_path / "r.json"
    argv = ["train", "--preset", "higgs", "--data-dir", str(tmp_path), "--hidden", "16",
            "--epochs", "1", "--limit", "1000", "--json", str(out), "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "test auc" in text and "28-16-1 tanh/sigmoid" in text
    assert "(1000 train, 200 test)" in text
    rec = json.loads(out.read_text())
    assert 0.5 < rec["results"]["test_auc"] <= 1.0
    assert rec["config"]["limit"] == 1000


# ------------------------------ neurosim paper higgs ----------------------- #


def test_paper_higgs_quick_writes_figure_csv_and_claims(tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    data.mkdir()
    write_higgs(data / "HIGGS.csv.gz", 3000, seed=4)
    out = tmp_path / "paper"
    argv = ["paper", "higgs", "--quick", "--data-dir", str(data), "-o", str(out),
            "--workers", "2", "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "claims hold" in text
    d = out / "higgs"
    assert (d / "higgs.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (d / "higgs.svg").is_file()
    rows = list(csv.DictReader((d / "higgs.csv").read_text().splitlines()))
    assert [r["label"] for r in rows] == [
        "BP", "RBP", "SRBP", "top-only", "BP (no f′)", "RBP (no f′)", "SRBP (no f′)"
    ]  # fmt: skip
    md = (d / "higgs.md").read_text()
    assert "| claim | measured | holds |" in md and md.count("\n| Dropping f′") == 3
    assert "quick mode" in md and "test AUC" in md
    for r in rows:
        assert 0.0 <= float(r["test_auc"]) <= 1.0 and float(r["energy_nj_per_sample"]) > 0
    top = next(r for r in rows if r["label"] == "top-only")
    assert float(top["transport_bits_per_sample"]) == 0.0  # no error leaves the top layer
    # a rerun takes every point from the store
    assert main(argv) == 0
    runs = "Runs: 7 (0 of them tuning runs; 7 taken from the store, 0 run now)"
    assert runs in (d / "higgs.md").read_text()


def test_paper_errors_exit_2(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("NEUROSIM_DATA", raising=False)
    assert main(["paper", "higgs", "--data-dir", str(tmp_path), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'higgs' not found" in err[0] and "UCI" in err[0]
    assert not (tmp_path / "o").exists()
    assert main(["paper", "cifar99", "-o", str(tmp_path / "o")]) == 2
    assert "experiment = 'cifar99': one of: rules," in capsys.readouterr().err


def test_sweep_store_results_and_report_carry_auc(tmp_path: Path, capsys) -> None:
    write_higgs(tmp_path / "HIGGS.csv.gz", 1500, seed=2)
    spec = tmp_path / "spec.toml"
    spec.write_text(
        f'[base]\npreset = "higgs"\ndata_dir = "{tmp_path}"\nhidden = [8]\nepochs = 1\n'
        '[axes]\nrule = ["bp", "srbp"]\n'
    )
    db = tmp_path / "s.db"
    assert main(["sweep", str(spec), "--store", str(db), "--workers", "1", "--no-progress"]) == 0
    from neurosim.experiments.store import Store

    with Store(db) as st:
        rows = st.rows()
    assert len(rows) == 2 and all(0.5 < r["test_auc"] <= 1 for r in rows)
    assert all(r["hidden"] == "8" and r["batch"] == 100 for r in rows)  # preset, then base
    capsys.readouterr()
    assert main(["results", str(db)]) == 0
    assert "test auc" in capsys.readouterr().out
    assert main(["report", str(db), "-o", str(tmp_path / "rep")]) == 0
    page = (tmp_path / "rep" / "report.html").read_text()
    assert (tmp_path / "rep" / "energy_auc.png").is_file() and "test AUC" in page
