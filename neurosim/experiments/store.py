"""A SQLite store of run results: one row per point of a sweep.

Each point is one training run, kept under a caller-chosen id with its status
(``"ok"`` or a failure status), the error message of a failed run, every
:class:`~neurosim.config.TrainConfig` field as its own column, the headline
results as columns, and the run's full JSON record (``record_json``).

The store is safe against the ways a long sweep ends badly:

* every :meth:`Store.put` is one transaction (``BEGIN IMMEDIATE`` ...
  ``COMMIT``), so a process killed mid-write leaves only complete points;
* the database runs in WAL mode with a busy timeout, so several processes may
  write to it at once and readers are never blocked by a writer.

Example
-------
>>> with Store("results.db") as st:                      # doctest: +SKIP
...     st.put("p1", cfg.to_dict(), result.to_record(), "ok", swept=["weight_bits"])
...     st.to_csv("results.csv")
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from neurosim.config import TrainConfig
from neurosim.errors import ConfigError, NeuroSimError
from neurosim.experiments.safe_io import write_text

SCHEMA_VERSION = 1
STATUS_OK = "ok"
BUSY_TIMEOUT_S = 30.0
TABLE = "points"
#: Points a running sweep has taken (one row each; see neurosim.experiments.claims).
CLAIMS = "claims"
CLAIMS_SQL = (
    f"CREATE TABLE IF NOT EXISTS {CLAIMS}"
    " (id TEXT PRIMARY KEY, owner TEXT NOT NULL, heartbeat REAL NOT NULL)"
)
SQLITE_MAGIC = b"SQLite format 3\x00"

# columns before the config fields
BASE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "TEXT PRIMARY KEY"),
    ("status", "TEXT NOT NULL"),
    ("error", "TEXT"),
    ("created_at", "TEXT NOT NULL"),
    ("sweep", "TEXT"),
    ("swept", "TEXT"),
)
# headline results (NULL for a failed point)
RESULT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("test_accuracy", "REAL"),
    ("test_auc", "REAL"),  # binary data sets (higgs)
    ("train_accuracy", "REAL"),
    ("energy_pj_per_sample", "REAL"),
    ("inference_energy_pj", "REAL"),
    ("cycles_per_sample", "REAL"),
    ("samples_per_second", "REAL"),
    ("transport_bits_per_sample", "REAL"),
    ("feedback_memory_bits", "INTEGER"),
    ("forward_memory_bits", "INTEGER"),
    ("wall_seconds", "REAL"),
)
# the JSON payloads (not part of the flat rows)
JSON_COLUMNS: tuple[tuple[str, str], ...] = (
    ("config_json", "TEXT"),
    ("record_json", "TEXT"),
)


class StoreError(NeuroSimError):
    """A result store cannot be opened or written (the message names the file)."""


def check_store_path(path: str | Path | None) -> None:
    """Refuse a store path that would lose its results: empty, or ``:memory:``.

    Raises
    ------
    ConfigError
        Named ``store``.
    """
    text = "" if path is None else str(path)
    if not text.strip():
        raise ConfigError("store", text, "a file path (it is empty)")
    if text == ":memory:" or text.startswith("file:"):
        raise ConfigError(
            "store", text, "a file path (an in-memory or URI store would lose every result)"
        )


def config_columns() -> list[tuple[str, str]]:
    """``(name, SQL type)`` of every TrainConfig field, in field order."""
    out = []
    for f in dataclasses.fields(TrainConfig):
        t = f.type if isinstance(f.type, str) else str(f.type)
        if f.name in ("hidden", "freeze") or t.startswith("str"):
            sql = "TEXT"
        elif t.startswith("int") or t == "bool":
            sql = "INTEGER"
        elif t.startswith("float"):
            sql = "REAL"
        else:
            sql = "TEXT"
        out.append((f.name, sql))
    return out


def row_columns() -> list[str]:
    """Names of the flat row columns, in order (what :meth:`Store.rows` returns)."""
    return (
        [n for n, _ in BASE_COLUMNS]
        + [n for n, _ in config_columns()]
        + [n for n, _ in RESULT_COLUMNS]
    )


def _bool_fields() -> set[str]:
    return {
        f.name
        for f in dataclasses.fields(TrainConfig)
        if (f.type if isinstance(f.type, str) else str(f.type)) == "bool"
    }


def _q(name: str) -> str:
    """Quote an SQL identifier (names come from the schema, never from data)."""
    return '"' + name.replace('"', '""') + '"'


def _flat(value: Any) -> Any:
    """A config value as a column value: lists as ``"100,100"``, bools as 0/1."""
    if value is None or isinstance(value, (str, int, float)):
        return int(value) if isinstance(value, bool) else value
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return json.dumps(value, sort_keys=True)


def _num(x: Any) -> float | None:
    """A finite number or None."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return None if x != x or x in (float("inf"), float("-inf")) else x


