"""Fault injection on inputs: each hostile case runs the CLI as a user would
and must end with exit 2 (130 for Ctrl-C), exactly one line on stderr, no
traceback, nothing printed before the error and nothing written.

Classes: size guards (networks, grids, files), data, non-finite energies and
records, configurations that train nothing, interrupts and schedulers, and
the messages themselves (byte-order mark, newlines in paths, long values).
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from neurosim.errors import NumericalError
from neurosim.jsonsafe import check_record, dumps_strict, nonfinite_field

ROOT = Path(__file__).resolve().parents[1]
B = ["train", "--data", "digits", "--epochs", "1", "--hidden", "16", "--no-progress"]


def cli(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "neurosim.cli", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout,
    )  # fmt: skip


def refused(p: subprocess.CompletedProcess, *needles: str, code: int = 2) -> str:
    """Assert exit `code`, one stderr line naming every needle, nothing on stdout."""
    assert p.returncode == code, (p.stdout[-500:], p.stderr[-2000:])
    assert "Traceback" not in p.stderr, p.stderr
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert p.stdout == "", p.stdout  # refused before the header
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def files(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*")}


def _idx(path: Path, dims: tuple[int, ...]) -> None:
    head = bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", n) for n in dims)
    path.write_bytes(head + bytes(int(np.prod(dims))))


# ------------------------------------------------------------------ sizes
@pytest.mark.parametrize(
    ("args", "needles"),
    [
        ([*B[:-3], "--hidden", "1000000,1000000", "--no-progress"],
         ("hidden = '1000000,1000000'", "TiB", "--max-memory-gib")),
        ([*B, "--max-memory-gib", "0.0001"], ("0.0001 GiB", "net 64-16-10")),
        (["train", "--config", "/dev/zero"], ("config = '/dev/zero'", "at most 1 MiB")),
        (["sweep", "/dev/zero"], ("'/dev/zero'", "at most 1 MiB")),
        (["chip", "/dev/zero"], ("chip = '/dev/zero'", "at most 1 MiB")),
        (["chip", "ref45", "--energy", "/dev/zero"], ("'/dev/zero'", "at most 1 MiB")),
        ([*B, "--chip", "/dev/zero"], ("'/dev/zero'", "at most 1 MiB")),
    ],
)  # fmt: skip
def test_size_guards_refuse_before_allocating(tmp_path: Path, args, needles) -> None:
    t0 = time.perf_counter()
    refused(cli(*args, cwd=tmp_path), *needles)
    assert time.perf_counter() - t0 < 30
    assert files(tmp_path) == set()


def test_a_grid_is_counted_before_it_is_expanded(tmp_path: Path) -> None:
    seeds = ",".join(map(str, range(1000)))
    lrs = ",".join(f"0.{i:04d}" for i in range(1, 1001))
    (tmp_path / "g.toml").write_text(f"[axes]\nseed = [{seeds}]\nlr = [{lrs}]\n")
    t0 = time.perf_counter()
    refused(cli("sweep", "g.toml", "--dry-run", cwd=tmp_path),
            "1000000 points", "at most 100000", "--max-points")  # fmt: skip
    assert time.perf_counter() - t0 < 30
    refused(cli("sweep", "g.toml", "--dry-run", "--max-points", "10000000",
                "--max-memory-gib", "1e-9", cwd=tmp_path), "base.hidden")  # fmt: skip
    assert files(tmp_path) == {"g.toml"}


def test_a_big_config_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big.toml").write_text("# " + "x" * (1 << 20) + "\n")
    refused(cli("train", "--config", "big.toml", cwd=tmp_path), "big.toml", "1 MiB")


# ------------------------------------------------------------------- data
def test_a_missing_data_dir_is_named_not_replaced(tmp_path: Path) -> None:
    refused(cli("train", "--data", "fashion-mnist", "--data-dir", "no/such/typo", "--epochs",
                "1", "--no-progress", cwd=tmp_path), "no/such/typo", "no such directory")
    (tmp_path / "f").write_text("x")
    refused(cli("train", "--data", "mnist", "--data-dir", "f", cwd=tmp_path), "f: no such")


@pytest.mark.parametrize("part", ["train", "t10k"])
def test_idx_files_without_images_are_named(tmp_path: Path, part: str) -> None:
    d = tmp_path / "mn"
    d.mkdir()
    for p in ("train", "t10k"):
        n = 0 if p == part else 4
        _idx(d / f"{p}-images-idx3-ubyte", (n, 28, 28))
        _idx(d / f"{p}-labels-idx1-ubyte", (n,))
    p = cli("train", "--data", "mnist", "--data-dir", "mn", "--hidden", "8", cwd=tmp_path)
    refused(p, f"{part}-images-idx3-ubyte", "no images")


def test_a_higgs_cache_with_nan_is_rebuilt(tmp_path: Path) -> None:
    from neurosim.data import higgs
    from neurosim.data.datasets import clear_cache, load_dataset

    rng = np.random.default_rng(0)
    rows = rng.normal(size=(200, 29)).astype(np.float32)
    rows[:, 0] = rng.integers(0, 2, 200)
    src = tmp_path / "HIGGS.csv"
    src.write_text("\n".join(",".join(f"{v:.6e}" for v in r) for r in rows) + "\n")
    clear_cache()
    good = load_dataset("higgs", data_dir=tmp_path)
    cache = higgs.cache_path(src)
    arr = np.load(cache, mmap_mode="r+")
    arr[3, 5] = np.nan  # a damaged copy, its stamp still valid
    arr.flush()
    del arr
    clear_cache()
    again = load_dataset("higgs", data_dir=tmp_path)
    assert np.array_equal(good.x_train, again.x_train)
    assert np.isfinite(np.load(cache)).all()  # rebuilt from the CSV
    clear_cache()


# ------------------------------------------------------------- non-finite
@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["chip", "ov.toml"], ("energy_overrides.add = 1e+308", "up to 1e+09")),
        (["chip", "ref45", "--energy", "rows.toml"], ("energy.add = 1e+308",)),
        ([*B, "--chip", "ov.toml", "--json", "r.json"], ("energy_overrides.add",)),
    ],
)
def test_overrides_that_overflow_are_refused(tmp_path: Path, args, needles) -> None:
    (tmp_path / "ov.toml").write_text('base = "ref45"\n[energy_overrides]\nadd = 1e308\n')
    (tmp_path / "rows.toml").write_text("add = 1e308\n")
    refused(cli(*args, cwd=tmp_path), *needles)
    assert files(tmp_path) == {"ov.toml", "rows.toml"}


def test_records_are_strict_json() -> None:
    rec = {"results": {"epochs": [{"loss": 1.0}, {"loss": float("nan")}]}, "x": 1}
    assert nonfinite_field(rec) == "results.epochs[1].loss"
    with pytest.raises(NumericalError, match=r"results\.epochs\[1\]\.loss"):
        check_record(rec)
    with pytest.raises(NumericalError, match="hardware.total"):
        dumps_strict({"hardware": {"total": float("inf")}})
    assert dumps_strict({"a": [1.5]}) == '{"a": [1.5]}'


# ---------------------------------------------------------- nothing trains
@pytest.mark.parametrize(
    "args",
    [["--freeze", "1,2"], ["--rule", "top-only", "--freeze", "2"],
     ["--hidden", "8,8", "--freeze", "3,1,2"]],
)  # fmt: skip
def test_a_run_that_trains_nothing_is_refused(tmp_path: Path, args) -> None:
    refused(cli(*B, *args, cwd=tmp_path), "freeze = [", "nothing would be updated")


# ------------------------------------------------- interrupts, schedulers
def _interruptible() -> None:
    # a test run started in the background of a non-interactive shell inherits
    # SIGINT ignored (POSIX), and so would the CLI: give it the default back
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_during_a_sweep_is_one_line_and_130(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(
        # points of ~14 s: the sweep is still running at the second Ctrl-C
        # (400 epochs, ~1.4 s a point here, let six points end before 4 s)
        '[base]\ndata = "digits"\nhidden = [64]\nepochs = 4000\n[axes]\nseed = [0, 1, 2, 3, 4, 5]\n'
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for delay in (1.0, 4.0):  # workers importing; workers training
        p = subprocess.Popen(
            [sys.executable, "-m", "neurosim.cli", "sweep", "s.toml", "--workers", "2",
             "--no-progress"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True, preexec_fn=_interruptible,
        )  # fmt: skip
        time.sleep(delay)
        os.killpg(p.pid, signal.SIGINT)  # as Ctrl-C: the whole process group
        try:
            _out, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
        assert p.returncode == 130, err
        assert "Traceback" not in err, err
        assert err.splitlines() == ["neurosim: interrupted"], err


@pytest.mark.skipif(
    not hasattr(signal, "pthread_sigmask") or not Path("/proc/self/status").exists(),
    reason="needs pthread_sigmask and /proc",
)
def test_a_ctrl_c_while_workers_start_is_held_back_not_lost() -> None:
    """SIGINT is ignored while sweep workers are spawned (they inherit that);
    one that reaches this thread meanwhile still interrupts it afterwards."""
    import multiprocessing

    from neurosim.experiments.workers import sigint_ignored

    inside = False
    # the handler a Python started with SIGINT ignored (a background job) lacks
    prev = signal.signal(signal.SIGINT, signal.default_int_handler)
    with pytest.raises(KeyboardInterrupt):
        with sigint_ignored():
            child = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(5,))
            child.start()
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            time.sleep(0.05)  # held back: no KeyboardInterrupt inside the window
            inside = True
        for _ in range(1000):  # the restored handler runs once the window closes
            pass
    try:
        status = Path(f"/proc/{child.pid}/status").read_text()
        line = next(ln for ln in status.splitlines() if ln.startswith("SigIgn:"))
        ignored = int(line.split()[1], 16)
        assert ignored & (1 << (signal.SIGINT - 1)), "the worker must ignore SIGINT"
    finally:
        child.terminate()
        child.join()
    assert inside
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, set())
    signal.signal(signal.SIGINT, prev)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_fails_in_seconds(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text('[base]\ndata = "digits"\n[axes]\nseed = [0, 1]\n')
    t0 = time.perf_counter()
    refused(cli("sweep", "s.toml", "--scheduler", f"tcp://127.0.0.1:{_free_port()}",
                cwd=tmp_path), "reachable Dask scheduler")  # fmt: skip
    refused(cli("sweep", "s.toml", "--scheduler", "nonsense", cwd=tmp_path), "tcp://HOST:PORT")
    assert time.perf_counter() - t0 < 30
    assert files(tmp_path) == {"s.toml"}  # no store created


def test_a_peer_that_is_not_a_scheduler_is_refused(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text('[base]\ndata = "digits"\n[axes]\nseed = [0, 1]\n')
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def answer() -> None:  # an HTTP server's greeting, not a Dask handshake
        conn, _ = server.accept()
        with conn:
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            time.sleep(1)

    threading.Thread(target=answer, daemon=True).start()
    port = server.getsockname()[1]
    try:
        refused(cli("sweep", "s.toml", "--scheduler", f"tcp://127.0.0.1:{port}", cwd=tmp_path),
                "not one")  # fmt: skip
    finally:
        server.close()


# --------------------------------------------------------------- messages
def test_a_byte_order_mark_gets_a_hint(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_bytes(b"\xef\xbb\xbfepochs = 1\n")
    refused(cli("train", "--config", "c.toml", cwd=tmp_path), "byte-order mark")


def test_a_newline_in_a_path_does_not_split_the_line(tmp_path: Path) -> None:
    refused(cli("train", "--config", "a\nb.toml", cwd=tmp_path), r"'a\nb.toml'")
    refused(cli("train", "--data", "mnist", "--data-dir", "x\ny", cwd=tmp_path), r"'x\ny'")


def test_conv_geometry_and_long_values_before_the_header(tmp_path: Path) -> None:
    line = refused(cli(*B, "--conv", ",".join(["c4k3p2s2"] * 4), cwd=tmp_path),
                   "block 4 gets 1x1")  # fmt: skip
    assert line.startswith("neurosim: error: conv = ")
    line = refused(cli(*B, "--rule", "x" * 500, cwd=tmp_path), "...", "one of bp")
    assert len(line) < 200


# ------------------------------------------------------------ chip names
def test_chip_name_too_long_for_the_file_system(tmp_path: Path) -> None:
    refused(cli("chip", "x" * 300, cwd=tmp_path), "chip = ", "(302 characters)")


def test_vanishing_clock_is_refused(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text('base = "ref45"\nclock_mhz = 1e-300\n')
    refused(cli(*B, "--chip", "c.toml", cwd=tmp_path), "clock_mhz = 1e-300", "0.001")
