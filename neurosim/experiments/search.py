"""Multi-objective design-space search with Optuna, resumable, into a result store.

:func:`run_search` explores the ``[space]`` of a search spec
(:mod:`neurosim.experiments.search_spec`): Optuna's sampler (NSGA-II, TPE or
random, seeded) asks for a batch of trials, as many as the workers can run at
once; each trial's configuration is ``[base]`` with the sampled values and
``validation`` held-out training samples, so its accuracy is measured on the
held-out split and the test set is never read. The runs go through the
sweeps' machinery (a local spawn pool or a Dask cluster, claims in the store)
and are stored as points, under their point ids; then the batch is told to
the study.

The store keeps, besides the points, a table ``search_trials`` (one row per
trial: search name, trial number, point id, state, sampled parameters,
objective values, the sampler's per-trial attributes, whether it is on the
Pareto front, the id of its test run) and a table ``searches`` (the spec's
fingerprint). A rerun rebuilds the study from the stored trials and
continues to the requested number of trials: a killed search resumes, and a
trial whose configuration is already stored as a point (of this search, an
earlier one or a sweep) reuses its record instead of training again. The
sampler is seeded afresh for each batch from ``(seed, first trial number)``,
so a search's trials depend on its seed and batch size, not on when it was
interrupted.

At the end, the Pareto front (the trials no other trial dominates on the
objectives) is re-scored on the test set: each front configuration is
trained again without ``validation`` (on the whole training set) and tested.
Those runs are points too, in the sweep ``<name>:test``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurosim.errors import ConfigError
from neurosim.experiments.pareto import front_indices
from neurosim.experiments.search_spec import (
    OBJECTIVES,
    Range,
    SearchSpec,
    first_value,
    load_search_spec,
)
from neurosim.experiments.store import STATUS_OK, TABLE, Store, StoreError, query
from neurosim.experiments.sweep import CONNECT_TIMEOUT, Point, _dask_client, point_id, run_point

TRIALS = "search_trials"
SEARCHES = "searches"
TRIALS_SQL = (
    f"CREATE TABLE IF NOT EXISTS {TRIALS} (search TEXT NOT NULL, number INTEGER NOT NULL,"
    " point_id TEXT NOT NULL, state TEXT NOT NULL, params_json TEXT NOT NULL,"
    " values_json TEXT, attrs_json TEXT, error TEXT, front INTEGER NOT NULL DEFAULT 0,"
    " test_id TEXT, PRIMARY KEY (search, number))"
)
SEARCHES_SQL = (
    f"CREATE TABLE IF NOT EXISTS {SEARCHES} (name TEXT PRIMARY KEY, fingerprint TEXT NOT NULL)"
)


@dataclass
class SearchSummary:
    """Outcome of :func:`run_search` (counts of trials and runs).

    ``resumed`` trials were in the store already; ``run`` trials trained a new
    point in this call, ``reused`` took an existing point's record; ``failed``
    trials (of this call) have no objective values. ``front`` is the size of the
    Pareto front and ``test_runs`` the front's test runs trained in this call.
    """

    name: str
    trials: int
    resumed: int = 0
    run: int = 0
    reused: int = 0
    failed: int = 0
    front: int = 0
    test_runs: int = 0
    wall_seconds: float = 0.0


def import_optuna() -> Any:
    """The optuna module, or a ConfigError naming the extra that installs it."""
    try:
        import optuna
    except ImportError:
        raise ConfigError(
            "search", "optuna", "the optuna package installed (pip install 'neurosim[search]')"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def distributions(spec: SearchSpec, optuna: Any) -> dict[str, Any]:
    """Optuna distributions of the spec's space (choices encoded as scalars)."""
    d = optuna.distributions
    out: dict[str, Any] = {}
    for key, dim in spec.space.items():
        if isinstance(dim, Range):
            cls = d.IntDistribution if dim.kind == "int" else d.FloatDistribution
            step = dim.step if dim.step is not None else (1 if dim.kind == "int" else None)
            out[key] = cls(dim.low, dim.high, log=dim.log, step=step)
        else:
            out[key] = d.CategoricalDistribution(dim.encoded())
    return out