def headline(record: dict[str, Any] | None) -> dict[str, Any]:
    """The headline result columns of a run record (None where absent)."""
    out: dict[str, Any] = {n: None for n, _ in RESULT_COLUMNS}
    if not record:
        return out
    res = record.get("results") or {}
    hw = record.get("hardware") or {}
    out["test_accuracy"] = _num(res.get("test_accuracy"))
    out["test_auc"] = _num(res.get("test_auc"))
    out["train_accuracy"] = _num(res.get("train_accuracy"))
    out["wall_seconds"] = _num(res.get("wall_seconds"))
    if hw:
        out["energy_pj_per_sample"] = _num((hw.get("energy_pj_per_sample") or {}).get("total"))
        out["inference_energy_pj"] = _num(hw.get("inference_energy_pj"))
        out["cycles_per_sample"] = _num((hw.get("cycles_per_sample") or {}).get("train"))
        out["samples_per_second"] = _num(hw.get("samples_per_second"))
        bits = (hw.get("bus") or {}).get("bits_per_sample") or {}
        out["transport_bits_per_sample"] = float(
            sum(v for k, v in bits.items() if k != "forward" and _num(v) is not None)
        )
        mem = hw.get("memory_bits") or {}
        out["feedback_memory_bits"] = _num(mem.get("feedback"))
        out["forward_memory_bits"] = _num(mem.get("forward"))
    return out


def _insert_sql(cols: list[str]) -> str:
    """``INSERT OR REPLACE`` of one row with the columns `cols` (``?`` placeholders)."""
    return (
        f"INSERT OR REPLACE INTO {TABLE} ({', '.join(_q(c) for c in cols)})"
        f" VALUES ({', '.join('?' for _ in cols)})"
    )


def _point_json(
    path: Path, point_id: str, config: dict[str, Any], record: dict[str, Any] | None
) -> tuple[dict[str, Any], str, str | None]:
    """A point's config (the record's, updated with `config`) and the JSON of it
    and of the record; a value JSON cannot hold is a StoreError."""
    merged: dict[str, Any] = dict((record or {}).get("config") or {})
    merged.update(config or {})
    try:
        config_json = json.dumps(merged, sort_keys=True)
        record_json = None if record is None else json.dumps(record, sort_keys=True)
    except (TypeError, ValueError) as e:
        raise StoreError(f"result store {path}: point {point_id!r}: {e}") from None
    return merged, config_json, record_json


