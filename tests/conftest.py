"""Fixtures shared by test modules (a module's own fixture of the same name wins)."""

from __future__ import annotations

import os

import pytest

# before any test module imports numba: the kernels' CPU features (512-bit
# vectors where the CPU has AVX-512), as every neurosim process sets them
from neurosim.numerics.kernels._target import prefer_wide_vectors

prefer_wide_vectors()


@pytest.fixture(scope="session", autouse=True)
def _private_data_cache(tmp_path_factory):
    """Decoded data sets cache in a directory of this session (inherited by
    the CLI processes tests start), not in the user's ~/.cache."""
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if old is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = old


@pytest.fixture(scope="module")
def digits():
    """The digits data set, loaded once per test module."""
    from neurosim import api
    from neurosim.config import TrainConfig

    return api.load_data(TrainConfig(data="digits"))
