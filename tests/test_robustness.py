"""Robustness: kill -9 during sweeps, concurrent writers and readers, determinism,
and fuzzed config, sweep-spec, chip and TOML input."""

from __future__ import annotations

import json
import math
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hw_models.chip import Chip, chip_from_dict, load_chip, preset_names
from hw_models.energy import ROW_NAMES
from neurosim.channel.feedback import FEEDBACK_DISTS, FEEDBACK_FORMATS
from neurosim.config import ACTIVATIONS, MODES, OUTPUTS, TrainConfig, read_toml
from neurosim.data.datasets import DATASETS
from neurosim.errors import ConfigError
from neurosim.experiments.report import make_report
from neurosim.experiments.store import Store
from neurosim.experiments.sweep import SweepSpec, load_spec, point_id, run_sweep, strip_wall_times
from neurosim.experiments.train import train
from neurosim.nn.rules import RULES
from neurosim.numerics.fixedpoint import ROUNDING_MODES

# 12 tiny points on scikit-learn's 8x8 digits; small batches make a point take
# 0.1-0.2 s (batch 2 or 1), so a sweep stores its points over a second or two
SPEC = """
[sweep]
name = "robust"
[base]
data = "digits"
hidden = [8]
epochs = 1
batch = {batch}
[axes]
mode = ["float", "fixed"]
rule = ["bp", "rbp", "srbp"]
seed = [0, 1]
"""
N_POINTS = 12
N_KILLS = 10
KILL_SEED = 20240611

RECORD_KEYS = {"schema_version", "config", "results", "hardware"}
RESULT_KEYS = {
    "test_accuracy",
    "train_accuracy",
    "epochs",
    "saturations",
    "saturations_total",
    "counts",
    "weights_sha256",
    "data_source",
    "wall_seconds",
}
HARDWARE_KEYS = {
    "energy_pj_per_sample",
    "inference_energy_pj",
    "cycles_per_sample",
    "samples_per_second",
    "bus",
    "memory_bits",
    "area_mm2",
    "tiles",
    "actions_per_sample",
}
EPOCH_KEYS = {"epoch", "train_loss", "train_accuracy", "test_accuracy", "saturations", "seconds"}


# ---------------------------------------------------------------- helpers
def write_spec(d: Path, batch: int = 2) -> Path:
    p = d / "spec.toml"
    p.write_text(textwrap.dedent(SPEC.format(batch=batch)))
    return p


def expected_configs(spec: Path) -> dict[str, dict[str, Any]]:
    """Point id -> resolved config of every point of the spec."""
    return {p.id: p.config.to_dict() for p in load_spec(spec).points()}


def sweep_cmd(spec: Path, db: Path, workers: int) -> list[str]:
    code = (
        "from neurosim.experiments.sweep import run_sweep; "
        f"run_sweep({str(spec)!r}, {str(db)!r}, workers={workers}, progress=False)"
    )
    return [sys.executable, "-c", code]


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "neurosim.cli", *args]


def count_ok(db: Path) -> int:
    """Points stored as ok, read without creating anything; 0 if there is no table yet."""
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(db, timeout=5)
        try:
            return int(con.execute("SELECT COUNT(*) FROM points WHERE status = 'ok'").fetchone()[0])
        finally:
            con.close()
    except sqlite3.OperationalError:  # no table yet, or locked for a moment
        return 0


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the sweep and every process it spawned (its own session)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:  # already gone
        pass
    proc.wait(timeout=30)


def check_record(record: dict[str, Any], config: dict[str, Any]) -> None:
    assert RECORD_KEYS <= record.keys()
    assert record["config"] == config
    res = record["results"]
    assert RESULT_KEYS <= res.keys()
    assert len(res["epochs"]) == config["epochs"]
    assert all(EPOCH_KEYS <= e.keys() for e in res["epochs"])
    assert 0.0 <= res["test_accuracy"] <= 1.0
    assert len(res["weights_sha256"]) == 64 and int(res["weights_sha256"], 16) >= 0
    assert HARDWARE_KEYS <= record["hardware"].keys()