class Store:
    """A result store in one SQLite file (created if missing).

    Parameters
    ----------
    path : str or Path
        The database file. Its directory is created if needed.

    Attributes
    ----------
    summary : SweepSummary or None
        Set by :func:`neurosim.api.run_sweep`: the counts of the sweep that
        returned this store.

    Raises
    ------
    StoreError
        The file is not an SQLite database, is another program's database,
        or has another schema version.
    """

    summary: Any = None

    def __init__(self, path: str | Path, readonly: bool = False) -> None:
        check_store_path(path)
        self.path = Path(path)
        if os.path.exists(path) and not os.path.isfile(path):  # a FIFO would block, a dir...
            raise StoreError(f"result store {str(path)!r} is not a regular file")
        self.readonly = readonly
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._cfg_cols = config_columns()
        self._bools = _bool_fields()
        self._have: set[str] = set()
        if readonly:
            self._conn = _connect_readonly(self.path)
            try:
                self._schema_state()  # another program's database, another version
            except BaseException:
                self.close()
                raise
            self._have = self._columns()
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                str(self.path),
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,  # explicit transactions only
                check_same_thread=False,  # guarded by self._lock
            )
        except (sqlite3.Error, OSError) as e:
            raise StoreError(f"cannot open result store {self.path}: {e}") from None
        self._conn = conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")

            def setup() -> None:
                conn.execute("PRAGMA journal_mode = WAL").fetchone()
                conn.execute("PRAGMA synchronous = NORMAL")
                self._init_schema()

            _retry_busy(setup)
            self._have = self._columns()
        except StoreError:
            self.close()
            raise
        except sqlite3.Error as e:
            self.close()
            raise StoreError(f"cannot open result store {self.path}: {e}") from None

    # ------------------------------------------------------------------
    def _init_schema(self) -> None:
        """Check the schema; create or extend it (under the write lock) only if needed.

        A store that is already complete is only read here, so opening a
        store never waits for a writer.
        """
        if self._schema_state() == "ok":
            return
        conn = self._db()
        conn.execute("BEGIN IMMEDIATE")
        try:
            state = self._schema_state()  # again: another process may have done it
            if state == "empty":
                cols = [*BASE_COLUMNS, *self._cfg_cols, *RESULT_COLUMNS, *JSON_COLUMNS]
                conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
                conn.execute(
                    f"CREATE TABLE {TABLE} (" + ", ".join(f"{_q(n)} {t}" for n, t in cols) + ")"
                )
                conn.execute(f"CREATE INDEX IF NOT EXISTS idx_status ON {TABLE} (status)")
                conn.execute(CLAIMS_SQL)
            elif state == "extend":
                conn.execute(CLAIMS_SQL)
                # config fields and result columns added since the store was
                # made become new columns
                have = self._columns()
                for n, t in [*self._cfg_cols, *RESULT_COLUMNS]:
                    if n not in have:
                        conn.execute(f"ALTER TABLE {TABLE} ADD COLUMN {_q(n)} {t}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _columns(self) -> set[str]:
        return {r[1] for r in self._db().execute(f"PRAGMA table_info({TABLE})")}

    def _schema_state(self) -> str:
        """``"ok"``, ``"empty"`` (a new file) or ``"extend"`` (config columns missing)."""
        conn = self._db()
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            return "empty"
        if "meta" not in tables or TABLE not in tables:
            raise StoreError(
                f"{self.path} is an SQLite database but not a neurosim result store"
                f" (tables: {', '.join(sorted(tables))})"
            )
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = row[0] if row else None
        if version != str(SCHEMA_VERSION):
            raise StoreError(
                f"result store {self.path} has schema version {version};"
                f" this neurosim reads version {SCHEMA_VERSION}"
            )
        have = self._columns()
        wanted = [*self._cfg_cols, *RESULT_COLUMNS]
        complete = all(n in have for n, _ in wanted) and CLAIMS in tables
        return "ok" if complete else "extend"

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"result store {self.path} is closed")
        return self._conn

    # ------------------------------------------------------------------
    def done_ids(self) -> set[str]:
        """Ids of the points whose status is ``"ok"``."""
        with self._lock:
            cur = self._db().execute(f"SELECT id FROM {TABLE} WHERE status = ?", (STATUS_OK,))
            return {r[0] for r in cur}

    def put(
        self,
        point_id: str,
        config: dict[str, Any],
        record: dict[str, Any] | None,
        status: str,
        error: str | None = None,
        swept: Iterable[str] = (),
        sweep: str | None = None,
    ) -> None:
        """Write one point (replacing any point of the same id) in one transaction.

        Parameters
        ----------
        point_id : str
            The point's id (primary key).
        config : dict
            The point's configuration (TrainConfig fields; missing fields are
            taken from ``record["config"]`` when there is a record).
        record : dict or None
            The run's JSON record (``TrainResult.to_record()``); None for a
            failed point, whose result columns are then NULL.
        status : str
            ``"ok"`` for a finished run, anything else (e.g. ``"failed"``) otherwise.
        error : str, optional
            What went wrong (failed points).
        swept : iterable of str
            The config fields the sweep varies; each gets an index.
        sweep : str, optional
            Name of the sweep the point belongs to.
        """
        names = [n for n, _ in self._cfg_cols]
        swept = _check_put(self.path, point_id, status, swept, names)
        merged, config_json, record_json = _point_json(self.path, point_id, config, record)
        values: dict[str, Any] = {
            "id": point_id,
            "status": status,
            "error": error,
            "created_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "sweep": sweep,
            "swept": ",".join(swept) or None,
        }
        values.update({n: _flat(merged.get(n)) for n in names})
        values.update(headline(record) if record is not None else headline(None))
        values["config_json"] = config_json
        values["record_json"] = record_json
        cols = list(values)
        sql = _insert_sql(cols)
        with self.transaction(f"cannot write point {point_id!r}") as conn:
            for k in swept:
                conn.execute(f"CREATE INDEX IF NOT EXISTS {_q('idx_' + k)} ON {TABLE} ({_q(k)})")
            conn.execute(sql, [values[c] for c in cols])
            # the point is stored: a sweep's claim on it ends in the same transaction
            conn.execute(f"DELETE FROM {CLAIMS} WHERE id = ?", (point_id,))

    @contextlib.contextmanager
    def transaction(self, doing: str = "cannot write") -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``; rolled back
        on any error); an SQLite error becomes a StoreError saying `doing`."""
        with self._lock:
            conn = self._db()
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except BaseException as e:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(e, sqlite3.Error):
                    raise StoreError(f"result store {self.path}: {doing}: {e}") from None
                raise

    # ------------------------------------------------------------------
    def _select(self, columns: list[str], status: str | None) -> list[tuple]:
        # a column an older store lacks (read-only: not added) reads as NULL
        shown = [_q(c) if c in self._have else f"NULL AS {_q(c)}" for c in columns]
        sql = f"SELECT {', '.join(shown)} FROM {TABLE}"
        args: tuple = ()
        if status is not None:
            sql += " WHERE status = ?"
            args = (status,)
        sql += " ORDER BY id"
        with self._lock:
            return self._db().execute(sql, args).fetchall()

    def rows(self, status: str | None = None) -> list[dict[str, Any]]:
        """Flat rows (ordered by id): id, status, error, created_at, sweep,
        swept, every config field, the headline results. ``status`` filters."""
        cols = row_columns()
        return [_row_dict(self._bools, cols, r) for r in self._select(cols, status)]

    def records(self, status: str | None = STATUS_OK) -> list[dict[str, Any]]:
        """The full JSON records of the points (ordered by id; None = any status)."""
        rows = self._select(["id", "record_json"], status)
        return [_json(self.path, r[0], "record", r[1]) for r in rows if r[1] is not None]

    def points(self, status: str | None = None) -> list[dict[str, Any]]:
        """Flat rows plus ``config`` (dict) and ``record`` (dict, None if failed)."""
        cols = row_columns()
        out = []
        for r in self._select([*cols, "config_json", "record_json"], status):
            d = _row_dict(self._bools, cols, r[: len(cols)])
            d["config"] = _json(self.path, d["id"], "config", r[-2]) if r[-2] else {}
            d["record"] = _json(self.path, d["id"], "record", r[-1]) if r[-1] else None
            out.append(d)
        return out

    def __len__(self) -> int:
        with self._lock:
            return int(self._db().execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0])

    def to_csv(self, out: str | Path | IO[str]) -> None:
        """Write :meth:`rows` as CSV (header = the row columns) to a path or text file."""
        rows = self.rows()
        cols = row_columns()
        if isinstance(out, (str, Path)):  # whole, or not at all (a device or FIFO: through)
            buf = io.StringIO()
            _write_csv(buf, cols, rows)
            write_text(out, buf.getvalue(), what="CSV")
        else:
            _write_csv(out, cols, rows)

    def to_dataframe(self):
        """:meth:`rows` as a pandas DataFrame (pandas is optional)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "Store.to_dataframe needs pandas (pip install pandas);"
                " Store.rows() and Store.to_csv() give the same table without it"
            ) from None
        return pd.DataFrame(self.rows(), columns=row_columns())

    # ------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        return f"Store({str(self.path)!r}, {state})"


