"""A fresh process loads only what its run uses (speed itself: benchmarks/bench_startup.py)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neurosim.data.base import package_dir, split, to_features
from neurosim.data.digits import cached_digits
from neurosim.numerics import counts
from neurosim.numerics.kernels import sparsity

ROOT = Path(__file__).resolve().parents[1]
ENV = {
    **os.environ,
    "OPENBLAS_NUM_THREADS": "1",
    "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
}
# never needed by a plain dense run (reports, search, sweeps on a cluster,
# scikit-learn, whose digits file is read directly, and the packet codec's
# bitstring: a run counts a packet's bits, it never encodes one)
NOT_NEEDED = ("matplotlib", "optuna", "dask", "distributed", "sklearn", "pandas", "bitstring")


def modules_after_run(mode: str) -> set[str]:
    """Top-level modules loaded by ``neurosim train --data digits --mode <mode>``."""
    code = (
        "import contextlib, io, json, sys\n"
        "from neurosim.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    rc = main(['train', '--data', 'digits', '--hidden', '8', '--epochs', '1',"
        f" '--limit', '200', '--mode', '{mode}'])\n"
        "assert rc == 0, rc\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    p = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=ENV, cwd=ROOT
    )
    assert p.returncode == 0, p.stderr
    return set(json.loads(p.stdout.strip().splitlines()[-1]))


def test_float_run_never_imports_numba() -> None:
    loaded = modules_after_run("float")
    assert "neurosim" in loaded
    assert not loaded & {"numba", "llvmlite", "scipy", *NOT_NEEDED}


def test_fixed_run_imports_only_what_it_uses() -> None:
    loaded = modules_after_run("fixed")
    assert "numba" in loaded
    assert not loaded & set(NOT_NEEDED)


def test_kernels_package_loads_its_units_on_first_use() -> None:
    code = (
        "import sys\n"
        "from neurosim.numerics import kernels\n"
        "assert 'numba' not in sys.modules\n"
        "ws = kernels.Workspace()\n"  # plain NumPy
        "assert 'numba' not in sys.modules\n"
        "kernels.nonzero\n"
        "assert 'neurosim.numerics.kernels.sparsity' in sys.modules\n"
        "assert 'neurosim.numerics.kernels.update' not in sys.modules\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV)
    assert p.returncode == 0, p.stderr


def test_kernels_package_names_every_name_it_lists() -> None:
    from neurosim.numerics import kernels

    for name in kernels.__all__:
        assert getattr(kernels, name) is not None
    with pytest.raises(AttributeError):
        kernels.no_such_kernel  # noqa: B018


def _tally_cases() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    dense = rng.integers(-2, 3, size=(16, 9)).astype(np.float32)
    odd = np.array([[0.0, -0.0, np.nan, 1.0], [np.inf, 0.0, -1e-30, 0.0]], dtype=np.float32)
    return [
        dense,
        dense.astype(np.float64),
        odd,
        np.zeros((3, 5), np.float32),
        np.zeros((0, 4), np.float32),
        np.zeros((4, 0), np.float32),
    ]


@pytest.mark.parametrize("a", _tally_cases())
def test_numpy_tallies_equal_the_kernels(a: np.ndarray) -> None:
    """The float run's NumPy counts are the fixed run's kernel counts, integer for integer."""
    assert counts.nonzero(a) == sparsity.nonzero(a)
    assert np.array_equal(counts.nonzero_rows(a), sparsity.nonzero_rows(a))
    assert counts.nonzero_rows(a).dtype == np.int64
    bits_of = np.arange(a.shape[1] + 1, dtype=np.int64) * 5 + 3
    code_np = np.arange(a.shape[0], dtype=np.int64)
    code_nb = code_np.copy()
    got = counts.message_tally(a, bits_of, a.shape[1] + 1, code_np)
    want = sparsity.message_tally(a, bits_of, a.shape[1] + 1, code_nb)
    assert got == tuple(int(v) for v in want)
    assert np.array_equal(code_np, code_nb)
    r = a[:, ::-1].copy()
    assert counts.input_tally(a, r) == tuple(int(v) for v in sparsity.input_tally(a, r))


def test_digits_equal_scikit_learn_load_digits() -> None:
    """The digits read from scikit-learn's file are load_digits()'s, bit for bit."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    data, target = np.asarray(bunch.data), np.asarray(bunch.target).astype(np.int64)
    n = data.shape[0]
    train, test = split(n, n - math.ceil(0.2 * n), 3)
    ds = cached_digits(3)
    for got, want in (
        (ds.x_train, to_features(data[train], 1.0 / 32.0)),
        (ds.x_test, to_features(data[test], 1.0 / 32.0)),
        (ds.y_train, target[train]),
        (ds.y_test, target[test]),
    ):
        assert got.dtype == want.dtype
        assert got.shape == want.shape
        assert got.tobytes() == want.tobytes()
    assert str(package_dir("sklearn")) in ds.source
