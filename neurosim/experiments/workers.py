"""Worker processes and schedulers of a sweep: started so that Ctrl-C reaches
only the parent (one line, exit 130, no worker tracebacks), stopped at once on
an interrupt, and a scheduler address probed in seconds before ``distributed``
is asked to connect."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from neurosim.errors import ConfigError

_blas_lock = threading.Lock()
_blas_users = 0
_blas_limiter: Any = None


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """``threadpool_limits(1)`` held while any run of this process is inside.

    Counted, so that concurrent runs in threads of one process (a Dask worker
    with several threads) never restore the original limits under each other.
    """
    global _blas_users, _blas_limiter
    from threadpoolctl import threadpool_limits

    with _blas_lock:
        if _blas_users == 0:
            _blas_limiter = threadpool_limits(1)
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None


@contextlib.contextmanager
def sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while worker processes are started: a spawned Python
    inherits the ignored signal and keeps it, so Ctrl-C (sent to the whole
    process group) reaches only this process, which stops the workers; no
    worker prints a traceback, even while it is still importing.

    SIGINT is also blocked in this thread meanwhile (where the platform has
    ``pthread_sigmask``): the kernel discards an ignored signal but keeps a
    blocked one pending, so a Ctrl-C routed to this thread inside the window
    raises ``KeyboardInterrupt`` here once the handler is back, instead of
    being lost (the sweep would run on to its end). One routed to another
    thread of this process that does not block it (a BLAS thread) is still
    discarded; the window lasts as long as spawning the workers."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    block = hasattr(signal, "pthread_sigmask")
    if block:
        # the first spawn starts multiprocessing's resource tracker, which
        # unblocks SIGINT when it is up: started now, it cannot undo the block
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        if block:  # a Ctrl-C held back is delivered now, to the restored handler
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def stop_pool(pool: Any) -> None:
    """Cancel what has not started and end the workers now (an interrupt or an
    error in this process: their points are not stored and run again on resume)."""
    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.terminate()


def probe_scheduler(address: str, timeout: float) -> None:
    """Fail fast, in one line, on an address where no Dask scheduler answers.

    A plain socket connects within `timeout` seconds; on ``tcp://`` the
    scheduler speaks first (its handshake: an 8-byte little-endian length,
    then the message), so a silent peer or another protocol is refused before
    ``distributed`` waits for it or reads a garbage length.
    """
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme not in ("tcp", "tls"):
        return  # inproc://, ucx://, ...: left to distributed
    host, _, port = rest.rpartition(":")
    port = port.rstrip("/")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError("scheduler", address, "an address tcp://HOST:PORT of a Dask scheduler")
    import socket

    try:
        sock = socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)
    except OSError as e:
        why = e.strerror or str(e) or type(e).__name__
        raise ConfigError(
            "scheduler", address, f"the address of a reachable Dask scheduler (no connection "
            f"within {timeout:g} s: {why})"
        ) from None  # fmt: skip
    if scheme == "tls":
        sock.close()
        return
    head = b""
    with sock:
        sock.settimeout(timeout)
        try:
            while len(head) < 8:
                chunk = sock.recv(8 - len(head))
                if not chunk:
                    break
                head += chunk
        except OSError:
            pass
    if len(head) < 8 or not 0 < int.from_bytes(head, "little") <= 1 << 20:
        raise ConfigError(
            "scheduler", address,
            f"the address of a Dask scheduler (what answers there is not one, within "
            f"{timeout:g} s)",
        )  # fmt: skip
