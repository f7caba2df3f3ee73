"""Parameter sweeps: a TOML grid of training runs, run in parallel into a store.

A sweep file describes a grid of :class:`~neurosim.config.TrainConfig` points::

    [sweep]
    name = "widths"                 # optional (default: the file's stem)

    [base]                          # any TrainConfig fields, shared by every point
    data = "digits"
    hidden = [16]
    epochs = 1
    mode = "fixed"

    [axes]                          # key -> non-empty list; one grid dimension each
    rule = ["bp", "srbp"]
    error_bits = [0, 1, 4]
    hidden = [[16], "32,32"]        # widths as lists or "a,b" strings

    [zip.widths]                    # axes that advance together: one dimension
    weight_bits = [8, 16]
    act_bits = [6, 8]

    [[exclude]]                     # a point matching every pair of one table is dropped
    rule = "bp"
    error_bits = 1

The points are the cartesian product of the dimensions (every axis, every zip
group) in the order they appear in the file, the last one varying fastest.
Each point is ``[base]`` updated with its values, and every point is validated
before anything runs. Every error is a :class:`~neurosim.errors.ConfigError`
whose field is the path of the offending key in the file (``axes.weight_bits[2]``,
``zip.widths.act_bits``, ``exclude[0].rule``, ``base.epochs``). Points whose
resolved configs are equal collapse into one.

A point's id is the SHA-256 of the canonical JSON of its resolved config, so a
store (:class:`neurosim.experiments.store.Store`) knows which points are done; a rerun of
a sweep skips them, and a killed sweep resumes where it stopped. Points run in
separate processes (a local spawn pool, or a Dask cluster), each with one BLAS
thread, and a point's record is the same bit for bit whichever runs it, apart
from its wall times (:func:`strip_wall_times`).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurosim.config import PRESETS, TrainConfig, read_toml
from neurosim.config.memory import DEFAULT_MAX_MEMORY_GIB
from neurosim.errors import ConfigError
from neurosim.experiments.pools import THREAD_VARS  # noqa: F401 -- re-exported
from neurosim.experiments.workers import one_blas_thread, probe_scheduler

#: Seconds to wait for a Dask scheduler given by address.
CONNECT_TIMEOUT = 3.0
#: Most points a sweep's grid may have (``--max-points`` raises it): the grid
#: size is the product of its dimensions' lengths, checked before expanding them.
MAX_POINTS = 100_000

_TOP_KEYS = ("sweep", "base", "axes", "zip", "exclude")
_FIELDS = frozenset(TrainConfig.field_names())


# ---------------------------------------------------------------------- spec
@dataclass
class Point:
    """One run of a sweep.

    Attributes
    ----------
    config : TrainConfig
        The resolved, validated configuration.
    values : dict
        The swept keys of this point and their values (``hidden`` as a list).
    """

    config: TrainConfig
    values: dict[str, Any]

    @property
    def id(self) -> str:
        """The point's id (:func:`point_id` of its config)."""
        return point_id(self.config)


