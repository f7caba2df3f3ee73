"""The kernels' CPU features (neurosim.numerics.kernels._target): 512-bit
vectors where the CPU has AVX-512, the user's numba settings first, and the
same bits either way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BASE = {
    k: v
    for k, v in os.environ.items()
    if k not in ("NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES", "NEUROSIM_WIDE_VECTORS",
                 "NEUROSIM_CPU_FEATURES_SET")
}
BASE["OPENBLAS_NUM_THREADS"] = "1"
BASE["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])

PROBE = (
    "import json, os, llvmlite.binding as ll\n"
    "from neurosim.numerics.kernels._lazy import materialize\n"
    "materialize()\n"
    "from numba.core import config\n"
    "print(json.dumps([os.environ.get('NUMBA_CPU_FEATURES'), config.CPU_FEATURES,"
    " bool(ll.get_host_cpu_features().get('avx512f'))]))\n"
)


def probe(**env: str) -> tuple:
    p = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                       env={**BASE, **env}, cwd=ROOT)  # fmt: skip
    assert p.returncode == 0, p.stderr
    return tuple(json.loads(p.stdout))


def test_wide_vectors_where_the_cpu_has_avx512():
    env_value, numba_value, avx512 = probe()
    if avx512:
        assert env_value == numba_value
        assert env_value.endswith(",-prefer-256-bit")
        assert "+avx512f" in env_value.split(",")  # the host's own features, kept
    else:
        assert env_value is None and numba_value is None


def test_the_users_numba_settings_win():
    assert probe(NUMBA_CPU_FEATURES="+sse2")[:2] == ("+sse2", "+sse2")
    assert probe(NUMBA_CPU_NAME="generic")[0] is None
    assert probe(NEUROSIM_WIDE_VECTORS="0")[:2] == (None, None)


RUNS = [
    ["--rule", "srbp", "--error-bits", "4", "--hidden", "16,16"],
    ["--rule", "bp", "--weight-bits", "16", "--momentum", "0.5", "--update-bits", "3",
     "--act", "relu", "--hidden", "12"],  # fmt: skip
]


def record(args: list[str], **env: str) -> str:
    cmd = [sys.executable, "-m", "neurosim", "train", "--data", "digits", "--mode", "fixed",
           "--epochs", "1", "--limit", "300", "--no-progress", "--json", "-", *args]  # fmt: skip
    p = subprocess.run(cmd, capture_output=True, text=True, env={**BASE, **env}, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    rec = json.loads(p.stdout)
    from neurosim.experiments.sweep import strip_wall_times

    return json.dumps(strip_wall_times(rec), sort_keys=True)


@pytest.mark.parametrize("args", RUNS, ids=["srbp", "bp-w16-momentum"])
def test_wide_and_default_vectors_give_the_same_run(args):
    if probe()[0] is None:
        pytest.skip("no AVX-512 here: both are numba's default")
    assert record(args) == record(args, NEUROSIM_WIDE_VECTORS="0")