def make_sampler(spec: SearchSpec, optuna: Any, first_trial: int) -> Any:
    """The spec's sampler, seeded from ``(spec.seed, first_trial)``."""
    import numpy as np

    seed = int(np.random.SeedSequence([spec.seed, first_trial]).generate_state(1)[0])
    s = optuna.samplers
    if spec.sampler == "nsga2":
        return s.NSGAIISampler(population_size=spec.population, seed=seed)
    if spec.sampler == "tpe":
        return s.TPESampler(seed=seed)
    return s.RandomSampler(seed=seed)


def resolve_validation(spec: SearchSpec) -> int:
    """Held-out samples of the spec: its count, or its fraction of the base
    config's training samples (the data set is loaded to count them).

    Raises
    ------
    ConfigError
        ``search.validation``: not less than the training samples.
    """
    from neurosim.data.datasets import load_dataset

    cfg = spec.config({k: first_value(d) for k, d in spec.space.items()})
    n_train = int(load_dataset(cfg.data, cfg.data_dir, cfg.seed, cfg.limit).x_train.shape[0])
    v = spec.validation
    n = max(1, int(n_train * v)) if isinstance(v, float) else v
    if not 0 < n < n_train:
        raise ConfigError(
            "search.validation", v, f"fewer held-out samples than the {n_train} training samples"
        )
    return n


def objective_values(record: dict[str, Any], objectives: list[str]) -> list[float]:
    """The objectives of a run record: accuracy (fraction), energy (nJ per
    training sample), area (mm^2), throughput (samples/s).

    Raises
    ------
    ValueError
        The record lacks one (e.g. no ``hardware`` section).
    """
    res = record.get("results") or {}
    hw = record.get("hardware") or {}
    got = {
        "accuracy": res.get("test_accuracy"),  # the held-out split when validation is set
        "energy": (hw.get("energy_pj_per_sample") or {}).get("total"),
        "area": hw.get("area_mm2"),
        "throughput": hw.get("samples_per_second"),
    }
    out = []
    for o in objectives:
        v = got[o]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
            raise ValueError(f"the run's record has no {OBJECTIVES[o][1]}")
        out.append(float(v) / 1000.0 if o == "energy" else float(v))
    return out


# ------------------------------------------------------------------ store tables
def ensure_tables(store: Store) -> None:
    """Create the search tables of a writable store (if missing)."""
    with store.transaction("cannot create the search tables") as conn:
        conn.execute(TRIALS_SQL)
        conn.execute(SEARCHES_SQL)


def has_search_tables(store: Store) -> bool:
    """Whether the store holds search trials."""
    rows = query(store, "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?",
                       (TRIALS,))  # fmt: skip
    return bool(rows)


def stored_trials(store: Store, name: str | None = None) -> list[dict[str, Any]]:
    """The stored trials (of search `name`, or every search), by search and number."""
    if not has_search_tables(store):
        return []
    sql = (f"SELECT search, number, point_id, state, params_json, values_json, attrs_json,"
           f" error, front, test_id FROM {TRIALS}")  # fmt: skip
    args: tuple = ()
    if name is not None:
        sql += " WHERE search = ?"
        args = (name,)
    out = []
    for r in query(store, sql + " ORDER BY search, number", args):
        out.append({
            "search": r[0], "number": r[1], "point_id": r[2], "state": r[3],
            "params": json.loads(r[4]), "values": None if r[5] is None else json.loads(r[5]),
            "attrs": json.loads(r[6] or "{}"), "error": r[7], "front": bool(r[8]),
            "test_id": r[9],
        })  # fmt: skip
    return out


