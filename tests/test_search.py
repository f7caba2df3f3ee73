"""Searches: the spec grammar, the Pareto front, the 2-D hypervolume, resumable
seeded runs into a store, the front's test runs and the validation split."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from neurosim.cli import main
from neurosim.errors import ConfigError
from neurosim.experiments.pareto import dominates, front_indices, hypervolume_2d
from neurosim.experiments.search import run_search, stored_trials
from neurosim.experiments.search_spec import Choices, Range, SearchSpec, load_search_spec
from neurosim.experiments.store import Store

pytest.importorskip("optuna")

# a tiny net on scikit-learn's 8x8 digits: one run trains in well under a second
TINY = """
[search]
name = "tiny"
population = 4
seed = 3

[base]
data = "digits"
hidden = [16]
epochs = 1
batch = 64
mode = "fixed"

[space]
weight_bits = { low = 6, high = 12 }
error_bits = [0, 2, 4]
feedback = ["dense", "binary"]
"""


def write_spec(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def points_of(db: Path) -> dict[str, tuple]:
    """id -> (created_at, validation, sweep) of every stored point."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT id, created_at, validation, sweep FROM points").fetchall()
    finally:
        con.close()
    return {r[0]: r[1:] for r in rows}


def trials_of(db: Path, name: str = "tiny") -> list[dict]:
    with Store(db, readonly=True) as st:
        return stored_trials(st, name)


# ---------------------------------------------------------------- hypervolume
def test_hypervolume_of_hand_computed_fronts() -> None:
    # one point (0.8, 2) against the reference (0, 10): an 0.8 x 8 rectangle
    assert hypervolume_2d([(0.8, 2.0)], 0.0, 10.0) == pytest.approx(6.4)
    # a staircase: (0.5, 1), (0.7, 3), (0.9, 6), ref (0, 10):
    # energy 1..3 at 0.5, 3..6 at 0.7, 6..10 at 0.9 = 1.0 + 2.1 + 3.6
    front = [(0.5, 1.0), (0.7, 3.0), (0.9, 6.0)]
    assert hypervolume_2d(front, 0.0, 10.0) == pytest.approx(6.7)
    # dominated points and the order of the points change nothing
    extra = [(0.4, 2.0), (0.6, 6.5), (0.9, 7.0), (0.5, 1.0)]
    assert hypervolume_2d(extra + front[::-1], 0.0, 10.0) == pytest.approx(6.7)
    # a reference accuracy above 0 cuts every column: (0.5-0.2)*2 + (0.7-0.2)*3 + (0.9-0.2)*4
    assert hypervolume_2d(front, 0.2, 10.0) == pytest.approx(0.6 + 1.5 + 2.8)
    # points not better than the reference in both objectives count for nothing
    assert hypervolume_2d([(0.9, 12.0), (0.1, 1.0)], 0.2, 10.0) == 0.0
    assert hypervolume_2d([], 0.0, 1.0) == 0.0


def test_dominance_and_front() -> None:
    mm = ["max", "min"]
    assert dominates((0.9, 1.0), (0.8, 2.0), mm)
    assert dominates((0.9, 1.0), (0.9, 2.0), mm)
    assert not dominates((0.9, 1.0), (0.9, 1.0), mm)  # equal: neither
    assert not dominates((0.9, 3.0), (0.8, 2.0), mm)
    values = [(0.8, 2.0), (0.9, 3.0), (0.7, 2.5), (0.9, 3.0), (0.5, 1.0), (0.85, 3.5)]
    assert front_indices(values, mm) == [0, 1, 3, 4]


# ---------------------------------------------------------------- the spec
def test_spec_defaults_ranges_and_choices(tmp_path) -> None:
    more = 'lr = { low = 0.01, high = 0.5, log = true }\nhidden = [[16], "8,8"]\n'
    spec = load_search_spec(write_spec(tmp_path, TINY + more))
    assert spec.name == "tiny" and spec.objectives == ["accuracy", "energy"]
    assert spec.directions == ["max", "min"] and spec.sampler == "nsga2"
    assert spec.validation == 0.2 and spec.population == 4 and spec.seed == 3
    assert spec.space["weight_bits"] == Range(6, 12, "int")
    assert spec.space["lr"] == Range(0.01, 0.5, "float", log=True)
    assert spec.space["hidden"] == Choices([[16], [8, 8]])
    assert spec.space["hidden"].encoded() == ["16", "8,8"]
    values = spec.decode({"weight_bits": 7, "error_bits": 2, "feedback": "binary",
                          "lr": 0.1, "hidden": "8,8"})  # fmt: skip
    assert values["hidden"] == [8, 8] and type(values["weight_bits"]) is int
    cfg = spec.config(values, 50)
    assert cfg.validation == 50 and cfg.hidden == (8, 8) and cfg.weight_bits == 7
    assert load_search_spec(write_spec(tmp_path, TINY, "other.toml")).name == "tiny"


