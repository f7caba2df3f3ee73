"""What every data-set reader shares: the :class:`Dataset` it returns and the
file helpers (reading, stamping for the cache, scaling to features, splitting)."""

from __future__ import annotations

import dataclasses
import gzip
import importlib.util
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurosim.errors import ConfigError, DataError, show_path
from neurosim.numerics.pages import small_pages

ENV_VAR = "NEUROSIM_DATA"
"""Environment variable naming an extra directory that holds data files."""

PIXEL_SCALE = 1.0 / 256.0  # exact power of two

# (resolved path, size in bytes, modification time in ns): identifies a file's
# content well enough for caching.
Stamp = tuple[str, int, int]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A classification data set split into train and test parts.

    Attributes
    ----------
    name : str
        One of :data:`DATASETS`.
    x_train : numpy.ndarray
        ``float32``, shape ``(N_train, D)``, C-contiguous, read-only when it
        comes from :func:`load_dataset`; values in ``[0, 1)``, multiples of
        ``1/256``.
    y_train : numpy.ndarray
        ``int64``, shape ``(N_train,)``, labels in ``0 .. n_classes - 1``.
    x_test : numpy.ndarray
        ``float32``, shape ``(N_test, D)``, same contract as `x_train`.
    y_test : numpy.ndarray
        ``int64``, shape ``(N_test,)``.
    n_classes : int
        Number of classes.
    source : str
        The file path(s) the data came from.
    signed : bool
        True when features are signed real values (standardised ``higgs``)
        rather than ``[0, 1)`` pixel fractions; the fixed engine then reads
        them in a signed input format.
    image_shape : tuple of int or None
        ``(channels, height, width)`` of image data sets, whose feature rows
        are the images flattened in that order (e.g. ``(3, 32, 32)`` for
        ``cifar10``); None for ``higgs``.

    Raises
    ------
    DataError
        If the arrays do not have the dtypes, ranks and matching lengths
        described above.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    source: str
    signed: bool = False
    image_shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        for part in ("train", "test"):
            x = getattr(self, f"x_{part}")
            y = getattr(self, f"y_{part}")
            if not isinstance(x, np.ndarray) or x.dtype != np.float32 or x.ndim != 2:
                raise DataError(f"{self.name}: x_{part} must be a 2-D float32 array")
            if not x.flags.c_contiguous:
                raise DataError(f"{self.name}: x_{part} must be C-contiguous")
            if not isinstance(y, np.ndarray) or y.dtype != np.int64 or y.ndim != 1:
                raise DataError(f"{self.name}: y_{part} must be a 1-D int64 array")
            if x.shape[0] != y.shape[0]:
                raise DataError(
                    f"{self.name}: x_{part} has {x.shape[0]} rows but y_{part} "
                    f"has {y.shape[0]} labels"
                )
        if self.x_train.shape[1] != self.x_test.shape[1]:
            raise DataError(
                f"{self.name}: train has {self.x_train.shape[1]} features but test has "
                f"{self.x_test.shape[1]}"
            )

    @property
    def n_features(self) -> int:
        """Number of features ``D`` per sample (e.g. 784 for 28x28 images)."""
        return int(self.x_train.shape[1])


def hold_out(ds: Dataset, n: int | None) -> Dataset:
    """`ds` with its last `n` training samples as the evaluation set.

    The run trains on ``x_train[:-n]`` and evaluates on ``x_train[-n:]``; the
    test set is dropped (not copied, not read), so nothing chosen on the
    result can depend on it. This is the config's ``validation`` field.

    Parameters
    ----------
    ds : Dataset
        The data set (already cut to ``limit`` training samples).
    n : int or None
        Samples held out; None returns `ds` unchanged.

    Returns
    -------
    Dataset
        Views of `ds`'s training arrays: ``N_train - n`` training rows, `n`
        evaluation rows in ``x_test`` / ``y_test``.

    Raises
    ------
    ConfigError
        If `n` is not less than the training samples.
    """
    if n is None:
        return ds
    n_train = int(ds.x_train.shape[0])
    if not 0 < n < n_train:
        raise ConfigError("validation", n, f"1 to {n_train - 1} (the training samples less one)")
    cut = n_train - n
    return dataclasses.replace(
        ds, x_train=ds.x_train[:cut], y_train=ds.y_train[:cut],
        x_test=ds.x_train[cut:], y_test=ds.y_train[cut:],
    )  # fmt: skip


def package_dir(package: str) -> Path:
    """Directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise DataError(f"the Python package {package!r} is not installed")
    return Path(spec.origin).parent


def file_stamp(path: Path) -> Stamp:
    """`path` resolved, its size and modification time: the cache key of its content."""
    try:
        st = path.stat()
    except OSError as exc:
        raise DataError(f"{show_path(path)}: cannot read: {exc.strerror or exc}") from exc
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def read_bytes(path: Path) -> bytes:
    """Whole content of `path`, gunzipped if it starts with the gzip magic."""
    try:
        with open(path, "rb") as fh:
            buf = fh.read()
        if buf[:2] == b"\x1f\x8b":
            buf = gzip.decompress(buf)
    except (OSError, EOFError, zlib.error) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise DataError(f"{show_path(path)}: cannot read: {reason}") from exc
    return buf


def readonly(a: np.ndarray) -> np.ndarray:
    """`a`, made read-only in place (cached arrays are shared)."""
    a.setflags(write=False)
    return a


def to_features(codes: np.ndarray, scale: float) -> np.ndarray:
    """``codes * scale`` as a C-contiguous float32 array (exact for 2**-k scales)."""
    with small_pages():  # a data set's features: a fresh 4 MiB+ array
        x = codes.astype(np.float32, order="C")  # always a fresh, writable copy
    x *= np.float32(scale)
    return x


def split(n: int, n_train: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices of `n` rows: a seeded permutation, its first `n_train` train."""
    perm = np.random.default_rng(seed).permutation(n)
    return perm[:n_train], perm[n_train:]


# ------------------------------- mnist5k ----------------------------------- #