def search_names(store: Store) -> list[str]:
    """Names of the searches a store holds."""
    if not has_search_tables(store):
        return []
    return [r[0] for r in query(store, f"SELECT name FROM {SEARCHES} ORDER BY name")]


def _check_fingerprint(store_path: Path, spec: SearchSpec) -> None:
    """Refuse to continue a stored search of the same name but another spec
    (read-only: nothing is written before the check)."""
    if not store_path.is_file():
        return
    with Store(store_path, readonly=True) as st:
        if not has_search_tables(st):
            return
        rows = query(st, f"SELECT fingerprint FROM {SEARCHES} WHERE name = ?", (spec.name,))
    if rows and rows[0][0] != spec.fingerprint():
        raise ConfigError(
            "search.name", spec.name, "the name of this search in the store: the store holds a "
            "search of this name with another spec or seed (rename it or use another store)",
        )  # fmt: skip


def _record_of(store: Store, pid: str) -> tuple[str, Any] | None:
    """``("ok", record)`` or ``("failed", error)`` of a stored point; None if absent."""
    rows = query(store, f"SELECT status, error, record_json FROM {TABLE} WHERE id = ?", (pid,))
    if not rows:
        return None
    status, error, rec = rows[0]
    if status == STATUS_OK and rec is not None:
        return "ok", json.loads(rec)
    return "failed", error or status


# ------------------------------------------------------------------ runs
class _Runner:
    """Runs points through one pool for the whole search, storing each."""

    def __init__(self, store: Store, pool: Any, owner: str, since: str) -> None:
        self.store, self.pool, self.owner, self.since = store, pool, owner, since
        self.trained = 0

    def run(self, points: list[tuple[str, Any, str, list[str]]]) -> dict[str, tuple[str, Any]]:
        """Outcomes by point id of ``(id, config, sweep name, swept keys)``; a point
        stored ok is not run again."""
        from neurosim.experiments import claims
        from neurosim.experiments.pools import POLL_S

        out: dict[str, tuple[str, Any]] = {}
        queue = []
        for pid, cfg, sweep, swept in points:
            if pid in out or any(q[0] == pid for q in queue):
                continue
            got = _record_of(self.store, pid)
            if got is not None and got[0] == "ok":
                out[pid] = got
            else:
                queue.append((pid, cfg, sweep, swept))
        pending: dict[Any, tuple] = {}
        while queue or pending:
            i = 0
            while len(pending) < self.pool.capacity and i < len(queue):
                pid = queue[i][0]
                state = claims.claim(self.store, self.owner, pid, self.since)
                if state == "busy":  # another search or sweep runs it: look again later
                    i += 1
                    continue
                item = queue.pop(i)
                if state == "claimed":
                    pending[self.pool.submit(Point(item[1], {}))] = item
                else:
                    out[pid] = _record_of(self.store, pid) or ("failed", "not stored")
            if not pending:
                time.sleep(POLL_S)
                continue
            for fut in self.pool.wait(list(pending)):
                pid, cfg, sweep, swept = pending.pop(fut)
                outcome = self.pool.outcome(fut)
                if outcome.get("status") == "ok":
                    rec = outcome["record"]
                    self.store.put(pid, cfg.to_dict(), rec, "ok", swept=swept, sweep=sweep)
                    out[pid] = ("ok", rec)
                else:
                    err = outcome.get("error") or "unknown error"
                    self.store.put(pid, cfg.to_dict(), None, "failed", err, swept=swept,
                                   sweep=sweep)  # fmt: skip
                    out[pid] = ("failed", err)
                self.trained += 1
        return out


