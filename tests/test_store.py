"""The SQLite result store: round trip, replace, failures, export, crash and concurrency safety."""

from __future__ import annotations

import copy
import csv
import io
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
from neurosim.errors import NeuroSimError
from neurosim.experiments.store import RESULT_COLUMNS, Store, StoreError, headline, row_columns
from neurosim.experiments.train import train

RUNS = (("srbp", 8), ("bp", 12))

# a writer process: puts copies of one record under "<prefix><i>", each padded so
# a write spans many database pages; with a go file it prints "ready" and waits
# for that file before opening the store; prints "started" after the first commit
WRITER = textwrap.dedent(
    """
    import json, os, sys, time
    from neurosim.experiments.store import Store

    path, rec_path, prefix, count, pad, go = sys.argv[1:7]
    with open(rec_path) as f:
        rec = json.load(f)
    if go != "-":
        print("ready", flush=True)
        while not os.path.exists(go):
            time.sleep(0.001)
    with Store(path) as st:
        i = 0
        while count == "inf" or i < int(count):
            pid = f"{prefix}{i}"
            r = dict(rec, point=pid, pad=pid * int(pad))
            st.put(pid, rec["config"], r, "ok", swept=["rule", "weight_bits"])
            if i == 0:
                print("started", flush=True)
            i += 1
    """
)


@pytest.fixture(scope="module")
def records() -> list[dict]:
    out = []
    for rule, wb in RUNS:
        cfg = TrainConfig(
            data="digits", hidden=(16,), epochs=2, mode="fixed", rule=rule,
            weight_bits=wb, error_bits=4,
        )  # fmt: skip
        res, _ = train(cfg)
        out.append(res.to_record())
    return out


@pytest.fixture
def rec_file(tmp_path: Path, records: list[dict]) -> Path:
    p = tmp_path / "record.json"
    p.write_text(json.dumps(records[0]))
    return p


def _writer(
    db: Path, rec_file: Path, prefix: str, count: str, pad: int = 0, go: str = "-"
) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), str(rec_file), prefix, count, str(pad), go],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _integrity(db: Path) -> str:
    with sqlite3.connect(db) as c:
        return c.execute("PRAGMA integrity_check").fetchone()[0]


# ----------------------------------------------------------------------


def test_round_trip_of_real_records(tmp_path, records):
    db = tmp_path / "r.db"
    with Store(db) as st:
        for i, rec in enumerate(records):
            st.put(f"p{i}", rec["config"], rec, "ok", swept=["rule", "weight_bits"], sweep="s1")
    with Store(db) as st:  # reopened: persisted
        assert st.records() == records
        rows = st.rows()
        assert len(st) == len(records) == len(rows)
    for i, (row, rec) in enumerate(zip(rows, records, strict=True)):
        assert list(row) == row_columns()
        assert row["id"] == f"p{i}" and row["status"] == "ok" and row["error"] is None
        assert row["sweep"] == "s1" and row["swept"] == "rule,weight_bits"
        assert row["created_at"]
        for k, v in rec["config"].items():
            assert row[k] == (",".join(map(str, v)) if k in ("hidden", "freeze") else v), k
        assert row["hidden"] == "16"
        hw = rec["hardware"]
        assert row["test_accuracy"] == rec["results"]["test_accuracy"]
        assert row["train_accuracy"] == rec["results"]["train_accuracy"]
        assert row["energy_pj_per_sample"] == hw["energy_pj_per_sample"]["total"]
        assert row["inference_energy_pj"] == hw["inference_energy_pj"]
        assert row["cycles_per_sample"] == hw["cycles_per_sample"]["train"]
        assert row["samples_per_second"] == hw["samples_per_second"]
        bits = hw["bus"]["bits_per_sample"]
        assert row["transport_bits_per_sample"] == pytest.approx(
            sum(v for k, v in bits.items() if k != "forward")
        )
        assert row["transport_bits_per_sample"] > 0
        assert row["feedback_memory_bits"] == hw["memory_bits"]["feedback"]
        assert row["forward_memory_bits"] == hw["memory_bits"]["forward"]
        assert row["wall_seconds"] == rec["results"]["wall_seconds"]