def query(store: Store, sql: str, args: tuple = ()) -> list[tuple]:
    """Rows of one reading SQL statement on `store` (for tables other modules add,
    such as a search's trials); an SQLite error becomes a StoreError."""
    with store._lock:
        try:
            return store._db().execute(sql, args).fetchall()
        except sqlite3.Error as e:
            raise StoreError(f"result store {store.path}: cannot read: {e}") from None


def _check_put(
    path: Path, point_id: Any, status: Any, swept: Iterable[str], names: list[str]
) -> list[str]:
    """Check the arguments of :meth:`Store.put`; the swept keys without repeats."""
    if not isinstance(point_id, str) or not point_id:
        raise StoreError(f"result store {path}: a point id must be a non-empty string")
    if not isinstance(status, str) or not status:
        raise StoreError(f"result store {path}: status must be a non-empty string")
    swept = list(dict.fromkeys(swept))
    unknown = [k for k in swept if k not in names]
    if unknown:
        raise StoreError(f"result store {path}: swept keys {unknown} are not config fields")
    return swept


def _row_dict(bools: set[str], columns: list[str], values: tuple) -> dict[str, Any]:
    """A row as a dict, boolean config fields as bools."""
    d = dict(zip(columns, values, strict=True))
    for n in bools:
        if d.get(n) is not None:
            d[n] = bool(d[n])
    return d


