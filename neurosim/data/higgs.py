"""The HIGGS data set: a streaming reader of ``HIGGS.csv.gz`` and its binary cache.

The standard file (Baldi, Sadowski and Whiteson, Nature Communications 5,
4308, 2014; UCI machine learning repository, data set 280) holds 11,000,000
simulated collision events, one per line: the label (``1`` signal, ``0``
background) followed by 28 kinematic features, all written as decimal
floating-point numbers and separated by commas.  The last 500,000 lines are
the customary test set.

Reading
-------
:func:`read_higgs_csv` decompresses the file in blocks of about 16 MB and
parses each block with :func:`numpy.loadtxt`, so memory holds one block of
text plus the output array; there is never a Python list of rows.  A wrong
column count, a value that is not a number or a truncated gzip stream is a
:class:`~neurosim.errors.DataError` naming the file and the line.

Cache
-----
The first read writes every row as ``float32`` (label in column 0) to
``<name>.neurosim-f32.npy`` beside the file — or, if that directory is not
writable, in ``$XDG_CACHE_HOME/neurosim`` (``~/.cache/neurosim``) — with a
JSON stamp of the source's size and modification time.  Later loads map the
cache read-only (``numpy.load(..., mmap_mode="r")``) and copy out only the
rows they use.  A changed source file invalidates the cache.

Split and scaling
-----------------
See :func:`higgs_split`: the last 500,000 rows are the test set (files of
at most 1,000,000 rows, such as excerpts, hold out their last tenth
instead).  ``limit`` takes the first rows of the training part.  Each
feature is standardised with the mean and standard deviation of the training
rows actually used (float64 statistics, float32 result); the test rows get
the same affine map.
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import os
import tempfile
import zlib
from pathlib import Path

import numpy as np

from neurosim.data.base import ENV_VAR, Dataset, Stamp, readonly
from neurosim.errors import DataError, show_path

__all__ = [
    "HIGGS_COLUMNS",
    "HIGGS_FILES",
    "HIGGS_TEST_ROWS",
    "cache_path",
    "cached_higgs",
    "find_higgs_file",
    "higgs_split",
    "load_higgs_rows",
    "read_higgs_csv",
    "standardise",
]

HIGGS_COLUMNS = 29
"""Columns per line: the label, then 28 features."""
HIGGS_FILES = ("HIGGS.csv.gz", "HIGGS.csv")
"""File names looked for, in order."""
HIGGS_TEST_ROWS = 500_000
"""Size of the standard test set (the file's last rows)."""
HOW_TO_GET = (
    "Download HIGGS.csv.gz (2.6 GB) from the UCI machine learning repository "
    "(https://archive.ics.uci.edu/dataset/280/higgs) into a directory and pass it with "
    "--data-dir or set $NEUROSIM_DATA."
)

_BLOCK_BYTES = 1 << 24  # text decompressed and parsed per step
_HEADER_BYTES = 128  # fixed .npy header size, so the shape can be written last
_CACHE_VERSION = 1


def higgs_split(n_rows: int) -> tuple[int, int]:
    """Rows of the training and test parts of an ``n_rows``-row file.

    Parameters
    ----------
    n_rows : int
        Lines in the file.

    Returns
    -------
    (n_train, n_test) : tuple of int
        The test part is the last ``HIGGS_TEST_ROWS`` (500,000) rows when the
        file has more than twice that; otherwise its last ``ceil(n_rows / 10)``
        rows.  The training part is everything before it.
    """
    if n_rows > 2 * HIGGS_TEST_ROWS:
        n_test = HIGGS_TEST_ROWS
    else:
        n_test = -(-n_rows // 10)
    return n_rows - n_test, n_test


def read_higgs_csv(path: str | os.PathLike[str], out: io.RawIOBase | None = None) -> np.ndarray:
    """Parse a HIGGS-format CSV file (gzip-compressed or plain).

    Parameters
    ----------
    path : str or path-like
        ``HIGGS.csv.gz`` or a file in the same format.
    out : binary file, optional
        If given, rows are written to it as little-endian float32 bytes as
        they are parsed and an empty ``(0, 29)`` array is returned, so the
        whole file never sits in memory.

    Returns
    -------
    numpy.ndarray
        ``float32``, shape ``(N, 29)``: column 0 the label (0.0 or 1.0),
        columns 1..28 the features.

    Raises
    ------
    DataError
        Unreadable or truncated file, a line without 29 numbers, a label
        other than 0 or 1, or an empty file; the message names the file and
        the line (1-based).
    """
    path = Path(path)
    blocks: list[np.ndarray] = []
    line0 = 0  # lines before the current block
    tail = b""
    try:
        with open(path, "rb") as raw:
            gz = raw.read(2) == b"\x1f\x8b"
        fh = gzip.open(path, "rb") if gz else open(path, "rb")  # noqa: SIM115
        with fh:
            while True:
                chunk = fh.read(_BLOCK_BYTES)
                if not chunk:
                    break
                text = tail + chunk
                cut = text.rfind(b"\n") + 1
                if cut == 0:
                    tail = text
                    continue
                tail = text[cut:]
                rows = _parse_block(path, text[:cut], line0)
                line0 += rows.shape[0]
                if out is not None:
                    out.write(rows.astype("<f4", copy=False).tobytes())
                else:
                    blocks.append(rows)
    except (OSError, EOFError, zlib.error) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise DataError(
            f"{show_path(path)}: cannot read past line {line0} ({reason}); is the file truncated?"
        ) from exc
    if tail.strip():
        rows = _parse_block(path, tail, line0)
        line0 += rows.shape[0]
        if out is not None:
            out.write(rows.astype("<f4", copy=False).tobytes())
        else:
            blocks.append(rows)
    if line0 == 0:
        raise DataError(f"{show_path(path)}: no data lines")
    if out is not None:
        return np.zeros((0, HIGGS_COLUMNS), dtype=np.float32)
    return np.concatenate(blocks) if len(blocks) > 1 else blocks[0]


def _parse_block(path: Path, text: bytes, line0: int) -> np.ndarray:
    """Rows of one block of whole lines; errors name the first bad line."""
    try:
        rows = np.loadtxt(
            io.BytesIO(text), delimiter=",", dtype=np.float32, ndmin=2, encoding="ascii"
        )
    except (ValueError, UnicodeDecodeError):
        raise _bad_line(path, text, line0) from None
    if rows.shape[1] != HIGGS_COLUMNS or rows.shape[0] != text.count(b"\n") + (
        not text.endswith(b"\n")
    ):
        raise _bad_line(path, text, line0)
    labels = rows[:, 0]
    bad = np.flatnonzero((labels != 0) & (labels != 1))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{path}, line {line0 + i + 1}: label {float(labels[i])!r} is not 0 or 1 "
            "(the first column is the class)"
        )
    return rows


def _bad_line(path: Path, text: bytes, line0: int) -> DataError:
    """Find the first malformed line of a block the fast parser refused."""
    for i, line in enumerate(text.split(b"\n")):
        if not line.strip() and i == text.count(b"\n"):
            break  # the empty piece after the last newline
        fields = line.split(b",")
        where = f"{path}, line {line0 + i + 1}"
        if len(fields) != HIGGS_COLUMNS:
            return DataError(
                f"{where}: {len(fields)} columns, expected {HIGGS_COLUMNS} "
                "(the label, then 28 features)"
            )
        for j, f in enumerate(fields):
            try:
                float(f)
            except ValueError:
                shown = f[:40].decode("ascii", "replace")
                return DataError(f"{where}, column {j + 1}: {shown!r} is not a number")
    return DataError(f"{show_path(path)}: malformed lines after line {line0}")


# ------------------------------- cache ------------------------------------ #


def cache_path(source: str | os.PathLike[str]) -> Path:
    """Where the binary copy of `source` lives (beside it if writable)."""
    source = Path(source).resolve()
    stem = source.name.split(".")[0]
    beside = source.with_name(f"{stem}.neurosim-f32.npy")
    if os.access(source.parent, os.W_OK):
        return beside
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "neurosim"
    return root / f"{stem}-{_short_hash(str(source))}.neurosim-f32.npy"


def _short_hash(s: str) -> str:
    return f"{zlib.crc32(s.encode()):08x}"


def _stamp(source: Path) -> dict:
    st = source.stat()
    return {
        "version": _CACHE_VERSION,
        "source": str(source.resolve()),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
    }


def _npy_header(n_rows: int) -> bytes:
    """A version-1.0 .npy header of exactly ``_HEADER_BYTES`` bytes."""
    d = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({n_rows}, {HIGGS_COLUMNS}), }}"
    pad = _HEADER_BYTES - 10 - len(d) - 1
    return b"\x93NUMPY\x01\x00" + (_HEADER_BYTES - 10).to_bytes(2, "little") + (
        d + " " * pad + "\n"
    ).encode("ascii")