def test_done_ids_replace_and_failed_point(tmp_path, records):
    rec = records[0]
    with Store(tmp_path / "r.db") as st:
        assert st.done_ids() == set()
        st.put("a", rec["config"], rec, "ok")
        st.put("b", rec["config"], None, "failed", error="NumericalError: diverged")
        assert st.done_ids() == {"a"}
        failed = st.rows("failed")
        assert [r["id"] for r in failed] == ["b"]
        assert failed[0]["error"] == "NumericalError: diverged"
        assert failed[0]["rule"] == rec["config"]["rule"]  # config kept for a failed point
        assert all(failed[0][n] is None for n, _ in RESULT_COLUMNS)
        assert st.records() == [rec]
        assert st.records(status=None) == [rec]  # the failed point has no record
        assert [p["record"] for p in st.points("failed")] == [None]
        # a rerun replaces the failed point under the same id
        st.put("b", records[1]["config"], records[1], "ok")
        assert st.done_ids() == {"a", "b"}
        assert len(st) == 2 and st.rows("failed") == []
        b = [r for r in st.rows() if r["id"] == "b"][0]
        assert b["error"] is None and b["rule"] == records[1]["config"]["rule"]
        assert st.records() == records


def test_swept_keys_get_indexes_and_are_checked(tmp_path, records):
    db = tmp_path / "r.db"
    with Store(db) as st:
        st.put("a", records[0]["config"], records[0], "ok", swept=["weight_bits", "rule"])
        with pytest.raises(StoreError, match="not config fields"):
            st.put("b", records[0]["config"], records[0], "ok", swept=["bogus"])
        assert st.done_ids() == {"a"}
        with pytest.raises(StoreError):
            st.put("", records[0]["config"], records[0], "ok")
    with sqlite3.connect(db) as c:
        idx = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"idx_weight_bits", "idx_rule"} <= idx


def test_csv_export_columns(tmp_path, records):
    with Store(tmp_path / "r.db") as st:
        st.put("a", records[0]["config"], records[0], "ok")
        st.put("b", records[1]["config"], None, "failed", error='bad, "quoted"\nline')
        out = tmp_path / "rows.csv"
        st.to_csv(out)
        buf = io.StringIO()
        st.to_csv(buf)
    text = out.read_text()
    assert text == buf.getvalue()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == row_columns()
    for name in ("id", "status", "error", "created_at", *TrainConfig.field_names()):
        assert name in rows[0]
    assert [r["id"] for r in rows] == ["a", "b"]
    assert float(rows[0]["test_accuracy"]) == records[0]["results"]["test_accuracy"]
    assert rows[1]["test_accuracy"] == "" and rows[1]["error"] == 'bad, "quoted"\nline'
    assert "record_json" not in rows[0]


def test_to_dataframe(tmp_path, records, monkeypatch):
    with Store(tmp_path / "r.db") as st:
        st.put("a", records[0]["config"], records[0], "ok")
        try:
            import pandas  # noqa: F401
        except ImportError:
            pass
        else:
            df = st.to_dataframe()
            assert list(df.columns) == row_columns() and len(df) == 1
        monkeypatch.setitem(sys.modules, "pandas", None)  # as if not installed
        with pytest.raises(ImportError, match="pandas"):
            st.to_dataframe()


def test_bad_files_raise_store_error(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_text("not a database\n" * 200)
    with pytest.raises(StoreError, match="junk.db") as e:
        Store(junk)
    assert isinstance(e.value, NeuroSimError)

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as c:
        c.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="other.db.*not a neurosim result store"):
        Store(other)

    old = tmp_path / "old.db"
    Store(old).close()
    with sqlite3.connect(old) as c:
        c.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="old.db.*schema version 99"):
        Store(old)

    (tmp_path / "adir").mkdir()
    with pytest.raises(StoreError, match="adir"):
        Store(tmp_path / "adir")

    st = Store(tmp_path / "closed.db")
    st.close()
    st.close()
    with pytest.raises(StoreError, match="closed"):
        st.done_ids()


