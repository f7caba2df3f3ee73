"""``digits``: scikit-learn's 8x8 digits."""

from __future__ import annotations

import functools
import gzip
import math

import numpy as np

from neurosim.data.base import Dataset, package_dir, readonly, split, to_features
from neurosim.errors import DataError

_DIGITS_TEST_FRACTION = 0.2
_DIGITS_SCALE = 1.0 / 32.0  # exact power of two


@functools.lru_cache(maxsize=8)
def cached_digits(seed: int) -> Dataset:
    """``digits``, split by a permutation seeded with `seed` (a fifth, rounded up, for test)."""
    # the file scikit-learn's load_digits() reads, read as it does (gzip'd CSV
    # through np.loadtxt, float64; last column the label) without importing
    # scikit-learn, which costs a fresh process over a second (scipy, pandas)
    src = package_dir("sklearn") / "datasets" / "data" / "digits.csv.gz"
    try:
        with gzip.open(src, mode="rt", encoding="utf-8") as f:
            table = np.loadtxt(f, delimiter=",")
    except (OSError, ValueError) as exc:
        raise DataError(f"{src}: cannot read the digits table: {exc}") from exc
    if table.ndim != 2 or table.shape[1] < 2:
        raise DataError(f"{src}: unexpected digits table shape {table.shape}")
    data = table[:, :-1]
    target = table[:, -1].astype(int, copy=False)
    if data.ndim != 2 or target.shape != (data.shape[0],):
        raise DataError(f"{src}: unexpected digits shapes {data.shape} / {target.shape}")
    if data.min() < 0 or data.max() > 16 or np.any(data != np.round(data)):
        raise DataError(f"{src}: digits values are not integers in 0..16")
    n = data.shape[0]
    n_test = math.ceil(_DIGITS_TEST_FRACTION * n)
    train, test = split(n, n - n_test, seed)
    labels = target.astype(np.int64)
    return Dataset(
        name="digits",
        x_train=readonly(to_features(data[train], _DIGITS_SCALE)),
        y_train=readonly(labels[train]),
        x_test=readonly(to_features(data[test], _DIGITS_SCALE)),
        y_test=readonly(labels[test]),
        n_classes=10,
        source=f"scikit-learn's digits table, the file load_digits() reads ({src})",
        image_shape=(1, 8, 8),
    )
