"""Where a sweep's points run: a local spawn process pool or a Dask cluster.

Both take points one at a time, only as many as can run at once
(``capacity``), so that a sweep claims a point only when it can start it
(:mod:`neurosim.experiments.claims`). ``fn`` is the point runner
(:func:`neurosim.experiments.sweep.run_point`); a task that dies gives a
failed outcome, never an exception.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from typing import Any

from neurosim.experiments.workers import sigint_ignored, stop_pool

#: Environment variables that cap the thread pools of BLAS/OpenMP libraries.
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

#: Seconds between looks at points another sweep holds.
POLL_S = 0.5


class LocalPool:
    """A spawn process pool, each worker with one BLAS thread; points go in only
    as workers free up, so claims follow the work."""

    def __init__(self, fn: Callable[[dict], dict], workers: int, n: int) -> None:
        self.fn = fn
        self.capacity = max(1, min(workers, n))
        self._saved = {k: os.environ.get(k) for k in THREAD_VARS}

    def __enter__(self) -> LocalPool:
        from concurrent.futures import ProcessPoolExecutor

        os.environ.update({k: "1" for k in THREAD_VARS})
        self.pool = ProcessPoolExecutor(
            max_workers=self.capacity, mp_context=multiprocessing.get_context("spawn")
        )
        # every worker starts now, with SIGINT ignored (a spawned Python keeps
        # the disposition it inherits): Ctrl-C then reaches only this process,
        # and the later submits, which start no process, never ignore it
        try:
            with sigint_ignored():
                for _ in range(self.capacity):
                    self.pool.submit(int)
        except BaseException as e:  # e.g. a Ctrl-C held back while they started
            self.__exit__(type(e))
            raise
        return self

    def submit(self, point: Any) -> Any:
        """Start ``fn(point.config.to_dict())``; its future."""
        return self.pool.submit(self.fn, point.config.to_dict())

    def wait(self, futures: list[Any]) -> set[Any]:
        from concurrent.futures import FIRST_COMPLETED, wait

        return wait(futures, timeout=POLL_S, return_when=FIRST_COMPLETED).done

    def outcome(self, fut: Any) -> dict[str, Any]:
        try:
            return fut.result()
        except Exception as e:  # the worker process died (e.g. killed)
            return {"status": "failed", "error": f"{type(e).__name__}: {e}"}

    def __exit__(self, kind: Any, *exc: object) -> None:
        try:
            if kind is None:
                self.pool.shutdown(wait=True)
            else:  # an interrupt or an error: the workers end now
                stop_pool(self.pool)
        finally:
            for k, v in self._saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


class DaskPool:
    """Points as Dask tasks, as many at once as the cluster has threads."""

    def __init__(self, fn: Callable[[dict], dict], client: Any) -> None:
        self.fn = fn
        self.client = client
        self._futures: list[Any] = []
        try:
            self.capacity = max(1, sum(client.nthreads().values()))
        except Exception:  # noqa: BLE001 -- an odd client: one at a time still works
            self.capacity = 1

    def __enter__(self) -> DaskPool:
        return self

    def submit(self, point: Any) -> Any:
        """Start ``fn(point.config.to_dict())``; its future."""
        fut = self.client.submit(self.fn, point.config.to_dict(), pure=False)
        self._futures.append(fut)
        return fut

    def wait(self, futures: list[Any]) -> set[Any]:
        # polled: distributed.wait needs a default client, which this one is not
        deadline = time.monotonic() + POLL_S
        while True:
            done = {f for f in futures if f.done()}
            if done or time.monotonic() > deadline:
                return done
            time.sleep(0.02)

    def outcome(self, fut: Any) -> dict[str, Any]:
        try:
            return fut.result()
        except Exception as e:  # e.g. KilledWorker
            return {"status": "failed", "error": f"{type(e).__name__}: {e}"}
        finally:
            fut.release()

    def __exit__(self, kind: Any, *exc: object) -> None:
        if kind is not None:
            self.client.cancel(self._futures)
