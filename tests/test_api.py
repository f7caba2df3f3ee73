"""The Python API (neurosim.api, re-exported by the package), used directly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import neurosim
from neurosim import api
from neurosim.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
# this checkout first, whatever the working directory of a subprocess
ENV = {
    **os.environ,
    "OPENBLAS_NUM_THREADS": "1",
    "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
}
TINY = dict(data="digits", hidden=(8,), epochs=1, chip="small")


@pytest.fixture(scope="module")
def fixed_run() -> api.Run:
    return neurosim.run(rule="bp", mode="fixed", error_bits=4, **TINY)


def test_package_exports_the_api_lazily() -> None:
    code = (
        "import sys, neurosim; assert 'numba' not in sys.modules;"
        "assert 'neurosim.api' not in sys.modules; f = neurosim.run;"
        "assert 'numba' not in sys.modules; print(f.__module__)"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "neurosim.api"
    for name in neurosim.__all__:
        assert getattr(neurosim, name) is not None
    with pytest.raises(AttributeError):
        neurosim.no_such_name  # noqa: B018


def test_submodules_keep_their_names() -> None:
    import neurosim.experiments.train

    assert callable(neurosim.experiments.train.train)  # the module, not an API function
    assert neurosim.run is api.run


def test_train_help_is_fast() -> None:
    t0 = time.perf_counter()
    p = subprocess.run(
        [sys.executable, "-m", "neurosim.cli", "train", "--help"],
        capture_output=True, text=True, env=ENV,
    )  # fmt: skip
    assert p.returncode == 0 and "--rule" in p.stdout
    assert time.perf_counter() - t0 < 1.0


def test_make_config_layers_defaults_source_and_fields(tmp_path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('rule = "rbp"\nweight_bits = 8\n')
    cfg = api.make_config(f, weight_bits=10, hidden="32,16", act_bits=None)
    assert (cfg.rule, cfg.weight_bits, cfg.hidden, cfg.act_bits) == ("rbp", 10, (32, 16), 8)
    assert api.load_config(f) == api.make_config({"rule": "rbp", "weight_bits": 8})
    base = TrainConfig(rule="bp")
    derived = api.make_config(base, epochs=3)
    assert base.epochs == 20 and derived.epochs == 3  # the source is copied


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"weight_bits": 99}, "weight_bits"), ({"nope": 1}, "nope"), ({"rule": "x"}, "rule")],
)
def test_make_config_rejects_bad_fields(fields, field) -> None:
    with pytest.raises(api.ConfigError) as e:
        api.make_config(**fields)
    assert e.value.field == field


def test_repr_shows_only_changed_fields() -> None:
    assert repr(TrainConfig()) == "TrainConfig()"
    cfg = TrainConfig(rule="bp", hidden=(16,), mode="fixed")
    assert repr(cfg) == "TrainConfig(rule='bp', hidden=(16,), mode='fixed')"
    assert cfg.changed() == {"rule": "bp", "hidden": [16], "mode": "fixed"}


def test_to_toml_round_trips(tmp_path) -> None:
    cfg = TrainConfig(
        rule="srbp", data_dir='odd "dir"\\x', lr=0.05, hidden=(4, 3), no_derivative=True,
        feedback="sparse", feedback_n=2, feedback_mean=-0.25,
    )  # fmt: skip
    path = tmp_path / "c.toml"
    text = cfg.to_toml(path)
    assert path.read_text() == text
    assert TrainConfig.from_toml(path) == cfg
    full = TrainConfig().to_toml(full=True)
    assert "rank" not in full  # None fields are left out (TOML has no null)
    (tmp_path / "full.toml").write_text(full)
    assert TrainConfig.from_toml(tmp_path / "full.toml") == TrainConfig()
    assert TrainConfig().to_toml() == ""


def test_chips_and_data_sets() -> None:
    assert {"small", "ref45", "dfa65"} <= set(api.chip_presets())
    chip = api.load_chip("small")
    assert chip.clock_mhz > 0
    text = api.describe_chip("ref45")
    assert "ref45" in text and "Horowitz" in text
    assert "digits" in api.data_sets()
    with pytest.raises(api.ConfigError):
        api.load_chip("no-such-chip")


def test_describe_chip_with_energy_overrides(tmp_path) -> None:
    f = tmp_path / "e.toml"
    f.write_text("mac = 0.5\n")
    try:
        text = api.describe_chip(api.load_chip("ref45"), f)
    except api.ConfigError as e:  # the row name is checked: the message lists real ones
        pytest.fail(str(e))
    assert text != api.describe_chip("ref45")


def test_run_result_object(fixed_run) -> None:
    r = fixed_run
    assert 0.0 <= r.test_accuracy <= 1.0
    assert len(r.history) == 1 and r.history[0].epoch == 1
    assert r.hardware is not None and r.energy_pj_per_sample > 0 and r.cycles_per_sample > 0
    assert [w.shape for w in r.weights] == [(8, 64), (10, 8)]
    fm = api.formats(r.config)
    codes = r.weight_codes
    assert np.array_equal(r.weights[1], codes[1] * fm.weight.lsb)
    assert r.feedback == []  # BP has no learning channel
    assert r.predict(np.zeros((3, 64), np.float32)).shape == (3, 10)
    rec = json.loads(r.to_json())
    assert rec["results"]["test_accuracy"] == r.test_accuracy
    assert rec["config"]["rule"] == "bp"
    assert "Run(TrainConfig(rule='bp'" in repr(r)


def test_run_writes_json_and_calls_back(tmp_path) -> None:
    seen = []
    path = tmp_path / "rec.json"
    r = api.run(
        api.make_config(rule="srbp", **TINY), on_epoch=seen.append, chip_accounting=False
    )
    r.to_json(path)
    assert [e.epoch for e in seen] == [1]
    assert r.hardware is None and r.energy_pj_per_sample is None
    assert len(r.feedback) == 1 and r.feedback[0].shape == (8, 10)
    assert r.weight_codes is None  # float mode
    assert json.loads(path.read_text())["results"]["weights_sha256"] == r.weights_sha256


def test_run_equals_train_module(fixed_run) -> None:
    from neurosim.experiments.train import train

    result, _ = train(fixed_run.config)
    assert result.weights_sha256 == fixed_run.weights_sha256


SPEC = {
    "sweep": {"name": "api"},
    "base": {"data": "digits", "hidden": [8], "epochs": 1, "mode": "fixed", "chip": "small"},
    "axes": {"rule": ["bp", "srbp"]},
}


def test_sweep_query_and_report(tmp_path) -> None:
    db = tmp_path / "s.db"
    assert len(api.list_points(SPEC)) == 2
    with api.run_sweep(SPEC, db, workers=1) as st:
        assert (st.summary.total, st.summary.done, st.summary.failed) == (2, 2, 0)
        rows = api.results(st)
    assert sorted(r["rule"] for r in rows) == ["bp", "srbp"]
    assert all(r["energy_pj_per_sample"] > 0 for r in rows)
    recs = api.records(db)
    assert len(recs) == 2 and all(r["schema_version"] for r in recs)
    assert all(line.endswith("done") for line in api.list_points(SPEC, db))
    with api.run_sweep(SPEC, db, workers=1) as st:  # a rerun skips stored points
        assert st.summary.skipped == 2 and st.summary.done == 0
    pd = pytest.importorskip("pandas")
    df = api.results(db, dataframe=True)
    assert isinstance(df, pd.DataFrame) and len(df) == 2 and "test_accuracy" in df.columns
    csv = tmp_path / "s.csv"
    api.export_csv(db, csv)
    assert csv.read_text().startswith("id,status")
    html = api.make_report(db, tmp_path / "rep")
    assert html.name == "report.html" and html.is_file()


def test_results_without_pandas_names_the_way_out(tmp_path, monkeypatch) -> None:
    db = tmp_path / "empty.db"
    from neurosim.experiments.store import Store

    Store(db).close()
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    assert api.results(db) == []
    with pytest.raises(ImportError, match="pandas"):
        api.results(db, dataframe=True)


def test_store_functions_reject_missing_files(tmp_path) -> None:
    with pytest.raises(api.ConfigError) as e:
        api.open_store(tmp_path / "missing.db")
    assert e.value.field == "store"
    assert not (tmp_path / "missing.db").exists()
    (tmp_path / "f").write_text("")
    with pytest.raises(api.ConfigError) as e:
        api.make_report(tmp_path / "missing.db", tmp_path / "f")
    assert e.value.field == "out"


def test_cli_train_uses_the_api(tmp_path) -> None:
    """The CLI's record equals the API's for the same config (through a subprocess)."""
    out = tmp_path / "cli.json"
    p = subprocess.run(
        [sys.executable, "-m", "neurosim", "train", "--data", "digits", "--hidden", "8",
         "--epochs", "1", "--chip", "small", "--rule", "bp", "--mode", "fixed",
         "--error-bits", "4", "--no-progress", "--json", str(out)],
        capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    rec = json.loads(out.read_text())
    r = api.run(rule="bp", mode="fixed", error_bits=4, **TINY)
    assert rec["results"]["weights_sha256"] == r.weights_sha256
    assert rec["config"] == r.config.to_dict()


def test_presets_and_limit_through_the_api(tmp_path) -> None:
    assert "higgs" in api.config_presets()
    cfg = api.make_config(preset="higgs", hidden=(16,))
    assert cfg.data == "higgs" and cfg.output == "sigmoid" and cfg.hidden == (16,)
    f = tmp_path / "c.toml"
    f.write_text('preset = "higgs"\nepochs = 2\n')
    assert api.load_config(f).hidden == (300,) * 5
    with pytest.raises(api.ConfigError) as e:
        api.make_config(preset="nope")
    assert e.value.field == "preset"
    with pytest.raises(api.ConfigError):
        api.make_config(TrainConfig(), preset="higgs")
    d = api.load_data("digits", limit=100)
    assert d.x_train.shape[0] == 100
    assert api.load_data(api.make_config(data="digits", limit=50)).x_train.shape[0] == 50


def test_binary_run_reports_auc(tmp_path) -> None:
    from test_higgs import write_higgs  # the tests' HIGGS-format file writer

    write_higgs(tmp_path / "HIGGS.csv.gz", 2000, seed=1)
    r = api.run(preset="higgs", data_dir=str(tmp_path), hidden=(16,), epochs=1, limit=1000,
                chip="small")
    assert 0.5 < r.test_auc <= 1.0 and r.history[0].test_auc == r.test_auc
    assert json.loads(r.to_json())["results"]["test_auc"] == r.test_auc
    assert api.run(**TINY).test_auc is None


def test_api_names_do_not_shadow_submodules() -> None:
    # importing neurosim.<name> would replace a same-named API function on the package
    for name in neurosim.__all__:
        assert not (ROOT / "neurosim" / f"{name}.py").exists(), name
    assert set(api.__all__) <= set(neurosim.__all__)


def test_run_paper_checks_before_work_and_passes_overrides(tmp_path, monkeypatch) -> None:
    import neurosim.experiments.paper

    assert "higgs" in api.paper_experiments()
    (tmp_path / "file").write_text("")
    with pytest.raises(api.ConfigError) as e:
        api.run_paper("higgs", tmp_path / "file")
    assert e.value.field == "out"
    with pytest.raises(api.ConfigError) as e:
        api.run_paper("higgs", tmp_path, workers=0)
    assert e.value.field == "workers"
    with pytest.raises(api.ConfigError) as e:
        api.run_paper("cifar", tmp_path)
    assert e.value.field == "experiment"
    seen = {}
    fake = lambda *a, **k: seen.update(k) or []  # noqa: E731
    monkeypatch.setattr(neurosim.experiments.paper, "run_experiment", fake)
    assert api.run_paper("higgs", tmp_path, epochs=1, mode="float", quick=True) == []
    assert seen["overrides"] == {"epochs": 1, "mode": "float"} and seen["quick"] is True


def test_docs_cover_every_api_name() -> None:
    guide = (ROOT / "docs" / "api.md").read_text()
    reference = (ROOT / "docs" / "reference" / "api.md").read_text()
    errors = {"ConfigError", "DataError", "NeuroSimError", "NumericalError", "RunFailed"}
    for name in api.__all__:
        assert f"`{name}" in guide, name
        if name not in errors:
            assert f"- {name}\n" in reference, name