def run_search(
    spec: SearchSpec | str | Path,
    store_path: str | Path,
    trials: int | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    seed: int | None = None,
    progress: bool = True,
    connect_timeout: float = CONNECT_TIMEOUT,
) -> SearchSummary:
    """Run a search to `trials` trials in all (stored ones count), then re-score its front.

    Parameters
    ----------
    spec : SearchSpec or path
        The search (a path is read with :func:`load_search_spec`).
    store_path : path
        The SQLite store; the search's trials and runs go there, and a rerun
        continues from what it holds.
    trials : int, optional
        Trials in all (default: the spec's ``trials``).
    workers : int, optional
        Local worker processes (default: the CPU count); also the batch size.
    scheduler : str or distributed.Client or cluster, optional
        Run on a Dask cluster instead (batch size: its threads).
    seed : int, optional
        The sampler's seed (default: the spec's).
    progress : bool
        A progress bar of trials on stderr.
    connect_timeout : float
        Seconds to wait for a scheduler given by address.

    Returns
    -------
    SearchSummary

    Raises
    ------
    ConfigError
        A bad spec, budget, seed or worker count, a store holding another
        search of this name, or optuna missing; nothing is written then.
    """
    t0 = time.perf_counter()
    spec = spec if isinstance(spec, SearchSpec) else load_search_spec(spec)
    if seed is not None:
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
            raise ConfigError("seed", seed, "an integer of at least 0")
        spec.seed = seed
    n_total = spec.trials if trials is None else trials
    if not isinstance(n_total, int) or isinstance(n_total, bool) or n_total < 1:
        raise ConfigError(
            "trials", n_total, "a positive number of trials (--trials, or trials in [search])"
        )
    if workers is not None and (
        not isinstance(workers, int) or isinstance(workers, bool) or workers < 1
    ):
        raise ConfigError("workers", workers, "a positive integer")
    optuna = import_optuna()
    validation = resolve_validation(spec)
    store_path = Path(store_path)
    _check_fingerprint(store_path, spec)
    client, own_client = (None, False)
    if scheduler is not None:
        client, own_client = _dask_client(scheduler, connect_timeout)
    summary = SearchSummary(spec.name, n_total)
    try:
        with Store(store_path) as store:
            ensure_tables(store)
            with store.transaction("cannot record the search") as conn:
                conn.execute(f"INSERT OR IGNORE INTO {SEARCHES} (name, fingerprint) VALUES (?, ?)",
                             (spec.name, spec.fingerprint()))  # fmt: skip
            _search(spec, store, optuna, validation, n_total, client, workers, progress, summary)
    finally:
        if own_client:
            client.close()
    summary.wall_seconds = time.perf_counter() - t0
    return summary


def _rebuild(spec: SearchSpec, store: Store, optuna: Any, dists: dict[str, Any]) -> Any:
    """A study holding the stored trials of the search, in number order."""
    study = optuna.create_study(directions=["maximize" if d == "max" else "minimize"
                                            for d in spec.directions])  # fmt: skip
    state = optuna.trial.TrialState
    for i, t in enumerate(stored_trials(store, spec.name)):
        if t["number"] != i:
            raise StoreError(f"result store {store.path}: search {spec.name!r} lacks trial {i}")
        ok = t["state"] == "complete"
        study.add_trial(optuna.trial.create_trial(
            state=state.COMPLETE if ok else state.FAIL, params=t["params"],
            distributions=dists, values=t["values"] if ok else None, system_attrs=t["attrs"],
        ))  # fmt: skip
    return study


