"""NumPy's huge-page advice: switched off inside small_pages, restored after,
left alone when NUMPY_MADVISE_HUGEPAGE is set."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.numerics import pages

pytestmark = pytest.mark.skipif(pages._switch() is None, reason="NumPy without the switch")


def test_small_pages_switches_off_and_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    before = pages.huge_pages(True)
    try:
        with pages.small_pages():
            assert pages.huge_pages(False) is False  # off inside
            np.ones((1100, 1000), dtype=np.float32).sum()  # a 4 MiB+ array works
        assert pages.huge_pages(True) is True  # restored
    finally:
        pages.huge_pages(bool(before))


def test_explicit_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")
    assert pages.huge_pages(False) is None
    with pages.small_pages():
        pass