BAD = [
    ("[search]\nobjectives = ['accuracy', 'power']\n", "search.objectives[1]"),
    ("[search]\nobjectives = ['energy', 'energy']\n", "search.objectives[1]"),
    ("[search]\nobjectives = []\n", "search.objectives"),
    ("[search]\nsampler = 'grid'\n", "search.sampler"),
    ("[search]\nsampler = 'tpe'\npopulation = 4\n", "search.population"),
    ("[search]\npopulation = 1\n", "search.population"),
    ("[search]\nvalidation = 1.5\n", "search.validation"),
    ("[search]\nvalidation = 0\n", "search.validation"),
    ("[search]\nseed = -1\n", "search.seed"),
    ("[search]\ntrials = 0\n", "search.trials"),
    ("[search]\nname = ''\n", "search.name"),
    ("[search]\nbudget = 3\n", "search.budget"),
    ("[base]\nvalidation = 10\n", "base.validation"),
    ("[base]\nepochs = 0\n", "base.epochs"),
    ("[base]\npreset = 'nope'\n", "base.preset"),
    ("[space]\nerror_bits = { low = 4, high = 2 }\n", "space.error_bits.high"),
    ("[space]\nerror_bits = { low = 0.5, high = 2 }\n", "space.error_bits.low"),
    ("[space]\nerror_bits = { low = 1 }\n", "space.error_bits.high"),
    ("[space]\nerror_bits = { low = 1, high = 4, log = 1 }\n", "space.error_bits.log"),
    ("[space]\nerror_bits = { low = 0, high = 4, log = true }\n", "space.error_bits.low"),
    (
        "[space]\nerror_bits = { low = 1, high = 4, log = true, step = 1 }\n",
        "space.error_bits.step",
    ),
    ("[space]\nerror_bits = { low = 1, high = 4, width = 1 }\n", "space.error_bits.width"),
    ("[space]\nerror_bits = { low = 1, high = 40 }\n", "space.error_bits.high"),
    ("[space]\nerror_bits = 4\n", "space.error_bits"),
    ("[space]\nerror_bits = []\n", "space.error_bits"),
    ("[space]\nerror_bits = [2, 2]\n", "space.error_bits[1]"),
    ("[space]\nfeedback = ['dense', 'sparkly']\n", "space.feedback[1]"),
    ("[space]\nrule = { low = 1, high = 2 }\n", "space.rule"),
    ("[space]\nnot_a_field = [1]\n", "space.not_a_field"),
    ("[space]\nvalidation = [10, 20]\n", "space.validation"),
    ("[axes]\nrule = ['bp']\n", "axes"),
]


@pytest.mark.parametrize(("text", "path"), BAD)
def test_every_spec_error_names_its_path(tmp_path, text: str, path: str) -> None:
    base = {"search": "[search]\n", "base": "[base]\ndata = 'digits'\n",
            "space": "[space]\nweight_bits = [8, 16]\n"}  # fmt: skip
    table = text.split("]", 1)[0].strip("[")
    if table in base:
        base[table] = text if table != "base" else text + "data = 'digits'\n"
        doc = "".join(base.values())
    else:
        doc = "".join(base.values()) + text
    with pytest.raises(ConfigError) as e:
        load_search_spec(write_spec(tmp_path, doc))
    assert e.value.field == path