@dataclass
class SweepSpec:
    """A parsed sweep file (values already checked and normalized).

    Attributes
    ----------
    base : dict
        Fields shared by every point.
    axes : dict
        Key -> list of values; each axis is one dimension of the grid.
    zips : dict
        Group name -> {key -> list of values}; the lists of a group have equal
        lengths and advance together (one dimension).
    excludes : list of dict
        Tables of key -> value; a point matching every pair of one is dropped.
    name : str
        Name of the sweep (progress bar, listings).
    order : list of (str, str)
        The dimensions in file order: ``("axes", key)`` or ``("zip", group)``;
        empty means every axis, then every zip group.
    preset : str or None
        Named defaults (``preset = "higgs"`` in ``[base]``) under the base.
    """

    base: dict[str, Any] = field(default_factory=dict)
    axes: dict[str, list[Any]] = field(default_factory=dict)
    zips: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    excludes: list[dict[str, Any]] = field(default_factory=list)
    name: str = "sweep"
    order: list[tuple[str, str]] = field(default_factory=list)
    preset: str | None = None
    max_points: int = MAX_POINTS
    max_memory_gib: float = DEFAULT_MAX_MEMORY_GIB

    @classmethod
    def from_dict(
        cls,
        d: dict[str, Any],
        name: str = "sweep",
        max_points: int = MAX_POINTS,
        max_memory_gib: float = DEFAULT_MAX_MEMORY_GIB,
    ) -> SweepSpec:
        """Build from a parsed sweep file; checks everything (see the module doc).

        `max_points` and `max_memory_gib` bound the grid's size and each
        point's network (see :meth:`iter_points`)."""
        if not isinstance(d, dict):
            raise ConfigError(
                "sweep", d, "a table of [sweep], [base], [axes], [zip.*], [[exclude]]"
            )
        for key in d:
            if key not in _TOP_KEYS:
                raise ConfigError(key, d[key], f"not a sweep table; known: {', '.join(_TOP_KEYS)}")
        spec = cls(name=name, max_points=max_points, max_memory_gib=max_memory_gib)
        meta = _table(d, "sweep")
        for key, value in meta.items():
            if key != "name":
                raise ConfigError(f"sweep.{key}", value, "not a sweep setting; known: name")
            if not isinstance(value, str) or not value:
                raise ConfigError("sweep.name", value, "a non-empty string")
            spec.name = value
        for key, value in _table(d, "base").items():
            if key == "preset":
                try:
                    TrainConfig.from_preset(value)
                except (ConfigError, TypeError):
                    raise ConfigError(
                        "base.preset", value, f"one of: {', '.join(PRESETS)}"
                    ) from None
                spec.preset = value
                continue
            spec.base[key] = _coerce(f"base.{key}", key, value)
        for key, values in _table(d, "axes").items():
            spec.axes[key] = _coerce_list(f"axes.{key}", key, values)
        for group, table in _table(d, "zip").items():
            gpath = f"zip.{group}"
            if not isinstance(table, dict):
                raise ConfigError(
                    gpath, table, f"a table of axes that advance together ([{gpath}])"
                )
            if not table:
                raise ConfigError(gpath, table, "at least one axis")
            spec.zips[group] = {}
            n = None
            for key, values in table.items():
                kpath = f"{gpath}.{key}"
                vals = _coerce_list(kpath, key, values)
                if key in spec.axes:
                    raise ConfigError(kpath, values, "a key swept in one place only (also in axes)")
                for other, otable in spec.zips.items():
                    if key in otable:
                        raise ConfigError(
                            kpath, values, f"a key swept in one place only (also in zip.{other})"
                        )
                if n is None:
                    n = len(vals)
                elif len(vals) != n:
                    raise ConfigError(kpath, values, f"a list of {n} values, as the group's others")
                spec.zips[group][key] = vals
        excludes = d.get("exclude", [])
        if not isinstance(excludes, list):
            raise ConfigError("exclude", excludes, "an array of tables ([[exclude]])")
        swept = spec.swept_keys()
        for i, table in enumerate(excludes):
            epath = f"exclude[{i}]"
            if not isinstance(table, dict) or not table:
                raise ConfigError(epath, table, "a non-empty table of swept key = value pairs")
            ex = {}
            for key, value in table.items():
                kpath = f"{epath}.{key}"
                if key not in _FIELDS:
                    _unknown(kpath, key, value)
                if key not in swept:
                    raise ConfigError(kpath, value, "a swept key (in [axes] or a [zip] table)")
                v = _coerce(kpath, key, value)
                if v not in swept[key]:
                    raise ConfigError(kpath, value, f"one of the swept values {swept[key]}")
                ex[key] = v
            spec.excludes.append(ex)
        for key in d:
            if key == "axes":
                spec.order += [("axes", k) for k in spec.axes]
            elif key == "zip":
                spec.order += [("zip", g) for g in spec.zips]
        for _ in spec.iter_points():  # resolve and validate every point now
            pass
        return spec

    def swept_keys(self) -> dict[str, list[Any]]:
        """Every swept key and its values (axes and zip groups)."""
        out = {k: list(v) for k, v in self.axes.items()}
        for table in self.zips.values():
            out.update({k: list(v) for k, v in table.items()})
        return out

    def _dims(self) -> list[tuple[str, dict[str, list[Any]]]]:
        order = self.order or [("axes", k) for k in self.axes] + [("zip", g) for g in self.zips]
        dims = []
        for kind, name in order:
            if kind == "axes":
                dims.append((f"axes.{name}", {name: self.axes[name]}))
            else:
                dims.append((f"zip.{name}", self.zips[name]))
        return dims

    def grid_size(self) -> int:
        """Points of the grid before excludes and duplicates: the product of the
        dimensions' lengths, computed without expanding them."""
        return math.prod(len(next(iter(table.values()))) for _, table in self._dims())

    def points(self) -> list[Point]:
        """The grid: resolved, validated, excludes dropped, duplicates collapsed."""
        return list(self.iter_points())

    def iter_points(self) -> Iterator[Point]:
        """The points of :meth:`points`, one at a time (nothing is expanded ahead).

        Raises
        ------
        ConfigError
            A grid of more than ``max_points`` points (before anything is
            expanded), a point that does not validate or whose network needs
            more than ``max_memory_gib``, or excludes that leave no point.
        """
        from neurosim.config.memory import IMAGE_SHAPES, check_memory, n_features

        n = self.grid_size()
        if n > self.max_points:
            raise ConfigError(
                "axes", f"{n} points",
                f"a grid of at most {self.max_points} points (the product of the axes' and "
                "zip groups' lengths; split the sweep or raise --max-points)",
            )  # fmt: skip
        dims = self._dims()
        paths = {}  # swept key -> path of its list in the file
        for dpath, table in dims:
            for key in table:
                paths[key] = f"axes.{key}" if dpath.startswith("axes.") else f"{dpath}.{key}"
        sizes = [len(next(iter(table.values()))) for _, table in dims]
        seen: set[str] = set()
        for idx in itertools.product(*(range(n) for n in sizes)):
            values: dict[str, Any] = {}
            where: dict[str, str] = {}
            for (_, table), i in zip(dims, idx, strict=True):
                for key, vals in table.items():
                    values[key] = vals[i]
                    where[key] = f"{paths[key]}[{i}]"
            if any(all(values.get(k) == v for k, v in ex.items()) for ex in self.excludes):
                continue
            cfg = TrainConfig.from_preset(self.preset) if self.preset else TrainConfig()
            cfg.update(self.base)
            cfg.update(values)
            try:
                cfg.validate()
                shape = IMAGE_SHAPES[cfg.data]
                check_memory(cfg, n_features(cfg.data), cfg.n_outputs(), shape,
                             self.max_memory_gib)  # fmt: skip
            except ConfigError as e:
                raise _spec_error(e, values, where) from None
            pid = point_id(cfg)
            if pid not in seen:
                seen.add(pid)
                yield Point(cfg, values)
        if not seen:
            raise ConfigError("exclude", len(self.excludes), "tables that leave at least one point")