def _write_cache(source: Path, target: Path) -> None:
    """Stream `source` into `target` (.npy) and its stamp, atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name, suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"\0" * _HEADER_BYTES)
            read_higgs_csv(source, out=fh)
            n_bytes = fh.tell() - _HEADER_BYTES
            fh.seek(0)
            fh.write(_npy_header(n_bytes // (4 * HIGGS_COLUMNS)))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    stamp = target.with_suffix(".json")
    stamp_tmp = stamp.with_name(stamp.name + ".tmp")
    stamp_tmp.write_text(json.dumps(_stamp(source)) + "\n")
    os.replace(stamp_tmp, stamp)


def _cache_valid(source: Path, target: Path) -> bool:
    stamp = target.with_suffix(".json")
    try:
        return target.is_file() and json.loads(stamp.read_text()) == _stamp(source)
    except (OSError, ValueError):
        return False


def load_higgs_rows(
    source: str | os.PathLike[str], use_cache: bool = True
) -> tuple[np.ndarray, str]:
    """All rows of a HIGGS-format file, through the binary cache.

    Parameters
    ----------
    source : str or path-like
        The CSV file (gzip-compressed or plain).
    use_cache : bool, default True
        Read (and on first use write) the ``.npy`` copy; False parses the CSV
        into memory every time.

    Returns
    -------
    rows : numpy.ndarray
        ``float32 (N, 29)``; a read-only memory map of the cache when
        `use_cache`.
    origin : str
        ``"cache"`` or ``"csv"``: where the rows came from this time.

    Raises
    ------
    DataError
        As :func:`read_higgs_csv`, or an unreadable cache.
    """
    source = Path(source)
    if not use_cache:
        return read_higgs_csv(source), "csv"
    target = cache_path(source)
    origin = "cache"
    if not _cache_valid(source, target):
        try:
            _write_cache(source, target)
        except OSError as exc:
            why = exc.strerror or exc
            raise DataError(f"{show_path(target)}: cannot write the cache: {why}") from exc
        origin = "csv"
    try:
        rows = np.load(target, mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise DataError(
            f"{show_path(target)}: unreadable cache ({exc}); delete it to rebuild"
        ) from exc
    if rows.ndim != 2 or rows.shape[1] != HIGGS_COLUMNS or rows.dtype != np.float32:
        raise DataError(
            f"{show_path(target)}: unexpected cache shape {rows.shape}; delete it to rebuild"
        )
    return rows, origin


def standardise(
    x_train: np.ndarray, x_test: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-feature standardisation with the training rows' statistics.

    Parameters
    ----------
    x_train, x_test : numpy.ndarray
        ``(N, D)`` features (any float dtype, e.g. rows of a memory map).

    Returns
    -------
    (x_train, x_test, mean, std)
        C-contiguous ``float32`` arrays ``(x - mean) / std``; `mean` and
        `std` are float64 ``(D,)`` (a constant feature keeps std 1).
    """
    mean = np.zeros(x_train.shape[1])
    sq = np.zeros(x_train.shape[1])
    step = 1 << 18  # bounded float64 temporaries over a memory map
    for s in range(0, x_train.shape[0], step):
        part = np.asarray(x_train[s : s + step], dtype=np.float64)
        mean += part.sum(axis=0)
    mean /= max(1, x_train.shape[0])
    for s in range(0, x_train.shape[0], step):
        part = np.asarray(x_train[s : s + step], dtype=np.float64) - mean
        sq += (part * part).sum(axis=0)
    std = np.sqrt(sq / max(1, x_train.shape[0]))
    std[std == 0] = 1.0

    def apply(x: np.ndarray) -> np.ndarray:
        out = np.empty(x.shape, dtype=np.float32)
        for s in range(0, x.shape[0], step):
            out[s : s + step] = (np.asarray(x[s : s + step], dtype=np.float64) - mean) / std
        return out

    return apply(x_train), apply(x_test), mean, std


