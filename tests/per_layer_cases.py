"""Shared pieces of the per-layer format tests (weights, errors, feedback,
activations): the small digits run they vary and the CLI in a subprocess
(the ``digits`` fixture is in ``conftest.py``)."""

from __future__ import annotations

import subprocess
import sys

from neurosim import api
from neurosim.config import TrainConfig

SMALL = dict(data="digits", mode="fixed", hidden=(6, 5), epochs=1, limit=120, batch=20,
             rule="srbp", error_bits=3, bias=True)  # fmt: skip
"""A 64-6-5-10 SRBP run on 120 digits, fixed mode, 3-bit error codes, biases."""


def run_small(digits, **kw):
    """:data:`SMALL` with the fields ``kw`` changed, on ``digits``."""
    return api.run(TrainConfig(**{**SMALL, **kw}), dataset=digits)


def cli(*argv: str) -> subprocess.CompletedProcess:
    """``python -m neurosim ARGV`` in a subprocess (exit code, stdout, stderr)."""
    return subprocess.run([sys.executable, "-m", "neurosim", *argv], capture_output=True,
                          text=True, timeout=300)  # fmt: skip