def load_spec(
    path: str | Path,
    max_points: int = MAX_POINTS,
    max_memory_gib: float = DEFAULT_MAX_MEMORY_GIB,
) -> SweepSpec:
    """Read and check a sweep file (see the module doc for its grammar and
    :meth:`SweepSpec.iter_points` for the limits)."""
    return SweepSpec.from_dict(
        read_toml(path), name=Path(path).stem, max_points=max_points,
        max_memory_gib=max_memory_gib,
    )  # fmt: skip


ID_NEUTRAL: dict[str, Any] = {
    "freeze": [],
    "update_mode": "full",
    "feedback_resample": False,
    "feedback_sign": "random",
    "channel_dropout": 0.0,
    "feedback_per_synapse": False,
    "error_scale": "fixed",
    "conv": "",
    "error_rounding": "nearest",
    "bias": False,
    "momentum": 0.0,
    "velocity_bits": 24,
    "error_coding": "after_derivative",
    "top_error": "coded",
    "validation": None,
    "init": "glorot",
    "error_sign_scale": "max",
    "accelergy_ert": None,
    "accelergy_partial": False,
    "channel_dropout_rescale": False,
    "update_code_rounding": "nearest",
}
"""Fields added after stores existed, with the value that leaves a run as it
was: at that value a field is left out of the point id, so adding a field
does not re-run the points of existing stores."""