def test_an_empty_space_and_a_bad_budget_are_errors(tmp_path) -> None:
    with pytest.raises(ConfigError) as e:
        SearchSpec.from_dict({"base": {"data": "digits"}})
    assert e.value.field == "space"
    spec = write_spec(tmp_path, TINY)
    for kw, field in (({"trials": 0}, "trials"), ({"trials": 2, "workers": 0}, "workers"),
                      ({"trials": 2, "seed": -1}, "seed"), ({}, "trials")):  # fmt: skip
        with pytest.raises(ConfigError) as e:
            run_search(spec, tmp_path / "s.db", progress=False, **kw)
        assert e.value.field == field
    with pytest.raises(ConfigError) as e:
        run_search(write_spec(tmp_path, TINY.replace("seed = 3", "validation = 2000")),
                   tmp_path / "s.db", trials=2, progress=False)  # fmt: skip
    assert e.value.field == "search.validation"
    assert not (tmp_path / "s.db").exists()  # nothing written


def test_without_optuna_the_error_names_the_extra(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ConfigError) as e:
        run_search(write_spec(tmp_path, TINY), tmp_path / "s.db", trials=2, progress=False)
    assert "neurosim[search]" in str(e.value)
    assert not (tmp_path / "s.db").exists()


def test_cli_bad_spec_exits_2_and_writes_nothing(tmp_path, capsys) -> None:
    spec = write_spec(tmp_path, TINY.replace("error_bits = [0, 2, 4]", "error_bits = [0, 2, 99]"))
    db = tmp_path / "out.db"
    assert main(["search", str(spec), "--trials", "2", "-o", str(db), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "space.error_bits[2]" in err and "\n" == err[-1] and err.count("\n") == 1
    assert not db.exists()


# ---------------------------------------------------------------- runs
@pytest.fixture(scope="module")
def resumed(tmp_path_factory) -> dict:
    """A search of 3 trials, then the same search called again for 6 (a resume)."""
    tmp = tmp_path_factory.mktemp("search")
    spec = write_spec(tmp, TINY)
    db = tmp / "s.db"
    first = run_search(spec, db, trials=3, workers=1, progress=False)
    after_first = points_of(db)
    trials_first = trials_of(db)
    second = run_search(spec, db, trials=6, workers=1, progress=False)
    return {"spec": spec, "db": db, "first": first, "second": second, "tmp": tmp,
            "after_first": after_first, "trials_first": trials_first}  # fmt: skip


def test_a_resumed_search_runs_only_the_new_trials(resumed) -> None:
    first, second, db = resumed["first"], resumed["second"], resumed["db"]
    assert (first.resumed, first.run + first.reused, first.failed) == (0, 3, 0)
    assert (second.resumed, second.run + second.reused, second.failed) == (3, 3, 0)
    trials = trials_of(db)
    assert [t["number"] for t in trials] == list(range(6))
    # the first three trials are as they were, and their runs were not redone
    keep = ("number", "point_id", "state", "params", "values")
    assert [{k: t[k] for k in keep} for t in trials[:3]] == [
        {k: t[k] for k in keep} for t in resumed["trials_first"]
    ]
    before, after = resumed["after_first"], points_of(db)
    assert all(after[pid] == row for pid, row in before.items())
    validation_before = {p for p, r in before.items() if r[1] is not None}
    validation_after = {p for p, r in after.items() if r[1] is not None}
    new = validation_after - validation_before
    assert len(new) == second.run <= 3  # one run per new configuration, none for old ones
    assert {t["point_id"] for t in trials[3:]} - validation_before == new
    assert all(after[p][2] == "tiny" for p in validation_after)  # stored as the search's points
    # every trial is held out: 20% of digits' training samples
    assert all(t["values"][0] * 287 == pytest.approx(round(t["values"][0] * 287)) for t in trials)


def test_the_front_is_non_dominated_and_only_it_is_tested(resumed) -> None:
    db = resumed["db"]
    trials = trials_of(db)
    vals = [t["values"] for t in trials]

    def beats(a, b) -> bool:  # accuracy up, energy down, written out by hand
        return a[0] >= b[0] and a[1] <= b[1] and (a[0] > b[0] or a[1] < b[1])

    for t in trials:
        dominated = any(beats(v, t["values"]) for v in vals)
        assert t["front"] == (not dominated)
        assert (t["test_id"] is not None) == t["front"]
    pts = points_of(db)
    tests = {p for p, r in pts.items() if r[1] is None}
    # the test runs of the front of each call (3 trials, then 6), and no others
    earlier = {t["test_id"] for t in resumed["trials_first"] if t["front"]}
    assert tests == earlier | {t["test_id"] for t in trials if t["front"]}
    assert {p for p, r in resumed["after_first"].items() if r[1] is None} == earlier
    assert all(pts[p][2] == "tiny:test" for p in tests)
    assert resumed["second"].front == sum(t["front"] for t in trials)


def test_same_seed_same_trials_and_validation_never_reads_the_test_set(
    resumed, tmp_path, monkeypatch
) -> None:
    # the same search in one go, run in this process (a threaded Dask cluster)
    # with the test set scrambled: every trial is the same, bit for bit, so the
    # sampler is seeded and no validation run read the test set; only the
    # front's test runs see the scrambled set
    distributed = pytest.importorskip("distributed")
    import neurosim.experiments.train as train_module

    original = train_module.load_dataset

    def scrambled(*args, **kwargs):
        ds = original(*args, **kwargs)
        rng = np.random.default_rng(1)
        return dataclasses.replace(
            ds, x_test=np.ascontiguousarray(ds.x_test[::-1]),
            y_test=rng.integers(0, 10, ds.y_test.shape[0]),
        )  # fmt: skip

    monkeypatch.setattr(train_module, "load_dataset", scrambled)
    db = tmp_path / "scrambled.db"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:  # fmt: skip
        s = run_search(resumed["spec"], db, trials=6, scheduler=cluster, progress=False)
    assert (s.resumed, s.failed) == (0, 0)
    keep = ("number", "point_id", "params", "values", "front")
    a, b = trials_of(resumed["db"]), trials_of(db)
    assert [{k: t[k] for k in keep} for t in b] == [{k: t[k] for k in keep} for t in a]
    with Store(resumed["db"], readonly=True) as st1, Store(db, readonly=True) as st2:
        acc = [{r["id"]: r["test_accuracy"] for r in st.rows() if r["validation"] is None}
               for st in (st1, st2)]  # fmt: skip
    front = {t["test_id"] for t in b if t["front"]}
    assert set(acc[1]) == front <= set(acc[0])  # (the resumed store also tested its first front)
    # the front's test runs did read the (scrambled) test set
    assert [acc[0][p] for p in sorted(front)] != [acc[1][p] for p in sorted(front)]


def test_a_stored_configuration_is_reused_not_retrained(resumed, tmp_path) -> None:
    db = tmp_path / "copy.db"
    shutil.copy(resumed["db"], db)
    spec = write_spec(tmp_path, TINY.replace('name = "tiny"', 'name = "again"'))
    s = run_search(spec, db, trials=3, workers=1, progress=False)
    assert (s.run, s.reused, s.test_runs) == (0, 3, 0)  # same seed: the same 3 configurations
    assert [t["point_id"] for t in trials_of(db, "again")] == [
        t["point_id"] for t in trials_of(db)[:3]
    ]
    # the same name with another seed is another search: refused, nothing written
    before = points_of(db)
    with pytest.raises(ConfigError) as e:
        run_search(spec, db, trials=4, workers=1, seed=9, progress=False)
    assert e.value.field == "search.name"
    assert points_of(db) == before and len(trials_of(db, "again")) == 3


def test_results_and_report_show_the_front(resumed, tmp_path, capsys) -> None:
    db = str(resumed["db"])
    assert main(["results", db, "--front"]) == 0
    out = capsys.readouterr().out
    assert "Pareto front of search 'tiny'" in out and "test acc" in out
    front = [t for t in trials_of(resumed["db"]) if t["front"]]
    assert len([line for line in out.splitlines() if line.strip()]) == 2 + len(front)
    assert main(["results", db]) == 0
    assert "Pareto front of search 'tiny'" in capsys.readouterr().out
    assert main(["report", db, "-o", str(tmp_path / "rep")]) == 0
    page = (tmp_path / "rep" / "report.html").read_text()
    assert "Search tiny: energy vs accuracy, Pareto front" in page and "Hypervolume" in page
    assert (tmp_path / "rep" / "search_0.svg").is_file()


def test_the_shipped_search_and_its_grid_share_a_space() -> None:
    from neurosim.experiments.sweep import load_spec

    root = Path(__file__).resolve().parents[1] / "reports" / "search"
    spec = load_search_spec(root / "search-mnist5k.toml")
    grid = load_spec(root / "grid-mnist5k.toml").points()
    assert len(grid) == 40 and spec.sampler == "nsga2"
    for p in grid:  # every grid point is a configuration of the search, held out alike
        assert p.config == spec.config(p.values, 800)