def find_higgs_file(dirs: list[Path]) -> Path:
    """Locate ``HIGGS.csv.gz`` (or ``HIGGS.csv``) in the first of `dirs` that holds it.

    Raises
    ------
    DataError
        One line naming every place searched and how to get the file.
    """
    report: list[str] = []
    for d in dirs:
        if not d.is_dir():
            report.append(f"{show_path(d)}: no such directory")
            continue
        for name in HIGGS_FILES:
            if (d / name).is_file():
                return d / name
        report.append(f"{show_path(d)}: no {' or '.join(HIGGS_FILES)}")
    if not report:
        report.append(f"no directories (no data_dir given and ${ENV_VAR} is not set)")
    raise DataError(f"data set 'higgs' not found; searched {'; '.join(report)}. {HOW_TO_GET}")


@functools.lru_cache(maxsize=2)
def cached_higgs(stamp: Stamp, limit: int | None) -> Dataset:
    """The ``higgs`` data set of the file stamped `stamp`, its training part cut
    to the first `limit` rows (standardised with those rows' statistics).

    The rows used are checked: a non-finite value or a label other than 0 or
    1 read from the cache rebuilds the cache from the CSV once; from the CSV
    itself (or a rebuilt cache) it is a DataError naming the file.
    """
    path = Path(stamp[0])
    rows, origin = load_higgs_rows(path)
    ds = _higgs_dataset(path, rows, limit)
    if ds is None and origin == "cache":  # a damaged copy: rebuild it from the CSV
        del rows
        cache_path(path).with_suffix(".json").unlink(missing_ok=True)
        rows, origin = load_higgs_rows(path)
        ds = _higgs_dataset(path, rows, limit)
    if ds is None:
        where = cache_path(path) if origin == "cache" else path
        raise DataError(
            f"{show_path(where)}: non-finite values or labels other than 0 and 1 in the "
            "rows used; delete it (a cache) or fetch the file again"
        )
    return ds


def _higgs_dataset(path: Path, rows: np.ndarray, limit: int | None) -> Dataset | None:
    """The data set of `rows`, or None if the rows used are not finite or a
    label is not 0 or 1."""
    n_train, _n_test = higgs_split(rows.shape[0])
    n_use = n_train if limit is None else min(limit, n_train)
    train, test = rows[:n_use], rows[n_train:]
    labels = [np.asarray(part[:, 0]) for part in (train, test)]
    if not all(np.isin(y, (0.0, 1.0)).all() for y in labels):
        return None
    x_train, x_test, _mean, _std = standardise(train[:, 1:], test[:, 1:])
    if not (np.isfinite(x_train).all() and np.isfinite(x_test).all()):
        return None
    return Dataset(
        name="higgs",
        x_train=readonly(x_train),
        y_train=readonly(labels[0].astype(np.int64)),
        x_test=readonly(x_test),
        y_test=readonly(labels[1].astype(np.int64)),
        n_classes=2,
        source=str(path),
        signed=True,
    )
