"""Fixtures shared by test modules (a module's own fixture of the same name wins)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def digits():
    """The digits data set, loaded once per test module."""
    from neurosim import api
    from neurosim.config import TrainConfig

    return api.load_data(TrainConfig(data="digits"))
