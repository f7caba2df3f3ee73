"""Huge pages for NumPy's large arrays: off where they make first touches slow.

NumPy asks Linux for transparent huge pages (``madvise(MADV_HUGEPAGE)``) on
every array of 4 MiB or more. Where the kernel's THP ``defrag`` setting is
``madvise`` (``/sys/kernel/mm/transparent_hugepage/defrag``), the first touch
of such an array compacts memory synchronously. Measured on the 2-core
benchmark machine: filling a fresh 60,000 x 784 float32 array (188 MB) took
1.08 s with huge pages and 0.09 s without; loading Fashion-MNIST 1.69 s and
0.66 s. NumPy's own switch is the environment variable
``NUMPY_MADVISE_HUGEPAGE`` (read when NumPy is imported); :func:`small_pages`
is the same switch, scoped, and an explicit ``NUMPY_MADVISE_HUGEPAGE`` always
wins.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

import numpy as np


def _switch() -> Callable[[bool], bool] | None:
    # numpy >= 2: numpy._core.multiarray; 1.x: numpy.core.multiarray
    core = getattr(np, "_core", None) or getattr(np, "core", None)
    return getattr(getattr(core, "multiarray", None), "_set_madvise_hugepage", None)


def huge_pages(enabled: bool) -> bool | None:
    """Set NumPy's huge-page advice for new large arrays; return the previous
    setting (``None`` where NumPy has no switch or ``NUMPY_MADVISE_HUGEPAGE``
    is set, which is then left alone)."""
    switch = _switch()
    if switch is None or "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return None
    return bool(switch(enabled))


@contextlib.contextmanager
def small_pages() -> Iterator[None]:
    """Large arrays allocated inside use the kernel's normal pages."""
    before = huge_pages(False)
    try:
        yield
    finally:
        if before is not None:
            huge_pages(before)