def _search(spec: SearchSpec, store: Store, optuna: Any, validation: int, n_total: int,
            client: Any, workers: int | None, progress: bool,
            summary: SearchSummary) -> None:  # fmt: skip
    """The trial loop and the front's test runs (inside an open store)."""
    from tqdm import tqdm

    from neurosim.experiments import claims
    from neurosim.experiments.pools import DaskPool, LocalPool

    dists = distributions(spec, optuna)
    study = _rebuild(spec, store, optuna, dists)
    summary.resumed = len(study.trials)
    swept = list(spec.space)
    owner, since = claims.new_owner(), claims.now_iso()
    n_workers = workers or os.cpu_count() or 1
    bar = tqdm(total=n_total, initial=min(n_total, summary.resumed), desc=spec.name,
               unit="trial", file=sys.stderr, disable=not progress, dynamic_ncols=True)  # fmt: skip
    try:
        with (
            LocalPool(run_point, n_workers, n_workers) if client is None
            else DaskPool(run_point, client)
        ) as pool, claims.heartbeat(store, owner):  # fmt: skip
            runner = _Runner(store, pool, owner, since)
            while len(study.trials) < n_total:
                k = min(pool.capacity, n_total - len(study.trials))
                study.sampler = make_sampler(spec, optuna, len(study.trials))
                asked = [study.ask(dists) for _ in range(k)]
                _run_batch(spec, store, study, asked, runner, validation, swept, summary)
                bar.update(k)
            summary.front, summary.test_runs = _score_front(spec, store, runner, swept)
    finally:
        bar.close()


def _run_batch(spec: SearchSpec, store: Store, study: Any, asked: list[Any], runner: _Runner,
               validation: int, swept: list[str], summary: SearchSummary) -> None:  # fmt: skip
    """Run one batch of asked trials, tell them, store them (one transaction)."""
    import optuna

    planned: list[tuple[Any, str | None, Any, str | None]] = []  # trial, id, config, error
    for trial in asked:
        try:
            cfg = spec.config(spec.decode(trial.params), validation)
            planned.append((trial, point_id(cfg), cfg, None))
        except ConfigError as e:  # a combination of valid values that is not a valid run
            planned.append((trial, None, None, f"ConfigError: {e}"))
    before = runner.trained
    outcomes = runner.run([(pid, cfg, spec.name, swept) for _, pid, cfg, e in planned if e is None])
    new = runner.trained - before
    rows = []
    for trial, pid, _cfg, error in planned:
        values = None
        if error is None:
            status, got = outcomes[pid]
            if status == "ok":
                try:
                    values = objective_values(got, spec.objectives)
                except ValueError as e:
                    error = str(e)
            else:
                error = got
        if values is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            summary.failed += 1
        else:
            study.tell(trial, values)
        attrs = study.trials[trial.number].system_attrs
        rows.append((spec.name, trial.number, pid or "", "fail" if values is None else "complete",
                     json.dumps(trial.params, sort_keys=True), json.dumps(values),
                     json.dumps(attrs, sort_keys=True, default=list), error))  # fmt: skip
    summary.run += new
    summary.reused += sum(1 for _, pid, _, e in planned if e is None) - new
    with store.transaction("cannot store trials") as conn:
        conn.executemany(
            f"INSERT OR REPLACE INTO {TRIALS} (search, number, point_id, state, params_json,"
            " values_json, attrs_json, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def _score_front(spec: SearchSpec, store: Store, runner: _Runner,
                 swept: list[str]) -> tuple[int, int]:  # fmt: skip
    """Mark the Pareto front and test each front configuration on the whole
    training set; returns (front size, test runs trained now)."""
    done = [t for t in stored_trials(store, spec.name) if t["state"] == "complete"]
    front = [done[i] for i in front_indices([t["values"] for t in done], spec.directions)]
    tests = {}
    for t in front:
        cfg = spec.config(spec.decode(t["params"]), None)  # the full training set
        tests[t["number"]] = (point_id(cfg), cfg)
    before = runner.trained
    runner.run([(pid, cfg, f"{spec.name}:test", swept) for pid, cfg in tests.values()])
    with store.transaction("cannot mark the front") as conn:
        conn.execute(f"UPDATE {TRIALS} SET front = 0, test_id = NULL WHERE search = ?",
                     (spec.name,))  # fmt: skip
        conn.executemany(
            f"UPDATE {TRIALS} SET front = 1, test_id = ? WHERE search = ? AND number = ?",
            [(pid, spec.name, n) for n, (pid, _) in tests.items()],
        )
    return len(front), runner.trained - before