def point_id(cfg: TrainConfig) -> str:
    """SHA-256 (hex) of the canonical JSON of ``cfg.to_dict()``, without the
    fields of :data:`ID_NEUTRAL` that hold their neutral value."""
    d = {k: v for k, v in cfg.to_dict().items() if k not in ID_NEUTRAL or v != ID_NEUTRAL[k]}
    text = json.dumps(d, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _table(d: dict[str, Any], key: str) -> dict[str, Any]:
    value = d.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(key, value, f"a table ([{key}])")
    return value


def _unknown(path: str, key: str, value: Any) -> None:
    raise ConfigError(path, value, f"not a field; known fields: {', '.join(sorted(_FIELDS))}")


def _coerce(path: str, key: str, value: Any) -> Any:
    """Check one value's type for field ``key``; return it normalized (JSON form)."""
    if key not in _FIELDS:
        _unknown(path, key, value)
    scratch = TrainConfig()
    try:
        scratch.update({key: value})
    except ConfigError as e:
        raise ConfigError(path, value, e.allowed) from None
    return scratch.to_dict()[key]


def _coerce_list(path: str, key: str, values: Any) -> list[Any]:
    if key not in _FIELDS:
        _unknown(path, key, values)
    if not isinstance(values, list):
        raise ConfigError(path, values, "a non-empty list of values")
    if not values:
        raise ConfigError(path, values, "a non-empty list of values")
    return [_coerce(f"{path}[{i}]", key, v) for i, v in enumerate(values)]


def _spec_error(e: ConfigError, values: dict[str, Any], where: dict[str, str]) -> ConfigError:
    """Re-address a validation error of a resolved point to its place in the file."""
    root = e.field.split("[", 1)[0]
    suffix = e.field[len(root) :]
    if root in where:
        path = where[root] + suffix
    else:  # a base value or a default: [base] is where it is (or would be) set
        path = f"base.{e.field}"
    allowed = e.allowed
    if values:
        allowed += f" (point {_fmt_values(values)})"
    return ConfigError(path, e.value, allowed)


def _fmt_value(v: Any) -> str:
    if isinstance(v, list):
        return ",".join(str(x) for x in v)
    return str(v)


def _fmt_values(values: dict[str, Any]) -> str:
    return " ".join(f"{k}={_fmt_value(v)}" for k, v in values.items()) or "(base)"


# ---------------------------------------------------------------------- run
def run_point(config_dict: dict[str, Any]) -> dict[str, Any]:
    """Train one point (in a worker process); never raises.

    Returns ``{"status": "ok", "record": record}`` with the run's JSON record,
    or ``{"status": "failed", "error": "<ExceptionType>: message"}``.
    """
    try:
        from neurosim.experiments.train import train
        from neurosim.jsonsafe import check_record

        with one_blas_thread():
            cfg = TrainConfig.from_dict(config_dict).validate()
            result, _ = train(cfg)
        record = result.to_record()
        check_record(record)  # the store holds strict JSON: no NaN or Infinity
        return {"status": "ok", "record": record}
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # noqa: B036 - a failed point is a result, not a crash
        return {"status": "failed", "error": f"{type(e).__name__}: {e}"}


@dataclass
class SweepSummary:
    """Outcome of :func:`run_sweep` (counts of points)."""

    total: int
    skipped: int
    done: int
    failed: int
    wall_seconds: float


def strip_wall_times(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of a run record without its wall-time fields.

    Drops ``results.wall_seconds`` and ``results.epochs[*].seconds``; what is
    left is equal bit for bit for the same point whichever process ran it.
    """
    out = copy.deepcopy(record)
    results = out.get("results")
    if isinstance(results, dict):
        results.pop("wall_seconds", None)
        for epoch in results.get("epochs", []):
            if isinstance(epoch, dict):
                epoch.pop("seconds", None)
    return out


def _as_spec(spec: SweepSpec | str | Path) -> SweepSpec:
    return spec if isinstance(spec, SweepSpec) else load_spec(spec)


def _done_ids(store_path: str | Path | None) -> set[str]:
    """Ids stored as ok; an absent store is empty (and is not created)."""
    if store_path is None or not os.path.exists(store_path):
        return set()
    from neurosim.experiments.store import Store

    store = Store(store_path, readonly=True)  # a listing changes nothing
    try:
        return set(store.done_ids())
    finally:
        store.close()


def format_points(spec: SweepSpec | str | Path, store_path: str | Path | None = None) -> list[str]:
    """Lines listing the points: index, id[:12], swept values, ``done`` if stored ok."""
    points = _as_spec(spec).points()
    done = _done_ids(store_path)
    width = len(str(len(points) - 1))
    lines = []
    for i, p in enumerate(points):
        pid = p.id
        line = f"{i:>{width}}  {pid[:12]}  {_fmt_values(p.values)}"
        lines.append(line + ("  done" if pid in done else ""))
    return lines


def run_sweep(
    spec: SweepSpec | str | Path,
    store_path: str | Path,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool = True,
    dry_run: bool = False,
    connect_timeout: float = CONNECT_TIMEOUT,
) -> SweepSummary:
    """Run every point of a sweep not yet stored as ok; store each as it finishes.

    Parameters
    ----------
    spec : SweepSpec or path
        The sweep (a path is read with :func:`load_spec`); every point is
        validated before anything runs.
    store_path : path
        The SQLite store (:class:`neurosim.experiments.store.Store`); points whose id is
        stored with status ok are skipped.
    workers : int, optional
        Processes of the local pool (default: the CPU count).
    scheduler : str or distributed.Client or cluster, optional
        Run on a Dask cluster instead: a scheduler address
        (``"tcp://host:8786"``), a ``distributed.Client`` or a cluster object.
    progress : bool
        Show a progress bar on stderr (points done and failed, ETA).
    dry_run : bool
        Return without running (nor creating the store); see :func:`format_points`.
    connect_timeout : float
        Seconds to wait for a scheduler given by address.

    Returns
    -------
    SweepSummary
        ``done`` and ``failed`` count the points run by this call.
    """
    t0 = time.perf_counter()
    spec = _as_spec(spec)
    points = spec.points()
    if workers is not None and (
        not isinstance(workers, int) or isinstance(workers, bool) or workers < 1
    ):
        raise ConfigError("workers", workers, "a positive integer")
    if dry_run:
        done_ids = _done_ids(store_path)
        skipped = sum(p.id in done_ids for p in points)
        return SweepSummary(len(points), skipped, 0, 0, time.perf_counter() - t0)
    client, own_client = (None, False)
    if scheduler is not None:
        client, own_client = _dask_client(scheduler, connect_timeout)
    try:
        from neurosim.experiments.store import Store

        store = Store(store_path)
        try:
            done_ids = set(store.done_ids())
            todo = [p for p in points if p.id not in done_ids]
            summary = SweepSummary(len(points), len(points) - len(todo), 0, 0, 0.0)
            if todo:
                _run_points(spec.name, todo, store, summary, client, workers, progress)
        finally:
            store.close()
    finally:
        if own_client:
            client.close()
    summary.wall_seconds = time.perf_counter() - t0
    return summary


def _run_points(
    name: str,
    todo: list[Point],
    store: Any,
    summary: SweepSummary,
    client: Any,
    workers: int | None,
    progress: bool,
) -> None:
    """Run ``todo`` and store each point as it finishes (in this process).

    Each point is claimed in the store first (:mod:`neurosim.experiments.claims`),
    so sweeps sharing the store split the points: one stored or claimed by a
    live sweep elsewhere is not run here; a dead claimant's points are.
    """
    from neurosim.experiments import claims
    from neurosim.experiments.order import longest_first
    from neurosim.experiments.pools import POLL_S, DaskPool, LocalPool

    bar = _progress_bar(name, len(todo), summary, progress)

    def finished(point: Point, outcome: dict[str, Any]) -> None:
        cfg = point.config.to_dict()
        swept = list(point.values)
        if outcome.get("status") == "ok":
            store.put(point.id, cfg, outcome["record"], "ok", swept=swept, sweep=name)
            summary.done += 1
        else:
            error = outcome.get("error") or "unknown error"
            store.put(point.id, cfg, None, "failed", error, swept=swept, sweep=name)
            summary.failed += 1
        _postfix(bar, summary)
        bar.update(1)

    owner, since = claims.new_owner(), claims.now_iso()
    # on several workers the longest points start first, so the last to
    # finish are short (neurosim.experiments.order)
    many = client is not None or (workers or os.cpu_count() or 1) > 1
    queue = longest_first(todo) if many and len(todo) > 1 else list(todo)
    try:
        with (
            LocalPool(run_point, workers or os.cpu_count() or 1, len(todo)) if client is None
            else DaskPool(run_point, client)
        ) as ex, claims.heartbeat(store, owner):  # fmt: skip
            pending: dict[Any, Point] = {}
            while queue or pending:
                i = 0
                while len(pending) < ex.capacity and i < len(queue):
                    state = claims.claim(store, owner, queue[i].id, since)
                    if state == "busy":  # running elsewhere: look again later
                        i += 1
                        continue
                    point = queue.pop(i)
                    if state == "claimed":
                        pending[ex.submit(point)] = point
                    else:  # stored by another sweep meanwhile
                        summary.skipped += 1
                        _postfix(bar, summary)
                        bar.update(1)
                if not pending:
                    time.sleep(POLL_S)  # every point left is another sweep's for now
                    continue
                for fut in ex.wait(list(pending)):
                    finished(pending.pop(fut), ex.outcome(fut))
    finally:
        bar.close()


def _progress_bar(name: str, total: int, summary: SweepSummary, enabled: bool):
    from tqdm import tqdm

    bar = tqdm(
        total=total,
        desc=name,
        unit="point",
        file=sys.stderr,
        disable=not enabled,
        dynamic_ncols=True,
    )
    _postfix(bar, summary)
    return bar


def _postfix(bar, summary: SweepSummary) -> None:
    bar.set_postfix(
        {"ok": summary.done, "failed": summary.failed, "skipped": summary.skipped}, refresh=False
    )


def _dask_client(scheduler: Any, timeout: float) -> tuple[Any, bool]:
    """A ``distributed.Client`` for ``scheduler`` and whether this call owns it."""
    if isinstance(scheduler, str):  # before importing distributed (seconds)
        probe_scheduler(scheduler, timeout)
    try:
        import distributed
    except ImportError:
        raise ConfigError(
            "scheduler",
            scheduler,
            "a Dask scheduler, with the 'distributed' package installed"
            " (pip install 'neurosim[dask]')",
        ) from None
    if isinstance(scheduler, distributed.Client):
        return scheduler, False
    if isinstance(scheduler, str):
        try:
            client = distributed.Client(scheduler, timeout=timeout, set_as_default=False)
        except Exception as e:  # noqa: BLE001 -- any failure to connect is one line
            raise ConfigError(
                "scheduler", scheduler, f"the address of a reachable Dask scheduler ({e})"
            ) from None
        return client, True
    if hasattr(scheduler, "scheduler_address"):  # a cluster object (LocalCluster, ...)
        return distributed.Client(scheduler, set_as_default=False), True
    raise ConfigError(
        "scheduler", scheduler, "a scheduler address, a distributed.Client or a cluster"
    )
