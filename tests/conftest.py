"""Fixtures shared by test modules (a module's own fixture of the same name wins)."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

# before any test module imports numba: the kernels' CPU features (512-bit
# vectors where the CPU has AVX-512), as every neurosim process sets them
from neurosim.numerics.kernels._target import prefer_wide_vectors

prefer_wide_vectors()


# the session's own cache directory (decoded data sets, compiled kernels), set
# before test modules import: several build their subprocess environments
# from os.environ then, and a user's ~/.cache (a compiled kernel library, say)
# must not change what a test's process runs
_OLD_XDG = os.environ.get("XDG_CACHE_HOME")
_XDG = tempfile.mkdtemp(prefix="neurosim-test-cache-")
os.environ["XDG_CACHE_HOME"] = _XDG


@pytest.fixture(scope="session", autouse=True)
def _private_data_cache():
    """Caches in a directory of this session (inherited by the CLI processes
    tests start), not in the user's ~/.cache; removed at the end."""
    yield
    if _OLD_XDG is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = _OLD_XDG
    shutil.rmtree(_XDG, ignore_errors=True)


@pytest.fixture(scope="module")
def digits():
    """The digits data set, loaded once per test module."""
    from neurosim import api
    from neurosim.config import TrainConfig

    return api.load_data(TrainConfig(data="digits"))
