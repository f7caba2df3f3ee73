"""Claims: several sweeps on one store share its points, each point run once.

Before a sweep runs a point it *claims* it: one row of the store's ``claims``
table (point id, owner, heartbeat), written in the same transaction that checks
the point is neither stored nor claimed by a live owner. A thread of the sweep
renews the heartbeat of its claims every :data:`HEARTBEAT_S` seconds; storing
the point removes its claim (:meth:`Store.put`), and a sweep that stops
(finished, interrupted, failed) removes the claims it still holds.

A claim is dead, and its point free to run again, when its heartbeat is older
than :data:`STALE_S` seconds or -- at once -- when its owner is a process of
this host that no longer exists (a sweep killed with ``kill -9`` and resumed).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from neurosim.experiments.store import CLAIMS, STATUS_OK, TABLE, StoreError

if TYPE_CHECKING:
    from neurosim.experiments.store import Store

#: Seconds between heartbeats of a running sweep.
HEARTBEAT_S = 2.0
#: A claim whose heartbeat is older than this (seconds) is dead; environment
#: variable ``NEUROSIM_CLAIM_STALE_S`` overrides it.
STALE_S = 30.0

Claim = Literal["claimed", "done", "busy"]


def stale_seconds() -> float:
    """The stale age of a heartbeat, in seconds (:data:`STALE_S` or the environment's)."""
    try:
        return float(os.environ.get("NEUROSIM_CLAIM_STALE_S", STALE_S))
    except ValueError:
        return STALE_S


def new_owner() -> str:
    """An owner name unique to this sweep: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def now_iso() -> str:
    """The time as the store's ``created_at`` spells it (UTC, milliseconds)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _dead(owner: str, heartbeat: float, now: float, stale_s: float) -> bool:
    """Whether a claim's owner is gone: a stale heartbeat, or a dead local process."""
    if now - heartbeat > stale_s:
        return True
    host, _, rest = owner.partition(":")
    if host != socket.gethostname():
        return False
    try:
        os.kill(int(rest.split(":", 1)[0]), 0)
    except ProcessLookupError:
        return True
    except (OSError, ValueError, OverflowError):  # alive but not ours, or unreadable
        return False
    return False


def claim(store: Store, owner: str, point_id: str, since: str) -> Claim:
    """Try to claim one point for `owner`.

    Parameters
    ----------
    store : Store
        The sweep's store (writable).
    owner : str
        The claiming sweep (:func:`new_owner`).
    point_id : str
        The point.
    since : str
        When the sweep started (:func:`now_iso`): a point stored since then,
        even as failed, was run by another sweep and is not run again.

    Returns
    -------
    str
        ``"claimed"`` (run it), ``"done"`` (stored: skip it) or ``"busy"``
        (a live claim of another sweep: look again later).
    """
    with store.transaction(f"cannot claim point {point_id!r}") as conn:
        row = conn.execute(
            f"SELECT status, created_at FROM {TABLE} WHERE id = ?", (point_id,)
        ).fetchone()
        if row is not None and (row[0] == STATUS_OK or str(row[1]) >= since):
            return "done"
        held = conn.execute(
            f"SELECT owner, heartbeat FROM {CLAIMS} WHERE id = ?", (point_id,)
        ).fetchone()
        now = time.time()
        if held is not None and held[0] != owner and not _dead(*held, now, stale_seconds()):
            return "busy"
        conn.execute(
            f"INSERT OR REPLACE INTO {CLAIMS} (id, owner, heartbeat) VALUES (?, ?, ?)",
            (point_id, owner, now),
        )
    return "claimed"


def _beat(store: Store, owner: str) -> None:
    with store.transaction("cannot renew claims") as conn:
        conn.execute(f"UPDATE {CLAIMS} SET heartbeat = ? WHERE owner = ?", (time.time(), owner))


def release(store: Store, owner: str) -> None:
    """Remove every claim `owner` still holds (its points may run elsewhere at once)."""
    with store.transaction("cannot release claims") as conn:
        conn.execute(f"DELETE FROM {CLAIMS} WHERE owner = ?", (owner,))


@contextlib.contextmanager
def heartbeat(store: Store, owner: str, every: float = HEARTBEAT_S) -> Iterator[None]:
    """Renew `owner`'s claims every `every` seconds while inside; release them after."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(every):
            with contextlib.suppress(StoreError):  # a busy moment: the next beat renews
                _beat(store, owner)

    thread = threading.Thread(target=run, name="neurosim-claims", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        with contextlib.suppress(StoreError):
            release(store, owner)