def check_store(db: Path, expected: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Open a store that may have been killed mid-write and check every row.

    Returns point id -> status.
    """
    with Store(db) as store:  # it must open
        assert len(store) == len(store.rows())
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        n, distinct = con.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM points").fetchone()
        assert n == distinct
        rows = con.execute(
            "SELECT id, status, error, config_json, record_json FROM points"
        ).fetchall()
    finally:
        con.close()
    out = {}
    for pid, status, error, config_json, record_json in rows:
        assert pid in expected, f"unknown point id {pid}"
        assert json.loads(config_json) == expected[pid]
        if status == "ok":
            record = json.loads(record_json)
            check_record(record, expected[pid])
            assert point_id(TrainConfig.from_dict(record["config"])) == pid
        else:  # a worker seen dying before its parent: stored as failed, retried later
            assert status == "failed" and isinstance(error, str) and error
            assert record_json is None
        out[pid] = status
    return out


def stripped_records(db: Path) -> dict[str, str]:
    """Point id -> canonical JSON of its record without wall times."""
    with Store(db) as store:
        return {
            point_id(TrainConfig.from_dict(r["config"])): json.dumps(
                strip_wall_times(r), sort_keys=True
            )
            for r in store.records()
        }


def assert_complete(db: Path, expected: dict[str, dict[str, Any]]) -> None:
    """Every point exactly once, all ok, integrity ok."""
    status = check_store(db, expected)
    assert sorted(status) == sorted(expected)
    assert set(status.values()) == {"ok"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A clean run of SPEC with one worker through the CLI: (spec path, records)."""
    d = tmp_path_factory.mktemp("reference")
    spec = write_spec(d)
    db = d / "ref.db"
    p = subprocess.run(
        cli("sweep", str(spec), "--store", str(db), "--workers", "1", "--no-progress"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert_complete(db, expected_configs(spec))
    recs = stripped_records(db)
    assert len(recs) == N_POINTS
    return spec, recs


# ---------------------------------------------------------------- kill -9
def test_repeated_kill_9_leaves_a_sound_store_that_resumes_to_the_clean_result(
    tmp_path, reference
) -> None:
    _, ref = reference
    spec = write_spec(tmp_path)
    expected = expected_configs(spec)
    db = tmp_path / "store.db"
    rng = random.Random(KILL_SEED)
    left = []
    for i in range(N_KILLS):
        before = count_ok(db)
        t0 = time.monotonic()
        proc = subprocess.Popen(
            sweep_cmd(spec, db, workers=2),
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            if i % 2 == 0:
                # any moment: interpreter start, spawning workers, opening the
                # store, creating its schema, or running points
                time.sleep(rng.uniform(0.3, 2.5))
                how = "timed"
            else:
                # just after a point was stored: workers mid-point, the parent
                # possibly mid-write of the next one
                deadline = t0 + 30
                while count_ok(db) == before and proc.poll() is None:
                    assert time.monotonic() < deadline, "no point stored in 30 s"
                    time.sleep(0.01)
                time.sleep(rng.uniform(0.0, 0.1))
                how = "after a point"
        finally:
            at = time.monotonic() - t0
            code = proc.poll()
            kill_group(proc)
        assert code in (None, 0)  # killed while running, or finished cleanly before
        status = check_store(db, expected)
        n_ok = sum(s == "ok" for s in status.values())
        left.append(n_ok)
        print(
            f"kill {i + 1} ({how}, at {at:.2f} s, "
            f"{'running' if code is None else 'already finished'}): "
            f"{len(status)} rows, {n_ok} ok of {N_POINTS}"
        )
        assert n_ok >= before  # a kill never loses a stored point
    print(f"points stored after each of the {N_KILLS} kills: {left}")
    s = run_sweep(spec, db, workers=2, progress=False)
    assert s.failed == 0
    assert (s.total, s.skipped, s.done) == (N_POINTS, left[-1], N_POINTS - left[-1])
    assert_complete(db, expected)
    assert stripped_records(db) == ref


# ---------------------------------------------------------------- readers and writers
def test_report_while_a_sweep_writes(tmp_path) -> None:
    spec = write_spec(tmp_path, batch=1)  # slower points: a longer time of writing
    db = tmp_path / "store.db"
    out = tmp_path / "report"
    proc = subprocess.Popen(
        sweep_cmd(spec, db, workers=1),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while count_ok(db) == 0:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no point stored in 60 s"
            time.sleep(0.01)
        during = 0
        for _ in range(2):
            during += proc.poll() is None
            page = make_report(db, out)
            assert page == out / "report.html" and page.is_file()
            assert "</html>" in page.read_text(encoding="utf-8")
        print(f"{during} of 2 reports started while the sweep was writing")
        assert during >= 1
        assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            kill_group(proc)
        proc.stderr.close()
    page = make_report(db, out)
    assert f"{N_POINTS} points, {N_POINTS} finished" in page.read_text(encoding="utf-8")


def test_two_sweeps_on_one_store_at_once(tmp_path, reference) -> None:
    _, ref = reference
    spec = write_spec(tmp_path)
    db = tmp_path / "store.db"
    procs = [
        subprocess.Popen(
            sweep_cmd(spec, db, workers=1),
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    try:
        for p in procs:
            assert p.wait(timeout=120) == 0, p.stderr.read().decode()
    finally:
        for p in procs:
            if p.poll() is None:
                kill_group(p)
            p.stderr.close()
    assert_complete(db, expected_configs(spec))
    assert stripped_records(db) == ref


# ---------------------------------------------------------------- determinism
@pytest.mark.parametrize("mode", ["float", "fixed"])
@pytest.mark.parametrize("rule", ["bp", "srbp"])
def test_same_config_and_seed_give_the_same_record(mode: str, rule: str) -> None:
    def record(seed: int = 3) -> dict[str, Any]:
        cfg = TrainConfig(data="digits", hidden=(8,), epochs=1, mode=mode, rule=rule, seed=seed)
        result, _ = train(cfg)
        return result.to_record()

    a, b = record(), record()
    sha = a["results"]["weights_sha256"]
    assert len(sha) == 64 and int(sha, 16) >= 0
    assert json.dumps(strip_wall_times(a), sort_keys=True) == json.dumps(
        strip_wall_times(b), sort_keys=True
    )
    assert record(seed=4)["results"]["weights_sha256"] != sha  # the hash sees the weights


def test_cli_train_json_is_reproducible(tmp_path) -> None:
    outs = [tmp_path / "a.json", tmp_path / "b.json"]
    args = ["train", "--data", "digits", "--hidden", "8", "--epochs", "1", "--mode", "fixed"]
    args += ["--rule", "rbp", "--error-bits", "4", "--seed", "7", "--no-progress"]
    procs = [
        subprocess.Popen(
            cli(*args, "--json", str(o)), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        for o in outs
    ]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read().decode()
        p.stderr.close()
    a, b = (json.loads(o.read_text()) for o in outs)
    assert a["results"]["weights_sha256"] == b["results"]["weights_sha256"]
    assert a["config"]["seed"] == 7 and a["config"]["error_bits"] == 4
    assert json.dumps(strip_wall_times(a), sort_keys=True) == json.dumps(
        strip_wall_times(b), sort_keys=True
    )


def test_one_worker_and_two_workers_store_the_same_records(tmp_path, reference) -> None:
    spec, ref = reference  # run with --workers 1
    db = tmp_path / "w2.db"
    p = subprocess.run(
        cli("sweep", str(spec), "--store", str(db), "--workers", "2", "--no-progress"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert_complete(db, expected_configs(spec))
    assert stripped_records(db) == ref


# ---------------------------------------------------------------- fuzzing
# Integers up to 2**1100: beyond the float range too (see the edge cases below).
BIG = 2**1100
FIELDS = TrainConfig.field_names()
FIELD_TYPES = {f.name: str(f.type) for f in fields(TrainConfig)}
CHOICES: dict[str, tuple[str, ...]] = {
    "rule": tuple(RULES),
    "data": DATASETS,
    "act": ACTIVATIONS,
    "output": OUTPUTS,
    "mode": MODES,
    "rounding": ROUNDING_MODES,
    "feedback": FEEDBACK_FORMATS,
    "feedback_dist": FEEDBACK_DISTS,
    "packets": ("dense", "event"),
    "chip": tuple(preset_names()),
}
WORDS = [
    *{w for ws in CHOICES.values() for w in ws}, "8", "8,8", "", " ", "1,,2", "0", "-3", "1_0",
    "round_robin", "fixed_priority", "prng",
]  # fmt: skip


def ints() -> st.SearchStrategy[int]:
    return st.one_of(
        st.integers(-40, 40),
        st.integers(-BIG, BIG),
        st.sampled_from([2**31, 2**63 - 1, 2**63, -(2**63), 2**64, 10**30, -(10**30)]),
    )


def texts(nul: bool = True) -> st.SearchStrategy[str]:
    # UTF-8 encodable (no surrogates): the strings may go into a TOML file
    chars = st.characters(codec="utf-8", exclude_characters="" if nul else "\x00")
    return st.one_of(st.sampled_from(sorted(WORDS)), st.text(chars, max_size=10))


def values(nul: bool = True, none: bool = False) -> st.SearchStrategy[Any]:
    """Any value: ints (huge, negative), floats (nan, inf), strings, bools, lists, tables."""
    scalars = [
        ints(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.floats(-2.0, 2.0),
        texts(nul),
        st.booleans(),
    ]
    if none:
        scalars.append(st.none())
    names = st.one_of(st.sampled_from(FIELDS), texts(nul))
    return st.recursive(
        st.one_of(*scalars),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(names, inner, max_size=3)
        ),
        max_leaves=8,
    )


def near_valid(name: str) -> st.SearchStrategy[Any]:
    """Values of the right type for config field ``name``, in or near its range."""
    t = FIELD_TYPES[name]
    if name in CHOICES:
        return st.sampled_from([*CHOICES[name], "bogus"])
    if name == "hidden":
        return st.one_of(
            st.lists(st.integers(0, 16), max_size=3), st.sampled_from(["8", "8,4", "", "x"])
        )
    if name == "seed":
        return st.integers(-1, 2**64)
    if t.startswith("int"):
        return st.integers(-10, 40)
    if t == "float":
        return st.one_of(st.floats(-0.5, 2.0), st.sampled_from([0.0, 1.0, 1e3, 1e300]))
    if t == "bool":
        return st.booleans()
    return texts()


def config_docs(none: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """Tables of config fields: mostly right-typed values, some of anything, some bad keys."""
    right = st.sampled_from(FIELDS).flatmap(lambda k: st.tuples(st.just(k), near_valid(k)))
    anything = st.tuples(st.one_of(st.sampled_from(FIELDS), texts()), values(none=none))
    return st.lists(st.one_of(right, right, right, anything), max_size=8).map(dict)


def toml_str(s: str) -> str:
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif (ord(ch) < 0x20 and ch != "\t") or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if v != v else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return toml_str(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{toml_str(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def to_toml(d: dict[str, Any]) -> str:
    return "".join(f"{toml_str(k)} = {toml_value(v)}\n" for k, v in d.items())


def same(a: Any, b: Any) -> bool:
    """Equal, with nan equal to nan and bool distinct from int."""
    if isinstance(a, float) and isinstance(b, float) and a != a:
        return b != b
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(doc=config_docs())
def test_fuzzed_config_file_is_valid_or_a_config_error(fuzz_dir: Path, doc) -> None:
    path = fuzz_dir / "config.toml"
    path.write_text(to_toml(doc), encoding="utf-8")
    parsed = read_toml(path)
    assert same(parsed, doc)
    try:
        cfg = TrainConfig.from_dict(parsed).validate()
    except ConfigError:
        return
    assert isinstance(cfg, TrainConfig)
    assert TrainConfig.from_dict(cfg.to_dict()).validate() == cfg


VALID_BASE = {"data": "digits", "hidden": [8], "epochs": 1}


def axis_values(key: str) -> st.SearchStrategy[Any]:
    good = near_valid(key) if key in FIELD_TYPES else values(none=True)
    good_list = st.lists(good, min_size=1, max_size=3)
    bad = st.one_of(st.lists(values(none=True), max_size=3), values(none=True))
    return st.one_of(good_list, good_list, good_list, good_list, bad)


FIELD_NAMES = st.sampled_from(FIELDS)
AXES = st.lists(
    st.one_of(FIELD_NAMES, FIELD_NAMES, FIELD_NAMES, FIELD_NAMES, texts()).flatmap(
        lambda k: st.tuples(st.just(k), axis_values(k))
    ),
    max_size=3,
).map(dict)
SAFE_AXES = {
    "rule": st.sampled_from(sorted(RULES)),
    "mode": st.sampled_from(MODES),
    "seed": st.integers(0, 5),
    "weight_bits": st.integers(8, 16),
    "act_bits": st.integers(4, 8),
    "error_bits": st.integers(0, 4),
    "lr": st.floats(0.01, 0.5),
    "hidden": st.lists(st.integers(1, 16), min_size=1, max_size=2),
}
VALID_AXES = st.lists(
    st.sampled_from(sorted(SAFE_AXES)).flatmap(
        lambda k: st.tuples(st.just(k), st.lists(SAFE_AXES[k], min_size=1, max_size=3))
    ),
    max_size=3,
).map(dict)
EXCLUDES = st.lists(
    st.lists(
        st.sampled_from(FIELDS).flatmap(lambda k: st.tuples(st.just(k), near_valid(k))),
        max_size=2,
    ).map(dict),
    max_size=2,
)


@FUZZ
@given(
    base=st.one_of(config_docs(none=True), st.just(VALID_BASE), st.just(VALID_BASE)),
    axes=st.one_of(AXES, VALID_AXES),
    extra=st.one_of(
        st.just({}),
        st.just({}),
        st.fixed_dictionaries(
            {},
            optional={
                "sweep": st.one_of(st.fixed_dictionaries({"name": texts()}), values(none=True)),
                "zip": st.one_of(st.dictionaries(texts(), AXES, max_size=2), values(none=True)),
                "exclude": st.one_of(EXCLUDES, values(none=True)),
                "bogus": values(none=True),
            },
        ),
    ),
)
def test_fuzzed_sweep_spec_is_valid_or_a_config_error(base, axes, extra) -> None:
    try:
        spec = SweepSpec.from_dict({"base": base, "axes": axes, **extra})
    except ConfigError:
        return
    pts = spec.points()
    assert pts and len({p.id for p in pts}) == len(pts)
    assert all(point_id(p.config) == p.id for p in pts)


def near_valid_chip(f: Any) -> st.SearchStrategy[Any]:
    """A value of the right kind for chip field ``f``, in or near its range."""
    m = f.metadata
    kind, lo, hi = m.get("kind"), m.get("lo"), m.get("hi")
    if kind == "str":
        choices = m.get("choices")
        return st.sampled_from([*choices, "bogus"]) if choices else texts(False)
    if kind == "int":
        return st.one_of(
            st.integers(int(lo) - 1, int(lo) + 300), st.sampled_from([int(hi), int(hi) + 1])
        )
    if kind == "float":
        good = st.one_of(
            st.floats(lo - 1.0, lo + 150.0), st.sampled_from([lo, hi, hi * 2, math.nan])
        )
        return st.one_of(good, st.none()) if m.get("optional") else good
    return values(nul=False, none=True)


def chip_table(cls: type, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """A table of ``cls`` fields: mostly right-kind values, some of anything, some bad keys."""
    entries = []
    for f in fields(cls):
        if f.metadata.get("kind") == "table" and depth < 2:
            sub = chip_table(type(f.default_factory()), depth + 1)
            entries.append(st.tuples(st.just(f.name), st.one_of(sub, sub, values(nul=False))))
        elif f.metadata.get("kind") != "overrides":
            entries.append(st.tuples(st.just(f.name), near_valid_chip(f)))
    anything = st.tuples(texts(False), values(nul=False, none=True))
    return st.lists(st.one_of(*entries, anything), max_size=6).map(dict)


NUMBERS = st.one_of(st.integers(-1, 200), st.floats(-1.0, 50.0), values(nul=False, none=True))
OVERRIDES = st.one_of(
    st.dictionaries(
        st.one_of(st.sampled_from(list(ROW_NAMES)), texts(False)),
        st.one_of(
            NUMBERS,
            st.dictionaries(
                st.sampled_from(["energy_pj", "node_nm", "source", "other"]),
                st.one_of(NUMBERS, texts(False)),
                max_size=3,
            ),
        ),
        max_size=3,
    ),
    texts(True),  # a path, possibly with a NUL byte
    values(nul=True),
)


@FUZZ
@given(
    doc=chip_table(Chip),
    extra=st.fixed_dictionaries(
        {},
        optional={
            "base": st.one_of(st.sampled_from([*preset_names(), "nope"]), values(nul=False)),
            "energy_overrides": OVERRIDES,
        },
    ),
)
def test_fuzzed_chip_is_valid_or_a_config_error(doc, extra) -> None:
    try:
        chip = chip_from_dict({**doc, **extra}, name="fuzz")
    except ConfigError:
        return
    assert chip.area_mm2() > 0
    assert chip_from_dict(chip.to_dict()) == chip


TOML_BITS = [
    "a", "b.c", "=", " ", "\n", "[", "]", "[[", "]]", "{", "}", '"', "'", '"""', "1", "-", "+",
    "0x1F", "0o7", "0b1", "1e5", "1.5", "_", ",", "#", ".", "true", "nan", "inf", "lr",
    "1979-05-27", "T07:32:00", "Z", "\\u0000", "\\", "\t", "weight_bits", "hidden",
]  # fmt: skip


@FUZZ
@given(text=st.one_of(st.text(), st.lists(st.sampled_from(TOML_BITS), max_size=30).map("".join)))
def test_fuzzed_toml_text_is_a_dict_or_a_config_error(fuzz_dir: Path, text: str) -> None:
    path = fuzz_dir / "text.toml"
    path.write_text(text, encoding="utf-8")
    try:
        d = read_toml(path)
    except ConfigError as e:
        assert e.field == "config"
        return
    assert isinstance(d, dict)


# ---------------------------------------------------------------- edge cases once mishandled
HUGE = 10**400  # a valid TOML integer (tomllib returns it as a Python int)


@pytest.mark.parametrize("key", ["lr", "lr_decay", "feedback_mean"])
def test_huge_integer_for_a_float_field_is_a_config_error(tmp_path, key: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f"{key} = {HUGE}\n")
    with pytest.raises(ConfigError):
        TrainConfig.from_toml(path).validate()


def test_huge_integer_in_a_sweep_base_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        SweepSpec.from_dict({"base": {"lr": HUGE}})


@pytest.mark.parametrize(
    "doc",
    [
        {"node_nm": HUGE},
        {"n_tiles": HUGE},
        {"tile": {"rows": HUGE}},
        {"links": {"skip_bus": {"width_bits": HUGE}}},
        {"energy_overrides": {"add": HUGE}},
        {"energy_overrides": {"add": {"energy_pj": 1.0, "node_nm": HUGE}}},
    ],
    ids=["node_nm", "n_tiles", "tile.rows", "width_bits", "override", "override.node_nm"],
)
def test_huge_integer_in_a_chip_is_a_config_error(doc: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        chip_from_dict(doc)


def test_nul_in_energy_overrides_path_is_a_config_error(tmp_path) -> None:
    path = tmp_path / "chip.toml"
    path.write_text('base = "ref45"\nenergy_overrides = "a\\u0000b.toml"\n')
    with pytest.raises(ConfigError):
        load_chip(path)


@pytest.mark.parametrize(
    "text",
    ["a = " + "9" * 5000, "a = " + "[" * 3000 + "]" * 3000],
    ids=["5000-digit-int", "3000-deep-array"],
)
def test_toml_that_tomllib_rejects_otherwise_is_a_config_error(tmp_path, text: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError):
        read_toml(path)
