"""``cifar10``: the CIFAR-10 python batch files, read by a restricted unpickler."""

from __future__ import annotations

import functools
import io
import os
import pickle
from pathlib import Path

import numpy as np

from neurosim.data.base import (
    ENV_VAR,
    PIXEL_SCALE,
    Dataset,
    Stamp,
    read_bytes,
    readonly,
    to_features,
)
from neurosim.errors import DataError, show_path

CIFAR_FILES: tuple[str, ...] = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")
"""The six python batch files; the first five are the training set."""
_CIFAR_SUBDIRS = ("cifar-10-batches-py",)
_CIFAR_HOW = (
    "Download cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, "
    "unpack it (it makes cifar-10-batches-py/) and pass that directory, or its parent, "
    f"with --data-dir or ${ENV_VAR}."
)
# the only globals a CIFAR batch pickle may name: numpy's array reconstruction
_CIFAR_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


def find_cifar_files(dirs: list[Path]) -> list[Path]:
    """Locate the six batch files in `dirs` (or their ``cifar-10-batches-py``
    subdirectories), or raise one DataError saying where we looked."""
    report: list[str] = []
    places: list[Path] = []
    for d in dirs:
        places += [d, *(d / sub for sub in _CIFAR_SUBDIRS)]
    for d in dict.fromkeys(places):
        if not d.is_dir():
            report.append(f"{show_path(d)}: no such directory")
            continue
        missing = [n for n in CIFAR_FILES if not (d / n).is_file()]
        if not missing:
            return [d / n for n in CIFAR_FILES]
        report.append(f"{show_path(d)}: missing {', '.join(missing)}")
    if not report:
        report.append(f"no directories (no data_dir given and ${ENV_VAR} is not set)")
    raise DataError(f"data set 'cifar10' not found; searched {'; '.join(report)}. {_CIFAR_HOW}")


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that builds numpy arrays and plain containers, nothing else."""

    def find_class(self, module: str, name: str):  # noqa: ANN201 -- pickle's API
        if (module, name) in _CIFAR_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def read_cifar_batch(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch file.

    Returns
    -------
    data : numpy.ndarray
        uint8 ``(N, 3072)``: 1024 red, 1024 green, 1024 blue values per image.
    labels : numpy.ndarray
        int64 ``(N,)`` in ``0..9``.

    Raises
    ------
    DataError
        Not a pickle, a pickle naming anything but numpy arrays, missing
        keys, wrong shapes or dtypes, or labels outside 0..9.
    """
    path = Path(path)
    raw = read_bytes(path)
    try:
        d = _ArrayUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, ImportError) as exc:  # fmt: skip
        raise DataError(f"{show_path(path)}: not a CIFAR-10 python batch ({exc})") from None
    if not isinstance(d, dict):
        raise DataError(f"{show_path(path)}: not a CIFAR-10 python batch (a {type(d).__name__})")
    d = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in d.items()}
    for key in ("data", "labels"):
        if key not in d:
            raise DataError(f"{show_path(path)}: no {key!r} entry (keys: {', '.join(map(str, d))})")
    data = d["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or (
        data.shape[1] != 3072
    ):
        shape = getattr(data, "shape", None)
        raise DataError(f"{show_path(path)}: 'data' must be uint8 (N, 3072), got {shape}")
    try:
        labels = np.asarray(d["labels"], dtype=np.int64).reshape(-1)
    except (TypeError, ValueError):
        raise DataError(f"{show_path(path)}: 'labels' must be a list of integers") from None
    if labels.shape[0] != data.shape[0]:
        raise DataError(f"{show_path(path)}: {data.shape[0]} images but {labels.shape[0]} labels")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{show_path(path)}: label {int(labels.max())} is not in 0..9")
    return data, labels


@functools.lru_cache(maxsize=2)
def cached_cifar(stamps: tuple[Stamp, ...]) -> Dataset:
    """``cifar10`` from its six stamped batch files (the five training batches first)."""
    parts = [read_cifar_batch(s[0]) for s in stamps]
    train, test = parts[:5], parts[5]
    x_train = np.concatenate([p[0] for p in train])
    y_train = np.concatenate([p[1] for p in train])
    return Dataset(
        name="cifar10",
        x_train=readonly(to_features(x_train, PIXEL_SCALE)),
        y_train=readonly(y_train),
        x_test=readonly(to_features(test[0], PIXEL_SCALE)),
        y_test=readonly(test[1]),
        n_classes=10,
        source=str(Path(stamps[0][0]).parent),
        image_shape=(3, 32, 32),
    )