def test_new_config_fields_become_columns(tmp_path, records):
    db = tmp_path / "r.db"
    with Store(db) as st:
        st.put("a", records[0]["config"], records[0], "ok")
    with sqlite3.connect(db) as c:
        c.execute("ALTER TABLE points DROP COLUMN rank")  # a store from before `rank` existed
    with Store(db) as st:
        assert st.rows()[0]["rank"] is None
        st.put("b", dict(records[0]["config"], rank=3), records[0], "ok")
        assert [r["rank"] for r in st.rows()] == [None, 3]


def test_headline_of_record_without_hardware(records):
    rec = copy.deepcopy(records[0])
    rec["hardware"] = None
    h = headline(rec)
    assert h["test_accuracy"] == rec["results"]["test_accuracy"]
    assert h["energy_pj_per_sample"] is None and h["transport_bits_per_sample"] is None


def test_kill_9_of_a_writer_leaves_only_complete_points(tmp_path, rec_file, records):
    db = tmp_path / "crash.db"
    expected = headline(records[0])
    pads = (20_000, 60_000, 5_000)  # ~100 kB to ~600 kB per record
    for k, pad in enumerate(pads):
        proc = _writer(db, rec_file, f"k{k}-", "inf", pad)
        try:
            assert proc.stdout.readline().strip() == "started", proc.stderr.read()
            time.sleep(0.05 + 0.07 * k)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL
    assert _integrity(db) == "ok"
    with Store(db) as st:
        rows = st.points()
        assert len(rows) >= len(pads)
        for k in range(len(pads)):
            assert f"k{k}-0" in st.done_ids()
        for row in rows:
            rec = row["record"]  # parsed from record_json: a torn write would not parse
            assert rec["point"] == row["id"]
            assert rec["pad"] == row["id"] * pads[int(row["id"][1])]
            assert rec["results"] == records[0]["results"]
            assert {n: row[n] for n in expected} == expected
        # the store still takes writes after the crashes
        st.put("after", records[1]["config"], records[1], "ok")
        assert "after" in st.done_ids()


def test_two_concurrent_writers_and_a_reader(tmp_path, rec_file):
    db = tmp_path / "shared.db"  # both writers create it at the same moment
    go = tmp_path / "go"
    n = 150
    procs = [_writer(db, rec_file, p, str(n), 2_000, str(go)) for p in ("a", "b")]
    seen = []
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready", p.stderr.read()
        go.touch()
        deadline = time.monotonic() + 60
        while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
            if db.exists():
                with Store(db) as st:  # a reader, while the writers write
                    seen.append(len(st.done_ids()))
                    st.rows()
            time.sleep(0.02)
    finally:
        outs = [p.communicate(timeout=60) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    assert seen == sorted(seen)  # the reader saw the count grow, never shrink
    assert _integrity(db) == "ok"
    with Store(db) as st:
        ids = st.done_ids()
        assert ids == {f"{p}{i}" for p in "ab" for i in range(n)}
        assert all(r["point"] == i for r, i in zip(st.records(), sorted(ids), strict=True))
    # the writers took turns: their commits (in rowid order) interleave
    with sqlite3.connect(db) as c:
        order = "".join(r[0][0] for r in c.execute("SELECT id FROM points ORDER BY rowid"))
    assert order.count("ab") + order.count("ba") > 1, order


def test_bias_record_round_trip(tmp_path):
    from neurosim.experiments.sweep import point_id

    cfg = TrainConfig(data="digits", hidden=(16,), epochs=1, mode="fixed", bias=True).validate()
    res, _ = train(cfg)
    rec = res.to_record()
    assert rec["config"]["bias"] is True
    assert rec["hardware"]["memory_bits"]["bias"] == 16 * (16 + 10)
    db = tmp_path / "r.db"
    with Store(db) as st:
        st.put("b", rec["config"], rec, "ok")
    with Store(db) as st:
        assert st.records() == [rec]
        assert st.rows()[0]["bias"] in (1, True)
    back = TrainConfig.from_dict(rec["config"])
    assert back == cfg and point_id(back) == point_id(cfg)
    # bias = False stays out of the point id (existing stores keep their ids)
    plain = TrainConfig(data="digits", hidden=(16,), epochs=1, mode="fixed").validate()
    d = plain.to_dict()
    d.pop("bias")
    assert point_id(plain) == point_id(TrainConfig.from_dict(d))
    assert point_id(plain) != point_id(cfg)