def _retry_busy(setup: Callable[[], None]) -> None:
    """Run `setup`, retried while the database is locked, up to the busy timeout.

    Switching a new file to WAL can fail at once with "database is locked"
    while another process does the same (SQLite skips the busy handler there).
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.005
    while True:
        try:
            setup()
            return
        except sqlite3.OperationalError as e:
            busy = "locked" in str(e) or "busy" in str(e)
            if not busy or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(0.2, delay * 2)


def _json(path: Path, point: str, what: str, text: str) -> Any:
    """A stored JSON payload; a corrupt one is a StoreError naming the point."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as e:
        value = e
    if not isinstance(value, dict):
        why = value if isinstance(value, Exception) else f"a JSON {type(value).__name__}"
        raise StoreError(f"result store {str(path)!r}: point {point!r}: corrupt {what} ({why})")
    return value


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection to an existing SQLite file: nothing is created,
    converted or locked for writing, so it works on a read-only mount.

    Raises
    ------
    StoreError
        The file cannot be read, is empty (0 bytes) or is not an SQLite database.
    """
    shown = repr(str(path))
    try:
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except OSError as e:
        raise StoreError(f"cannot read result store {shown}: {e.strerror or e}") from None
    if not head:
        raise StoreError(f"result store {shown} is an empty file (0 bytes), not a store")
    if head != SQLITE_MAGIC:
        raise StoreError(f"{shown} is not an SQLite database (not a neurosim result store)")
    uri = "file:" + urllib.parse.quote(str(path.absolute())) + "?mode=ro"
    # Without a -wal file no writer is connected and every point is in the
    # file itself: it is read as immutable, so that reading leaves no -wal and
    # -shm files behind (a read-only connection cannot remove them). A store
    # on a read-only mount cannot get them either. With a -wal file a writer
    # may be at work: the plain read-only mode then sees its commits.
    live = os.path.exists(f"{path}-wal")
    for suffix in ("", "&immutable=1") if live else ("&immutable=1",):
        try:
            conn = sqlite3.connect(
                uri + suffix, uri=True, timeout=BUSY_TIMEOUT_S,
                isolation_level=None, check_same_thread=False,
            )  # fmt: skip
        except sqlite3.Error as e:
            raise StoreError(f"cannot open result store {shown}: {e}") from None
        try:
            tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        except sqlite3.Error as e:
            conn.close()
            if suffix:
                raise StoreError(f"cannot read result store {shown}: {e}") from None
            continue
        if not tables:
            conn.close()
            raise StoreError(f"{shown} is an SQLite database with no tables, not a result store")
        return conn
    raise AssertionError("unreachable")


def _write_csv(f: IO[str], cols: list[str], rows: list[dict[str, Any]]) -> None:
    w = csv.DictWriter(f, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: "" if v is None else v for k, v in r.items()})
