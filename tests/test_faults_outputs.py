"""Fault injection on outputs and stores: nothing overwritten, nothing lost, no traceback.

Each failing case runs the command line in this process and asserts exit code
2, exactly one line on stderr, no traceback, and that nothing was replaced,
left half-written or lost. The cases that must succeed check that a symlink,
FIFO or device given as an output is written through and stays what it was.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

from neurosim.cli import main
from neurosim.config import TrainConfig
from neurosim.experiments.store import Store

TRAIN = ["train", "--data", "digits", "--epochs", "1", "--hidden", "8", "--mode", "float",
         "--limit", "100", "--no-progress"]  # fmt: skip
SPEC = """
[sweep]
name = "faults"
[base]
data = "digits"
hidden = [8]
epochs = 1
mode = "float"
limit = 60
[axes]
rule = ["bp", "rbp", "srbp"]
seed = [0, 1]
"""


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as e:  # argparse
        rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err


def refused(argv: list[str], capsys, *names: str) -> str:
    """Run a case that must fail: exit 2, one line naming `names`, no traceback."""
    rc, _, err = run(argv, capsys)
    lines = err.splitlines()
    assert rc == 2, (rc, err)
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for n in names:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def files(d: Path) -> dict[str, bytes | str]:
    """Every entry under `d`: bytes of a regular file, else its kind."""
    out: dict[str, bytes | str] = {}
    for p in sorted(d.rglob("*")):
        if p.is_symlink():
            out[str(p)] = "link->" + os.readlink(p)
        elif p.is_file():
            out[str(p)] = p.read_bytes()
        else:
            out[str(p)] = "dir" if p.is_dir() else "special"
    return out


def make_store(path: Path, corrupt: bool = False) -> str:
    """A store with one ok point (a small record) and one failed point; the ok id."""
    cfg = TrainConfig().to_dict()
    epoch = {"epoch": 1, "train_loss": 1.0, "train_accuracy": 0.5, "test_accuracy": 0.5,
             "saturations": 0, "seconds": 0.1}  # fmt: skip
    record = {"config": cfg, "results": {"test_accuracy": 0.5, "train_accuracy": 0.5,
              "epochs": [epoch]}, "hardware": None}  # fmt: skip
    with Store(path) as st:
        st.put("okpoint", cfg, record, "ok")
        st.put("badpoint", cfg, None, "failed", error="boom")
    if corrupt:
        con = sqlite3.connect(path)
        con.execute("UPDATE points SET record_json = '{broken' WHERE id = 'okpoint'")
        con.commit()
        con.close()
    return "okpoint"


@pytest.fixture
def fallback_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "tmpdir"
    d.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    return d


# ------------------------------------------------------- not a regular file
def test_json_through_a_symlink_keeps_the_symlink(tmp_path, capsys) -> None:
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    rc, _, err = run([*TRAIN, "--json", link], capsys)
    assert rc == 0, err
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert "results" in json.loads(target.read_text())


def test_dangling_symlink_and_fifo_store(tmp_path, capsys) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "made.json")
    rc, _, err = run([*TRAIN, "--json", link], capsys)
    assert rc == 0, err
    assert link.is_symlink() and "results" in json.loads((tmp_path / "made.json").read_text())
    fifo = tmp_path / "fifo.db"
    os.mkfifo(fifo)
    spec = tmp_path / "spec.toml"
    spec.write_text(textwrap.dedent(SPEC))
    refused(["sweep", spec, "--store", fifo], capsys, "fifo.db")
    refused(["results", fifo], capsys, "fifo.db")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_json_and_csv_into_a_device_leave_the_device(tmp_path, capsys) -> None:
    dev = tmp_path / "null"
    try:
        os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of our own
    except (PermissionError, OSError):
        pytest.skip("cannot make a device node here")
    rc, _, err = run([*TRAIN, "--json", dev], capsys)
    assert rc == 0, err
    assert stat.S_ISCHR(os.lstat(dev).st_mode)
    db = tmp_path / "s.db"
    make_store(db)
    rc, _, err = run(["results", db, "--csv", dev], capsys)
    assert rc == 0, err
    assert stat.S_ISCHR(os.lstat(dev).st_mode)


def _fifo_reader(fifo: Path, got: list[bytes]) -> threading.Thread:
    def read() -> None:
        with open(fifo, "rb") as f:
            got.append(f.read())

    t = threading.Thread(target=read, daemon=True)
    t.start()
    return t


def test_json_and_csv_into_a_fifo_are_written_through(tmp_path, capsys) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    t = _fifo_reader(fifo, got)
    rc, _, err = run([*TRAIN, "--json", fifo], capsys)
    t.join(10)
    assert rc == 0, err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert "results" in json.loads(got[0])
    db = tmp_path / "s.db"
    make_store(db)
    t = _fifo_reader(fifo, got)
    rc, _, err = run(["results", db, "--csv", fifo], capsys)
    t.join(10)
    assert rc == 0, err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and got[1].startswith(b"id,status")


def test_json_dash_writes_the_record_alone_to_stdout(tmp_path, capsys) -> None:
    rc, out, err = run([*TRAIN, "--json", "-"], capsys)
    assert rc == 0, err
    assert json.loads(out)["results"]["test_accuracy"] >= 0
    assert "test accuracy" in err  # the tables went to stderr
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------- checked before any work
@pytest.mark.parametrize(
    "case",
    ["empty", "directory", "missing-dir", "under-a-file", "long-name", "long-dir"],
)
def test_json_path_refused_before_training(tmp_path, capsys, case) -> None:
    (tmp_path / "f").write_text("x")
    path = {
        "empty": "",
        "directory": str(tmp_path),
        "missing-dir": str(tmp_path / "no" / "r.json"),
        "under-a-file": str(tmp_path / "f" / "r.json"),
        "long-name": str(tmp_path / ("x" * 300 + ".json")),
        "long-dir": str(tmp_path / ("d" * 300) / "r.json"),
    }[case]
    before = files(tmp_path)
    line = refused([*TRAIN, "--json", path], capsys, "json")
    assert "epoch" not in line
    assert files(tmp_path) == before


def test_read_only_places_refused_before_training(tmp_path, capsys, monkeypatch) -> None:
    """A read-only file system (EROFS even for root): simulated at the probe."""
    from neurosim.experiments import safe_io

    def erofs(*a, **k):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(safe_io.tempfile, "mkstemp", erofs)
    db = tmp_path / "s.db"
    make_store(db)
    before = files(tmp_path)
    refused([*TRAIN, "--json", tmp_path / "r.json"], capsys, "json", "Read-only")
    refused(["results", db, "--csv", tmp_path / "o.csv"], capsys, "csv", "Read-only")
    refused(["report", db, "-o", tmp_path / "rep"], capsys, "out", "Read-only")
    refused(["paper", "theory", "--quick", "-o", tmp_path / "p"], capsys, "out", "Read-only")
    assert files(tmp_path) == before


@pytest.mark.parametrize(
    "argv, name",
    [
        (["report", "{db}", "-o", ""], "out"),
        (["report", "{db}", "-o", "{tmp}/f"], "out"),
        (["report", "{db}", "-o", "{tmp}/" + "r" * 300], "out"),
        (["results", "{db}", "--csv", ""], "csv"),
        (["results", "{db}", "--csv", "{tmp}"], "csv"),
        (["results", "{db}", "--csv", "{tmp}/f/o.csv"], "csv"),
        (["paper", "theory", "--quick", "-o", ""], "out"),
        (["paper", "theory", "--quick", "-o", "{tmp}/f/p"], "out"),
        (["sweep", "{spec}", "--store", ""], "store"),
        (["sweep", "{spec}", "--store", ":memory:"], "store"),
        (["sweep", "{spec}", "--store", "{tmp}/f/s.db"], "s.db"),
        (["sweep", "{spec}", "--store", "{tmp}"], "store"),
        (["results", ""], "store"),
        (["results", ":memory:"], "store"),
        (["report", "", "-o", "{tmp}/rep"], "store"),
    ],
)
def test_output_and_store_names_refused(tmp_path, capsys, argv, name) -> None:
    db = tmp_path / "s.db"
    make_store(db)
    (tmp_path / "f").write_text("x")
    spec = tmp_path / "spec.toml"
    spec.write_text(textwrap.dedent(SPEC))
    before = files(tmp_path)
    sub = {"{db}": str(db), "{tmp}": str(tmp_path), "{spec}": str(spec)}
    for k, v in sub.items():
        argv = [a.replace(k, v) for a in argv]
    refused(argv, capsys, name)
    assert files(tmp_path) == before


# -------------------------------------------------- a write that still fails
def _enospc(*a, **k):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_full_disk_after_training_keeps_the_record(tmp_path, capsys, monkeypatch,
                                                   fallback_dir) -> None:  # fmt: skip
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(os, "replace", _enospc)  # the disk fills as the record lands
    line = refused([*TRAIN, "--json", out / "r.json"], capsys, "r.json", "No space")
    assert list(out.iterdir()) == []  # no partial file
    saved = [p for p in fallback_dir.iterdir()]
    assert len(saved) == 1 and str(saved[0]) in line
    assert "results" in json.loads(saved[0].read_text())


def test_full_disk_on_csv_and_report_leaves_no_partial_files(tmp_path, capsys,
                                                              monkeypatch) -> None:  # fmt: skip
    db = tmp_path / "s.db"
    make_store(db)
    rep = tmp_path / "rep"
    monkeypatch.setattr(os, "replace", _enospc)
    before = files(tmp_path)
    refused(["results", db, "--csv", tmp_path / "o.csv"], capsys, "o.csv", "No space")
    assert files(tmp_path) == before
    refused(["report", db, "-o", rep], capsys, "report.html", "No space")
    assert not any(p.name.endswith(".tmp") for p in rep.iterdir())
    assert not (rep / "report.html").exists()


def test_figure_write_failure_is_one_line(tmp_path, capsys, monkeypatch) -> None:
    from matplotlib.figure import Figure

    db = tmp_path / "s.db"
    make_store(db)

    def broken(self, fname, **k):
        Path(fname).write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", broken)
    rep = tmp_path / "rep"
    refused(["report", db, "-o", rep], capsys, "No space")
    assert not any(p.suffix in (".png", ".svg") for p in rep.iterdir())


# ------------------------------------------------------------------ stores
def test_read_commands_never_create_or_convert(tmp_path, capsys) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    text = tmp_path / "notes.db"
    text.write_text("not a database\n")
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    spec = tmp_path / "spec.toml"
    spec.write_text(textwrap.dedent(SPEC))
    before = files(tmp_path)
    for db in (empty, text):
        refused(["results", db], capsys, str(db))
        refused(["report", db, "-o", tmp_path / "rep"], capsys, str(db))
        refused(["sweep", spec, "--store", db, "--dry-run"], capsys, str(db))
    refused(["results", other], capsys, "other.db")
    refused(["results", tmp_path / "absent.db"], capsys, "absent.db")
    assert files(tmp_path) == before  # no store made, no -wal or -shm, no report dir


def test_reading_a_store_changes_nothing(tmp_path, capsys) -> None:
    db = tmp_path / "s.db"
    make_store(db)
    before = files(tmp_path)
    rc, out, err = run(["results", db], capsys)
    assert rc == 0 and "okpoint"[:12] in out, err
    assert files(tmp_path) == before


@pytest.fixture
def ro_mount(tmp_path):
    """`tmp_path/ro`, a store in it, bind-mounted read-only (skipped if not allowed)."""
    d = tmp_path / "ro"
    d.mkdir()
    make_store(d / "s.db")
    try:
        subprocess.run(["mount", "--bind", "-o", "ro", str(d), str(d)], check=True,
                       capture_output=True)  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("cannot bind-mount read-only here")
    try:
        if os.access(d, os.W_OK) and not _really_read_only(d):
            pytest.skip("the bind mount is not read-only")
        yield d
    finally:
        subprocess.run(["umount", str(d)], check=False, capture_output=True)


def _really_read_only(d: Path) -> bool:
    try:
        (d / "probe").write_text("x")
    except OSError:
        return True
    (d / "probe").unlink()
    return False


def test_a_store_on_a_read_only_mount_can_be_read(tmp_path, capsys, ro_mount) -> None:
    db = ro_mount / "s.db"
    rc, out, err = run(["results", db], capsys)
    assert rc == 0 and "okpoint" in out, err
    rc, out, err = run(["results", db, "--csv", "-"], capsys)
    assert rc == 0 and out.startswith("id,status"), err
    rc, out, err = run(["report", db, "-o", tmp_path / "rep"], capsys)
    assert rc == 0, err
    refused(["report", db, "-o", ro_mount / "rep"], capsys, "out")


def test_corrupt_record_is_reported_by_point_id(tmp_path, capsys) -> None:
    db = tmp_path / "s.db"
    pid = make_store(db, corrupt=True)
    line = refused(["report", db, "-o", tmp_path / "rep"], capsys, pid, "corrupt")
    assert "s.db" in line
    con = sqlite3.connect(db)
    con.execute("UPDATE points SET record_json = '[1, 2]' WHERE id = ?", (pid,))
    con.commit()
    con.close()
    refused(["report", db, "-o", tmp_path / "rep"], capsys, pid, "corrupt")


# ------------------------------------------------------------------ claims
def _sweep_code(spec: Path, db: Path) -> list[str]:
    code = (
        "import json; from neurosim.experiments.sweep import run_sweep; "
        f"s = run_sweep({str(spec)!r}, {str(db)!r}, workers=1, progress=False); "
        "print(json.dumps([s.total, s.skipped, s.done, s.failed]))"
    )
    return [sys.executable, "-c", code]


def test_two_sweeps_on_one_store_run_each_point_once(tmp_path) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text(textwrap.dedent(SPEC))
    db = tmp_path / "s.db"
    Store(db).close()  # both start on an existing store
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path.cwd()), *sys.path]))
    procs = [subprocess.Popen(_sweep_code(spec, db), stdout=subprocess.PIPE, env=env, text=True)
             for _ in range(2)]  # fmt: skip
    counts = [json.loads(p.communicate(timeout=300)[0].splitlines()[-1]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert all(c[0] == 6 and c[3] == 0 for c in counts)
    assert sum(c[2] for c in counts) == 6, counts  # every point trained by one sweep only
    with Store(db, readonly=True) as st:
        assert len(st.done_ids()) == 6
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM claims").fetchone()[0] == 0  # all released
    con.close()


def test_points_of_dead_claimants_run_again(tmp_path, monkeypatch) -> None:
    from neurosim.experiments.sweep import load_spec, run_sweep

    spec = load_spec_text(tmp_path, 'rule = ["bp"]\nseed = [0, 1, 2]')
    ids = [p.id for p in load_spec(spec).points()]
    gone = subprocess.Popen(["true"])
    gone.wait()
    db = tmp_path / "s.db"
    Store(db).close()
    now = time.time()
    con = sqlite3.connect(db)
    con.executemany("INSERT INTO claims (id, owner, heartbeat) VALUES (?, ?, ?)", [
        (ids[0], "elsewhere:1:aa", now - 3600),                         # stale heartbeat
        (ids[1], f"{socket.gethostname()}:{gone.pid}:bb", now),         # dead local process
        (ids[2], "elsewhere:2:cc", now),                                # live until stale
    ])  # fmt: skip
    con.commit()
    con.close()
    monkeypatch.setenv("NEUROSIM_CLAIM_STALE_S", "2")
    t0 = time.perf_counter()
    s = run_sweep(spec, db, workers=1, progress=False)
    assert (s.done, s.failed) == (3, 0)
    assert time.perf_counter() - t0 >= 1.0  # the live claim was waited for, not taken at once


def load_spec_text(tmp_path: Path, axes: str) -> Path:
    base = SPEC.split("[axes]")[0]
    p = tmp_path / "claims.toml"
    p.write_text(textwrap.dedent(base) + "[axes]\n" + axes + "\n")
    return p


def test_interrupted_sweep_releases_its_claims(tmp_path, monkeypatch) -> None:
    from neurosim.experiments import claims, sweep

    spec = load_spec_text(tmp_path, 'rule = ["bp", "rbp"]')
    db = tmp_path / "s.db"

    def interrupted(self, point):
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep_pools(), "submit", interrupted)
    with contextlib.suppress(KeyboardInterrupt):
        sweep.run_sweep(spec, db, workers=1, progress=False)
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM claims").fetchone()[0] == 0
    con.close()
    assert claims.stale_seconds() > 0


def sweep_pools():
    from neurosim.experiments.pools import LocalPool

    return LocalPool
