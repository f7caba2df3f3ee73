"""Sweeps: the spec grammar, resumable runs into a store, failures, Dask."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from neurosim.config import TrainConfig
from neurosim.errors import ConfigError
from neurosim.experiments.store import Store
from neurosim.experiments.sweep import (
    ID_NEUTRAL,
    Point,
    SweepSpec,
    format_points,
    load_spec,
    point_id,
    run_point,
    run_sweep,
    strip_wall_times,
)

# a tiny net on scikit-learn's 8x8 digits: one point trains in ~10 ms
TINY = """
[base]
data = "digits"
hidden = [16]
epochs = 1
batch = 64
mode = "fixed"
"""


def write_spec(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def spec_of(tmp_path: Path, text: str) -> SweepSpec:
    return load_spec(write_spec(tmp_path, text))


def ids_per_row(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        return dict(con.execute("SELECT id, COUNT(*) FROM points GROUP BY id").fetchall())
    finally:
        con.close()


def stored(db: Path) -> list[dict]:
    st = Store(db)
    try:
        return st.rows()
    finally:
        st.close()


# ------------------------------------------------------------------ grammar
def test_grid_size_and_order_last_axis_fastest(tmp_path) -> None:
    spec = spec_of(
        tmp_path,
        TINY
        + """
        [sweep]
        name = "grid"
        [axes]
        rule = ["bp", "srbp"]
        seed = [0, 1, 2]
        """,
    )
    pts = spec.points()
    assert spec.name == "grid"
    assert [(p.values["rule"], p.values["seed"]) for p in pts] == [
        ("bp", 0),
        ("bp", 1),
        ("bp", 2),
        ("srbp", 0),
        ("srbp", 1),
        ("srbp", 2),
    ]
    for p in pts:  # base, then the point's values; validated
        assert isinstance(p, Point)
        assert p.config.data == "digits" and p.config.hidden == (16,) and p.config.epochs == 1
        assert (p.config.rule, p.config.seed) == (p.values["rule"], p.values["seed"])
    assert len({p.id for p in pts}) == 6


def test_name_defaults_to_file_stem_and_no_axes_is_one_point(tmp_path) -> None:
    spec = load_spec(write_spec(tmp_path, TINY, name="alone.toml"))
    assert spec.name == "alone"
    (p,) = spec.points()
    assert p.values == {} and p.config.data == "digits"


def test_zip_group_is_one_axis_in_file_order(tmp_path) -> None:
    after = spec_of(
        tmp_path,
        TINY
        + """
        [axes]
        rule = ["bp", "srbp"]
        [zip.widths]
        weight_bits = [8, 16]
        act_bits = [6, 8]
        """,
    )
    got = [
        (p.values["rule"], p.values["weight_bits"], p.values["act_bits"]) for p in after.points()
    ]
    assert got == [("bp", 8, 6), ("bp", 16, 8), ("srbp", 8, 6), ("srbp", 16, 8)]
    for p in after.points():
        assert (p.config.weight_bits, p.config.act_bits) == (
            p.values["weight_bits"],
            p.values["act_bits"],
        )
    before = spec_of(
        tmp_path,
        TINY
        + """
        [zip.widths]
        weight_bits = [8, 16]
        act_bits = [6, 8]
        [axes]
        rule = ["bp", "srbp"]
        """,
    )
    got = [(p.values["weight_bits"], p.values["rule"]) for p in before.points()]
    assert got == [(8, "bp"), (8, "srbp"), (16, "bp"), (16, "srbp")]


def test_excludes_drop_matching_points(tmp_path) -> None:
    spec = spec_of(
        tmp_path,
        TINY
        + """
        [axes]
        rule = ["bp", "srbp"]
        error_bits = [0, 1, 4]
        packets = ["dense", "event"]
        [[exclude]]
        packets = "event"
        error_bits = 1        # sign-only codes have no zero: invalid, so excluded
        [[exclude]]
        rule = "bp"
        packets = "event"
        """,
    )
    vals = [p.values for p in spec.points()]
    assert len(vals) == 12 - 2 - 3 + 1  # (event, 1) x 2 rules, (bp, event) x 3, one in both
    assert not any(v["packets"] == "event" and v["error_bits"] == 1 for v in vals)
    assert not any(v["rule"] == "bp" and v["packets"] == "event" for v in vals)


def test_duplicate_points_collapse(tmp_path) -> None:
    spec = spec_of(
        tmp_path,
        TINY
        + """
        [axes]
        hidden = [[16], "16", "16,16"]
        epochs = [1, 1]
        """,
    )
    pts = spec.points()
    assert [p.values for p in pts] == [
        {"hidden": [16], "epochs": 1},
        {"hidden": [16, 16], "epochs": 1},
    ]
    assert pts[1].config.hidden == (16, 16)


def test_point_id_is_sha256_of_canonical_config_json() -> None:
    cfg = TrainConfig(data="digits", hidden=(16,))
    # fields added later are left out at their neutral values (ID_NEUTRAL)
    d = {k: v for k, v in cfg.to_dict().items() if k not in ID_NEUTRAL}
    text = json.dumps(d, sort_keys=True, separators=(",", ":"))
    assert point_id(cfg) == hashlib.sha256(text.encode()).hexdigest()
    assert ID_NEUTRAL["conv"] == ""  # a dense network's id is what it was before conv
    conv = TrainConfig(data="digits", hidden=(16,), conv="c4k3p3s2")
    d = {k: v for k, v in conv.to_dict().items() if k not in ID_NEUTRAL or k == "conv"}
    text = json.dumps(d, sort_keys=True, separators=(",", ":"))
    assert point_id(conv) == hashlib.sha256(text.encode()).hexdigest() != point_id(cfg)
    assert point_id(TrainConfig(data="digits", hidden=(16,))) == point_id(cfg)
    assert point_id(TrainConfig(data="digits", hidden=(16,), seed=1)) != point_id(cfg)
    blk = TrainConfig(data="digits", hidden=(16,), error_bits=4, error_scale="block")
    assert point_id(blk) != point_id(TrainConfig(data="digits", hidden=(16,), error_bits=4))
    sto = TrainConfig(data="digits", hidden=(16,), error_bits=4, error_rounding="stochastic")
    assert point_id(sto) != point_id(TrainConfig(data="digits", hidden=(16,), error_bits=4))
    near = TrainConfig(data="digits", hidden=(16,), error_bits=4, error_rounding="nearest")
    assert point_id(near) == point_id(TrainConfig(data="digits", hidden=(16,), error_bits=4))
    # bias = False (the default) keeps the ids of stores made before the field
    assert point_id(TrainConfig(data="digits", hidden=(16,), bias=False)) == point_id(cfg)
    assert point_id(TrainConfig(data="digits", hidden=(16,), bias=True)) != point_id(cfg)


ERRORS = [
    ("[foo]\nx = 1", "foo"),
    ("[sweep]\ntitle = 'x'", "sweep.title"),
    ("[sweep]\nname = 3", "sweep.name"),
    ("[base]\nfoo = 1", "base.foo"),
    ("[base]\nepochs = 'x'", "base.epochs"),
    ("[base]\nepochs = 0", "base.epochs"),
    ("[axes]\nfoo = [1]", "axes.foo"),
    ("[axes]\nrule = []", "axes.rule"),
    ("[axes]\nrule = 'srbp'", "axes.rule"),
    ("[axes]\nrule = ['srbp', 'nope']", "axes.rule[1]"),
    ("[axes]\nweight_bits = [8, 16, 99]", "axes.weight_bits[2]"),
    ("[axes]\nweight_bits = [8, 'x']", "axes.weight_bits[1]"),
    ("[axes]\nhidden = [16]", "axes.hidden[0]"),
    ("[axes]\nhidden = [[16], [16, 0]]", "axes.hidden[1][1]"),
    ("[axes]\nfeedback = ['dense', 'sparse']", "base.feedback_n"),
    ("[base]\nerror_int_bits = 2\n[axes]\nerror_alpha_log2 = [0, 3]", "axes.error_alpha_log2[1]"),
    ("[zip]\nweight_bits = [8]", "zip.weight_bits"),
    ("[zip.w]", "zip.w"),
    ("[zip.w]\nfoo = [1]", "zip.w.foo"),
    ("[zip.w]\nweight_bits = [8, 16]\nact_bits = [6]", "zip.w.act_bits"),
    ("[zip.w]\nweight_bits = [8, 16]\nact_bits = [6, 99]", "zip.w.act_bits[1]"),
    ("[axes]\nweight_bits = [8]\n[zip.w]\nweight_bits = [8, 16]", "zip.w.weight_bits"),
    ("[zip.a]\nseed = [1]\n[zip.b]\nseed = [2]", "zip.b.seed"),
    ("[axes]\nrule = ['bp']\n[[exclude]]\nrul = 'bp'", "exclude[0].rul"),
    ("[axes]\nrule = ['bp']\n[[exclude]]\nrule = 'srbp'", "exclude[0].rule"),
    ("[axes]\nrule = ['bp']\n[[exclude]]\nseed = 1", "exclude[0].seed"),
    ("[axes]\nrule = ['bp', 'srbp']\n[[exclude]]\nseed = [1]", "exclude[0].seed"),
    ("[axes]\nrule = ['bp']\n[[exclude]]\nrule = 'bp'", "exclude"),
    ("[axes]\nrule = ['bp']\n[[exclude]]\n[[exclude]]\nrule = 'x'", "exclude[0]"),
    ("exclude = 3", "exclude"),
    ("[axes\nrule = 1", "config"),
]


@pytest.mark.parametrize(("text", "path"), ERRORS, ids=[p for _, p in ERRORS])
def test_every_spec_error_names_its_path(tmp_path, text: str, path: str) -> None:
    p = tmp_path / "bad.toml"
    p.write_text(text + "\n")
    with pytest.raises(ConfigError) as e:
        load_spec(p)
    assert e.value.field == path, str(e.value)
    assert str(e.value).startswith(f"{path} = ")


def test_a_bad_spec_fails_before_anything_runs(tmp_path) -> None:
    spec = write_spec(tmp_path, TINY + "[axes]\nweight_bits = [8, 16, 99]\n")
    with pytest.raises(ConfigError, match=r"axes\.weight_bits\[2\]"):
        run_sweep(spec, tmp_path / "s.db", workers=1, progress=False)
    assert not (tmp_path / "s.db").exists()


# ------------------------------------------------------------------ helpers
def test_run_point_never_raises() -> None:
    out = run_point({"rule": "nope"})
    assert out["status"] == "failed"
    assert out["error"].startswith("ConfigError: rule = 'nope'")
    out = run_point({"data": "digits", "hidden": [16], "epochs": 1, "mode": "fixed"})
    assert out["status"] == "ok"
    assert out["record"]["config"]["hidden"] == [16]


def test_strip_wall_times_drops_only_wall_fields() -> None:
    rec = {
        "schema_version": 1,
        "config": {"seed": 0},
        "results": {
            "test_accuracy": 0.5,
            "wall_seconds": 1.5,
            "epochs": [{"epoch": 1, "seconds": 0.2, "train_loss": 1.0}],
        },
        "hardware": None,
    }
    out = strip_wall_times(rec)
    assert out["results"] == {
        "test_accuracy": 0.5,
        "epochs": [{"epoch": 1, "train_loss": 1.0}],
    }
    assert rec["results"]["wall_seconds"] == 1.5  # the input is untouched


# ------------------------------------------------------------------ runs
FOUR = (
    TINY
    + """
    [axes]
    rule = ["bp", "srbp"]
    weight_bits = [8, 16]
    """
)


def test_sweep_stores_every_point_and_a_rerun_skips_them(tmp_path) -> None:
    spec = write_spec(tmp_path, FOUR)
    db = tmp_path / "s.db"
    dry = run_sweep(spec, db, workers=2, progress=False, dry_run=True)
    assert (dry.total, dry.skipped, dry.done, dry.failed) == (4, 0, 0, 0)
    assert not db.exists()  # a dry run creates nothing
    s = run_sweep(spec, db, workers=2, progress=False)
    assert (s.total, s.skipped, s.done, s.failed) == (4, 0, 4, 0)
    rows = stored(db)
    pts = load_spec(spec).points()
    assert sorted(r["id"] for r in rows) == sorted(p.id for p in pts)
    assert all(r["status"] == "ok" and r["swept"] == "rule,weight_bits" for r in rows)
    st = Store(db)
    try:
        recs = {point_id(TrainConfig.from_dict(r["config"])): r for r in st.records()}
    finally:
        st.close()
    for p in pts:
        assert recs[p.id]["config"] == p.config.to_dict()
    lines = format_points(spec, db)
    assert len(lines) == 4 and all(line.endswith("  done") for line in lines)
    assert lines[0].split()[:4] == ["0", pts[0].id[:12], "rule=bp", "weight_bits=8"]
    again = run_sweep(spec, db, workers=2, progress=False)
    assert (again.total, again.skipped, again.done, again.failed) == (4, 4, 0, 0)
    assert stored(db) == rows  # nothing ran, nothing was rewritten


def test_failed_point_is_stored_and_the_sweep_goes_on(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("NEUROSIM_DATA", raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    spec = write_spec(
        tmp_path,
        TINY
        + f"""
        data_dir = "{empty}"
        [axes]
        data = ["digits", "mnist"]
        seed = [0, 1]
        """,
    )
    db = tmp_path / "s.db"
    s = run_sweep(spec, db, workers=2, progress=False)
    assert (s.total, s.done, s.failed) == (4, 2, 2)
    rows = stored(db)
    assert len(rows) == 4
    for r in rows:
        if r["data"] == "mnist":
            assert r["status"] == "failed"
            assert r["error"].startswith("DataError: data set 'mnist' not found")
            assert r["test_accuracy"] is None
        else:
            assert r["status"] == "ok" and r["error"] is None
    # a rerun retries only the failed points
    again = run_sweep(spec, db, workers=1, progress=False)
    assert (again.skipped, again.done, again.failed) == (2, 0, 2)


def test_killed_sweep_resumes_and_stores_each_point_once(tmp_path) -> None:
    spec = write_spec(
        tmp_path,
        """
        [base]
        data = "mnist5k"
        hidden = [16]
        epochs = 2
        mode = "fixed"
        [axes]
        seed = [0, 1, 2, 3, 4, 5]
        """,
    )
    db = tmp_path / "s.db"
    code = (
        "from neurosim.experiments.sweep import run_sweep; "
        f"run_sweep({str(spec)!r}, {str(db)!r}, workers=1, progress=False)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        n_ok = 0
        while n_ok < 1:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no point finished in 60 s"
            time.sleep(0.02)
            if db.exists():
                st = Store(db)
                try:
                    n_ok = len(st.done_ids())
                finally:
                    st.close()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its spawned workers
        proc.wait(timeout=30)
        proc.stderr.close()
    before = {r["id"] for r in stored(db) if r["status"] == "ok"}
    assert 1 <= len(before) < 6
    s = run_sweep(spec, db, workers=2, progress=False)
    assert (s.total, s.skipped, s.done, s.failed) == (6, len(before), 6 - len(before), 0)
    counts = ids_per_row(db)
    assert sorted(counts) == sorted(p.id for p in load_spec(spec).points())
    assert set(counts.values()) == {1}
    assert all(r["status"] == "ok" for r in stored(db))


def test_dask_cluster_and_local_pool_give_equal_records(tmp_path) -> None:
    distributed = pytest.importorskip("distributed")
    spec = write_spec(
        tmp_path,
        TINY
        + """
        [axes]
        mode = ["float", "fixed"]
        rule = ["bp", "srbp"]
        [[exclude]]
        mode = "float"
        rule = "bp"
        """,
    )
    local_db, dask_db = tmp_path / "local.db", tmp_path / "dask.db"
    s = run_sweep(spec, local_db, workers=2, progress=False)
    assert (s.done, s.failed) == (3, 0)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        s = run_sweep(spec, dask_db, scheduler=cluster, progress=False)
        assert (s.done, s.failed) == (3, 0)
        with distributed.Client(cluster, set_as_default=False) as client:
            again = run_sweep(spec, dask_db, scheduler=client, progress=False)
            assert (again.skipped, again.done) == (3, 0)
            assert client.status == "running"  # a caller's client stays open

    def by_id(db: Path) -> dict[str, dict]:
        st = Store(db)
        try:
            return {
                point_id(TrainConfig.from_dict(r["config"])): strip_wall_times(r)
                for r in st.records()
            }
        finally:
            st.close()

    local, dask = by_id(local_db), by_id(dask_db)
    assert len(local) == 3 and local.keys() == dask.keys()
    for pid in local:
        assert json.dumps(local[pid], sort_keys=True) == json.dumps(dask[pid], sort_keys=True)


def test_unreachable_scheduler_is_a_config_error(tmp_path) -> None:
    pytest.importorskip("distributed")
    spec = write_spec(tmp_path, FOUR)
    with pytest.raises(ConfigError) as e:
        run_sweep(spec, tmp_path / "s.db", scheduler="tcp://127.0.0.1:9", connect_timeout=0.5)
    assert e.value.field == "scheduler"
    assert not (tmp_path / "s.db").exists()
